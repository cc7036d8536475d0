// Package compare compares two runs config by config: each metric's change from
// run A to run B, and whether it is a regression. Either run may be imported
// from another tool, its results stored under the configs' fingerprints
// (internal/ingest): the comparison then says where that tool's metric
// definitions differ from ours. Latency and throughput are tested
// with a Mann–Whitney U test on the per-request samples where both runs still
// hold them; goodput with a two-proportion test on the requests that met the
// SLO; accuracy with McNemar's exact test on the examples both runs asked.
// `llmsweep compare` and the report's "regressions against the prior run" share it.
package compare

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"text/tabwriter"

	"github.com/llmsweep/llmsweep/internal/accuracy"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// Delta is one metric of one config in two runs.
type Delta struct {
	Fingerprint string  `json:"fingerprint"`
	What        string  `json:"config"`
	Metric      string  `json:"metric"`
	A           float64 `json:"a"`
	B           float64 `json:"b"`
	Change      float64 `json:"change"`      // (b − a) / a
	P           float64 `json:"p,omitempty"` // from the test Test names
	Tested      bool    `json:"tested"`      // P is set
	// Test names the test P comes from: "mann-whitney", "two-proportion" or "mcnemar".
	Test string `json:"test,omitempty"`
	// Pairs is, for accuracy, the examples both runs asked, and the
	// discordant ones (right in A only, in B only) that McNemar's test reads.
	Pairs      *accuracy.Paired `json:"pairs,omitempty"`
	Regression bool             `json:"regression"`
}

// Options set what counts as a regression.
type Options struct {
	// Threshold is the relative worsening that counts (0.05 = 5%).
	Threshold float64
	// Alpha is the significance level of the Mann–Whitney U test.
	Alpha float64
	// Records reads a config's per-request records of a run; nil compares the
	// run figures only (no test), as for runs whose raw rows were archived.
	Records func(ctx context.Context, runID, fingerprint string) ([]*sdk.Record, error)
}

// Result is the comparison of run A with run B.
type Result struct {
	// Shared is the number of configs both runs have results for.
	Shared       int
	OnlyA, OnlyB int
	// Deltas holds every metric of every shared config, in fingerprint order,
	// that both runs measured.
	Deltas      []Delta
	Regressions int
	// Unmeasured counts the metrics of shared configs left out because one run
	// or both did not measure them, by metric.
	Unmeasured map[string]int
	// Definitions holds, by tool, where the metric definitions of imported
	// results among the shared configs differ from ours: a change between an
	// imported and a measured result may be the definitions', not the server's.
	Definitions map[string][]string `json:"definitions,omitempty"`
}

// Latency metrics and throughput are tested with the Mann–Whitney U test on
// per-request samples (throughput on each request's output tokens per second
// of its end-to-end time, which a closed loop's throughput follows); goodput
// with a two-proportion z-test on the share of requests that met the SLO, from
// the summaries. Without a test, a change beyond the threshold is taken as it
// is: run figures alone cannot say it is not noise, and a nightly gate on two
// runs of identical configs should not flap, so every metric has one.
var compared = []struct {
	name   string
	higher bool // higher is better
	sample func(*sdk.Record) (float64, bool)
}{
	{"ttft_p50_ms", false, func(r *sdk.Record) (float64, bool) {
		return float64(r.GetFirstTokenNs()-r.GetStartNs()) / 1e6, r.GetFirstTokenNs() > 0
	}},
	{"tpot_p50_ms", false, func(r *sdk.Record) (float64, bool) {
		n := r.GetOutputTokens()
		if n < 0 {
			n = r.GetClientOutputTokens()
		}
		return float64(r.GetEndNs()-r.GetFirstTokenNs()) / 1e6 / float64(n-1), n > 1 && r.GetFirstTokenNs() > 0
	}},
	{"e2e_p99_ms", false, func(r *sdk.Record) (float64, bool) {
		return float64(r.GetEndNs()-r.GetStartNs()) / 1e6, true
	}},
	{"output_throughput", true, func(r *sdk.Record) (float64, bool) {
		n := r.GetOutputTokens()
		if n < 0 {
			n = r.GetClientOutputTokens()
		}
		e2e := float64(r.GetEndNs()-r.GetStartNs()) / 1e9
		return float64(n) / e2e, e2e > 0 && n > 0
	}},
	{"goodput", true, nil},
	{"accuracy", true, nil}, // tested on the examples both runs asked (McNemar)
}

