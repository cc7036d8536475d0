package compare

import (
	"context"
	"testing"

	"github.com/llmsweep/llmsweep/internal/store"
)

// TestRunFiguresOnly: without records, latencies are judged on the threshold
// alone, untested; throughput drops count, small changes do not.
func TestRunFiguresOnly(t *testing.T) {
	a := []store.Result{
		{Fingerprint: "f1", Metrics: store.Metrics{TTFTP50: 100, TPOTP50: 10, E2EP99: 500, OutputThroughput: 1000, Goodput: 5}},
		{Fingerprint: "only-a"},
	}
	b := []store.Result{
		{Fingerprint: "f1", Metrics: store.Metrics{TTFTP50: 103, TPOTP50: 10, E2EP99: 600, OutputThroughput: 800, Goodput: 5}},
		{Fingerprint: "only-b1"}, {Fingerprint: "only-b2"},
	}
	res, err := Runs(context.Background(), "A", a, "B", b, Options{Threshold: 0.05, Alpha: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	if res.Shared != 1 || res.OnlyA != 1 || res.OnlyB != 2 || len(res.Deltas) != 5 {
		t.Fatalf("result %+v", res)
	}
	got := map[string]bool{}
	for _, d := range res.Deltas {
		got[d.Metric] = d.Regression
		if d.Tested {
			t.Errorf("%s tested without records", d.Metric)
		}
	}
	want := map[string]bool{"ttft_p50_ms": false, "tpot_p50_ms": false, "e2e_p99_ms": true, "output_throughput": true, "goodput": false}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: regression %v, want %v", k, got[k], v)
		}
	}
	if res.Regressions != 2 {
		t.Errorf("%d regressions, want 2", res.Regressions)
	}
}
