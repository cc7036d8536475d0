package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"cuelang.org/go/cue/cuecontext"
	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/report"
	"github.com/llmsweep/llmsweep/internal/store"
)

func newReport() *cobra.Command {
	var opt campaign.Options
	var ro report.Options
	var bundle, name, url, policies string
	cmd := &cobra.Command{
		Use:   "report [campaign files or directories...]",
		Short: "Write a run's report: JSON, HTML and PDF with plots",
		Long: `report reads a run from the results store and writes its report as
<out>/<campaign>-<run>.{json,html,pdf}, with latest.{json,html,pdf} copies:
the campaign summary (configs planned, run, failed; wall time; GPU-hours; cost
at spot and on-demand prices), the top recommendations of every policy with
explanations, the Pareto front, latency against throughput per model and
hardware, TTFT and TPOT percentiles, regressions against the campaign's prior
run, and the failures with their reasons. Results of the emulated engine are
marked predicted, not measured.

The JSON follows the schema llmsweep.report/v1 and holds everything; the HTML
(one self-contained file) and the PDF show the top --top entries of each long
section. The run is --run, else the campaign's latest. The store is --store,
else $LLMSWEEP_STORE, else the campaign's store.url. The Argo pipeline calls it
with --bundle (the campaign bundle that exec reads) and --run.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			formats, err := report.CheckFormats(ro.Formats)
			if err != nil {
				return err
			}
			ro.Formats = formats
			set, c, err := reportCampaign(cmd, args, bundle, name, ro.RunID, opt)
			if err != nil {
				return err
			}
			if set == nil || len(set.Policies) == 0 {
				if extra, err := loadPolicies(policies, opt); err != nil {
					return err
				} else if extra != nil {
					if set == nil {
						set = extra
					} else {
						set.Policies = extra.Policies
					}
				}
			}
			ro.Set = set
			ro.Campaign = name // without campaign files, the name still picks the runs
			if c != nil {
				ro.Campaign = c.Name
				if url == "" {
					url = c.Store.URL
				}
				// The compiler's pruning and the configs' names; a campaign
				// that no longer compiles still gets its report.
				var buf bytes.Buffer
				if res, err := (&matrix.Compiler{Set: set}).Compile(*c, &buf); err == nil {
					ro.Planned = &res.Summary
					ro.Configs, _ = decodeConfigs(&buf)
				}
			}
			st, err := openStore(cmd, url)
			if err != nil {
				return err
			}
			defer st.Close()
			paths, err := report.Write(cmd.Context(), st, ro)
			if errors.Is(err, report.ErrEmpty) {
				fmt.Fprintf(cmd.ErrOrStderr(), "llmsweep report: %v in %s; no report written\n", err, redact(storeURLOrDefault(url)))
				return exitError{exitFail}
			}
			if err != nil {
				return err
			}
			for _, f := range ro.Formats {
				fmt.Fprintf(cmd.OutOrStdout(), "%s (and %s)\n", paths.Files[f], paths.Latest[f])
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&bundle, "bundle", "", "the campaign bundle `file` (from the campaign ConfigMap), instead of campaign files")
	f.StringVar(&name, "campaign", "", "the campaign to report on, when the files hold several")
	f.StringVar(&ro.RunID, "run", "", "the run `id` (default: the campaign's latest run)")
	f.StringVar(&url, "store", os.Getenv("LLMSWEEP_STORE"), "the results store `URL` (default $LLMSWEEP_STORE, else the campaign's store.url)")
	f.StringVar(&ro.Out, "out", report.DefaultOut, "the `directory` reports are written to")
	f.StringSliceVar(&ro.Formats, "format", report.Formats, "formats to write: json, html, pdf")
	f.IntVar(&ro.Top, "top", 10, "entries of each long section in HTML and PDF (the JSON has all)")
	f.Float64Var(&ro.Threshold, "threshold", 0.05, "the relative change that counts as a regression")
	f.Float64Var(&ro.Alpha, "alpha", 0.05, "the significance level of the Mann–Whitney U test")
	f.BoolVar(&ro.SampleTests, "sample-tests", true, "test latency regressions on the per-request records where the store has them")
	f.StringVar(&policies, "policies", "campaigns/policies", "the policies `directory`, used when the campaign files bring none")
	f.StringVar(&opt.Catalog, "catalog", "", "catalog `directory` (default: ./catalog, or the built-in one)")
	return cmd
}

// reportCampaign loads the campaign to report on: from a bundle, from the files
// given, or from ./campaigns when it exists. With no campaign at all (only
// --run) it returns nils, and the report goes without prices and pruning.
func reportCampaign(cmd *cobra.Command, args []string, bundle, name, runID string, opt campaign.Options) (*campaign.Set, *campaign.Campaign, error) {
	if bundle != "" {
		if len(args) > 0 {
			return nil, nil, errors.New("give --bundle or campaign files, not both")
		}
		b, err := os.ReadFile(bundle)
		if err != nil {
			return nil, nil, err
		}
		set, c, err := campaign.ReadBundle(b)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", bundle, err)
		}
		return set, &c, nil
	}
	if len(args) == 0 {
		if _, err := os.Stat("campaigns"); err != nil {
			return nil, nil, nil
		}
	}
	set, err := loadSet(cmd, args, opt)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case name != "" && len(set.Campaigns) == 0:
		return set, nil, nil // only policies here: the name picks the runs in the store
	case name != "":
		c, ok := set.Campaigns[name]
		if !ok {
			return nil, nil, fmt.Errorf("no campaign %q%s", name, campaign.Suggest(name, keys(set.Campaigns)))
		}
		return set, &c, nil
	case len(set.Campaigns) == 1:
		for _, c := range set.Campaigns {
			return set, &c, nil
		}
	case runID != "":
		return set, nil, nil // the run names its campaign; the set still has prices and policies
	}
	return nil, nil, fmt.Errorf("%d campaigns are loaded (%s): name one with --campaign, or give --run", len(set.Campaigns), campaignNames(mapValues(set.Campaigns)))
}

// loadPolicies loads the shipped policies (and with them the catalog) from dir,
// or returns nil when dir does not exist.
func loadPolicies(dir string, opt campaign.Options) (*campaign.Set, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, nil
	}
	set, err := campaign.Load(cuecontext.New(), []string{dir}, opt)
	if err != nil {
		return nil, fmt.Errorf("policies %s: %w", dir, err)
	}
	return set, nil
}

func mapValues(m map[string]campaign.Campaign) []campaign.Campaign {
	var out []campaign.Campaign
	for _, k := range keys(m) {
		out = append(out, m[k])
	}
	return out
}

func storeURLOrDefault(url string) string {
	if url == "" {
		return store.DefaultURL
	}
	return url
}

// decodeConfigs reads the compiler's matrix.jsonl lines.
func decodeConfigs(r *bytes.Buffer) ([]matrix.Config, error) {
	var out []matrix.Config
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	for dec.More() {
		var c matrix.Config
		if err := dec.Decode(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
