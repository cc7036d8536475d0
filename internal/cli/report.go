package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/pipeline"
	"github.com/llmsweep/llmsweep/internal/report"
)

func newReport() *cobra.Command {
	var inv invocation
	var ro report.Options
	cmd := &cobra.Command{
		Use:   "report [campaign files or directories...]",
		Short: "Write a run's report: JSON, HTML and PDF with plots",
		Long: `report reads a run from the results store and writes its report as
<out>/<campaign>-<run>.{json,html,pdf}, with latest.{json,html,pdf} copies:
the campaign summary (configs planned, run, failed; wall time; GPU-hours; cost
at spot and on-demand prices), the top recommendations of every policy with
explanations (the policies of the files given, else the shipped ones, ranked
as llmsweep rank ranks), the Pareto front, latency against throughput per
model and hardware, TTFT and TPOT percentiles with utilization, regressions
against the campaign's prior run, and the failures with their reasons.
Predicted and imported results are marked; metrics that were not measured
are "–".

The JSON follows the schema llmsweep.report/v2 and holds everything; the HTML
(one self-contained file) and the PDF show the top --top entries of each long
section. The run is --run, else the campaign's latest. The Argo pipeline calls
it with --bundle (the campaign bundle that exec reads) and --run.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			formats, err := report.CheckFormats(ro.Formats)
			if err != nil {
				return err
			}
			ro.Formats = formats
			set, c, err := reportCampaign(cmd, &inv, args, ro.RunID)
			if err != nil {
				return err
			}
			ro.Set = set
			if len(inv.names) > 0 { // without campaign files, the name still picks the runs
				ro.Campaign = inv.names[0]
			}
			if c != nil {
				ro.Campaign = c.Name
				// The compiler's pruning and the configs' names; a campaign
				// that no longer compiles still gets its report.
				if m, err := pipeline.Compile(set, *c, ""); err == nil {
					ro.Planned, ro.Configs = &m.Summary, m.Configs
				}
			}
			st, url, err := inv.readStore(cmd.Context(), c)
			if err != nil {
				return err
			}
			defer st.Close()
			if ro.RunID != "" {
				if ro.RunID, err = resolveRun(cmd.Context(), st, ro.Campaign, ro.RunID); err != nil {
					return err
				}
			}
			paths, err := report.Write(cmd.Context(), st, ro)
			if errors.Is(err, report.ErrEmpty) { // an unknown run: could not run, as in rank and compare
				fmt.Fprintf(diag(cmd, slog.LevelWarn), "llmsweep report: %v in %s; no report written\n", err, redact(url))
				return exitError{exitUsage}
			}
			if err != nil {
				return err
			}
			if inv.output == "json" {
				return writeJSON(cmd.OutOrStdout(), paths)
			}
			for _, f := range ro.Formats {
				fmt.Fprintf(cmd.OutOrStdout(), "%s (and %s)\n", paths.Files[f], paths.Latest[f])
			}
			return nil
		},
	}
	f := cmd.Flags()
	// -o is what report prints (the files it wrote); --format is what it writes.
	inv.addOutput(cmd, "table", "json")
	inv.addBundle(cmd)
	inv.addCampaign(cmd, false)
	inv.addStore(cmd)
	inv.addCatalog(cmd)
	f.StringVar(&ro.RunID, "run", "", "the run: an `id`, or latest or latest~N (default: the campaign's latest run)")
	f.StringVar(&ro.Out, "out", report.DefaultOut, "the `directory` reports are written to")
	f.StringSliceVar(&ro.Formats, "format", report.Formats, "formats to write: json, html, pdf")
	f.IntVar(&ro.Top, "top", 10, "entries of each long section in HTML and PDF (the JSON has all)")
	f.Float64Var(&ro.Threshold, "threshold", 0.05, "the relative change that counts as a regression")
	f.Float64Var(&ro.Alpha, "alpha", 0.05, "the significance level of the Mann–Whitney U test")
	checkFlags(cmd, func() error {
		return errors.Join(atLeast("top", ro.Top, 1), fraction("threshold", ro.Threshold, true), fraction("alpha", ro.Alpha, false))
	})
	f.BoolVar(&ro.SampleTests, "sample-tests", true, "test latency regressions on the per-request records where the store has them")
	return cmd
}

// reportCampaign loads the campaign to report on: from a bundle, from the files
// given, or from ./campaigns when it exists. With no campaign at all (only
// --run, or only --campaign naming the runs) it returns a nil campaign, and
// the report goes without pruning.
func reportCampaign(cmd *cobra.Command, inv *invocation, args []string, runID string) (*campaign.Set, *campaign.Campaign, error) {
	if inv.bundle == "" && len(args) == 0 {
		if _, err := os.Stat("campaigns"); err != nil {
			return nil, nil, nil
		}
	}
	if inv.bundle != "" || len(inv.names) > 0 {
		set, c, err := inv.campaign(cmd, args)
		if err == nil {
			return set, &c, nil
		}
		if len(inv.names) == 0 || inv.bundle != "" {
			return nil, nil, err
		}
	}
	set, err := inv.load(cmd, args)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case len(inv.names) > 0:
		return set, nil, nil // not among the files: the name picks the runs in the store
	case len(set.Campaigns) == 1:
		for _, c := range set.Campaigns {
			return set, &c, nil
		}
	case runID != "":
		return set, nil, nil // the run names its campaign; the set still has prices and policies
	}
	return nil, nil, fmt.Errorf("%d campaigns are loaded (%s): name one with --campaign, or give --run", len(set.Campaigns), strings.Join(keys(set.Campaigns), ", "))
}
