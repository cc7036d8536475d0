package sim

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
)

// Residual is one point's prediction next to its measured value.
type Residual struct {
	ID        string  `json:"id"`
	Source    string  `json:"source"`
	Framework string  `json:"framework"`
	Metric    string  `json:"metric"`
	Value     float64 `json:"value"`
	// Predicted is 0 when the model could not predict the point; Error says
	// why.
	Predicted float64 `json:"predicted"`
	Error     string  `json:"error,omitempty"`
}

// APE is the absolute percentage error; a point the model could not predict
// counts as 100% off.
func (r Residual) APE() float64 {
	if r.Error != "" || !(r.Predicted > 0) {
		return 100
	}
	return 100 * math.Abs(r.Predicted-r.Value) / r.Value
}

// Summary is the model's error over a group of points: one metric, and one
// framework or source or all of them.
type Summary struct {
	Metric    string `json:"metric"`
	Framework string `json:"framework,omitempty"`
	Source    string `json:"source,omitempty"`
	Count     int    `json:"count"`
	// MdAPE and P90APE are the median and the 90th percentile of the absolute
	// percentage errors.
	MdAPE  float64 `json:"mdape"`
	P90APE float64 `json:"p90_ape"`
	// Ratio is the median of predicted / measured: below 1 the model
	// under-predicts the group.
	Ratio float64 `json:"median_ratio"`
}

// Scores is the outcome of scoring a points file.
type Scores struct {
	// Mode says how the predictions were made: "as-is" (the efficiency
	// table as it is), "fitted" (fitted to another file) or
	// "leave-one-source-out" (each source predicted by a fit to the others).
	Mode    string    `json:"mode"`
	Points  int       `json:"points"`
	Sources int       `json:"sources"`
	Skipped []Skipped `json:"skipped,omitempty"`
	// Metrics has one summary per metric over every framework, then one per
	// metric and framework; BySource one per metric and source.
	Metrics   []Summary  `json:"metrics"`
	BySource  []Summary  `json:"by_source"`
	Intervals Intervals  `json:"intervals,omitempty"`
	Fits      []Fit      `json:"fits,omitempty"`
	Residuals []Residual `json:"residuals"`
}

// Summary returns the summary of metric over every framework.
func (s Scores) Summary(metric string) (Summary, bool) {
	for _, m := range s.Metrics {
		if m.Metric == metric && m.Framework == "" {
			return m, true
		}
	}
	return Summary{}, false
}

// Predict predicts every point with the efficiency eff gives it, in parallel.
func Predict(points []Point, eff func(Point) Efficiency) []Residual {
	res := make([]Residual, len(points))
	parallel(len(points), func(i int) {
		p := points[i]
		r := Residual{ID: p.ID, Source: p.Source, Framework: p.Framework, Metric: p.Metric, Value: p.Value}
		v, err := p.Predict(eff(p))
		switch {
		case err != nil:
			r.Error = err.Error()
		case !(v > 0) || math.IsInf(v, 0):
			r.Error = "the model predicts no value (nothing completes)"
		default:
			r.Predicted = v
		}
		res[i] = r
	})
	return res
}

// Score predicts points with t as it is.
func Score(t Table, points []Point) Scores {
	return scores("as-is", points, Predict(points, t.effFor))
}

// FitScore fits t to train and predicts test with the fitted table; a test
// point whose pair train cannot fit takes its prior moved halfway to its
// architecture's pooled fit.
func FitScore(t Table, train, test []Point) Scores {
	fitted, fits := Calibrate(t, train)
	pools := newFolds(t).pools(fitted, fits, train, test)
	s := scores("fitted", test, Predict(test, fitted.effFor))
	s.Fits = append(fits, pools...)
	return s
}

