package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"cuelang.org/go/cue/cuecontext"
	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/candidates"
	"github.com/llmsweep/llmsweep/internal/result"
)

func newRank() *cobra.Command {
	var inv invocation
	var ff filterFlags
	var policyArg, policyName, input string
	var names []string
	var top int
	cmd := &cobra.Command{
		Use:   "rank --policy NAME|FILE [--input RESULTS.jsonl | --run ID | filters]",
		Short: "Rank benchmark results under a CUE policy (TOPSIS, Pareto or weighted sum), with explanations",
		Long: `rank applies a policy to per-config results: hard constraints first (SLO
thresholds, memory fit, budget), then the policy's method. It prints each
recommendation with its criteria values and each criterion's contribution, the
Pareto front, and how many configs each constraint removed.

--policy names a shipped policy (balanced, cost-first, latency-first,
predicted: campaigns/policies, or the copy built into llmsweep) or a CUE file.

The results are, by default, each config's newest result in the store, narrowed
by --campaign, --model, --hardware, --framework, --quantization, --workload and
--provenance; --run ranks one run's results; --input reads JSON lines:
  {"id": "...", "campaign": "...", "hardware": "h100-sxm-x1", "fits": true,
   "metrics": {"ttft_p99_ms": 180, ...}}
Cost criteria ($/hour, $ per 1M output tokens, spot and on-demand) are derived
from the catalog's prices when a result names its hardware.

A criterion or constraint whose metric no result has (accuracy on the sim
engine, for one) is left out with a note, as in the report, which ranks
through the same code; a policy none of whose criteria is measured is an
error. Results an engine other than their configs' own served are ranked
under their own label ("... @ENGINE"), never as the configs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if policyArg == "" {
				return errors.New("rank needs --policy: a shipped policy's name (balanced, cost-first, latency-first, predicted) or a CUE file")
			}
			set, p, err := rankPolicy(cmd, &inv, policyArg, policyName)
			if err != nil {
				return err
			}
			if top > 0 {
				p.TopN = top
			}
			rows, defs, err := rankRows(cmd, &inv, &ff, input)
			if err != nil {
				return err
			}
			filtered := rows[:0]
			for _, r := range rows {
				if len(names) > 0 && !slices.Contains(names, r.Campaign) {
					continue
				}
				candidates.Derive(&r, set)
				filtered = append(filtered, r)
			}
			res, err := candidates.Rank(filtered, p)
			if err != nil {
				return err
			}
			if inv.output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{
					"policy": p.Name, "method": p.Method, "considered": res.Considered, "dropped": res.Dropped, "within_noise": res.WithinNoise,
					"ranked": res.Ranked, "front": res.Front, "removed": res.Removed, "definitions": defs,
				})
			}
			if err := res.WriteText(cmd.OutOrStdout(), p); err != nil {
				return err
			}
			result.WriteDefinitions(cmd.OutOrStdout(), defs)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&policyArg, "policy", "", "a shipped policy's `name`, or a policy file")
	f.StringVar(&policyName, "policy-name", "", "which policy of the file (default: the only one)")
	f.StringVar(&input, "input", "", "rank the results in this JSON-lines `file` instead of the store's")
	f.StringSliceVar(&names, "campaign", nil, "only the results of these `campaigns`")
	f.IntVar(&top, "top", 0, "recommendations to print (default: the policy's top_n)")
	checkFlags(cmd, func() error { return atLeast("top", top, 0) })
	inv.addOutput(cmd, "table", "json")
	inv.addStore(cmd)
	inv.addCatalog(cmd)
	ff.add(cmd, false)
	return cmd
}

// rankPolicy resolves --policy: a CUE file, or a shipped policy's name. The
// set it returns has the catalog, for prices.
func rankPolicy(cmd *cobra.Command, inv *invocation, arg, name string) (*campaign.Set, campaign.Policy, error) {
	if strings.HasSuffix(arg, ".cue") || strings.ContainsRune(arg, os.PathSeparator) {
		set, err := inv.load(cmd, []string{arg})
		if err != nil {
			return nil, campaign.Policy{}, err
		}
		p, err := pickPolicy(set.Policies, name)
		return set, p, err
	}
	set, err := campaign.Load(cuecontext.New(), nil, campaign.Options{Catalog: inv.catalog})
	if err != nil {
		return nil, campaign.Policy{}, err
	}
	shipped, err := policies(nil)
	if err != nil {
		return nil, campaign.Policy{}, err
	}
	p, ok := shipped[arg]
	if !ok {
		return nil, campaign.Policy{}, fmt.Errorf("--policy %q is neither a file nor a shipped policy%s", arg, campaign.Suggest(arg, keys(shipped)))
	}
	return set, p, nil
}

// rankRows reads the results to rank: a results file, the runs given (an
// imported run and a measured one rank side by side), or each config's
// newest result in the store under the filters. It also returns where the
// imported results' metric definitions differ from ours.
func rankRows(cmd *cobra.Command, inv *invocation, ff *filterFlags, input string) ([]candidates.Row, map[string][]string, error) {
	if input != "" && ff.set() {
		return nil, nil, errors.New("rank reads --input, or the store under --run and the filters: not both")
	}
	if input != "" {
		rows, err := candidates.ReadJSONL(input)
		return rows, nil, err
	}
	fs, err := ff.filters()
	if err != nil {
		return nil, nil, err
	}
	st, url, err := inv.readStore(cmd.Context(), nil)
	if err != nil {
		return nil, nil, err
	}
	defer st.Close()
	var results []result.Result
	for _, f := range fs {
		if err := checkFilter(cmd.Context(), st, &f); err != nil {
			return nil, nil, err
		}
		f.Newest = f.RunID == ""
		rs, err := st.Results(cmd.Context(), f)
		if err != nil {
			return nil, nil, err
		}
		results = append(results, rs...)
	}
	if len(results) == 0 {
		return nil, nil, fmt.Errorf("the store %s has no results that match", redact(url))
	}
	runs, err := st.Runs(cmd.Context(), "")
	if err != nil {
		return nil, nil, err
	}
	campaignOf := map[string]string{}
	for _, r := range runs {
		campaignOf[r.ID] = r.Campaign
	}
	return candidates.FromResults(results, func(run string) string { return campaignOf[run] }), result.Definitions(results), nil
}

func pickPolicy(ps map[string]campaign.Policy, name string) (campaign.Policy, error) {
	names := keys(ps)
	switch {
	case name != "":
		p, ok := ps[name]
		if !ok {
			return p, fmt.Errorf("no policy %q%s", name, campaign.Suggest(name, names))
		}
		return p, nil
	case len(names) == 1:
		return ps[names[0]], nil
	case len(names) == 0:
		return campaign.Policy{}, errors.New("the policy file defines no policy")
	}
	return campaign.Policy{}, fmt.Errorf("the file defines %d policies (%s): pick one with --policy-name", len(names), strings.Join(names, ", "))
}
