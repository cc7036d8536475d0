package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/candidates"
	"github.com/llmsweep/llmsweep/internal/rank"
	"github.com/llmsweep/llmsweep/internal/report"
	"github.com/llmsweep/llmsweep/internal/store"
)

func newRank() *cobra.Command {
	var opt campaign.Options
	var policyPath, policyName, input, output, url, runID string
	var names []string
	var top int
	cmd := &cobra.Command{
		Use:   "rank --policy FILE (--input RESULTS.jsonl | --run ID [--store URL])",
		Short: "Rank benchmark results under a CUE policy (TOPSIS, Pareto or weighted sum), with explanations",
		Long: `rank applies a policy from campaigns/policies to per-config results: hard
constraints first (SLO thresholds, memory fit, budget), then the policy's method.
It prints each recommendation with its criteria values and each criterion's
contribution, the Pareto front, and how many configs each constraint removed.

Results come from --input, one JSON object a line:
  {"id": "...", "campaign": "...", "hardware": "h100-sxm-x1", "fits": true,
   "metrics": {"ttft_p99_ms": 180, ...}}
Or they come from the results store: --run ID ranks that run's results (--store,
else $LLMSWEEP_STORE, else sqlite://.llmsweep/results.db), as the report does.
Cost criteria ($/hour, $ per 1M output tokens, spot and on-demand) are derived from
the catalog's prices when the line names its hardware.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return fmt.Errorf("--output must be table or json, not %q", output)
			}
			if policyPath == "" || (input == "") == (runID == "") {
				return errors.New("rank needs --policy FILE and one of --input RESULTS.jsonl or --run ID")
			}
			set, err := loadSet(cmd, []string{policyPath}, opt)
			if err != nil {
				return err
			}
			p, err := pickPolicy(set, policyName)
			if err != nil {
				return err
			}
			if top > 0 {
				p.TopN = top
			}
			rows, err := readRows(cmd, input, url, runID)
			if err != nil {
				return err
			}
			filtered := rows[:0]
			for _, r := range rows {
				if len(names) > 0 && !contains(names, r.Campaign) {
					continue
				}
				candidates.Derive(&r, set)
				filtered = append(filtered, r)
			}
			res, err := candidates.Rank(filtered, p)
			if err != nil {
				return err
			}
			removed := res.Removed
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{
					"policy": p.Name, "method": p.Method, "considered": len(filtered),
					"ranked": res.Ranked, "front": res.Front, "removed": removed,
				})
			}
			printRanking(cmd.OutOrStdout(), p, len(filtered), res, removed)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&policyPath, "policy", "", "the policy's CUE file (campaigns/policies/balanced.cue)")
	f.StringVar(&policyName, "policy-name", "", "which policy of the file (default: the only one)")
	f.StringVar(&input, "input", "", "results as JSON lines")
	f.StringVar(&runID, "run", "", "rank this run's results from the store instead")
	f.StringVar(&url, "store", os.Getenv("LLMSWEEP_STORE"), "the results store `URL`, with --run (default $LLMSWEEP_STORE, else sqlite://.llmsweep/results.db)")
	f.StringSliceVar(&names, "campaign", nil, "only the results of these campaigns")
	f.IntVar(&top, "top", 0, "recommendations to print (default: the policy's top_n)")
	f.StringVarP(&output, "output", "o", "table", "table or json")
	f.StringVar(&opt.Catalog, "catalog", "", "catalog directory (default: catalog/ of the CUE module, else the built-in catalog)")
	return cmd
}

// readRows reads the results to rank: a results file, or a run from the store.
func readRows(cmd *cobra.Command, input, url, runID string) ([]candidates.Row, error) {
	if input != "" {
		return candidates.ReadJSONL(input)
	}
	st, err := openStore(cmd, url)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	run, err := st.Run(cmd.Context(), runID)
	if err != nil {
		return nil, err
	}
	if run == nil {
		return nil, fmt.Errorf("run %q is not in the store %s", runID, redact(url))
	}
	results, err := st.Results(cmd.Context(), store.Filter{RunID: runID})
	if err != nil {
		return nil, err
	}
	rows, _, err := candidates.FromStore(run.Campaign, results)
	return rows, err
}

func pickPolicy(set *campaign.Set, name string) (campaign.Policy, error) {
	names := keys(set.Policies)
	switch {
	case name != "":
		p, ok := set.Policies[name]
		if !ok {
			return p, fmt.Errorf("no policy %q%s", name, campaign.Suggest(name, names))
		}
		return p, nil
	case len(names) == 1:
		return set.Policies[names[0]], nil
	case len(names) == 0:
		return campaign.Policy{}, errors.New("the policy file defines no policy")
	}
	return campaign.Policy{}, fmt.Errorf("the file defines %d policies (%s): pick one with --policy-name", len(names), strings.Join(names, ", "))
}

func printRanking(w io.Writer, p campaign.Policy, considered int, res *rank.Result, removed map[string]int) {
	crit := keys(p.Criteria)
	fmt.Fprintf(w, "policy %s (%s, %s normalization): %d configs considered, the top %d:\n\n",
		p.Name, p.Method, p.Normalization, considered, len(res.Ranked))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "RANK\tSCORE\tCONFIG")
	for _, c := range crit {
		fmt.Fprintf(tw, "\t%s (%s, w %.2g)", strings.ToUpper(c), p.Criteria[c].Metric, p.Criteria[c].Weight)
	}
	fmt.Fprintln(tw)
	for i, r := range res.Ranked {
		if i >= p.TopN {
			break
		}
		fmt.Fprintf(tw, "%d\t%.4f\t%s", r.Rank, r.Score, r.ID)
		for _, c := range crit {
			v := r.Values[p.Criteria[c].Metric]
			fmt.Fprintf(tw, "\t%s (%+.3f)", report.Num(v), r.Contributions[c])
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nEach criterion shows its value and (its contribution to the score).\n")
	fmt.Fprintf(w, "\nPareto front over the criteria (%d configs):\n", len(res.Front))
	for _, id := range res.Front {
		fmt.Fprintf(w, "  %s\n", id)
	}
	if len(removed) > 0 {
		fmt.Fprintln(w, "\nRemoved before ranking:")
		reasons := keys(removed)
		sort.SliceStable(reasons, func(i, j int) bool { return removed[reasons[i]] > removed[reasons[j]] })
		for _, r := range reasons {
			fmt.Fprintf(w, "  %5d  %s\n", removed[r], r)
		}
	}
}
