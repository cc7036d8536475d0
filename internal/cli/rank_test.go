package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRankShippedPolicies ranks the example results under every policy the
// repository ships.
func TestRankShippedPolicies(t *testing.T) {
	t.Chdir("../..")
	files, _ := filepath.Glob("campaigns/policies/*.cue")
	n := 0
	for _, f := range files {
		if filepath.Base(f) == "policies.cue" {
			continue
		}
		n++
		code, out, errs := run(t, "rank", "--policy", f, "--input", "testdata/rank/results.jsonl", "--top", "3")
		if code != 0 || !strings.Contains(out, "the top 3:") || !strings.Contains(out, "Pareto front") {
			t.Errorf("%s: exit %d\n%s\n%s", f, code, out, errs)
		}
	}
	if n < 3 {
		t.Fatalf("%d shipped policies, want at least 3", n)
	}
}
