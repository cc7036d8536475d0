package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/compare"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
)

func newCompare() *cobra.Command {
	var inv invocation
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
			st, _, err := inv.openStore(cmd.Context(), nil)
			if err != nil {
				return err
			}
			defer st.Close()
			ctx := cmd.Context()
			load := func(id string) ([]result.Result, error) {
				rs, err := st.Results(ctx, store.Filter{RunID: id})
				if err != nil {
					return nil, err
				}
				if len(rs) == 0 {
					return nil, fmt.Errorf("run %q has no results in the store", id)
				}
				return rs, nil
			}
			a, err := load(args[0])
			if err != nil {
				return err
			}
			b, err := load(args[1])
			if err != nil {
				return err
			}
			cmp, err := compare.Runs(ctx, args[0], a, args[1], b, compare.Options{Threshold: threshold, Alpha: alpha, Records: st.Records})
			if err != nil {
				return err
			}
			deltas, regressions := cmp.Deltas, cmp.Regressions
			w := cmd.OutOrStdout()
			if inv.output == "json" {
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
					cmp.Shared, cmp.OnlyA, args[0], cmp.OnlyB, args[1], regressions, 100*threshold, alpha)
				for _, m := range keys(cmp.Unmeasured) {
					fmt.Fprintf(w, "%s not compared for %d configs: a run did not measure it\n", m, cmp.Unmeasured[m])
				}
			}
			if cmp.Shared == 0 {
				return fmt.Errorf("runs %s and %s share no config", args[0], args[1])
			}
			if regressions > 0 {
				return exitError{exitFail}
			}
			return nil
		},
	}
	inv.addStore(cmd)
	cmd.Flags().Float64Var(&threshold, "threshold", 0.05, "the relative change that counts as a regression")
	cmd.Flags().Float64Var(&alpha, "alpha", 0.05, "the significance level of the Mann–Whitney U test")
	inv.addOutput(cmd, "table", "json")
	return cmd
}
