package sim

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/llmsweep/llmsweep/internal/metrics"

	"gonum.org/v1/gonum/optimize"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/result"
)

// Metrics a point may measure.
const (
	MetricTTFT       = "ttft_ms"      // median TTFT
	MetricTPOT       = "tpot_ms"      // median TPOT
	MetricITL        = "itl_ms"       // inter-token latency; predicted as TPOT
	MetricThroughput = "output_tok_s" // output tokens/s over the whole server
)

// Metrics lists the metrics in the order reports show them.
var Metrics = []string{MetricTTFT, MetricTPOT, MetricITL, MetricThroughput}

// MinPoints is the fewest points a (framework, architecture) pair needs for its
// factors to be fitted; with fewer it keeps its defaults.
const MinPoints = 3

// Point is one measured figure of one setup.
type Point struct {
	ID        string
	Framework string
	Model     campaign.Model
	Hardware  campaign.Hardware
	Quant     campaign.Quantization
	Load      Load
	// Util is the fraction of GPU memory the engine may use.
	Util   float64
	Metric string
	Value  float64
	// Source is the document the point comes from (cross-validation holds
	// out one at a time); Batching the engine's mode (BatchContinuous, ...);
	// Tool the client that measured.
	Source   string
	Batching string
	Tool     string
}

// Pair is the (framework, architecture) whose efficiency a point measures.
func (p Point) Pair() string { return p.Framework + "/" + p.Hardware.GPU.Arch }

// Predict is the model's figure for the point at efficiency e.
func (p Point) Predict(e Efficiency) (float64, error) {
	m, err := New(p.Model, p.Hardware, p.Quant, e)
	if err != nil {
		return 0, err
	}
	l := p.Load
	if l.KVTokens = m.KVCapacityTokens(p.Util); l.KVTokens < 0 {
		return 0, fmt.Errorf("point %s: %s's weights do not fit in %d × %s", p.ID, p.Model.Name, p.Hardware.Count, p.Hardware.GPU.Model)
	}
	pr := m.Simulate(l)
	switch p.Metric {
	case MetricTTFT:
		return pr.TTFTP50, nil
	case MetricTPOT, MetricITL:
		return pr.TPOTP50, nil
	case MetricThroughput:
		return pr.OutputThroughput, nil
	}
	return 0, fmt.Errorf("point %s: unknown metric %q (want one of %s)", p.ID, p.Metric, strings.Join(Metrics, ", "))
}

// Fit is the outcome of fitting one pair.
type Fit struct {
	Pair   string     `json:"pair"`
	Points int        `json:"points"`
	Fitted bool       `json:"fitted"`
	Before Efficiency `json:"before"`
	After  Efficiency `json:"after"`
	// MdAPE is the median absolute percentage error over the pair's points,
	// before and after the fit.
	MdAPEBefore float64 `json:"mdape_before"`
	MdAPEAfter  float64 `json:"mdape_after"`
	Note        string  `json:"note,omitempty"`
}

// Calibrate fits MFU, MBU, the per-step and the per-request times per (framework, architecture) pair to points,
// minimizing the sum of squared log errors (so that a TTFT off by 2× weighs as
// much as a throughput off by 2×) with Nelder–Mead over logit-transformed
// factors, starting from t. Pairs with fewer than MinPoints points keep t's
// values. It returns the new table and a fit per pair, in pair order. Pairs
// are fitted in parallel.
func Calibrate(t Table, points []Point) (Table, []Fit) {
	out := t.Clone()
	byPair := map[string][]Point{}
	for _, p := range points {
		byPair[p.Pair()] = append(byPair[p.Pair()], p)
	}
	pairs := make([]string, 0, len(byPair))
	for k := range byPair {
		pairs = append(pairs, k)
	}
	sort.Strings(pairs)
	fits := make([]Fit, len(pairs))
	parallel(len(pairs), func(i int) {
		fw, arch, _ := strings.Cut(pairs[i], "/")
		fits[i] = fitPair(pairs[i], t.For(fw, arch), byPair[pairs[i]])
	})
	for _, f := range fits {
		if f.Fitted {
			fw, arch, _ := strings.Cut(f.Pair, "/")
			out.Set(fw, arch, f.After)
		}
	}
	return out, fits
}

