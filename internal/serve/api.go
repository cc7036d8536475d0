package serve

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/candidates"
	"github.com/llmsweep/llmsweep/internal/compare"
	"github.com/llmsweep/llmsweep/internal/rank"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// notFound is an error for a run or config the store does not hold.
type notFound struct{ msg string }

func (e notFound) Error() string { return e.msg }

// endpoint answers GET path: its parameters are checked against allowed, and
// its answer is read through the cache under the campaign it names.
func (s *Server) endpoint(path string, allowed []string, compute func(r *http.Request, p params) (any, error)) {
	s.handle(path, func(w http.ResponseWriter, r *http.Request) {
		p, err := parseParams(r.URL.RawQuery, allowed...)
		if err != nil {
			s.fail(w, err)
			return
		}
		question := r.URL.Path + "?" + p.canonical()
		b, err := s.reader.read(r.Context(), p.str("campaign"), question, func() (any, error) { return compute(r, p) })
		if err != nil {
			s.fail(w, err)
			return
		}
		writeRaw(w, http.StatusOK, b)
	})
}

// fail answers an error: the client's (400, 404) with its message, the
// server's (500) logged and answered without internals.
func (s *Server) fail(w http.ResponseWriter, err error) {
	var br badRequest
	var nf notFound
	switch {
	case errors.As(err, &br):
		writeError(w, http.StatusBadRequest, br.msg)
	case errors.As(err, &nf):
		writeError(w, http.StatusNotFound, nf.msg)
	case errors.Is(err, context.Canceled):
		writeError(w, http.StatusServiceUnavailable, "the request was cancelled")
	default:
		s.o.Log.Error("request failed", "err", err)
		writeError(w, http.StatusInternalServerError, "the store could not answer; the server log says why")
	}
}

// Catalog is a section of the catalog, by name.
type Catalog[T any] struct {
	Items map[string]T `json:"items"`
}

// RunInfo is a run and how far it got.
type RunInfo struct {
	Run     result.Run `json:"run"`
	Results int        `json:"results"`
	Failed  int        `json:"failed"`
}

// ConfigDetail is one config's result in a run with what it was computed from.
type ConfigDetail struct {
	Result result.Result `json:"result"`
	Label  string        `json:"label"`
	// Source says how the result was made: measured, predicted or imported.
	Source string `json:"source"`
	// Distributions are histograms of the per-request latencies; absent when
	// the store holds no records (imported results, archived runs).
	Distributions []Distribution `json:"distributions"`
	// UtilizationSamples counts the utilization samples stored.
	UtilizationSamples int `json:"utilization_samples"`
}

// Distribution is a histogram of one per-request latency in milliseconds:
// Counts[i] requests fell in [Edges[i], Edges[i+1]).
type Distribution struct {
	Metric string    `json:"metric"`
	N      int       `json:"n"`
	Edges  []float64 `json:"edges"`
	Counts []int     `json:"counts"`
}

// Comparison is compare of run A with run B.
type Comparison struct {
	A           string              `json:"a"`
	B           string              `json:"b"`
	Threshold   float64             `json:"threshold"`
	Alpha       float64             `json:"alpha"`
	Shared      int                 `json:"shared"`
	OnlyA       int                 `json:"only_a"`
	OnlyB       int                 `json:"only_b"`
	Regressions int                 `json:"regressions"`
	Unmeasured  map[string]int      `json:"unmeasured"`
	Deltas      []compare.Delta     `json:"deltas"`
	Definitions map[string][]string `json:"definitions,omitempty"`
}

// Recommendation is the answer to recommend: the policy's top picks, each
// with why, and what was left out.
type Recommendation struct {
	Policy     string             `json:"policy"`
	Method     string             `json:"method"`
	Workload   string             `json:"workload"`
	Weights    map[string]float64 `json:"weights"`
	Considered int                `json:"considered"`
	Dropped    []string           `json:"dropped"`
	Removed    map[string]int     `json:"removed"`
	Front      []string           `json:"front"`
	Picks      []Pick             `json:"picks"`
}

