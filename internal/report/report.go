// Package report builds a campaign run's report from the results store and
// writes it as JSON (schema llmsweep.report/v2, described by schema.json), one
// self-contained HTML file with inline SVG plots, and a PDF with PNG plots
// written in pure Go. The Argo pipeline's report step and `llmsweep run` call
// Write; `llmsweep report` is its command line.
//
// Large campaigns (thousands of configs) stay readable: the HTML and PDF show
// the top Options.Top entries of each long section and say how many more the
// JSON holds; the JSON always holds everything.
package report

import (
	"cmp"

	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"cuelang.org/go/cue/cuecontext"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/candidates"
	"github.com/llmsweep/llmsweep/internal/compare"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/rank"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
	"github.com/llmsweep/llmsweep/internal/telemetry"
)

// Schema names the JSON format; a change that breaks readers bumps it.
const Schema = "llmsweep.report/v2"

// ErrEmpty is returned when there is nothing to report on: no run of the
// campaign, or a run with neither results nor failures.
var ErrEmpty = errors.New("nothing to report")

// Report is the whole report; the JSON file is this, encoded.
type Report struct {
	Schema   string `json:"schema"`
	Campaign string `json:"campaign"`
	Run      Run    `json:"run"`
	Summary  Totals `json:"summary"`
	// Notes say how figures were made and what is missing, for people.
	Notes       []string      `json:"notes"`
	Policies    []Policy      `json:"policies"`
	Pareto      Pareto        `json:"pareto"`
	Curves      []Curve       `json:"curves"`
	Configs     []Config      `json:"configs"`
	Regressions Regressions   `json:"regressions"`
	Failures    []FailureInfo `json:"failures"`
}

// Run is the run reported on.
type Run struct {
	ID         string    `json:"id"`
	MatrixHash string    `json:"matrix_hash"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished,omitzero"`
	// WallS is finished − started, or up to the last result of an unfinished run.
	WallS  float64 `json:"wall_s"`
	Engine string  `json:"engine,omitempty"`
}

// Totals is the campaign summary.
type Totals struct {
	Planned int `json:"planned"`
	Run     int `json:"run"`
	Failed  int `json:"failed"`
	// NotRun = planned − run − failed: skipped (done in an earlier run, or
	// not reached) or still pending.
	NotRun int `json:"not_run"`
	// Pruned counts the configs the compiler removed before the run, by
	// reason; present when the campaign was given.
	Pruned map[string]int `json:"pruned,omitempty"`
	// Predicted counts results from the emulated engine: predicted, not
	// measured; Imported, results another tool measured.
	Predicted int `json:"predicted"`
	Imported  int `json:"imported"`
	// GPUHours is Σ measured benchmark duration × GPUs of the config's hardware.
	GPUHours        float64 `json:"gpu_hours"`
	CostSpotUSD     float64 `json:"cost_spot_usd"`
	CostOnDemandUSD float64 `json:"cost_on_demand_usd"`
}

// Policy is one shipped policy's ranking of the run's results.
type Policy struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Method      string `json:"method"`
	Considered  int    `json:"considered"`
	// Dropped lists criteria and constraints left out because no result has
	// their metric (e.g. accuracy when no workload measured it).
	Dropped []string `json:"dropped,omitempty"`
	// WithinNoise names where the ranking flips within accuracy noise.
	WithinNoise []string       `json:"within_noise,omitempty"`
	Removed     map[string]int `json:"removed"`
	Top         []Pick         `json:"top"`
	Error       string         `json:"error,omitempty"`
}

// Pick is one recommendation with its explanation.
type Pick struct {
	Rank          int                `json:"rank"`
	Score         float64            `json:"score"`
	Config        string             `json:"config"`
	Fingerprint   string             `json:"fingerprint"`
	Predicted     bool               `json:"predicted"`
	Provenance    result.Kind        `json:"provenance"`
	Criteria      map[string]float64 `json:"criteria"`
	Contributions map[string]float64 `json:"contributions"`
	Explanation   string             `json:"explanation"`
}

// Pareto is the non-dominated set over Objectives.
type Pareto struct {
	Objectives []string `json:"objectives"`
	Front      []Point  `json:"front"`
}