// CrossValidate predicts each source's points with the factors fitted, from
// t, to every other source's points (leave-one-source-out), so no point is
// predicted by a fit that saw its document; a pair the other sources cannot
// fit takes its prior moved halfway to its architecture's pooled fit. The
// intervals come from these held-out errors.
func CrossValidate(t Table, points []Point) Scores {
	bySource := map[string][]int{}
	var sources []string
	for i, p := range points {
		if _, ok := bySource[p.Source]; !ok {
			sources = append(sources, p.Source)
		}
		bySource[p.Source] = append(bySource[p.Source], i)
	}
	slices.Sort(sources)
	train := make([][]Point, len(sources))
	test := make([][]Point, len(sources))
	for k, held := range sources {
		for _, p := range points {
			if p.Source == held {
				test[k] = append(test[k], p)
			} else {
				train[k] = append(train[k], p)
			}
		}
	}
	f := newFolds(t)
	// Every fold's pair fits at once, then the pools the folds need.
	tabs := make([]Table, len(sources))
	fits := make([][]Fit, len(sources))
	f.run(func(add func(name string, ps []Point, fit func() Fit)) {
		for k := range sources {
			for pair, ps := range byPair(train[k]) {
				fw, arch, _ := strings.Cut(pair, "/")
				add(pair, ps, func() Fit { return fitPair(pair, t.For(fw, arch), ps) })
			}
		}
	})
	for k := range sources {
		tabs[k] = t.Clone()
		for pair, ps := range byPair(train[k]) {
			fit := f.get(pair, ps)
			fits[k] = append(fits[k], fit)
			if fit.Fitted {
				fw, arch, _ := strings.Cut(pair, "/")
				tabs[k].Set(fw, arch, fit.After)
			}
		}
	}
	f.run(func(add func(string, []Point, func() Fit)) {
		for k := range sources {
			f.poolJobs(fits[k], train[k], test[k], add)
		}
	})
	res := make([]Residual, len(points))
	for k, held := range sources {
		f.pools(tabs[k], fits[k], train[k], test[k])
		for j, r := range Predict(test[k], tabs[k].effFor) {
			res[bySource[held][j]] = r
		}
	}
	s := scores("leave-one-source-out", points, res)
	s.Intervals = IntervalsFrom(res)
	return s
}

// folds runs fits once per (name, points) and remembers them: folds that
// leave a pair's points alone share its fit.
type folds struct {
	t    Table
	mu   sync.Mutex
	done map[string]Fit
}

func newFolds(t Table) *folds { return &folds{t: t, done: map[string]Fit{}} }

func foldKey(name string, ps []Point) string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return name + "\x00" + strings.Join(ids, "\x00")
}

// run collects the fits plan asks for and runs the new ones in parallel.
func (f *folds) run(plan func(add func(name string, ps []Point, fit func() Fit))) {
	var keys []string
	var todo []func() Fit
	plan(func(name string, ps []Point, fit func() Fit) {
		k := foldKey(name, ps)
		f.mu.Lock()
		_, ok := f.done[k]
		f.mu.Unlock()
		if ok || slices.Contains(keys, k) {
			return
		}
		keys = append(keys, k)
		todo = append(todo, fit)
	})
	out := make([]Fit, len(todo))
	parallel(len(todo), func(i int) { out[i] = todo[i]() })
	f.mu.Lock()
	for i, k := range keys {
		f.done[k] = out[i]
	}
	f.mu.Unlock()
}

func (f *folds) get(name string, ps []Point) Fit {
	f.mu.Lock()
	defer f.mu.Unlock()
	fit, ok := f.done[foldKey(name, ps)]
	if !ok {
		panic("sim: fit " + name + " was not run")
	}
	return fit
}

// unfitted returns the test points' architectures whose pair has no fit.
func unfitted(fits []Fit, test []Point) map[string]bool {
	ok := map[string]bool{}
	for _, fit := range fits {
		ok[fit.Pair] = fit.Fitted
	}
	archs := map[string]bool{}
	for _, p := range test {
		if !ok[p.Pair()] {
			archs[p.Hardware.GPU.Arch] = true
		}
	}
	return archs
}

func byArch(ps []Point, arch string) []Point {
	var out []Point
	for _, p := range ps {
		if p.Hardware.GPU.Arch == arch {
			out = append(out, p)
		}
	}
	return out
}