// parallel runs f(0) ... f(n−1) on GOMAXPROCS goroutines.
func parallel(n int, f func(int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// fitPair fits one pair's factors to its points from start.
func fitPair(pair string, start Efficiency, ps []Point) Fit {
	return fitFactors(pair, start, ps, func(Point) Efficiency { return start })
}

// fitFactors fits the factors in fitted to ps from start; each point is
// predicted at base(p) with those factors set, so that points of several
// frameworks keep their own engine limits.
func fitFactors(name string, start Efficiency, ps []Point, base func(Point) Efficiency) Fit {
	with := func(p Point, f Efficiency) Efficiency {
		e := base(p)
		for _, k := range fitted {
			*k.ptr(&e) = *k.ptr(&f)
		}
		return e
	}
	f := Fit{Pair: name, Points: len(ps), Before: start, After: start}
	f.MdAPEBefore = MdAPE(ps, func(p Point) Efficiency { return with(p, start) })
	f.MdAPEAfter = f.MdAPEBefore
	if len(ps) < MinPoints {
		f.Note = fmt.Sprintf("%d point%s, fewer than %d: defaults kept", len(ps), plural(len(ps), "s"), MinPoints)
		return f
	}
	x0 := unbounded(start)
	obj := func(x []float64) float64 {
		e := bounded(start, x)
		// A pull toward the start keeps a few points from trading one
		// factor against another far from where engines are.
		var sum float64
		for i := range x {
			d := x[i] - x0[i]
			sum += fitShrink * d * d
		}
		for _, p := range ps {
			v, err := p.Predict(with(p, e))
			if err != nil || !(v > 0) || math.IsInf(v, 0) {
				sum += 25 // (log 150)²: a point the model cannot predict
				continue
			}
			d := math.Log(v / p.Value)
			sum += d * d
		}
		return sum
	}
	res, err := optimize.Minimize(optimize.Problem{Func: obj}, x0,
		&optimize.Settings{FuncEvaluations: fitEvaluations}, &optimize.NelderMead{})
	if err != nil && res == nil {
		f.Note = "fit failed: " + err.Error()
		return f
	}
	e := bounded(start, res.X)
	for _, k := range fitted {
		*k.ptr(&e) = round3(*k.ptr(&e))
	}
	e.Source = fmt.Sprintf("fitted to %d points", len(ps))
	after := MdAPE(ps, func(p Point) Efficiency { return with(p, e) })
	if after > f.MdAPEBefore {
		f.Note = "the fit did not lower the median error: defaults kept"
		return f
	}
	f.Fitted, f.After, f.MdAPEAfter = true, e, after
	return f
}

// poolFit fits one set of factors to every point of an architecture, all
// frameworks pooled, each point keeping its framework's engine limits from
// t. It stands in for a pair that has too few points of its own: what the
// architecture reaches in other frameworks is better evidence than a prior.
func poolFit(t Table, arch string, ps []Point) Fit {
	return fitFactors("*/"+arch, DefaultEfficiency, ps, func(p Point) Efficiency { return t.effFor(p) })
}

// withFactors is e with f's fitted factors.
func withFactors(e, f Efficiency) Efficiency {
	for _, k := range fitted {
		*k.ptr(&e) = *k.ptr(&f)
	}
	e.Source = f.Source
	return e
}

// withPooled is prior with each fitted factor halfway, in the fit's logit
// coordinates, between its own value and the architecture's pooled fit: the
// pool is evidence from other frameworks on the same GPUs, the prior what
// is known of this framework, and neither alone speaks for the pair.
func withPooled(prior, pool Efficiency) Efficiency {
	a, b := unbounded(prior), unbounded(pool)
	for i := range a {
		a[i] = (a[i] + b[i]) / 2
	}
	e := bounded(prior, a)
	for _, k := range fitted {
		*k.ptr(&e) = round3(*k.ptr(&e))
	}
	e.Source = pool.Source + ", halfway from the prior"
	return e
}

// fitShrink weighs the pull toward the start against the squared log errors:
// moving a factor by one logit costs as much as one point off by 20%.
const fitShrink = 0.033

// fitEvaluations bounds Nelder–Mead's evaluations per pair: four factors
// (MFU, MBU, step and request time) were still moving at 300, and the
// held-out error is lower at 600.
const fitEvaluations = 600

// fitted are the factors a fit moves, each within bounds that keep it where
// engines are physically: without them a few points trade one factor against
// another into nonsense (MBU 1, MFU 0.1). The fit works on logits of the
// position within the bounds.
var fitted = []struct {
	lo, hi float64
	ptr    func(*Efficiency) *float64
}{
	{0.08, 0.85, func(e *Efficiency) *float64 { return &e.MFU }},
	{0.15, 0.95, func(e *Efficiency) *float64 { return &e.MBU }},
	{0, 5, func(e *Efficiency) *float64 { return &e.StepMS }},
	{0, 300, func(e *Efficiency) *float64 { return &e.RequestMS }},
}

// bounded is start with the fitted factors set from x.
func bounded(start Efficiency, x []float64) Efficiency {
	e := start
	for i, f := range fitted {
		*f.ptr(&e) = f.lo + (f.hi-f.lo)*logistic(x[i])
	}
	return e
}

// unbounded is the fit's coordinates of e.
func unbounded(e Efficiency) []float64 {
	x := make([]float64, len(fitted))
	for i, f := range fitted {
		p := (*f.ptr(&e) - f.lo) / (f.hi - f.lo)
		x[i] = logit(min(max(p, 0.01), 0.99))
	}
	return x
}

func logistic(u float64) float64 { return 1 / (1 + math.Exp(-u)) }
func logit(p float64) float64    { return math.Log(p / (1 - p)) }
func round3(v float64) float64   { return math.Round(v*1000) / 1000 }

// MdAPE is the median absolute percentage error of the model over points, each
// predicted at eff(point); points it cannot predict count as 100% off.
func MdAPE(points []Point, eff func(Point) Efficiency) float64 {
	errs := make([]float64, 0, len(points))
	for _, p := range points {
		v, err := p.Predict(eff(p))
		r := Residual{Value: p.Value, Predicted: v}
		if err != nil || math.IsNaN(v) {
			r.Error = "unpredictable"
		}
		errs = append(errs, r.APE())
	}
	return quantile(errs, 0.5)
}

// StorePoints turns stored results into points: a result's TTFT and TPOT
// medians and its output throughput, each a point of its config. Only
// measurements of a config on its own server count: predictions, imports and
// results another engine served are skipped, as are results whose config
// names something the set lacks, each with the reason.
func StorePoints(set *campaign.Set, results []result.Result) ([]Point, []Skipped) {
	var points []Point
	var skipped []Skipped
	for _, r := range results {
		c := r.Config
		switch {
		case r.Provenance.Kind != result.Measured:
			skipped = append(skipped, Skipped{ID: r.Fingerprint, Reason: "not a measurement: " + r.Provenance.String()})
			continue
		case r.Engine != "":
			skipped = append(skipped, Skipped{ID: r.Fingerprint, Reason: "served by " + r.Engine + ", not by its own framework and GPUs"})
			continue
		case c.Model == "":
			skipped = append(skipped, Skipped{ID: r.Fingerprint, Reason: "no resolved config stored with the result"})
			continue
		}
		m, okM := set.Models[c.Model]
		h, okH := set.Hardware[c.Hardware]
		q, okQ := set.Quantizations[c.Quantization]
		w, okW := set.Workloads[c.Workload]
		if !okM || !okH || !okQ || !okW {
			skipped = append(skipped, Skipped{ID: r.Fingerprint, Reason: fmt.Sprintf("%s, %s, %s or %s is not in the catalog", c.Model, c.Hardware, c.Quantization, c.Workload)})
			continue
		}
		base := Point{ID: r.Fingerprint[:min(12, len(r.Fingerprint))] + "/" + r.Run, Framework: c.Framework, Model: m, Hardware: h, Quant: q,
			Load: LoadFor(w, c.Concurrency, c.RequestRate, c.InputTokens, c.OutputTokens), Util: 0.9}
		base.Load.scheduleAs(c.Framework, c.Version, h.GPU.Model)
		for _, mv := range []struct {
			metric string
			v      metrics.Value
		}{{MetricTTFT, r.Summary.TTFT.P50}, {MetricTPOT, r.Summary.TPOT.P50}, {MetricThroughput, r.Summary.OutputThroughput}} {
			if v, ok := mv.v.Get(); ok && v > 0 {
				p := base
				p.Metric, p.Value = mv.metric, v
				points = append(points, p)
			}
		}
	}
	return points, skipped
}
