package compare

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/internal/accuracy"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/result"
)

func res(fp string, ttft, tpot, e2e, out, good float64) result.Result {
	v := metrics.Of
	return result.Result{Fingerprint: fp, Summary: metrics.Summary{TTFT: metrics.Stats{N: 1, P50: v(ttft)},
		TPOT: metrics.Stats{N: 1, P50: v(tpot)}, E2E: metrics.Stats{N: 1, P99: v(e2e)}, OutputThroughput: v(out), Goodput: v(good)}}
}

// TestRunFiguresOnly: without records, latencies are judged on the threshold
// alone, untested; throughput drops count, small changes do not.
func TestRunFiguresOnly(t *testing.T) {
	a := []result.Result{res("f1", 100, 10, 500, 1000, 5), {Fingerprint: "only-a"}}
	b := []result.Result{res("f1", 103, 10, 600, 800, 5), {Fingerprint: "only-b1"}, {Fingerprint: "only-b2"}}
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
		// Goodput's test needs only the summaries' good-request counts.
		if d.Tested != (d.Metric == "goodput") {
			t.Errorf("%s tested %v without records", d.Metric, d.Tested)
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

// A metric one run did not measure is left out and counted, never compared
// against 0.
func TestUnmeasuredIsNotCompared(t *testing.T) {
	a := res("f1", 100, 10, 500, 1000, 5)
	b := res("f1", 100, 10, 500, 1000, 5)
	b.Summary.Goodput, b.Summary.TPOT = metrics.Value{}, metrics.Stats{}
	r, err := Runs(context.Background(), "A", []result.Result{a}, "B", []result.Result{b}, Options{Threshold: 0.05, Alpha: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Deltas) != 3 || r.Unmeasured["goodput"] != 1 || r.Unmeasured["tpot_p50_ms"] != 1 || r.Regressions != 0 {
		t.Errorf("%+v", r)
	}
}

// Goodput regresses only when the share of requests meeting the SLO drops
// significantly: the same share over the same requests is noise, whatever the
// rate per second does (throughput answers for that).
func TestGoodputProportions(t *testing.T) {
	run := func(good, n int, rate float64) result.Result {
		r := res("f", 100, 10, 500, 1000, rate)
		r.Summary.GoodRequests, r.Summary.Requests = good, n
		return r
	}
	for _, c := range []struct {
		name       string
		a, b       result.Result
		regression bool
	}{
		{"same share, slower", run(90, 100, 5), run(90, 100, 2), false},
		{"share halves", run(90, 100, 5), run(45, 100, 2.5), true},
		{"small drop in share", run(90, 100, 5), run(86, 100, 4.7), false},
	} {
		r, err := Runs(context.Background(), "A", []result.Result{c.a}, "B", []result.Result{c.b}, Options{Threshold: 0.05, Alpha: 0.05})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range r.Deltas {
			if d.Metric == "goodput" && d.Regression != c.regression {
				t.Errorf("%s: regression %v (p %.3g), want %v", c.name, d.Regression, d.P, c.regression)
			}
		}
	}
	if p := metrics.TwoProportions(50, 100, 50, 100); p != 1 {
		t.Errorf("equal shares: p %v", p)
	}
}

// Accuracy is tested with McNemar's test on the examples both runs asked: a
// drop counts only when it is significant.
func TestAccuracyMcNemar(t *testing.T) {
	examples := func(right ...bool) []accuracy.Example {
		var ex []accuracy.Example
		for i, r := range right {
			ex = append(ex, accuracy.Example{ID: fmt.Sprint("test/", i), Correct: r})
		}
		return ex
	}
	mk := func(fp string, right ...bool) result.Result {
		r := res(fp, 100, 10, 500, 1000, 5)
		n := 0
		for _, x := range right {
			if x {
				n++
			}
		}
		r.Accuracy = &accuracy.Result{Task: accuracy.GSM8K, Metric: accuracy.StrictMatch, Samples: len(right), Correct: n,
			Accuracy: float64(n) / float64(len(right)), Examples: examples(right...)}
		return r
	}
	all := func(n int, v bool) []bool {
		out := make([]bool, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	// Config s: 12 of 20 right in A, 10 in B (2 flips): not significant.
	// Config l: 20 of 20 right in A, 8 in B (12 flips): significant.
	a := []result.Result{mk("s", append(all(12, true), all(8, false)...)...), mk("l", all(20, true)...)}
	b := []result.Result{mk("s", append(all(10, true), all(10, false)...)...), mk("l", append(all(8, true), all(12, false)...)...)}
	r, err := Runs(context.Background(), "A", a, "B", b, Options{Threshold: 0.05, Alpha: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Delta{}
	for _, d := range r.Deltas {
		if d.Metric == "accuracy" {
			got[d.Fingerprint] = d
		}
	}
	s, l := got["s"], got["l"]
	if !s.Tested || s.Test != "mcnemar" || s.Pairs == nil || s.Pairs.Shared != 20 || s.Pairs.OnlyA != 2 || s.P != 0.5 || s.Regression {
		t.Errorf("small drop: %+v %+v", s, s.Pairs)
	}
	if !l.Tested || l.Pairs.OnlyA != 12 || l.P >= 0.001 || !l.Regression {
		t.Errorf("large drop: %+v %+v", l, l.Pairs)
	}
	var buf bytes.Buffer
	if err := r.WriteText(&buf, "A", "B", 0.05, 0.05); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "(McNemar, 20 shared examples: 12 right in A only, 0 in B only)") {
		t.Errorf("text:\n%s", buf.String())
	}
}
