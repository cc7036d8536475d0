// Package candidates turns benchmark results into ranking alternatives: rows of
// schema #Metric values read from a results file or from results, with the
// cost metrics derived from the catalog's prices, and the policy constraints
// that are not metric thresholds (memory fit, budget). `llmsweep rank`, the
// report, notify and the catalog service rank through Rank, so that they rank
// the same numbers the same way and leave out the same criteria.
package candidates

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/rank"
	"github.com/llmsweep/llmsweep/internal/result"
)

// Row is a config's identity and its metrics (the names of schema #Metric). It
// is also one line of a results file for rank --input.
type Row struct {
	ID           string             `json:"id"`
	Campaign     string             `json:"campaign,omitempty"`
	Model        string             `json:"model,omitempty"`
	Hardware     string             `json:"hardware,omitempty"`
	Framework    string             `json:"framework,omitempty"`
	Quantization string             `json:"quantization,omitempty"`
	Workload     string             `json:"workload,omitempty"`
	Fingerprint  string             `json:"fingerprint,omitempty"`
	Provenance   result.Kind        `json:"provenance,omitempty"`
	Fits         *bool              `json:"fits,omitempty"`
	Metrics      map[string]float64 `json:"metrics"`
	// AccuracyN is the number of examples behind Metrics["accuracy"], for
	// telling accuracy differences from noise; 0 when unknown.
	AccuracyN int `json:"accuracy_n,omitempty"`
}

