package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/store"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// delta is one metric of one config in two runs.
type delta struct {
	Fingerprint string  `json:"fingerprint"`
	What        string  `json:"config"`
	Metric      string  `json:"metric"`
	A           float64 `json:"a"`
	B           float64 `json:"b"`
	Change      float64 `json:"change"`      // (b − a) / a
	P           float64 `json:"p,omitempty"` // Mann–Whitney U on the per-request samples
	Tested      bool    `json:"tested"`      // P is set
	Regression  bool    `json:"regression"`
}

// latency metrics compare per-request samples; the rest compare run figures.
var compared = []struct {
	name   string
	higher bool // higher is better
	value  func(store.Metrics) float64
	sample func(*sdk.Record) (float64, bool)
}{
	{"ttft_p50_ms", false, func(m store.Metrics) float64 { return m.TTFTP50 }, func(r *sdk.Record) (float64, bool) {
		return float64(r.GetFirstTokenNs()-r.GetStartNs()) / 1e6, r.GetFirstTokenNs() > 0
	}},
	{"tpot_p50_ms", false, func(m store.Metrics) float64 { return m.TPOTP50 }, func(r *sdk.Record) (float64, bool) {
		n := r.GetOutputTokens()
		if n < 0 {
			n = r.GetClientOutputTokens()
		}
		return float64(r.GetEndNs()-r.GetFirstTokenNs()) / 1e6 / float64(n-1), n > 1 && r.GetFirstTokenNs() > 0
	}},
	{"e2e_p99_ms", false, func(m store.Metrics) float64 { return m.E2EP99 }, func(r *sdk.Record) (float64, bool) {
		return float64(r.GetEndNs()-r.GetStartNs()) / 1e6, true
	}},
	{"output_throughput", true, func(m store.Metrics) float64 { return m.OutputThroughput }, nil},
	{"goodput", true, func(m store.Metrics) float64 { return m.Goodput }, nil},
}

func newCompare() *cobra.Command {
	var url, output string
	var threshold, alpha float64
	cmd := &cobra.Command{
		Use:   "compare RUN_A RUN_B",
		Short: "Compare two runs config by config, and fail on regressions",
		Long: `compare matches the configs two runs share by fingerprint and prints each
metric's change from A to B. A latency metric regresses when it worsens by more
than --threshold and a Mann–Whitney U test on the per-request samples gives
p < --alpha; throughput and goodput regress when they drop by more than
--threshold (they are run figures, with no per-request samples to test).
It exits 1 when a regression is found, for CI gates.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return fmt.Errorf("--output must be table or json, not %q", output)
			}
			st, err := openStore(cmd, url)
			if err != nil {
				return err
			}
			defer st.Close()
			ctx := cmd.Context()
			load := func(id string) (map[string]store.Result, error) {
				rs, err := st.Results(ctx, store.Filter{RunID: id})
				if err != nil {
					return nil, err
				}
				if len(rs) == 0 {
					return nil, fmt.Errorf("run %q has no results in the store", id)
				}
				m := map[string]store.Result{}
				for _, r := range rs {
					m[r.Fingerprint] = r
				}
				return m, nil
			}
			a, err := load(args[0])
			if err != nil {
				return err
			}
			b, err := load(args[1])
			if err != nil {
				return err
			}
			var fps []string
			onlyA, onlyB := 0, 0
			for fp := range a {
				if _, ok := b[fp]; ok {
					fps = append(fps, fp)
				} else {
					onlyA++
				}
			}
			onlyB = len(b) - len(fps)
			sort.Strings(fps)
			var deltas []delta
			regressions := 0
			for _, fp := range fps {
				ra, rb := a[fp], b[fp]
				var cfg matrix.Config
				json.Unmarshal(ra.Config, &cfg)
				what := fmt.Sprintf("%s %s %s %s %s", cfg.Model, cfg.Hardware, cfg.Framework, cfg.Quantization, cfg.Workload)
				var recA, recB []*sdk.Record
				for _, m := range compared {
					d := delta{Fingerprint: fp, What: what, Metric: m.name, A: m.value(ra.Metrics), B: m.value(rb.Metrics)}
					if d.A != 0 {
						d.Change = (d.B - d.A) / d.A
					}
					worse := d.Change > threshold
					if m.higher {
						worse = d.Change < -threshold
					}
					if m.sample != nil {
						if recA == nil {
							if recA, err = st.Records(ctx, args[0], fp); err != nil {
								return err
							}
							if recB, err = st.Records(ctx, args[1], fp); err != nil {
								return err
							}
						}
						xa, xb := samples(recA, m.sample), samples(recB, m.sample)
						if len(xa) > 0 && len(xb) > 0 {
							_, d.P = metrics.MannWhitney(xa, xb)
							d.Tested = true
							worse = worse && d.P < alpha
						}
					}
					d.Regression = worse
					if worse {
						regressions++
					}
					deltas = append(deltas, d)
				}
			}
			w := cmd.OutOrStdout()
			if output == "json" {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(deltas); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CONFIG\tWHAT\tMETRIC\tA\tB\tCHANGE\tp\t")
				for _, d := range deltas {
					p, flag := "-", ""
					if d.Tested {
						p = fmt.Sprintf("%.3g", d.P)
					}
					if d.Regression {
						flag = "REGRESSION"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%.3f\t%+.1f%%\t%s\t%s\n", d.Fingerprint[:12], d.What, d.Metric, d.A, d.B, 100*d.Change, p, flag)
				}
				tw.Flush()
				fmt.Fprintf(w, "%d configs compared (%d only in %s, %d only in %s); %d regressions beyond %.0f%% (alpha %g)\n",
					len(fps), onlyA, args[0], onlyB, args[1], regressions, 100*threshold, alpha)
			}
			if len(fps) == 0 {
				return fmt.Errorf("runs %s and %s share no config", args[0], args[1])
			}
			if regressions > 0 {
				return exitError{exitFail}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "store", os.Getenv("LLMSWEEP_STORE"), "the results store `URL` (default $LLMSWEEP_STORE, else sqlite://.llmsweep/results.db)")
	cmd.Flags().Float64Var(&threshold, "threshold", 0.05, "the relative change that counts as a regression")
	cmd.Flags().Float64Var(&alpha, "alpha", 0.05, "the significance level of the Mann–Whitney U test")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
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