// Point is a config on the front.
type Point struct {
	Config      string             `json:"config"`
	Fingerprint string             `json:"fingerprint"`
	Predicted   bool               `json:"predicted"`
	Provenance  result.Kind        `json:"provenance"`
	Values      map[string]float64 `json:"values"`
}

// Curve is latency against throughput for one model on one hardware shape.
type Curve struct {
	Model    string   `json:"model"`
	Hardware string   `json:"hardware"`
	Series   []Series `json:"series"`
}

// Series is one framework/quantization (and workload) over its load points.
type Series struct {
	Label     string      `json:"label"`
	Predicted bool        `json:"predicted"`
	Points    []LoadPoint `json:"points"`
}

// LoadPoint is one load point of a series.
type LoadPoint struct {
	Load             string        `json:"load"`
	OutputThroughput metrics.Value `json:"output_throughput,omitzero"`
	TTFTP99          metrics.Value `json:"ttft_p99_ms,omitzero"`
	TPOTP50          metrics.Value `json:"tpot_p50_ms,omitzero"`
}

// Config is one result: its identity, provenance, percentiles and
// utilization. What was not measured is left out.
type Config struct {
	Config       string `json:"config"`
	Fingerprint  string `json:"fingerprint"`
	Model        string `json:"model"`
	Hardware     string `json:"hardware"`
	Framework    string `json:"framework"`
	Version      string `json:"version"`
	Quantization string `json:"quantization"`
	Workload     string `json:"workload"`
	Load         string `json:"load"`
	ServedBy     string `json:"served_by"`
	// Engine names the engine that served the config instead of its own
	// framework on its hardware.
	Engine           string             `json:"engine,omitempty"`
	Predicted        bool               `json:"predicted"`
	Provenance       result.Provenance  `json:"provenance"`
	Requests         int                `json:"requests"`
	Failed           int                `json:"failed"`
	TTFT             Percentiles        `json:"ttft_ms"`
	TPOT             Percentiles        `json:"tpot_ms"`
	OutputThroughput metrics.Value      `json:"output_throughput,omitzero"`
	Goodput          metrics.Value      `json:"goodput,omitzero"`
	DurationS        metrics.Value      `json:"duration_s,omitzero"`
	GPUs             int                `json:"gpus"`
	Accuracy         *float64           `json:"accuracy,omitempty"`
	Utilization      *telemetry.Summary `json:"utilization,omitempty"`
	USDPer1MSpot     *float64           `json:"usd_per_1m_output_tokens_spot,omitempty"`
	USDPer1MOnDemand *float64           `json:"usd_per_1m_output_tokens_on_demand,omitempty"`
	metrics          map[string]float64 // for ranking; not written
}

// Percentiles of one latency metric, in milliseconds.
type Percentiles struct {
	P50 metrics.Value `json:"p50,omitzero"`
	P90 metrics.Value `json:"p90,omitzero"`
	P99 metrics.Value `json:"p99,omitzero"`
}

// Regressions compares the run with the campaign's prior run.
type Regressions struct {
	// PriorRun is empty when the campaign has no earlier run.
	PriorRun  string          `json:"prior_run,omitempty"`
	Threshold float64         `json:"threshold"`
	Alpha     float64         `json:"alpha"`
	Shared    int             `json:"shared"`
	Compared  int             `json:"compared"`
	Found     []compare.Delta `json:"found"`
}

// FailureInfo is a config that failed every attempt.
type FailureInfo struct {
	Config      string    `json:"config"`
	Fingerprint string    `json:"fingerprint"`
	Attempts    int       `json:"attempts"`
	Reason      string    `json:"reason"`
	Time        time.Time `json:"time"`
}

// Options say what to report on.
type Options struct {
	// Campaign is the campaign's name; with RunID empty, its latest run is reported.
	Campaign string
	RunID    string
	// Set supplies the catalog (prices, GPU counts) and the policies; may be nil.
	Set *campaign.Set
	// Planned is the compiler's summary of the campaign, for the pruned counts,
	// and Configs its configs, to name failed configs; either may be nil.
	Planned *matrix.Summary
	Configs []matrix.Config
	// Top is how many entries each long section shows in HTML and PDF (default 10).
	Top int
	// Threshold and Alpha are compare's regression settings (default 0.05 each).
	Threshold, Alpha float64
	// SampleTests runs the Mann–Whitney test on per-request records where the
	// store still holds them; otherwise run figures are compared against the
	// threshold alone.
	SampleTests bool
	// Out is the directory written to; Formats are among json, html and pdf
	// (default all three). Used by Write.
	Out     string
	Formats []string
}