// ReadJSONL reads a results file (one Row a line) strictly, naming the line of
// any error.
func ReadJSONL(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []Row
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var r Row
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		if r.ID == "" {
			return nil, fmt.Errorf("%s:%d: a result needs an id", path, n)
		}
		if r.Metrics == nil {
			r.Metrics = map[string]float64{}
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

// FromResults turns results into rows, one per result. A row's ID is the
// result's label; where two results share a label (rank needs unique IDs),
// their provenance is added ("[imported from aiperf]", "[measured]"), then
// their run, then the fingerprint's first 12 digits: an imported result of
// a config ranks beside the config's measured one, told apart. What was not
// measured is not among its metrics.
func FromResults(results []result.Result, campaignOf func(run string) string) []Row {
	rows := make([]Row, 0, len(results))
	for _, r := range results {
		cfg := r.Config
		row := Row{ID: r.Label(), Model: cfg.Model, Hardware: cfg.Hardware, Framework: cfg.Framework,
			Quantization: cfg.Quantization, Workload: cfg.Workload, Fingerprint: r.Fingerprint,
			Provenance: r.Provenance.Kind, Metrics: r.Values()}
		if r.Accuracy != nil {
			row.AccuracyN = r.Accuracy.Samples
		}
		if campaignOf != nil {
			row.Campaign = campaignOf(r.Run)
		}
		rows = append(rows, row)
	}
	suffixes := []func(r *result.Result) string{
		func(r *result.Result) string { return " [" + r.Provenance.String() + "]" },
		func(r *result.Result) string { return " run " + r.Run },
		func(r *result.Result) string { return "#" + r.Fingerprint[:min(12, len(r.Fingerprint))] },
	}
	groups := map[string][]int{}
	for i, row := range rows {
		groups[row.ID] = append(groups[row.ID], i)
	}
	for _, g := range groups {
		if len(g) < 2 {
			continue
		}
		// The first suffix that tells the group apart alone, else all of them.
		chosen := suffixes
		for _, f := range suffixes {
			seen := map[string]bool{}
			for _, i := range g {
				seen[f(&results[i])] = true
			}
			if len(seen) == len(g) {
				chosen = []func(*result.Result) string{f}
				break
			}
		}
		for _, i := range g {
			for _, f := range chosen {
				rows[i].ID += f(&results[i])
			}
		}
	}
	return rows
}

// Derive adds the metrics computed from the catalog: $/hour of the hardware, and
// $ per 1M output tokens = hourly price ÷ (output tok/s × 3600) × 10⁶, at spot and
// on-demand prices.
func Derive(r *Row, s *campaign.Set) {
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

// Constrain applies the policy's hard filters that are not metric thresholds:
// the memory fit and the budget. It returns the rows kept and the reasons.
func Constrain(rows []Row, p campaign.Policy) ([]Row, map[string]int) {
	removed := map[string]int{}
	var kept []Row
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

// Ranking is a policy's ranking of rows, with what it left out and why.
type Ranking struct {
	*rank.Result
	Considered int `json:"considered"`
	// Dropped lists the criteria and constraints left out because no row has
	// their metric: accuracy, for one, is measured only by workloads that ask
	// for it, and never by the sim engine.
	Dropped []string `json:"dropped,omitempty"`
	// WithinNoise says where accuracy alone orders two of the top configs
	// although their accuracies do not differ significantly: how the ranking
	// flips within noise.
	WithinNoise []string `json:"within_noise,omitempty"`
	// Criteria are the policy's criteria that were ranked on.
	Criteria map[string]campaign.Criterion `json:"-"`
}

// Rank applies p to rows (already derived): a criterion or constraint whose
// metric no row has is dropped, and said so, rather than removing every row as
// "missing"; a policy none of whose criteria is measured is an error. Then the
// fit and budget constraints, then rank.Rank; Removed counts every removal, by
// reason.
func Rank(rows []Row, p campaign.Policy) (*Ranking, error) {
	have := map[string]bool{}
	for _, r := range rows {
		for k := range r.Metrics {
			have[k] = true
		}
	}
	out := &Ranking{Considered: len(rows)}
	crit := map[string]campaign.Criterion{}
	for _, name := range slices.Sorted(maps.Keys(p.Criteria)) {
		if c := p.Criteria[name]; have[c.Metric] {
			crit[name] = c
		} else {
			out.Dropped = append(out.Dropped, "criterion "+name+" ("+c.Metric+" not measured)")
		}
	}
	var cons []campaign.Constraint
	for _, c := range p.Constraints {
		if have[c.Metric] {
			cons = append(cons, c)
		} else {
			out.Dropped = append(out.Dropped, fmt.Sprintf("constraint %s %s %g (%s not measured)", c.Metric, c.Op, c.Value, c.Metric))
		}
	}
	switch {
	case len(rows) == 0:
		return nil, fmt.Errorf("policy %s: no results to rank", p.Name)
	case len(crit) == 0:
		return nil, fmt.Errorf("policy %s: none of its criteria is measured by these results (%s)", cmp.Or(p.Name, "?"), keysOf(p.Criteria))
	}
	p.Criteria, p.Constraints = crit, cons
	out.Criteria = crit
	kept, removed := Constrain(rows, p)
	alts := make([]rank.Alternative, 0, len(kept))
	for _, r := range kept {
		alts = append(alts, rank.Alternative{ID: r.ID, Values: r.Metrics})
	}
	res, err := rankWithinNoise(kept, alts, p, out)
	if err != nil {
		return nil, err
	}
	for k, n := range removed {
		res.Removed[k] += n
	}
	out.Result = res
	return out, nil
}

func keysOf(m map[string]campaign.Criterion) string {
	var s string
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			s += ", "
		}
		s += k + ": " + m[k].Metric
	}
	return s
}

// WriteText writes the ranking for people: each recommendation with its
// criteria values and each criterion's contribution, what was left out, the
// Pareto front, and what each constraint removed.
func (r *Ranking) WriteText(w io.Writer, p campaign.Policy) error {
	crit := slices.Sorted(maps.Keys(r.Criteria))
	fmt.Fprintf(w, "policy %s (%s, %s normalization): %d configs considered, the top %d:\n\n",
		p.Name, p.Method, p.Normalization, r.Considered, len(r.Ranked))
	for _, d := range r.Dropped {
		fmt.Fprintf(w, "left out: %s\n", d)
	}
	if len(r.Dropped) > 0 {
		fmt.Fprintln(w)
	}
	for _, d := range r.WithinNoise {
		fmt.Fprintf(w, "within noise: %s\n", d)
	}
	if len(r.WithinNoise) > 0 {
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "RANK\tSCORE\tCONFIG")
	for _, c := range crit {
		fmt.Fprintf(tw, "\t%s (%s, w %.2g)", strings.ToUpper(c), r.Criteria[c].Metric, r.Criteria[c].Weight)
	}
	fmt.Fprintln(tw)
	for i, x := range r.Ranked {
		if i >= p.TopN {
			break
		}
		fmt.Fprintf(tw, "%d\t%.4f\t%s", x.Rank, x.Score, x.ID)
		for _, c := range crit {
			fmt.Fprintf(tw, "\t%s (%+.3f)", metrics.Num(x.Values[r.Criteria[c].Metric]), x.Contributions[c])
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nEach criterion shows its value and (its contribution to the score).\n")
	fmt.Fprintf(w, "\nPareto front over the criteria (%d configs):\n", len(r.Front))
	for _, id := range r.Front {
		fmt.Fprintf(w, "  %s\n", id)
	}
	if len(r.Removed) > 0 {
		fmt.Fprintln(w, "\nRemoved before ranking:")
		reasons := slices.Sorted(maps.Keys(r.Removed))
		sort.SliceStable(reasons, func(i, j int) bool { return r.Removed[reasons[i]] > r.Removed[reasons[j]] })
		for _, x := range reasons {
			fmt.Fprintf(w, "  %5d  %s\n", r.Removed[x], x)
		}
	}
	return nil
}
