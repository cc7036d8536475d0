package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/pipeline"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/sim"
	"github.com/llmsweep/llmsweep/internal/store"
)

// defaultPoints is the published measurements file --validate reads.
const defaultPoints = "testdata/published/points.csv"

func newPlan() *cobra.Command {
	var inv invocation
	var all, calibrate bool
	var top int
	var validate, scoreFile, fitFile string
	var simOpt sim.Options
	cmd := &cobra.Command{
		Use:   "plan [paths...]",
		Short: "Predict each config's latency, throughput, benchmark time and cost, like terraform plan",
		Long: `plan predicts, without a GPU, what every config of a campaign will measure (TTFT
P50/P99, TPOT, output throughput, memory headroom) and how long its benchmark takes
(server start, warmup and requests), then adds up GPU-hours and dollars at spot and
on-demand prices per batch and per campaign, flags configs predicted to miss their
workload's SLOs, and compares the campaign's makespan under the compiler's count
cut with a cut balanced by predicted duration.

The model is a roofline of each engine iteration with efficiency factors per
framework and GPU architecture (catalog/efficiency.cue) under a simulation of
continuous batching; see internal/sim.

Each predicted TTFT, TPOT and throughput carries an interval: the 10th to 90th
percentile of measured/predicted in the model's leave-one-source-out
cross-validation on the published points, per framework and metric.

--calibrate fits the efficiency factors to the results in --store first.

Scoring a published points file (see testdata/published/README.md) prints the
median (MdAPE) and 90th-percentile absolute percentage error per metric and per
framework, or -o json:
  --score FILE              plan's factors (the published fit), no further fitting
  --fit FILE --score FILE2  factors fitted to FILE, scored on FILE2
  --validate[=FILE]         leave-one-source-out cross-validation: each source
                            document predicted by a fit to all the others
                            (default FILE: ` + defaultPoints + `)`,
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			asJSON := inv.output == "json"
			switch {
			case fitFile != "" && scoreFile == "":
				return errors.New("--fit names the points to fit to; --score names the points to score (plan --fit FILE --score FILE2)")
			case validate != "" && scoreFile != "":
				return errors.New("--validate and --score are two ways to score; give one")
			case validate != "" || scoreFile != "":
				return runScore(cmd, w, args, campaign.Options{Catalog: inv.catalog}, scoreArgs{validate: validate, score: scoreFile, fit: fitFile, json: asJSON})
			}
			set, cs, err := inv.campaigns(cmd, args)
			if err != nil {
				return err
			}
			tab, pub, err := sim.Fitted(set)
			if err != nil {
				return err
			}
			if calibrate {
				if tab, err = runCalibrate(cmd.Context(), w, diag(cmd, slog.LevelInfo), set, tab, inv.storeURL(nil), asJSON); err != nil {
					return err
				}
			}
			simOpt.Table = tab
			simOpt.Intervals = &pub
			var plans []*sim.Plan
			for _, c := range cs {
				p, err := sim.Build(set, c, simOpt)
				if err != nil {
					return fmt.Errorf("campaign %s: %w", c.Name, err)
				}
				plans = append(plans, p)
			}
			if asJSON {
				if !all {
					for _, p := range plans {
						p.Configs = p.Configs[:min(top, len(p.Configs))]
					}
				}
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(plans); err != nil {
					return err
				}
				return overBudget(cmd, plans)
			}
			for i, p := range plans {
				if i > 0 {
					fmt.Fprintln(w)
				}
				p.WriteText(w, cs[i], all, top)
			}
			if err := planReuse(cmd, &inv, cs, plans); err != nil {
				return err
			}
			return overBudget(cmd, plans)
		},
	}
	f := cmd.Flags()
	inv.addCampaign(cmd, true)
	f.BoolVar(&all, "all", false, "list every config and batch, not only the longest")
	f.IntVar(&top, "top", 10, "configs to list without --all")
	checkFlags(cmd, func() error { return atLeast("top", top, 1) })
	inv.addOutput(cmd, "table", "json")
	inv.addJSONAlias(cmd)
	f.BoolVar(&calibrate, "calibrate", false, "fit the efficiency factors to the results in --store before planning")
	inv.addStore(cmd)
	f.StringVar(&validate, "validate", "", "leave-one-source-out cross-validation on a published points `file`")
	f.Lookup("validate").NoOptDefVal = defaultPoints
	f.StringVar(&scoreFile, "score", "", "score a published points `file`: median and P90 error per metric and framework")
	f.StringVar(&fitFile, "fit", "", "fit the efficiency factors to a published points `file` before --score")
	f.Float64Var(&simOpt.LoadGBps, "load-gbps", sim.DefaultLoadGBps, "rate at which a server reads its checkpoint, GB/s")
	f.Float64Var(&simOpt.StartupS, "startup", sim.DefaultStartupS, "server start without the weights, seconds")
	inv.addCatalog(cmd)
	return cmd
}

// overBudget is exit code 1 when a campaign is predicted to go over its
// budget: a CI gate on plan stops it before compile and apply would.
func overBudget(cmd *cobra.Command, plans []*sim.Plan) error {
	over := false
	for _, p := range plans {
		if p.OverBudget() {
			over = true
			fmt.Fprintf(diag(cmd, slog.LevelWarn), "campaign %s is over budget: %s\n", p.Campaign, strings.Join(p.Budget.Over, "; "))
		}
	}
	if over {
		return exitError{exitFail}
	}
	return nil
}

// planReuse says, when the store exists, how many of each campaign's configs a
// run on the cluster would measure and why under its reuse policy, and how
// many stored results would stand in.
func planReuse(cmd *cobra.Command, inv *invocation, cs []campaign.Campaign, plans []*sim.Plan) error {
	for i, c := range cs {
		st, url, err := inv.openExisting(cmd.Context(), &c)
		if err != nil {
			// The prediction stands without the store: say what is missing
			// rather than fail a plan that needs no cluster.
			fmt.Fprintf(diag(cmd, slog.LevelWarn), "%s: reuse not shown: %v\n", c.Name, err)
			continue
		}
		if st == nil {
			continue // plan never creates a store
		}
		configs := make([]matrix.Config, len(plans[i].Configs))
		for j, cp := range plans[i].Configs {
			configs[j] = cp.Config
		}
		r, err := pipeline.Decide(cmd.Context(), st, configs, pipeline.ReuseOptions{Policy: c.Reuse, Kind: result.Measured})
		st.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "\n%s on the cluster, with the results in %s: %s\n", c.Name, redact(url), r)
	}
	return nil
}

// runCalibrate fits the efficiency table to the results in the store and
// prints the fit (on notes when the plan is JSON); it returns the table to plan with.
func runCalibrate(ctx context.Context, w, notes io.Writer, set *campaign.Set, tab sim.Table, url string, asJSON bool) (sim.Table, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	results, err := st.Results(ctx, store.Filter{})
	if err != nil {
		return nil, err
	}
	points, skipped := sim.StorePoints(set, results)
	fitted, fits := sim.Calibrate(tab, points)
	out := w
	if asJSON {
		out = notes
	}
	fmt.Fprintf(out, "calibration: %d results in %s, %d points used, %d skipped\n", len(results), url, len(points), len(skipped))
	for _, s := range skipped {
		fmt.Fprintf(out, "  skipped %s: %s\n", s.ID, s.Reason)
	}
	sim.WriteFits(out, fits)
	if len(points) == 0 {
		fmt.Fprintln(out, "  no points to fit: the catalog's defaults stay")
	}
	return fitted, nil
}