func (o *Options) defaults() {
	if o.Top <= 0 {
		o.Top = 10
	}
	if o.Threshold == 0 {
		o.Threshold = 0.05
	}
	if o.Alpha == 0 {
		o.Alpha = 0.05
	}
}

// Build reads the run and its campaign's history from st and assembles the
// report. It returns an error wrapping ErrEmpty when there is nothing to report.
func Build(ctx context.Context, st store.Store, opt Options) (*Report, error) {
	opt.defaults()
	var runs []result.Run
	if opt.Campaign != "" {
		var err error
		if runs, err = st.Runs(ctx, opt.Campaign); err != nil {
			return nil, err
		}
	}
	var run *result.Run
	var err error
	if opt.RunID != "" {
		if run, err = st.Run(ctx, opt.RunID); err != nil {
			return nil, err
		}
		if run == nil {
			return nil, fmt.Errorf("%w: run %q is not in the store", ErrEmpty, opt.RunID)
		}
		if opt.Campaign != "" && run.Campaign != opt.Campaign {
			return nil, fmt.Errorf("run %s belongs to campaign %s, not %s", run.ID, run.Campaign, opt.Campaign)
		}
	} else {
		// The newest run with results, or failures; a run still going may have
		// no result yet, only failures.
		for i := len(runs) - 1; i >= 0 && run == nil; i-- {
			if rs, err := st.Results(ctx, store.Filter{RunID: runs[i].ID}); err != nil {
				return nil, err
			} else if fs, err := st.Failures(ctx, runs[i].ID); err != nil {
				return nil, err
			} else if len(rs) > 0 || len(fs) > 0 {
				run = &runs[i]
			}
		}
		// A run still going may have no result yet, only failures.
		if opt.Planned != nil && opt.Campaign != "" {
			u, err := st.LatestUnfinished(ctx, opt.Campaign, opt.Planned.MatrixHash)
			if err != nil {
				return nil, err
			}
			if u != nil && (run == nil || u.Started.After(run.Started)) {
				run = u
			}
		}
	}
	if run == nil {
		if opt.Campaign == "" {
			return nil, fmt.Errorf("%w: the store has no results (name a campaign or a run)", ErrEmpty)
		}
		return nil, fmt.Errorf("%w: the store has no results of campaign %s (a finished run with failures only needs --run)", ErrEmpty, opt.Campaign)
	}
	results, err := st.Results(ctx, store.Filter{RunID: run.ID})
	if err != nil {
		return nil, err
	}
	failures, err := st.Failures(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	if len(results) == 0 && len(failures) == 0 {
		return nil, fmt.Errorf("%w: run %s of campaign %s has no results and no failures yet", ErrEmpty, run.ID, run.Campaign)
	}

	r := &Report{Schema: Schema, Campaign: run.Campaign, Notes: []string{}, Policies: []Policy{}, Curves: []Curve{},
		Configs: []Config{}, Failures: []FailureInfo{}}
	r.Run = Run{ID: run.ID, MatrixHash: run.MatrixHash, Started: run.Started, Finished: run.Finished, Engine: run.Engine}
	end := run.Finished
	for _, res := range results {
		if run.Finished.IsZero() && res.Finished.After(end) {
			end = res.Finished
		}
	}
	if !end.IsZero() {
		r.Run.WallS = end.Sub(run.Started).Seconds()
	}
	set := opt.Set
	if set == nil {
		set = &campaign.Set{}
	}
	if len(set.Policies) == 0 {
		// A campaign file or a bundle brings no policies: rank with the
		// shipped ones, as llmsweep rank does.
		shipped, err := campaign.ShippedPolicies(cuecontext.New(), "")
		if err != nil {
			return nil, err
		}
		withPolicies := *set
		withPolicies.Policies = shipped
		set = &withPolicies
	}

	rows := candidates.FromResults(results, func(string) string { return run.Campaign })
	unpriced := map[string]bool{}
	for i, res := range results {
		candidates.Derive(&rows[i], set)
		c := configOf(res, rows[i])
		c.metrics = rows[i].Metrics
		if v, ok := rows[i].Metrics["usd_per_1m_output_tokens_spot"]; ok {
			c.USDPer1MSpot = &v
		}
		if v, ok := rows[i].Metrics["usd_per_1m_output_tokens_on_demand"]; ok {
			c.USDPer1MOnDemand = &v
		}
		d := c.DurationS.Or(0)
		r.Summary.GPUHours += d / 3600 * float64(c.GPUs)
		if h, ok := set.Hardware[c.Hardware]; ok {
			r.Summary.CostSpotUSD += d / 3600 * h.Price.SpotUSDHour
			r.Summary.CostOnDemandUSD += d / 3600 * h.Price.OnDemandUSDHour
		} else {
			unpriced[c.Hardware] = true
		}
		switch c.Provenance.Kind {
		case result.Predicted:
			r.Summary.Predicted++
		case result.Imported:
			r.Summary.Imported++
		}
		r.Configs = append(r.Configs, c)
	}
	r.Summary.Planned, r.Summary.Run, r.Summary.Failed = run.Configs, len(results), len(failures)
	r.Summary.NotRun = max(0, run.Configs-len(results)-len(failures))
	switch {
	case opt.Planned == nil:
	case opt.Planned.MatrixHash != run.MatrixHash:
		r.Notes = append(r.Notes, "The campaign has changed since this run (another matrix hash): the compiler's pruned counts are left out.")
	case len(opt.Planned.Pruned) > 0:
		r.Summary.Pruned = opt.Planned.Pruned
	}
	r.Notes = append(r.Notes, "GPU-hours are each config's measured benchmark duration times its hardware's GPU count; server start-up, warmup and idle time are not counted. Costs price the same hours at the catalog's spot and on-demand rates per node shape.")
	if len(unpriced) > 0 {
		var names []string
		for _, h := range slices.Sorted(maps.Keys(unpriced)) {
			names = append(names, fmt.Sprintf("%q", h))
		}
		r.Notes = append(r.Notes, fmt.Sprintf("No catalog price for hardware %s: its results are not in the costs.", strings.Join(names, ", ")))
	}
	if r.Summary.Predicted > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d of %d results come from the emulated engine (sim): PREDICTED, NOT MEASURED.", r.Summary.Predicted, len(results)))
	}
	if r.Summary.Imported > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d of %d results were imported from another tool's files: measured by that tool, with its metric definitions.", r.Summary.Imported, len(results)))
	}
	if engines := enginesOf(results); len(engines) > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("Served by %s, not by the frameworks and GPUs the configs name: these results are kept apart from the configs' own.", strings.Join(engines, ", ")))
	}
	slices.SortStableFunc(r.Configs, func(a, b Config) int { return cmp.Compare(a.Config, b.Config) })

	r.Policies = rankPolicies(set, rows)
	r.Pareto = paretoFront(r.Configs)
	r.Curves = curves(r.Configs)
	labels := map[string]string{}
	for _, c := range opt.Configs {
		labels[c.Fingerprint] = c.Label()
	}
	for _, f := range failures {
		label, ok := labels[f.Fingerprint]
		if !ok {
			label = f.Fingerprint
		}
		if rs, err := st.Results(ctx, store.Filter{Fingerprint: f.Fingerprint}); !ok && err == nil && len(rs) > 0 {
			label = rs[0].Label()
		}
		r.Failures = append(r.Failures, FailureInfo{Config: label, Fingerprint: f.Fingerprint, Attempts: f.Attempt, Reason: f.Reason, Time: f.Time})
	}
	if r.Regressions, err = regressions(ctx, st, runs, *run, results, opt); err != nil {
		return nil, err
	}
	return r, nil
}

