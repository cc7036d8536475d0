package campaign

import (
	"testing"

	"cuelang.org/go/cue/cuecontext"
)

// The shipped policies load from the checkout, and from the built-in copy
// outside any checkout: both give the same policies.
func TestShippedPolicies(t *testing.T) {
	here, err := ShippedPolicies(cuecontext.New(), "")
	if err != nil {
		t.Fatal(err)
	}
	built, err := ShippedPolicies(cuecontext.New(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"balanced", "cost-first", "latency-first", "predicted"} {
		if _, ok := here[n]; !ok {
			t.Errorf("the checkout's policies lack %s", n)
		}
		if built[n].Description != here[n].Description || len(built[n].Criteria) != len(here[n].Criteria) {
			t.Errorf("%s: built-in %+v, checkout %+v", n, built[n], here[n])
		}
	}
}
