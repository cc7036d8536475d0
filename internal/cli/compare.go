package cli

import (
	"encoding/json"
	"fmt"

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
p < --alpha; accuracy regresses when it drops by more than --threshold and
McNemar's exact test on the examples both runs asked gives p < --alpha (the
counts of examples right in one run only are printed beside it); throughput
and goodput regress when they drop by more than --threshold (they are run
figures, with no per-request samples to test).
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
			w := cmd.OutOrStdout()
			if inv.output == "json" {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				err = enc.Encode(cmp.Deltas)
			} else {
				err = cmp.WriteText(w, args[0], args[1], threshold, alpha)
			}
			if err != nil {
				return err
			}
			if cmp.Shared == 0 {
				return fmt.Errorf("runs %s and %s share no config", args[0], args[1])
			}
			if cmp.Regressions > 0 {
				return exitError{exitFail}
			}
			return nil
		},
	}
	inv.addStore(cmd)
	cmd.Flags().Float64Var(&threshold, "threshold", 0.05, "the relative change that counts as a regression")
	cmd.Flags().Float64Var(&alpha, "alpha", 0.05, "the significance level of the Mann–Whitney U and McNemar tests")
	inv.addOutput(cmd, "table", "json")
	return cmd
}