// Pick is one recommended config.
type Pick struct {
	Rank          int                `json:"rank"`
	ID            string             `json:"id"`
	Score         float64            `json:"score"`
	Model         string             `json:"model"`
	Hardware      string             `json:"hardware"`
	Framework     string             `json:"framework"`
	Quantization  string             `json:"quantization"`
	Provenance    result.Kind        `json:"provenance"`
	Values        map[string]float64 `json:"values"`
	Contributions map[string]float64 `json:"contributions"`
	// Why explains the score in words: the criteria that helped most first.
	Why string `json:"why"`
}

// Front is the Pareto front of the results over chosen criteria.
type Front struct {
	Criteria   []string `json:"criteria"`
	Considered int      `json:"considered"`
	// Missing counts results left out because they lack a criterion's metric.
	Missing int     `json:"missing"`
	Points  []Point `json:"points"`
}

// Point is a result on the front.
type Point struct {
	ID           string             `json:"id"`
	Run          string             `json:"run"`
	Fingerprint  string             `json:"fingerprint"`
	Model        string             `json:"model"`
	Hardware     string             `json:"hardware"`
	Framework    string             `json:"framework"`
	Quantization string             `json:"quantization"`
	Workload     string             `json:"workload"`
	Provenance   result.Kind        `json:"provenance"`
	Values       map[string]float64 `json:"values"`
}

func (s *Server) apiRoutes() {
	s.handle("/api/v1/openapi.json", s.openapi)
	catalogs := map[string]func() any{
		"models":        func() any { return Catalog[campaign.Model]{s.o.Set.Models} },
		"hardware":      func() any { return Catalog[campaign.Hardware]{s.o.Set.Hardware} },
		"frameworks":    func() any { return Catalog[campaign.Framework]{s.o.Set.Frameworks} },
		"quantizations": func() any { return Catalog[campaign.Quantization]{s.o.Set.Quantizations} },
		"workloads":     func() any { return Catalog[campaign.Workload]{s.o.Set.Workloads} },
	}
	for name, f := range catalogs {
		s.endpoint("/api/v1/"+name, nil, func(*http.Request, params) (any, error) { return f(), nil })
	}
	s.endpoint("/api/v1/rankings", with(pageParams, "model", "workload", "provenance"), s.rankings)
	s.endpoint("/api/v1/daily-stats", with(pageParams, "model", "hardware", "framework", "quantization", "provenance"), s.dailyStats)
	s.endpoint("/api/v1/results", with(filterParams, "newest", "limit", "cursor"), s.results)
	s.endpoint("/api/v1/results/{run}/{fingerprint}", nil, s.detail)
	s.endpoint("/api/v1/runs", with(pageParams, "campaign"), s.runs)
	s.endpoint("/api/v1/runs/{run}", nil, s.run)
	s.endpoint("/api/v1/runs/{run}/failures", nil, s.failures)
	s.endpoint("/api/v1/reviews", with(pageParams, "campaign", "run", "model", "hardware", "framework", "quantization", "workload", "state"), s.reviews)
	s.endpoint("/api/v1/compare", []string{"a", "b", "threshold", "alpha"}, s.compare)
	s.endpoint("/api/v1/recommend", recommendParams, s.recommend)
	s.endpoint("/api/v1/pareto", with(filterParams, "criteria"), s.pareto)
}

func (s *Server) rankings(_ *http.Request, p params) (any, error) {
	r := p.v
	cursor, limit, err := p.page()
	if err != nil {
		return nil, err
	}
	all, err := s.o.Store.ModelRankings(context.Background())
	if err != nil {
		return nil, err
	}
	prov := r.Get("provenance")
	if prov != "" {
		if _, err := result.ParseKind(prov); err != nil {
			return nil, badf("parameter provenance: %v", err)
		}
	}
	var out []store.Ranking
	for _, x := range all {
		if match(r.Get("model"), x.Model) && match(r.Get("workload"), x.Workload) && match(prov, string(x.Provenance)) {
			out = append(out, x)
		}
	}
	return paginate(out, func(x *store.Ranking) string {
		return strings.Join([]string{x.Model, x.Workload, string(x.Provenance), x.Engine, x.Hardware, x.Framework, x.Quantization}, "\x00")
	}, cursor, limit)
}

func match(want, got string) bool { return want == "" || want == got }