// enginesOf lists the engines that served results instead of their configs' own.
func enginesOf(results []result.Result) []string {
	seen := map[string]bool{}
	for _, r := range results {
		if r.Engine != "" {
			seen[r.Engine] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

func configOf(res result.Result, row candidates.Row) Config {
	cfg, s := res.Config, &res.Summary
	c := Config{Config: row.ID, Fingerprint: res.Fingerprint, Model: cfg.Model, Hardware: cfg.Hardware,
		Framework: cfg.Framework, Version: cfg.Version, Quantization: cfg.Quantization, Workload: cfg.Workload,
		Load: res.Load(), ServedBy: res.ServedBy, Engine: res.Engine,
		Predicted: res.Provenance.Kind == result.Predicted, Provenance: res.Provenance,
		Requests: s.Requests, Failed: s.Failed,
		TTFT:             Percentiles{s.TTFT.P50, s.TTFT.P90, s.TTFT.P99},
		TPOT:             Percentiles{s.TPOT.P50, s.TPOT.P90, s.TPOT.P99},
		OutputThroughput: s.OutputThroughput, Goodput: s.Goodput, DurationS: s.DurationS,
		GPUs: max(cfg.GPUs, 1), Utilization: res.Utilization, metrics: row.Metrics}
	if v, ok := row.Metrics["accuracy"]; ok {
		c.Accuracy = &v
	}
	return c
}

// rankPolicies ranks the results under every policy of the set, in name
// order, through candidates.Rank as llmsweep rank does: a criterion no result
// measures is dropped and listed.
func rankPolicies(set *campaign.Set, rows []candidates.Row) []Policy {
	byID := map[string]candidates.Row{}
	for _, r := range rows {
		byID[r.ID] = r
	}
	out := []Policy{}
	for _, name := range slices.Sorted(maps.Keys(set.Policies)) {
		p := set.Policies[name]
		out1 := Policy{Name: name, Description: p.Description, Method: cmp.Or(p.Method, rank.MethodTOPSIS), Considered: len(rows), Removed: map[string]int{}, Top: []Pick{}}
		res, err := candidates.Rank(rows, p)
		if err != nil {
			out1.Error = err.Error()
			out = append(out, out1)
			continue
		}
		out1.Dropped, out1.WithinNoise, out1.Removed = res.Dropped, res.WithinNoise, res.Removed
		crit := res.Criteria
		for _, x := range res.Ranked {
			values := map[string]float64{}
			for _, c := range crit {
				values[c.Metric] = x.Values[c.Metric]
			}
			row := byID[x.ID]
			out1.Top = append(out1.Top, Pick{Rank: x.Rank, Score: x.Score, Config: x.ID, Fingerprint: row.Fingerprint,
				Predicted: row.Provenance == result.Predicted, Provenance: row.Provenance,
				Criteria: values, Contributions: x.Contributions, Explanation: explain(crit, x)})
		}
		out = append(out, out1)
	}
	return out
}

// explain says in words which criteria lifted and which lowered a score.
func explain(crit map[string]campaign.Criterion, x rank.Ranked) string {
	names := slices.Sorted(maps.Keys(crit))
	sort.SliceStable(names, func(i, j int) bool { return x.Contributions[names[i]] > x.Contributions[names[j]] })
	var parts []string
	for _, n := range names {
		c := crit[n]
		parts = append(parts, fmt.Sprintf("%s %s = %s (%+.3f)", n, c.Metric, metrics.Num(x.Values[c.Metric]), x.Contributions[n]))
	}
	return "by contribution: " + strings.Join(parts, "; ")
}

// paretoObjectives: latency and cost are minimized, throughput maximized.
var paretoObjectives = []struct {
	metric  string
	benefit bool
}{{"ttft_p99_ms", false}, {"output_throughput", true}, {"usd_per_1m_output_tokens_on_demand", false}}

func paretoFront(cs []Config) Pareto {
	out := Pareto{Front: []Point{}}
	var objs []int
	for k, o := range paretoObjectives {
		all := len(cs) > 0
		for _, c := range cs {
			if _, ok := c.metrics[o.metric]; !ok {
				all = false
				break
			}
		}
		if all {
			objs = append(objs, k)
			out.Objectives = append(out.Objectives, o.metric)
		}
	}
	if len(objs) == 0 {
		return out
	}
	pts := make([][]float64, len(cs))
	for i, c := range cs {
		pts[i] = make([]float64, len(objs))
		for j, k := range objs {
			v := c.metrics[paretoObjectives[k].metric]
			if paretoObjectives[k].benefit {
				v = -v
			}
			pts[i][j] = v
		}
	}
	front, err := rank.NonDominatedSort(pts)
	if err != nil {
		return out
	}
	for i, c := range cs {
		if front[i] != 0 {
			continue
		}
		vals := map[string]float64{}
		for _, m := range out.Objectives {
			vals[m] = c.metrics[m]
		}
		out.Front = append(out.Front, Point{Config: c.Config, Fingerprint: c.Fingerprint, Predicted: c.Predicted, Provenance: c.Provenance.Kind, Values: vals})
	}
	slices.SortStableFunc(out.Front, func(a, b Point) int {
		return cmp.Compare(a.Values["ttft_p99_ms"], b.Values["ttft_p99_ms"])
	})
	return out
}

// curves groups results by (model, hardware), then by framework-version and
// quantization (and workload, where several), ordered by load.
func curves(cs []Config) []Curve {
	type key struct{ model, hw string }
	by := map[key]map[string]*Series{}
	workloads := map[key]map[string]bool{}
	for _, c := range cs {
		k := key{c.Model, c.Hardware}
		if workloads[k] == nil {
			workloads[k] = map[string]bool{}
		}
		workloads[k][c.Workload] = true
	}
	for _, c := range cs {
		k := key{c.Model, c.Hardware}
		label := c.Framework + "-" + c.Version + " " + c.Quantization
		if len(workloads[k]) > 1 {
			label += " " + c.Workload
		}
		if c.Engine != "" {
			label += " @" + c.Engine
		}
		if by[k] == nil {
			by[k] = map[string]*Series{}
		}
		s := by[k][label]
		if s == nil {
			s = &Series{Label: label}
			by[k][label] = s
		}
		s.Predicted = s.Predicted || c.Predicted
		s.Points = append(s.Points, LoadPoint{Load: c.Load, OutputThroughput: c.OutputThroughput, TTFTP99: c.TTFT.P99, TPOTP50: c.TPOT.P50})
	}
	var keys []key
	for k := range by {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.model, b.model), cmp.Compare(a.hw, b.hw)) })
	out := []Curve{}
	for _, k := range keys {
		c := Curve{Model: k.model, Hardware: k.hw}
		for _, l := range slices.Sorted(maps.Keys(by[k])) {
			s := *by[k][l]
			slices.SortStableFunc(s.Points, func(a, b LoadPoint) int {
				return cmp.Compare(a.OutputThroughput.Or(-1), b.OutputThroughput.Or(-1))
			})
			c.Series = append(c.Series, s)
		}
		out = append(out, c)
	}
	return out
}