func (f *folds) poolJobs(fits []Fit, train, test []Point, add func(string, []Point, func() Fit)) {
	for arch := range unfitted(fits, test) {
		ps := byArch(train, arch)
		add("*/"+arch, ps, func() Fit { return poolFit(f.t, arch, ps) })
	}
}

// pools sets, in tab, the prior moved halfway to its architecture's pooled
// fit for each test point whose pair has no fit of its own, and returns the
// pooled fits it used.
func (f *folds) pools(tab Table, fits []Fit, train, test []Point) []Fit {
	missing := unfitted(fits, test)
	if len(missing) == 0 {
		return nil
	}
	f.run(func(add func(string, []Point, func() Fit)) { f.poolJobs(fits, train, test, add) })
	own := map[string]bool{}
	for _, fit := range fits {
		own[fit.Pair] = fit.Fitted
	}
	var used []Fit
	for _, arch := range slices.Sorted(maps.Keys(missing)) {
		pool := f.get("*/"+arch, byArch(train, arch))
		if !pool.Fitted {
			continue
		}
		used = append(used, pool)
		for _, p := range test {
			if p.Hardware.GPU.Arch == arch && !own[p.Pair()] {
				tab.Set(p.Framework, arch, withPooled(f.t.For(p.Framework, arch), pool.After))
			}
		}
	}
	return used
}

func byPair(ps []Point) map[string][]Point {
	out := map[string][]Point{}
	for _, p := range ps {
		out[p.Pair()] = append(out[p.Pair()], p)
	}
	return out
}

func (t Table) effFor(p Point) Efficiency { return t.For(p.Framework, p.Hardware.GPU.Arch) }

func scores(mode string, points []Point, res []Residual) Scores {
	s := Scores{Mode: mode, Points: len(points), Residuals: res}
	seen := map[string]bool{}
	for _, p := range points {
		seen[p.Source] = true
	}
	s.Sources = len(seen)
	s.Metrics, s.BySource = Summarize(res)
	return s
}

// Summarize groups residuals by metric (over every framework, then per
// framework) and by metric and source.
func Summarize(res []Residual) (byFramework, bySource []Summary) {
	type key struct{ metric, framework, source string }
	groups := map[key][]Residual{}
	for _, r := range res {
		groups[key{r.Metric, "", ""}] = append(groups[key{r.Metric, "", ""}], r)
		groups[key{r.Metric, r.Framework, ""}] = append(groups[key{r.Metric, r.Framework, ""}], r)
		groups[key{r.Metric, "", r.Source}] = append(groups[key{r.Metric, "", r.Source}], r)
	}
	for k, rs := range groups {
		sum := summary(rs)
		sum.Metric, sum.Framework, sum.Source = k.metric, k.framework, k.source
		if k.source != "" {
			bySource = append(bySource, sum)
		} else {
			byFramework = append(byFramework, sum)
		}
	}
	order := func(a, b Summary) int {
		return cmp.Or(cmp.Compare(slices.Index(Metrics, a.Metric), slices.Index(Metrics, b.Metric)),
			cmp.Compare(a.Framework, b.Framework), cmp.Compare(a.Source, b.Source))
	}
	slices.SortFunc(byFramework, order)
	slices.SortFunc(bySource, order)
	return byFramework, bySource
}

func summary(rs []Residual) Summary {
	apes := make([]float64, len(rs))
	var ratios []float64
	for i, r := range rs {
		apes[i] = r.APE()
		if r.Error == "" && r.Predicted > 0 {
			ratios = append(ratios, r.Predicted/r.Value)
		}
	}
	s := Summary{Count: len(rs), MdAPE: quantile(apes, 0.5), P90APE: quantile(apes, 0.9)}
	if len(ratios) > 0 {
		s.Ratio = quantile(ratios, 0.5)
	}
	return s
}

// quantile is the q-quantile of v (linear interpolation between order
// statistics, as numpy's default); it sorts v.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	pos := q * float64(len(v)-1)
	i := int(pos)
	if i+1 >= len(v) {
		return v[len(v)-1]
	}
	return v[i] + (pos-float64(i))*(v[i+1]-v[i])
}