func (s *Server) dailyStats(_ *http.Request, p params) (any, error) {
	r := p.v
	cursor, limit, err := p.page()
	if err != nil {
		return nil, err
	}
	all, err := s.o.Store.DailyStats(context.Background())
	if err != nil {
		return nil, err
	}
	var out []store.DailyStat
	for _, x := range all {
		if match(r.Get("model"), x.Model) && match(r.Get("hardware"), x.Hardware) && match(r.Get("framework"), x.Framework) &&
			match(r.Get("quantization"), x.Quantization) && match(r.Get("provenance"), string(x.Provenance)) {
			out = append(out, x)
		}
	}
	return paginate(out, func(x *store.DailyStat) string {
		return strings.Join([]string{x.Day, x.Model, x.Hardware, x.Framework, x.Quantization, string(x.Provenance), x.Engine}, "\x00")
	}, cursor, limit)
}

// checkFilter says when a filter names a run or campaign the store lacks, as
// `llmsweep results` does: an empty answer to a typo is not an answer.
func (s *Server) checkFilter(ctx context.Context, f store.Filter) error {
	if f.RunID != "" {
		if r, err := s.o.Store.Run(ctx, f.RunID); err != nil {
			return err
		} else if r == nil {
			return notFound{fmt.Sprintf("run %q is not in the store", f.RunID)}
		}
	}
	if f.Campaign != "" {
		runs, err := s.o.Store.Runs(ctx, f.Campaign)
		if err != nil {
			return err
		}
		if len(runs) == 0 {
			return notFound{fmt.Sprintf("campaign %q has no runs in the store", f.Campaign)}
		}
	}
	return nil
}

func (s *Server) results(r *http.Request, p params) (any, error) {
	f, err := p.filter()
	if err != nil {
		return nil, err
	}
	if f.Newest, err = p.boolean("newest"); err != nil {
		return nil, err
	}
	cursor, limit, err := p.page()
	if err != nil {
		return nil, err
	}
	if err := s.checkFilter(r.Context(), f); err != nil {
		return nil, err
	}
	rs, err := s.o.Store.Results(r.Context(), f)
	if err != nil {
		return nil, err
	}
	return paginate(rs, func(x *result.Result) string { return x.Run + "\x00" + x.Fingerprint }, cursor, limit)
}

// distributionMetrics are the per-request latencies a config page plots,
// defined as compare and metrics.Summarize define them.
var distributionMetrics = []struct {
	name string
	f    func(*sdk.Record) (float64, bool)
}{
	{"ttft_ms", func(r *sdk.Record) (float64, bool) {
		return float64(r.GetFirstTokenNs()-r.GetStartNs()) / 1e6, r.GetFirstTokenNs() > 0
	}},
	{"tpot_ms", func(r *sdk.Record) (float64, bool) {
		n := r.GetOutputTokens()
		if n < 0 {
			n = r.GetClientOutputTokens()
		}
		return float64(r.GetEndNs()-r.GetFirstTokenNs()) / 1e6 / float64(n-1), n > 1 && r.GetFirstTokenNs() > 0
	}},
	{"e2e_ms", func(r *sdk.Record) (float64, bool) { return float64(r.GetEndNs()-r.GetStartNs()) / 1e6, true }},
}

const histogramBins = 20

func histogram(metric string, xs []float64) Distribution {
	d := Distribution{Metric: metric, N: len(xs), Edges: []float64{}, Counts: []int{}}
	if len(xs) == 0 {
		return d
	}
	lo, hi := slices.Min(xs), slices.Max(xs)
	if hi == lo {
		hi = lo + 1
	}
	w := (hi - lo) / histogramBins
	d.Counts = make([]int, histogramBins)
	for i := 0; i <= histogramBins; i++ {
		d.Edges = append(d.Edges, lo+float64(i)*w)
	}
	for _, x := range xs {
		d.Counts[min(int((x-lo)/w), histogramBins-1)]++
	}
	return d
}

