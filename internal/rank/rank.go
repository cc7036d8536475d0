// Package rank ranks benchmarked configurations under a policy written in CUE
// (schema #Policy): hard constraints, then TOPSIS, a weighted sum or Pareto
// fronts, with a per-criterion explanation of each score and the Pareto front.
//
// Rules, in order:
//
//  1. Constraints (policy.constraints, "metric op value") are hard filters; an
//     alternative missing a constrained metric, or whose value is NaN, fails
//     it. An alternative is counted once, under the first constraint it fails,
//     with the reason "metric op value" (e.g. "ttft_p99_ms < 500").
//     fits_memory and budget are not applied here (the caller knows the fit
//     and the prices); only constraints are.
//  2. An alternative missing a criterion's metric, or whose value is NaN, is
//     removed with the reason "missing <metric>" (the first such criterion in
//     criterion order); one whose value is ±Inf with "non-finite <metric>".
//     So no NaN ever reaches a score.
//  3. The survivors' criteria are normalized (see NormalizeMatrix) and scored
//     (see ScoreMatrix), or sorted into Pareto fronts.
//  4. Ranked is sorted by score descending, then by the tie-break, then by ID.
//
// Criterion order, used for "first" below, is weight descending, then name.
// Weights are used as given divided by their sum (the schema makes it 1).
package rank

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// Alternative is one candidate configuration: metric name → value. A metric
// may be missing or NaN.
type Alternative struct {
	ID     string
	Values map[string]float64
}

// Ranked is one ranked alternative.
type Ranked struct {
	ID string `json:"id"`
	// Score: topsis, the closeness coefficient in [0, 1]; weighted_sum, the
	// sum of weight × benefit-oriented normalized value; pareto,
	// 1/(1+front), so 1 on the first front.
	Score float64 `json:"score"`
	// Rank is the 1-based position in the full ranking.
	Rank int `json:"rank"`
	// Front is the non-dominated front over the criteria, 0 = Pareto-optimal.
	Front  int                `json:"front"`
	Values map[string]float64 `json:"values"`
	// Contributions, by criterion name, explain the score (see ScoreMatrix):
	// topsis, each criterion's share of C − ½, (d⁻_j² − d⁺_j²)/(2(d⁺+d⁻)²),
	// summing to Score − ½; weighted_sum, weight × normalized value, summing
	// to Score; pareto, weight × minmax-normalized value, an indication only.
	Contributions map[string]float64 `json:"contributions"`
}

// Result is the outcome of Rank.
type Result struct {
	// Ranked holds the best p.TopN alternatives (all if TopN ≤ 0).
	Ranked []Ranked `json:"ranked"`
	// Removed counts the alternatives removed before ranking, by reason.
	Removed map[string]int `json:"removed"`
	// Front lists the IDs of every surviving alternative on the first Pareto
	// front over the criteria, in ranking order (not cut to TopN).
	Front []string `json:"front"`
}

type criterion struct {
	name    string
	metric  string
	weight  float64
	benefit bool
}

