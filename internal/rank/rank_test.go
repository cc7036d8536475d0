package rank

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// Hand-checked 3×3 TOPSIS example, vector normalization.
//
//	      c1 benefit  c2 cost  c3 benefit      weights 0.5, 0.25, 0.25
//	A1        2          1         0
//	A2        1          2         4
//	A3        2          2         3
//
// Column norms: √(4+1+4) = 3, √(1+4+4) = 3, √(0+16+9) = 5, so
// V = w·x/‖x‖:  A1 (1/3, 1/12, 0)   A2 (1/6, 1/6, 1/5)   A3 (1/3, 1/6, 3/20)
// Ideal (max, min, max) = (1/3, 1/12, 1/5); anti-ideal = (1/6, 1/6, 0).
//
//	A1: d⁺ = √(1/5²) = 0.2;                 d⁻ = √(1/36 + 1/144) = √5/12 = 0.186339; C = 0.48232
//	A2: d⁺ = √(1/36 + 1/144) = 0.186339;    d⁻ = 0.2;                                C = 0.51768
//	A3: d⁺ = √(1/144 + 1/400) = 0.097183;   d⁻ = √(1/36 + 9/400) = 0.224227;         C = 0.69764
//
// (A1 and A2 mirror each other, so C1 + C2 = 1.)
func TestTOPSISHandExample(t *testing.T) {
	data := []float64{2, 1, 0, 1, 2, 4, 2, 2, 3}
	got, _ := TOPSISMatrix(data, 3, 3, []float64{0.5, 0.25, 0.25}, []bool{true, false, true})
	want := []float64{0.48232, 0.51768, 0.69764}
	if !cmp.Equal(got, want, cmpopts.EquateApprox(0, 5e-5)) {
		t.Errorf("closeness = %v, want %v", got, want)
	}
}

// The weighted normalized decision matrix of the 3-alternative, 2-criterion
// example in B. Sennaroğlu, "TOPSIS Example", Decision Analysis lecture
// (2009), after Yoon & Hwang, Multiple Attribute Decision Making (Sage, 1995):
// x = (17, 12), (10, 9), (8, 6), weights 0.714 and 0.286, published as
// V = (0.5703, 0.2124), (0.3355, 0.1593), (0.2684, 0.1062).
// The closeness values below are our own hand computation for both criteria
// treated as benefits: A1 is the ideal (C = 1), A3 the anti-ideal (C = 0), and
// A2 has d⁺ = √(0.2348² + 0.0531²) = 0.24076, d⁻ = √(0.0671² + 0.0531²) =
// 0.08557, C = 0.08557/0.32633 = 0.2622.
func TestTOPSISSennarogluExample(t *testing.T) {
	data := []float64{17, 12, 10, 9, 8, 6}
	v, err := NormalizeMatrix(data, 3, 2, []bool{true, true}, NormVector)
	if err != nil {
		t.Fatal(err)
	}
	w := []float64{0.714, 0.286}
	for i := range v {
		v[i] *= w[i%2]
	}
	wantV := []float64{0.5703, 0.2124, 0.3355, 0.1593, 0.2684, 0.1062}
	if !cmp.Equal(v, wantV, cmpopts.EquateApprox(0, 5e-5)) {
		t.Errorf("weighted normalized matrix = %v, want %v", v, wantV)
	}
	got, _ := TOPSISMatrix(data, 3, 2, w, []bool{true, true})
	if want := []float64{1, 0.2622, 0}; !cmp.Equal(got, want, cmpopts.EquateApprox(0, 5e-5)) {
		t.Errorf("closeness = %v, want %v", got, want)
	}
}