func (s *Server) detail(r *http.Request, _ params) (any, error) {
	run, fp := r.PathValue("run"), r.PathValue("fingerprint")
	rs, err := s.o.Store.Results(r.Context(), store.Filter{RunID: run, Fingerprint: fp})
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, notFound{fmt.Sprintf("run %q has no result with fingerprint %q", run, fp)}
	}
	res := rs[0]
	d := ConfigDetail{Result: res, Label: res.Label(), Source: res.Source(), Distributions: []Distribution{}}
	recs, err := s.o.Store.Records(r.Context(), run, fp)
	if err != nil {
		return nil, err
	}
	if len(recs) > 0 {
		for _, m := range distributionMetrics {
			var xs []float64
			for _, rec := range recs {
				if rec.GetErrorClass() != "" {
					continue
				}
				if v, ok := m.f(rec); ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
					xs = append(xs, v)
				}
			}
			d.Distributions = append(d.Distributions, histogram(m.name, xs))
		}
	}
	samples, err := s.o.Store.Samples(r.Context(), run, fp)
	if err != nil {
		return nil, err
	}
	d.UtilizationSamples = len(samples)
	return d, nil
}

func (s *Server) runs(r *http.Request, p params) (any, error) {
	cursor, limit, err := p.page()
	if err != nil {
		return nil, err
	}
	name := p.str("campaign")
	runs, err := s.o.Store.Runs(r.Context(), name)
	if err != nil {
		return nil, err
	}
	if name != "" && len(runs) == 0 {
		return nil, notFound{fmt.Sprintf("campaign %q has no runs in the store", name)}
	}
	counts, err := s.o.Store.RunCounts(r.Context(), name)
	if err != nil {
		return nil, err
	}
	out := make([]RunInfo, 0, len(runs))
	for i := len(runs) - 1; i >= 0; i-- { // newest first, as llmsweep runs lists them
		c := counts[runs[i].ID]
		out = append(out, RunInfo{Run: runs[i], Results: c.Results, Failed: c.Failed})
	}
	return paginate(out, func(x *RunInfo) string { return x.Run.ID }, cursor, limit)
}

func (s *Server) lookupRun(ctx context.Context, id string) (*result.Run, error) {
	run, err := s.o.Store.Run(ctx, id)
	if err != nil {
		return nil, err
	}
	if run == nil {
		return nil, notFound{fmt.Sprintf("run %q is not in the store", id)}
	}
	return run, nil
}

func (s *Server) run(r *http.Request, _ params) (any, error) {
	run, err := s.lookupRun(r.Context(), r.PathValue("run"))
	if err != nil {
		return nil, err
	}
	counts, err := s.o.Store.RunCounts(r.Context(), run.Campaign)
	if err != nil {
		return nil, err
	}
	c := counts[run.ID]
	return RunInfo{Run: *run, Results: c.Results, Failed: c.Failed}, nil
}

func (s *Server) failures(r *http.Request, _ params) (any, error) {
	run, err := s.lookupRun(r.Context(), r.PathValue("run"))
	if err != nil {
		return nil, err
	}
	fs, err := s.o.Store.Failures(r.Context(), run.ID)
	if err != nil {
		return nil, err
	}
	if fs == nil {
		fs = []result.Failure{}
	}
	return Catalog[[]result.Failure]{Items: map[string][]result.Failure{run.ID: fs}}, nil
}

// reviews is the manual-review queue, as llmsweep failures list reads it:
// configs that failed every retry, by default those still pending.
func (s *Server) reviews(r *http.Request, p params) (any, error) {
	f, err := p.filter()
	if err != nil {
		return nil, err
	}
	cursor, limit, err := p.page()
	if err != nil {
		return nil, err
	}
	states := store.PendingStates
	if v := p.str("state"); v != "" {
		states = nil
		for _, x := range strings.Split(v, ",") {
			st, err := store.ParseReviewState(x)
			if err != nil {
				return nil, badf("parameter state: %v", err)
			}
			states = append(states, st)
		}
	}
	rs, err := s.o.Store.Reviews(r.Context(), store.ReviewFilter{Filter: f, States: states})
	if err != nil {
		return nil, err
	}
	if rs == nil {
		rs = []store.Review{}
	}
	return paginate(rs, func(x *store.Review) string { return x.Run + "\x00" + x.Fingerprint }, cursor, limit)
}

