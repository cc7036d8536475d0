package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/compare"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
)

func newCompare() *cobra.Command {
	var inv invocation
	var name string
	var threshold, alpha float64
	cmd := &cobra.Command{
		Use:   "compare RUN_A RUN_B",
		Short: "Compare two runs config by config, and fail on regressions",
		Long: `compare matches the configs two runs share by fingerprint and prints each
metric's change from A to B. A metric regresses when it worsens by more than
--threshold and a test finds the change significant (p < --alpha): a
Mann–Whitney U test on the per-request samples for latencies and throughput
(each request's output tokens per second), a two-proportion z-test on the share
of requests meeting the SLO for goodput, and McNemar's exact test on the
examples both runs asked for accuracy (the counts of examples right in one run
only are printed beside it). Metrics one run did not measure are left out and
counted. It exits 1 when a regression is found, for CI gates.

RUN_A and RUN_B are run ids, or latest and latest~N: the newest run of
--campaign (of any campaign without it) and the Nth before it, as in
compare latest~1 latest.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, _, err := inv.readStore(cmd.Context(), nil)
			if err != nil {
				return err
			}
			defer st.Close()
			ctx := cmd.Context()
			for i := range args {
				if args[i], err = resolveRun(ctx, st, name, args[i]); err != nil {
					return err
				}
			}
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
				if err := enc.Encode(cmp.Deltas); err != nil {
					return err
				}
				result.WriteDefinitions(diag(cmd, slog.LevelInfo), cmp.Definitions)
			} else {
				if err := cmp.WriteText(w, args[0], args[1], threshold, alpha); err != nil {
					return err
				}
				result.WriteDefinitions(w, cmp.Definitions)
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
	cmd.Flags().StringVar(&name, "campaign", "", "the `campaign` whose runs latest and latest~N name")
	cmd.Flags().Float64Var(&threshold, "threshold", 0.05, "the relative change that counts as a regression")
	cmd.Flags().Float64Var(&alpha, "alpha", 0.05, "the significance level of the Mann–Whitney U and McNemar tests")
	checkFlags(cmd, func() error {
		return errors.Join(fraction("threshold", threshold, true), fraction("alpha", alpha, false))
	})
	inv.addOutput(cmd, "table", "json")
	return cmd
}
