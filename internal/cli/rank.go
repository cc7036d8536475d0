package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/rank"
)

// resultRow is one line of a results file for rank --input: a config's identity
// and its measured metrics (the names of schema #Metric).
type resultRow struct {
	ID           string             `json:"id"`
	Campaign     string             `json:"campaign,omitempty"`
	Model        string             `json:"model,omitempty"`
	Hardware     string             `json:"hardware,omitempty"`
	Framework    string             `json:"framework,omitempty"`
	Quantization string             `json:"quantization,omitempty"`
	Workload     string             `json:"workload,omitempty"`
	Fits         *bool              `json:"fits,omitempty"`
	Metrics      map[string]float64 `json:"metrics"`
}

// readResults reads a JSONL results file strictly, naming the line of any error.
func readResults(path string) ([]resultRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []resultRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var r resultRow
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		if r.ID == "" {
			return nil, fmt.Errorf("%s:%d: a result needs an id", path, n)
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

// derive adds the metrics computed from the catalog: $/hour of the hardware, and
// $ per 1M output tokens = hourly price ÷ (output tok/s × 3600) × 10⁶, at spot and
// on-demand prices.
func derive(r *resultRow, s *campaign.Set) {
	h, ok := s.Hardware[r.Hardware]
	if !ok {
		return
	}
	r.Metrics["usd_per_hour_spot"] = h.Price.SpotUSDHour
	r.Metrics["usd_per_hour_on_demand"] = h.Price.OnDemandUSDHour
	if tps := r.Metrics["output_throughput"]; tps > 0 {
		r.Metrics["usd_per_1m_output_tokens_spot"] = h.Price.SpotUSDHour / (tps * 3600) * 1e6
		r.Metrics["usd_per_1m_output_tokens_on_demand"] = h.Price.OnDemandUSDHour / (tps * 3600) * 1e6
	}
}

// policyConstraints are the policy's hard filters that are not metric thresholds:
// the memory fit and the budget. It returns the rows kept and the reasons.
func policyConstraints(rows []resultRow, p campaign.Policy) ([]resultRow, map[string]int) {
	removed := map[string]int{}
	var kept []resultRow
	prices := "on_demand"
	if p.Budget != nil && p.Budget.Prices != "" {
		prices = p.Budget.Prices
	}
	for _, r := range rows {
		switch {
		case p.FitsMemory && r.Fits != nil && !*r.Fits:
			removed["does not fit in GPU memory"]++
		case p.Budget != nil && p.Budget.MaxUSDPerHour > 0 && r.Metrics["usd_per_hour_"+prices] > p.Budget.MaxUSDPerHour:
			removed[fmt.Sprintf("over the budget of $%g/hour (%s)", p.Budget.MaxUSDPerHour, prices)]++
		case p.Budget != nil && p.Budget.MaxUSDPer1MOutputTokens > 0 && r.Metrics["usd_per_1m_output_tokens_"+prices] > p.Budget.MaxUSDPer1MOutputTokens:
			removed[fmt.Sprintf("over the budget of $%g per 1M output tokens (%s)", p.Budget.MaxUSDPer1MOutputTokens, prices)]++
		default:
			kept = append(kept, r)
		}
	}
	return kept, removed
}

func newRank() *cobra.Command {
	var opt campaign.Options
	var policyPath, policyName, input, output string
	var names []string
	var top int
	cmd := &cobra.Command{
		Use:   "rank --policy FILE --input RESULTS.jsonl",
		Short: "Rank benchmark results under a CUE policy (TOPSIS, Pareto or weighted sum), with explanations",
		Long: `rank applies a policy from campaigns/policies to per-config results: hard
constraints first (SLO thresholds, memory fit, budget), then the policy's method.
It prints each recommendation with its criteria values and each criterion's
contribution, the Pareto front, and how many configs each constraint removed.

Results come from --input, one JSON object a line:
  {"id": "...", "campaign": "...", "hardware": "h100-sxm-x1", "fits": true,
   "metrics": {"ttft_p99_ms": 180, ...}}
Cost criteria ($/hour, $ per 1M output tokens, spot and on-demand) are derived from
the catalog's prices when the line names its hardware. (Reading the results store
comes with the store.)`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return fmt.Errorf("--output must be table or json, not %q", output)
			}
			if policyPath == "" || input == "" {
				return errors.New("rank needs --policy FILE and --input RESULTS.jsonl")
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
			rows, err := readResults(input)
			if err != nil {
				return err
			}
			var alts []rank.Alternative
			filtered := rows[:0]
			for _, r := range rows {
				if len(names) > 0 && !contains(names, r.Campaign) {
					continue
				}
				if r.Metrics == nil {
					r.Metrics = map[string]float64{}
				}
				derive(&r, set)
				filtered = append(filtered, r)
			}
			kept, removed := policyConstraints(filtered, p)
			for _, r := range kept {
				alts = append(alts, rank.Alternative{ID: r.ID, Values: r.Metrics})
			}
			res, err := rank.Rank(alts, p)
			if err != nil {
				return err
			}
			for k, n := range res.Removed {
				removed[k] += n
			}
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
	f.StringSliceVar(&names, "campaign", nil, "only the results of these campaigns")
	f.IntVar(&top, "top", 0, "recommendations to print (default: the policy's top_n)")
	f.StringVarP(&output, "output", "o", "table", "table or json")
	f.StringVar(&opt.Catalog, "catalog", "", "catalog directory (default: catalog/ of the CUE module, else the built-in catalog)")
	return cmd
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
			fmt.Fprintf(tw, "\t%s (%+.3f)", num(v), r.Contributions[c])
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

// num prints a metric compactly.
func num(v float64) string {
	switch {
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3g", v)
}