func (s *Server) compare(r *http.Request, p params) (any, error) {
	a, b := p.str("a"), p.str("b")
	if a == "" || b == "" {
		return nil, badf("compare needs two runs: a=RUN_ID&b=RUN_ID")
	}
	threshold, err := p.float("threshold", 0.05)
	if err != nil {
		return nil, err
	}
	alpha, err := p.float("alpha", 0.05)
	if err != nil {
		return nil, err
	}
	if alpha >= 1 {
		return nil, badf("parameter alpha=%g: want a significance level below 1", alpha)
	}
	load := func(id string) ([]result.Result, error) {
		if _, err := s.lookupRun(r.Context(), id); err != nil {
			return nil, err
		}
		rs, err := s.o.Store.Results(r.Context(), store.Filter{RunID: id})
		if err != nil {
			return nil, err
		}
		if len(rs) == 0 {
			return nil, notFound{fmt.Sprintf("run %q has no results in the store", id)}
		}
		return rs, nil
	}
	ra, err := load(a)
	if err != nil {
		return nil, err
	}
	rb, err := load(b)
	if err != nil {
		return nil, err
	}
	c, err := compare.Runs(r.Context(), a, ra, b, rb, compare.Options{Threshold: threshold, Alpha: alpha, Records: s.o.Store.Records})
	if err != nil {
		return nil, err
	}
	out := Comparison{A: a, B: b, Threshold: threshold, Alpha: alpha, Shared: c.Shared, OnlyA: c.OnlyA, OnlyB: c.OnlyB,
		Regressions: c.Regressions, Unmeasured: c.Unmeasured, Deltas: c.Deltas, Definitions: c.Definitions}
	if out.Unmeasured == nil {
		out.Unmeasured = map[string]int{}
	}
	if out.Deltas == nil {
		out.Deltas = []compare.Delta{}
	}
	return out, nil
}

var recommendParams = []string{"policy", "weights", "workload", "model", "ttft_p99_ms", "tpot_p99_ms",
	"max_usd_per_hour", "max_usd_per_1m_output_tokens", "prices", "top"}

// recommend ranks each config's newest result under a policy, with the SLOs
// and the budget as the policy's hard constraints, through candidates.Rank:
// the code `llmsweep rank` and the report rank with.
func (s *Server) recommend(r *http.Request, p params) (any, error) {
	pol, err := s.policy(p)
	if err != nil {
		return nil, err
	}
	workload := p.str("workload")
	if workload == "" {
		return nil, badf("recommend needs a workload (parameter workload): configs are only comparable under one; the catalog has %s",
			strings.Join(slices.Sorted(maps.Keys(s.o.Set.Workloads)), ", "))
	}
	rs, err := s.o.Store.Results(r.Context(), store.Filter{Workload: workload, Model: p.str("model"), Newest: true})
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, notFound{fmt.Sprintf("the store has no results of workload %q%s", workload,
			map[bool]string{true: " and model " + strconv.Quote(p.str("model"))}[p.str("model") != ""])}
	}
	rows, err := s.rows(r.Context(), rs)
	if err != nil {
		return nil, err
	}
	rk, err := candidates.Rank(rows, pol)
	if err != nil {
		return nil, badf("%v", err)
	}
	byID := map[string]*candidates.Row{}
	for i := range rows {
		byID[rows[i].ID] = &rows[i]
	}
	out := Recommendation{Policy: pol.Name, Method: cmp.Or(pol.Method, rank.MethodTOPSIS), Workload: workload,
		Weights: map[string]float64{}, Considered: rk.Considered, Dropped: rk.Dropped, Removed: rk.Removed, Front: rk.Front, Picks: []Pick{}}
	for name, c := range rk.Criteria {
		out.Weights[name] = c.Weight
	}
	if out.Dropped == nil {
		out.Dropped = []string{}
	}
	if out.Front == nil {
		out.Front = []string{}
	}
	for _, x := range rk.Ranked {
		row := byID[x.ID]
		out.Picks = append(out.Picks, Pick{Rank: x.Rank, ID: x.ID, Score: x.Score, Model: row.Model, Hardware: row.Hardware,
			Framework: row.Framework, Quantization: row.Quantization, Provenance: row.Provenance, Values: x.Values,
			Contributions: x.Contributions, Why: why(x, rk.Criteria)})
	}
	return out, nil
}