// regressions compares the run with the campaign's latest run started before it.
func regressions(ctx context.Context, st store.Store, runs []result.Run, run result.Run, results []result.Result, opt Options) (Regressions, error) {
	out := Regressions{Threshold: opt.Threshold, Alpha: opt.Alpha, Found: []compare.Delta{}}
	// The latest run started before this one that has results.
	var prior *result.Run
	var before []result.Result
	for i := len(runs) - 1; i >= 0 && prior == nil; i-- {
		if runs[i].ID == run.ID || !runs[i].Started.Before(run.Started) {
			continue
		}
		rs, err := st.Results(ctx, store.Filter{RunID: runs[i].ID})
		if err != nil {
			return out, err
		}
		if len(rs) > 0 {
			prior, before = &runs[i], rs
		}
	}
	if prior == nil {
		return out, nil
	}
	out.PriorRun = prior.ID
	co := compare.Options{Threshold: opt.Threshold, Alpha: opt.Alpha}
	if opt.SampleTests {
		co.Records = st.Records
	}
	res, err := compare.Runs(ctx, prior.ID, before, run.ID, results, co)
	if err != nil {
		return out, err
	}
	out.Shared, out.Compared = res.Shared, len(res.Deltas)
	for _, d := range res.Deltas {
		if d.Regression {
			out.Found = append(out.Found, d)
		}
	}
	// Worst first.
	slices.SortStableFunc(out.Found, func(a, b compare.Delta) int { return cmp.Compare(math.Abs(b.Change), math.Abs(a.Change)) })
	return out, nil
}