// Rank filters and ranks alts under p. It returns an error for an invalid
// policy (no criteria, a bad weight, direction, operator, method or
// normalization) or an empty or duplicate alternative ID.
func Rank(alts []Alternative, p campaign.Policy) (*Result, error) {
	crit, err := criteria(p)
	if err != nil {
		return nil, err
	}
	method := cmp.Or(p.Method, MethodTOPSIS)
	norm := cmp.Or(p.Normalization, NormVector)
	switch method {
	case MethodTOPSIS, MethodWeightedSum, MethodPareto:
	default:
		return nil, fmt.Errorf("policy %s: unknown method %q (want topsis, pareto or weighted_sum)", p.Name, method)
	}
	switch norm {
	case NormVector, NormMinMax, NormZScore:
	default:
		return nil, fmt.Errorf("policy %s: unknown normalization %q (want vector, minmax or zscore)", p.Name, norm)
	}
	tieKey, tieLess, err := tieBreak(p, crit)
	if err != nil {
		return nil, err
	}
	reasons := make([]string, len(p.Constraints))
	for k, c := range p.Constraints {
		switch c.Op {
		case "<", "<=", ">", ">=":
		default:
			return nil, fmt.Errorf("policy %s: constraint on %s: unknown operator %q", p.Name, c.Metric, c.Op)
		}
		reasons[k] = c.Metric + " " + c.Op + " " + strconv.FormatFloat(c.Value, 'g', -1, 64)
	}

	res := &Result{Removed: map[string]int{}, Ranked: []Ranked{}, Front: []string{}}
	seen := make(map[string]bool, len(alts))
	m := len(crit)
	var kept []int
	var data []float64
alts:
	for i, a := range alts {
		if a.ID == "" {
			return nil, fmt.Errorf("alternative %d has no ID", i)
		}
		if seen[a.ID] {
			return nil, fmt.Errorf("duplicate alternative %q", a.ID)
		}
		seen[a.ID] = true
		for k, c := range p.Constraints {
			v, ok := a.Values[c.Metric]
			if !ok || !holds(v, c.Op, c.Value) {
				res.Removed[reasons[k]]++
				continue alts
			}
		}
		for _, c := range crit {
			v, ok := a.Values[c.metric]
			switch {
			case !ok || math.IsNaN(v):
				res.Removed["missing "+c.metric]++
				continue alts
			case math.IsInf(v, 0):
				res.Removed["non-finite "+c.metric]++
				continue alts
			}
		}
		kept = append(kept, i)
		for _, c := range crit {
			data = append(data, a.Values[c.metric])
		}
	}
	n := len(kept)
	if n == 0 {
		return res, nil
	}
	weights := make([]float64, m)
	benefit := make([]bool, m)
	for j, c := range crit {
		weights[j], benefit[j] = c.weight, c.benefit
	}

	// Pareto fronts over the criteria, everything minimized.
	pts := make([][]float64, n)
	for i := range pts {
		pts[i] = make([]float64, m)
		for j := range m {
			x := data[i*m+j]
			if benefit[j] {
				x = -x
			}
			pts[i][j] = x
		}
	}
	front, err := NonDominatedSort(pts)
	if err != nil {
		return nil, err
	}

	contrib := make([]float64, n*m)
	var scores, crowd []float64
	switch method {
	case MethodPareto:
		scores = make([]float64, n)
		for i, f := range front {
			scores[i] = 1 / float64(1+f)
		}
		crowd = make([]float64, n)
		byFront := map[int][]int{}
		for i, f := range front {
			byFront[f] = append(byFront[f], i)
		}
		for _, mem := range byFront {
			for t, d := range CrowdingDistance(pts, mem) {
				crowd[mem[t]] = d
			}
		}
		if _, err := ScoreMatrix(data, n, m, weights, benefit, MethodWeightedSum, NormMinMax, contrib); err != nil {
			return nil, err
		}
	default:
		scores, err = ScoreMatrix(data, n, m, weights, benefit, method, norm, contrib)
		if err != nil {
			return nil, err
		}
	}

	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int {
		if c := cmp.Compare(scores[y], scores[x]); c != 0 {
			return c
		}
		if crowd != nil {
			if c := cmp.Compare(crowd[y], crowd[x]); c != 0 {
				return c
			}
		}
		if tieKey >= 0 {
			c := cmp.Compare(data[x*m+tieKey], data[y*m+tieKey])
			if !tieLess {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return strings.Compare(alts[kept[x]].ID, alts[kept[y]].ID)
	})

	top := n
	if p.TopN > 0 && p.TopN < n {
		top = p.TopN
	}
	res.Ranked = make([]Ranked, 0, top)
	for r, i := range order {
		a := alts[kept[i]]
		if front[i] == 0 {
			res.Front = append(res.Front, a.ID)
		}
		if r >= top {
			continue
		}
		values := make(map[string]float64, len(a.Values))
		for k, v := range a.Values {
			values[k] = v
		}
		cs := make(map[string]float64, m)
		for j, c := range crit {
			cs[c.name] = contrib[i*m+j]
		}
		res.Ranked = append(res.Ranked, Ranked{
			ID: a.ID, Score: scores[i], Rank: r + 1, Front: front[i],
			Values: values, Contributions: cs,
		})
	}
	return res, nil
}

func holds(v float64, op string, limit float64) bool {
	switch op {
	case "<":
		return v < limit
	case "<=":
		return v <= limit
	case ">":
		return v > limit
	case ">=":
		return v >= limit
	}
	return false
}

// criteria validates p's criteria and returns them in criterion order
// (weight descending, then name), weights divided by their sum.
func criteria(p campaign.Policy) ([]criterion, error) {
	if len(p.Criteria) == 0 {
		return nil, fmt.Errorf("policy %s has no criteria", p.Name)
	}
	var out []criterion
	var sum float64
	// In name order, so that the weights' sum, and so every score, is the same
	// to the last bit on every run (map order is random).
	for _, name := range slices.Sorted(maps.Keys(p.Criteria)) {
		c := p.Criteria[name]
		if c.Metric == "" {
			return nil, fmt.Errorf("policy %s: criterion %s has no metric", p.Name, name)
		}
		if !(c.Weight > 0) || math.IsInf(c.Weight, 0) {
			return nil, fmt.Errorf("policy %s: criterion %s: weight %v is not positive", p.Name, name, c.Weight)
		}
		var benefit bool
		switch c.Direction {
		case "benefit":
			benefit = true
		case "cost":
		default:
			return nil, fmt.Errorf("policy %s: criterion %s: direction %q is neither benefit nor cost", p.Name, name, c.Direction)
		}
		sum += c.Weight
		out = append(out, criterion{name: name, metric: c.Metric, weight: c.Weight, benefit: benefit})
	}
	for j := range out {
		out[j].weight /= sum
	}
	slices.SortFunc(out, func(a, b criterion) int {
		if c := cmp.Compare(b.weight, a.weight); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return out, nil
}

// tieBreak returns the criterion column the policy's tie_break compares (−1
// for none) and whether lower is better:
//
//   - cost: lower value of the first cost criterion whose metric starts "usd_";
//   - latency: lower value of the first criterion whose metric ends "_ms";
//   - throughput: higher value of the first whose metric ends "throughput";
//   - name: none (the final ID order decides).
//
// With no such criterion, the ID decides.
func tieBreak(p campaign.Policy, crit []criterion) (int, bool, error) {
	find := func(f func(c criterion) bool) int {
		return slices.IndexFunc(crit, f)
	}
	switch cmp.Or(p.TieBreak, "cost") {
	case "cost":
		return find(func(c criterion) bool { return !c.benefit && strings.HasPrefix(c.metric, "usd_") }), true, nil
	case "latency":
		return find(func(c criterion) bool { return strings.HasSuffix(c.metric, "_ms") }), true, nil
	case "throughput":
		return find(func(c criterion) bool { return strings.HasSuffix(c.metric, "throughput") }), false, nil
	case "name":
		return -1, true, nil
	}
	return 0, false, errors.New("policy " + p.Name + ": unknown tie_break " + strconv.Quote(p.TieBreak))
}