// The car-selection example of the TOPSIS lecture notes used in MCDM courses
// (San Jose State University, "TOPSIS", reproduced as "Lecture 10"): weights 0.1, 0.4,
// 0.3, 0.2, the fourth criterion a cost, and Saturn (7, 9, 9, 8), Ford (8, 7, 8,
// 7), Honda (9, 6, 8, 9), Mazda (6, 7, 8, 6). The notes publish the ideal
// A* = (0.059, 0.244, 0.162, 0.080) from rounded intermediates; unrounded it is
// (0.0593, 0.2455, 0.1634, 0.0791), within their rounding. The closeness values
// are our hand computation: column norms √230, √215, √273, √230; Saturn d⁺ =
// 0.0295, d⁻ = 0.0851, C = 0.7427; Ford 0.0594, 0.0402, 0.4036; Honda 0.0927,
// 0.0198, 0.1759; Mazda 0.0608, 0.0481, 0.4414.
func TestTOPSISCarSelection(t *testing.T) {
	data := []float64{7, 9, 9, 8, 8, 7, 8, 7, 9, 6, 8, 9, 6, 7, 8, 6}
	w := []float64{0.1, 0.4, 0.3, 0.2}
	benefit := []bool{true, true, true, false}
	r, err := NormalizeMatrix(data, 4, 4, []bool{true, true, true, true}, NormVector)
	if err != nil {
		t.Fatal(err)
	}
	ideal := make([]float64, 4)
	for j := range ideal {
		best := r[j] * w[j]
		for i := 1; i < 4; i++ {
			v := r[i*4+j] * w[j]
			if benefit[j] && v > best || !benefit[j] && v < best {
				best = v
			}
		}
		ideal[j] = best
	}
	if want := []float64{0.059, 0.244, 0.162, 0.080}; !cmp.Equal(ideal, want, cmpopts.EquateApprox(0, 0.002)) {
		t.Errorf("ideal = %v, the notes publish %v", ideal, want)
	}
	got, _ := TOPSISMatrix(data, 4, 4, w, benefit)
	if want := []float64{0.7427, 0.4036, 0.1759, 0.4414}; !cmp.Equal(got, want, cmpopts.EquateApprox(0, 5e-5)) {
		t.Errorf("closeness = %v, want %v", got, want)
	}
}

func policy(method, norm string, crit map[string]campaign.Criterion) campaign.Policy {
	return campaign.Policy{Name: "t", Method: method, Normalization: norm, Criteria: crit, TieBreak: "cost"}
}

var threeCrit = map[string]campaign.Criterion{
	"c1": {Metric: "accuracy", Weight: 0.5, Direction: "benefit"},
	"c2": {Metric: "ttft_p99_ms", Weight: 0.25, Direction: "cost"},
	"c3": {Metric: "output_throughput", Weight: 0.25, Direction: "benefit"},
}

func alts3() []Alternative {
	return []Alternative{
		{ID: "A1", Values: map[string]float64{"accuracy": 2, "ttft_p99_ms": 1, "output_throughput": 0}},
		{ID: "A2", Values: map[string]float64{"accuracy": 1, "ttft_p99_ms": 2, "output_throughput": 4}},
		{ID: "A3", Values: map[string]float64{"accuracy": 2, "ttft_p99_ms": 2, "output_throughput": 3}},
	}
}

func ids(r []Ranked) []string {
	var out []string
	for _, x := range r {
		out = append(out, x.ID)
	}
	return out
}

func checkFinite(t *testing.T, res *Result) {
	t.Helper()
	for _, r := range res.Ranked {
		if math.IsNaN(r.Score) || math.IsInf(r.Score, 0) {
			t.Errorf("%s: score %v", r.ID, r.Score)
		}
		for k, c := range r.Contributions {
			if math.IsNaN(c) || math.IsInf(c, 0) {
				t.Errorf("%s: contribution %s = %v", r.ID, k, c)
			}
		}
	}
}