// Runs compares the results a of run runA with the results b of run runB.
func Runs(ctx context.Context, runA string, a []result.Result, runB string, b []result.Result, opt Options) (*Result, error) {
	byFP := func(rs []result.Result) map[string]result.Result {
		m := make(map[string]result.Result, len(rs))
		for _, r := range rs {
			m[r.Fingerprint] = r
		}
		return m
	}
	ma, mb := byFP(a), byFP(b)
	var fps []string
	for fp := range ma {
		if _, ok := mb[fp]; ok {
			fps = append(fps, fp)
		}
	}
	sort.Strings(fps)
	res := &Result{Shared: len(fps), OnlyA: len(ma) - len(fps), OnlyB: len(mb) - len(fps), Deltas: []Delta{},
		Unmeasured: map[string]int{}}
	var shared []result.Result
	for _, fp := range fps {
		shared = append(shared, ma[fp], mb[fp])
	}
	if defs := result.Definitions(shared); len(defs) > 0 {
		res.Definitions = defs
	}
	for _, fp := range fps {
		ra, rb := ma[fp], mb[fp]
		va, vb := ra.Values(), rb.Values()
		var recA, recB []*sdk.Record
		loaded := false
		for _, m := range compared {
			x, okA := va[m.name]
			y, okB := vb[m.name]
			if !okA || !okB {
				res.Unmeasured[m.name]++
				continue
			}
			d := Delta{Fingerprint: fp, What: rb.Label(), Metric: m.name, A: x, B: y}
			if d.A != 0 {
				d.Change = (d.B - d.A) / d.A
			}
			worse := d.Change > opt.Threshold
			if m.higher {
				worse = d.Change < -opt.Threshold
			}
			switch m.name {
			case "goodput":
				sa, sb := &ra.Summary, &rb.Summary
				d.P = metrics.TwoProportions(sa.GoodRequests, sa.Requests, sb.GoodRequests, sb.Requests)
				d.Tested, d.Test = true, "two-proportion"
				worse = worse && d.P < opt.Alpha
			case "accuracy":
				if p, ok := accuracy.McNemar(ra.Accuracy, rb.Accuracy); ok {
					d.P, d.Tested, d.Test, d.Pairs = p.P, true, "mcnemar", &p
					worse = worse && d.P < opt.Alpha
				}
			}
			if m.sample != nil && opt.Records != nil {
				if !loaded {
					var err error
					if recA, err = opt.Records(ctx, runA, fp); err != nil {
						return nil, err
					}
					if recB, err = opt.Records(ctx, runB, fp); err != nil {
						return nil, err
					}
					loaded = true
				}
				xa, xb := samples(recA, m.sample), samples(recB, m.sample)
				if len(xa) > 0 && len(xb) > 0 {
					_, d.P = metrics.MannWhitney(xa, xb)
					d.Tested, d.Test = true, "mann-whitney"
					worse = worse && d.P < opt.Alpha
				}
			}
			d.Regression = worse
			if worse {
				res.Regressions++
			}
			res.Deltas = append(res.Deltas, d)
		}
	}
	return res, nil
}

func samples(recs []*sdk.Record, f func(*sdk.Record) (float64, bool)) []float64 {
	var out []float64
	for _, r := range recs {
		if r.GetErrorClass() != "" {
			continue
		}
		if v, ok := f(r); ok && !math.IsNaN(v) {
			out = append(out, v)
		}
	}
	return out
}

// WriteText writes the comparison for people: each metric's change, the
// regressions flagged, and a summary line.
func (r *Result) WriteText(w io.Writer, runA, runB string, threshold, alpha float64) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONFIG\tWHAT\tMETRIC\tA\tB\tCHANGE\tp\t")
	for _, d := range r.Deltas {
		p, flag := "-", ""
		if d.Tested {
			p = fmt.Sprintf("%.3g", d.P)
		}
		if d.Pairs != nil {
			p += fmt.Sprintf(" (McNemar, %d shared examples: %d right in A only, %d in B only)", d.Pairs.Shared, d.Pairs.OnlyA, d.Pairs.OnlyB)
		}
		if d.Regression {
			flag = "REGRESSION"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%.3f\t%+.1f%%\t%s\t%s\n", d.Fingerprint[:min(12, len(d.Fingerprint))], d.What, d.Metric, d.A, d.B, 100*d.Change, p, flag)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d configs compared (%d only in %s, %d only in %s); %d regressions beyond %.0f%% (alpha %g)\n",
		r.Shared, r.OnlyA, runA, r.OnlyB, runB, r.Regressions, 100*threshold, alpha)
	for _, m := range slices.Sorted(maps.Keys(r.Unmeasured)) {
		fmt.Fprintf(w, "%s not compared for %d configs: a run did not measure it\n", m, r.Unmeasured[m])
	}
	return nil
}