// rows turns results into ranking rows with the catalog's cost metrics, as
// rank does.
func (s *Server) rows(ctx context.Context, rs []result.Result) ([]candidates.Row, error) {
	runs, err := s.o.Store.Runs(ctx, "")
	if err != nil {
		return nil, err
	}
	campaignOf := map[string]string{}
	for _, r := range runs {
		campaignOf[r.ID] = r.Campaign
	}
	rows := candidates.FromResults(rs, func(run string) string { return campaignOf[run] })
	for i := range rows {
		candidates.Derive(&rows[i], s.o.Set)
	}
	return rows, nil
}

// why says which criteria lifted a pick and which held it back.
func why(x rank.Ranked, crit map[string]campaign.Criterion) string {
	names := slices.Sorted(maps.Keys(x.Contributions))
	sort.SliceStable(names, func(i, j int) bool { return x.Contributions[names[i]] > x.Contributions[names[j]] })
	var parts []string
	for _, n := range names {
		c := crit[n]
		parts = append(parts, fmt.Sprintf("%s %+.3f (%s %.4g)", n, x.Contributions[n], c.Metric, x.Values[c.Metric]))
	}
	return fmt.Sprintf("score %.3f: %s", x.Score, strings.Join(parts, ", "))
}

// policy is the named policy (default balanced) with the request's weights,
// SLOs and budget.
func (s *Server) policy(p params) (campaign.Policy, error) {
	name := cmp.Or(p.str("policy"), "balanced")
	base, ok := s.o.Policies[name]
	if !ok {
		return campaign.Policy{}, badf("parameter policy=%q: no such policy; the service has %s", name, strings.Join(slices.Sorted(maps.Keys(s.o.Policies)), ", "))
	}
	pol := base
	pol.Criteria = maps.Clone(base.Criteria)
	pol.Constraints = slices.Clone(base.Constraints)
	if w := p.str("weights"); w != "" {
		for part := range strings.SplitSeq(w, ",") {
			k, v, ok := strings.Cut(part, ":")
			c, known := pol.Criteria[k]
			f, err := strconv.ParseFloat(v, 64)
			switch {
			case !ok:
				return pol, badf("parameter weights: %q is not criterion:weight", part)
			case !known:
				return pol, badf("parameter weights: policy %s has no criterion %q (it has %s)", name, k, strings.Join(slices.Sorted(maps.Keys(pol.Criteria)), ", "))
			case err != nil || f < 0 || f > 1000 || math.IsNaN(f):
				return pol, badf("parameter weights: %s's weight %q: want a number from 0 to 1000", k, v)
			}
			c.Weight = f
			pol.Criteria[k] = c
		}
		for k, c := range pol.Criteria {
			if c.Weight == 0 {
				delete(pol.Criteria, k)
			}
		}
		if len(pol.Criteria) == 0 {
			return pol, badf("parameter weights: every weight is 0: give at least one criterion a weight")
		}
	}
	for _, slo := range []string{"ttft_p99_ms", "tpot_p99_ms"} {
		v, err := p.float(slo, 0)
		if err != nil {
			return pol, err
		}
		if v > 0 {
			pol.Constraints = append(pol.Constraints, campaign.Constraint{Metric: slo, Op: "<=", Value: v})
		}
	}
	hour, err := p.float("max_usd_per_hour", 0)
	if err != nil {
		return pol, err
	}
	perTok, err := p.float("max_usd_per_1m_output_tokens", 0)
	if err != nil {
		return pol, err
	}
	prices := p.str("prices")
	if prices != "" && prices != "spot" && prices != "on_demand" {
		return pol, badf("parameter prices=%q: want spot or on_demand", prices)
	}
	if hour > 0 || perTok > 0 {
		b := pol.Budget
		if b == nil {
			b = &struct {
				MaxUSDPerHour           float64 `json:"max_usd_per_hour,omitempty"`
				MaxUSDPer1MOutputTokens float64 `json:"max_usd_per_1m_output_tokens,omitempty"`
				Prices                  string  `json:"prices"`
			}{}
		}
		nb := *b
		if hour > 0 {
			nb.MaxUSDPerHour = hour
		}
		if perTok > 0 {
			nb.MaxUSDPer1MOutputTokens = perTok
		}
		if prices != "" {
			nb.Prices = prices
		}
		pol.Budget = &nb
	}
	if pol.TopN, err = p.intIn("top", cmp.Or(pol.TopN, 5), 1, 50); err != nil {
		return pol, err
	}
	return pol, nil
}