func TestRankTOPSIS(t *testing.T) {
	res, err := Rank(alts3(), policy("topsis", "vector", threeCrit))
	if err != nil {
		t.Fatal(err)
	}
	checkFinite(t, res)
	if diff := cmp.Diff([]string{"A3", "A2", "A1"}, ids(res.Ranked)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	// A3 is dominated by nobody: A1 has lower throughput, A2 lower accuracy.
	if diff := cmp.Diff([]string{"A3", "A2", "A1"}, res.Front); diff != "" {
		t.Errorf("front (-want +got):\n%s", diff)
	}
	for i, r := range res.Ranked {
		if r.Rank != i+1 {
			t.Errorf("%s: rank %d, want %d", r.ID, r.Rank, i+1)
		}
		var sum float64
		for _, c := range r.Contributions {
			sum += c
		}
		if math.Abs(sum-(r.Score-0.5)) > 1e-12 {
			t.Errorf("%s: contributions sum to %v, want score − ½ = %v", r.ID, sum, r.Score-0.5)
		}
	}
	if got := res.Ranked[0].Score; math.Abs(got-0.69764) > 5e-5 {
		t.Errorf("A3 score %v, want 0.69764", got)
	}
}

func TestRankWeightedSumMinMax(t *testing.T) {
	res, err := Rank(alts3(), policy("weighted_sum", "minmax", threeCrit))
	if err != nil {
		t.Fatal(err)
	}
	// minmax, benefit-oriented: A1 (1, 1, 0) A2 (0, 0, 1) A3 (1, 0, 0.75)
	// scores: A1 0.5+0.25 = 0.75, A2 0.25, A3 0.5 + 0.1875 = 0.6875.
	want := map[string]float64{"A1": 0.75, "A2": 0.25, "A3": 0.6875}
	for _, r := range res.Ranked {
		if math.Abs(r.Score-want[r.ID]) > 1e-12 {
			t.Errorf("%s: score %v, want %v", r.ID, r.Score, want[r.ID])
		}
		var sum float64
		for _, c := range r.Contributions {
			sum += c
		}
		if math.Abs(sum-r.Score) > 1e-12 {
			t.Errorf("%s: contributions sum %v != score %v", r.ID, sum, r.Score)
		}
	}
	if diff := cmp.Diff([]string{"A1", "A3", "A2"}, ids(res.Ranked)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestRankZScore(t *testing.T) {
	res, err := Rank(alts3(), policy("weighted_sum", "zscore", threeCrit))
	if err != nil {
		t.Fatal(err)
	}
	checkFinite(t, res)
	// zscores sum to 0 per column, so the weighted sums do too.
	var sum float64
	for _, r := range res.Ranked {
		sum += r.Score
	}
	if math.Abs(sum) > 1e-12 {
		t.Errorf("zscore weighted sums add to %v, want 0", sum)
	}
}

func TestRankPareto(t *testing.T) {
	crit := map[string]campaign.Criterion{
		"lat":  {Metric: "ttft_p99_ms", Weight: 0.5, Direction: "cost"},
		"cost": {Metric: "usd_per_hour_spot", Weight: 0.5, Direction: "cost"},
	}
	v := func(l, c float64) map[string]float64 {
		return map[string]float64{"ttft_p99_ms": l, "usd_per_hour_spot": c}
	}
	alts := []Alternative{
		{ID: "a", Values: v(1, 10)}, {ID: "b", Values: v(5, 5)}, {ID: "c", Values: v(10, 1)},
		{ID: "d", Values: v(4, 6)}, // front 0, crowded between b and a
		{ID: "e", Values: v(6, 6)}, // dominated by b
	}
	res, err := Rank(alts, policy("pareto", "", crit))
	if err != nil {
		t.Fatal(err)
	}
	checkFinite(t, res)
	// Front 0: a and c boundaries (+Inf; c first by tie_break cost, lower
	// usd_per_hour_spot), then by crowding: sorted by latency
	// a1 d4 b5 c10 → d (5−1)/9 = 0.444, b (10−4)/9 = 0.667; by cost c1 b5 d6 a10
	// → b (6−1)/9 = 0.556, d (10−5)/9 = 0.556. b 1.222 > d 1.0.
	if diff := cmp.Diff([]string{"c", "a", "b", "d", "e"}, ids(res.Ranked)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if res.Ranked[4].Score != 0.5 || res.Ranked[0].Score != 1 {
		t.Errorf("scores %v, %v; want 1 and 0.5", res.Ranked[0].Score, res.Ranked[4].Score)
	}
}

func TestRankConstraintsAndMissing(t *testing.T) {
	p := policy("topsis", "minmax", threeCrit)
	p.Constraints = []campaign.Constraint{
		{Metric: "ttft_p99_ms", Op: "<", Value: 500},
		{Metric: "tpot_p99_ms", Op: "<=", Value: 50},
	}
	p.TopN = 2
	v := func(acc, ttft, tpot, thr float64) map[string]float64 {
		return map[string]float64{"accuracy": acc, "ttft_p99_ms": ttft, "tpot_p99_ms": tpot, "output_throughput": thr}
	}
	noTpot := v(0.9, 100, 0, 10)
	delete(noTpot, "tpot_p99_ms")
	noAcc := v(0, 100, 10, 10)
	delete(noAcc, "accuracy")
	alts := []Alternative{
		{ID: "slow", Values: v(0.9, 600, 10, 10)},
		{ID: "slow-and-nan", Values: v(math.NaN(), 600, 99, 10)},
		{ID: "no-tpot", Values: noTpot},
		{ID: "nan-ttft", Values: v(0.9, math.NaN(), 10, 10)},
		{ID: "tpot-edge", Values: v(0.5, 200, 50, 20)},
		{ID: "nan-acc", Values: v(math.NaN(), 100, 10, 10)},
		{ID: "no-acc", Values: noAcc},
		{ID: "inf-thr", Values: v(0.5, 100, 10, math.Inf(1))},
		{ID: "ok1", Values: v(0.8, 100, 10, 30)},
		{ID: "ok2", Values: v(0.7, 300, 10, 10)},
	}
	res, err := Rank(alts, p)
	if err != nil {
		t.Fatal(err)
	}
	checkFinite(t, res)
	wantRemoved := map[string]int{
		"ttft_p99_ms < 500":            3, // slow, slow-and-nan, nan-ttft
		"tpot_p99_ms <= 50":            1, // no-tpot
		"missing accuracy":             2,
		"non-finite output_throughput": 1,
	}
	if diff := cmp.Diff(wantRemoved, res.Removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	// minmax over ok1 (0.8, 100, 30), ok2 (0.7, 300, 10), tpot-edge (0.5, 200, 20):
	// ok1 is the ideal (C = 1); ok2 C = 0.333/(0.391+0.333) = 0.46; tpot-edge
	// C = 0.177/(0.530+0.177) = 0.25.
	if diff := cmp.Diff([]string{"ok1", "ok2"}, ids(res.Ranked)); diff != "" {
		t.Errorf("top 2 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ok1"}, res.Front); diff != "" {
		t.Errorf("front (-want +got):\n%s", diff)
	}
	if got := res.Ranked[0].Values["tpot_p99_ms"]; got != 10 {
		t.Errorf("values not carried: tpot %v", got)
	}
}

func TestRankEdgeCases(t *testing.T) {
	for _, method := range []string{"topsis", "weighted_sum", "pareto"} {
		for _, norm := range []string{"vector", "minmax", "zscore"} {
			p := policy(method, norm, threeCrit)
			// One alternative: TOPSIS gives d⁺ = d⁻ = 0 → C = 1.
			one := alts3()[:1]
			res, err := Rank(one, p)
			if err != nil {
				t.Fatal(err)
			}
			checkFinite(t, res)
			if len(res.Ranked) != 1 || len(res.Front) != 1 {
				t.Fatalf("%s/%s one: %+v", method, norm, res)
			}
			if method == "topsis" && res.Ranked[0].Score != 1 {
				t.Errorf("%s/%s: single alternative scores %v, want 1", method, norm, res.Ranked[0].Score)
			}

			// All identical: every score equal (1 for TOPSIS), order by ID,
			// everybody on the front.
			var same []Alternative
			for _, id := range []string{"z", "b", "m", "a"} {
				same = append(same, Alternative{ID: id, Values: map[string]float64{"accuracy": 0.5, "ttft_p99_ms": 100, "output_throughput": 7}})
			}
			res, err = Rank(same, p)
			if err != nil {
				t.Fatal(err)
			}
			checkFinite(t, res)
			if diff := cmp.Diff([]string{"a", "b", "m", "z"}, ids(res.Ranked)); diff != "" {
				t.Errorf("%s/%s identical order (-want +got):\n%s", method, norm, diff)
			}
			if len(res.Front) != 4 {
				t.Errorf("%s/%s identical: front %v", method, norm, res.Front)
			}
			for _, r := range res.Ranked {
				if r.Score != res.Ranked[0].Score {
					t.Errorf("%s/%s identical: scores differ", method, norm)
				}
				if method == "topsis" && r.Score != 1 {
					t.Errorf("%s/%s identical: score %v, want 1", method, norm, r.Score)
				}
			}

			// A zero-range criterion (accuracy) does not change the order
			// decided by the others, and never yields NaN.
			zr := alts3()
			for _, a := range zr {
				a.Values["accuracy"] = 0.9
			}
			res, err = Rank(zr, p)
			if err != nil {
				t.Fatal(err)
			}
			checkFinite(t, res)
			if len(res.Ranked) != 3 {
				t.Errorf("%s/%s zero range: %d ranked", method, norm, len(res.Ranked))
			}

			// Nothing survives: empty, non-nil result.
			res, err = Rank([]Alternative{{ID: "x", Values: map[string]float64{}}}, p)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Ranked) != 0 || res.Removed["missing accuracy"] != 1 {
				t.Errorf("%s/%s all missing: %+v", method, norm, res)
			}
		}
	}
}

func TestMinMaxZeroRange(t *testing.T) {
	got, err := NormalizeMatrix([]float64{3, 1, 3, 2, 3, 3}, 3, 2, []bool{true, false}, NormMinMax)
	if err != nil {
		t.Fatal(err)
	}
	// Column 0 has zero range → 1; column 1 is a cost: (max − x)/(max − min).
	want := []float64{1, 1, 1, 0.5, 1, 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got, err = NormalizeMatrix([]float64{3, 1, 3, 2, 3, 3}, 3, 2, []bool{true, false}, NormZScore)
	if err != nil {
		t.Fatal(err)
	}
	s := math.Sqrt(2.0 / 3)
	want = []float64{0, 1 / s, 0, 0, 0, -1 / s}
	if !cmp.Equal(want, got, cmpopts.EquateApprox(0, 1e-12)) {
		t.Errorf("zscore = %v, want %v", got, want)
	}
}

func TestTieBreak(t *testing.T) {
	// Two alternatives identical on the criteria except the ID would be tied;
	// make the scores tie with mirrored values and let tie_break decide.
	crit := map[string]campaign.Criterion{
		"lat":  {Metric: "ttft_p99_ms", Weight: 0.5, Direction: "cost"},
		"cost": {Metric: "usd_per_hour_spot", Weight: 0.5, Direction: "cost"},
	}
	alts := []Alternative{
		{ID: "a-cheap-slow", Values: map[string]float64{"ttft_p99_ms": 2, "usd_per_hour_spot": 1}},
		{ID: "b-fast-dear", Values: map[string]float64{"ttft_p99_ms": 1, "usd_per_hour_spot": 2}},
	}
	for tb, want := range map[string][]string{
		"cost":    {"a-cheap-slow", "b-fast-dear"},
		"latency": {"b-fast-dear", "a-cheap-slow"},
		"name":    {"a-cheap-slow", "b-fast-dear"},
	} {
		p := policy("topsis", "minmax", crit)
		p.TieBreak = tb
		res, err := Rank(alts, p)
		if err != nil {
			t.Fatal(err)
		}
		if res.Ranked[0].Score != res.Ranked[1].Score {
			t.Fatalf("scores do not tie: %v %v", res.Ranked[0].Score, res.Ranked[1].Score)
		}
		if diff := cmp.Diff(want, ids(res.Ranked)); diff != "" {
			t.Errorf("tie_break %s (-want +got):\n%s", tb, diff)
		}
	}
	crit["thr"] = campaign.Criterion{Metric: "output_throughput", Weight: 0.5, Direction: "benefit"}
	alts[0].Values["output_throughput"] = 5
	alts[1].Values["output_throughput"] = 9
	alts = append(alts, Alternative{ID: "c", Values: map[string]float64{"ttft_p99_ms": 1, "usd_per_hour_spot": 1, "output_throughput": 5}})
	// Same minmax scores would need care; just check throughput picks "higher".
	col, lower, err := tieBreak(campaign.Policy{TieBreak: "throughput"}, mustCriteria(t, crit))
	if err != nil || col < 0 || lower {
		t.Errorf("throughput tie-break: col %d lower %v err %v", col, lower, err)
	}
}

func mustCriteria(t *testing.T, c map[string]campaign.Criterion) []criterion {
	t.Helper()
	cr, err := criteria(campaign.Policy{Criteria: c})
	if err != nil {
		t.Fatal(err)
	}
	return cr
}

func TestRankErrors(t *testing.T) {
	bad := []campaign.Policy{
		{Name: "none"},
		policy("electre", "vector", threeCrit),
		policy("topsis", "l1", threeCrit),
		policy("topsis", "vector", map[string]campaign.Criterion{"x": {Metric: "accuracy", Weight: 0, Direction: "benefit"}}),
		policy("topsis", "vector", map[string]campaign.Criterion{"x": {Metric: "accuracy", Weight: 1, Direction: "up"}}),
		{Name: "op", Criteria: threeCrit, Constraints: []campaign.Constraint{{Metric: "accuracy", Op: "==", Value: 1}}},
		{Name: "tb", Criteria: threeCrit, TieBreak: "luck"},
	}
	for _, p := range bad {
		if _, err := Rank(alts3(), p); err == nil {
			t.Errorf("policy %+v: no error", p)
		}
	}
	dup := append(alts3(), alts3()[0])
	if _, err := Rank(dup, policy("", "", threeCrit)); err == nil {
		t.Error("duplicate IDs: no error")
	}
}