// pareto is the first front of the results over the chosen criteria, found
// by rank's non-dominated sort.
func (s *Server) pareto(r *http.Request, p params) (any, error) {
	spec := p.str("criteria")
	if spec == "" {
		return nil, badf("pareto needs criteria: criteria=METRIC:min,METRIC:max (two to four, e.g. ttft_p99_ms:min,output_throughput:max)")
	}
	type crit struct {
		metric string
		sign   float64
	}
	var cs []crit
	var names []string
	for part := range strings.SplitSeq(spec, ",") {
		m, dir, _ := strings.Cut(part, ":")
		var sign float64
		switch dir {
		case "min":
			sign = 1
		case "max":
			sign = -1
		default:
			return nil, badf("parameter criteria: %q: want METRIC:min or METRIC:max", part)
		}
		if !validMetric(m) {
			return nil, badf("parameter criteria: unknown metric %q (known: %s)", m, strings.Join(knownMetrics, ", "))
		}
		cs = append(cs, crit{m, sign})
		names = append(names, part)
	}
	if len(cs) < 2 || len(cs) > 4 {
		return nil, badf("parameter criteria: give two to four criteria, not %d", len(cs))
	}
	f, err := p.filter()
	if err != nil {
		return nil, err
	}
	if err := s.checkFilter(r.Context(), f); err != nil {
		return nil, err
	}
	f.Newest = f.RunID == ""
	rs, err := s.o.Store.Results(r.Context(), f)
	if err != nil {
		return nil, err
	}
	rows, err := s.rows(r.Context(), rs)
	if err != nil {
		return nil, err
	}
	out := Front{Criteria: names, Considered: len(rows), Points: []Point{}}
	var pts [][]float64
	var idx []int
	for i, row := range rows {
		v := make([]float64, len(cs))
		ok := true
		for j, c := range cs {
			x, has := row.Metrics[c.metric]
			if !has || math.IsNaN(x) || math.IsInf(x, 0) {
				ok = false
				break
			}
			v[j] = c.sign * x
		}
		if !ok {
			out.Missing++
			continue
		}
		pts, idx = append(pts, v), append(idx, i)
	}
	if len(pts) == 0 {
		return out, nil
	}
	front, err := rank.NonDominatedSort(pts)
	if err != nil {
		return nil, err
	}
	for k, fr := range front {
		if fr != 0 {
			continue
		}
		i := idx[k]
		row, res := rows[i], rs[i]
		vals := map[string]float64{}
		for _, c := range cs {
			vals[c.metric] = row.Metrics[c.metric]
		}
		out.Points = append(out.Points, Point{ID: row.ID, Run: res.Run, Fingerprint: res.Fingerprint, Model: row.Model,
			Hardware: row.Hardware, Framework: row.Framework, Quantization: row.Quantization, Workload: row.Workload,
			Provenance: row.Provenance, Values: vals})
	}
	return out, nil
}

// knownMetrics are the metrics a result row can have (schema #Metric).
var knownMetrics = []string{"ttft_p50_ms", "ttft_p90_ms", "ttft_p99_ms", "tpot_p50_ms", "tpot_p90_ms", "tpot_p99_ms",
	"itl_p50_ms", "itl_p99_ms", "e2e_p50_ms", "e2e_p99_ms", "request_throughput", "output_throughput",
	"total_token_throughput", "goodput", "accuracy", "gpu_utilization", "gpu_memory_gib", "memory_headroom_gib",
	"usd_per_hour_spot", "usd_per_hour_on_demand", "usd_per_1m_output_tokens_spot", "usd_per_1m_output_tokens_on_demand"}

func validMetric(m string) bool { return slices.Contains(knownMetrics, m) }

func asErr[T error](err error, target *T) bool { return errors.As(err, target) }
