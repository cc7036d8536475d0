package sim

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// Interval is the spread of the model's held-out errors for one framework and
// metric: in IntervalLevel of the cross-validated cases the measured value lay
// between the prediction × Lo and the prediction × Hi.
type Interval struct {
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	Count int     `json:"count"`
}

// Around is the interval of a prediction v.
func (i Interval) Around(v float64) (lo, hi float64) { return v * i.Lo, v * i.Hi }

// Intervals maps a metric and a framework to its interval; AllFrameworks
// holds the metric's interval over every framework.
type Intervals map[string]map[string]Interval

// AllFrameworks is the key of a metric's interval over every framework.
const AllFrameworks = "*"

// IntervalLevel is the share of held-out cases an interval covers: from the
// 10th to the 90th percentile of measured / predicted.
const IntervalLevel = 0.8

// minIntervalPoints is the fewest held-out errors a framework needs for an
// interval of its own; with fewer it takes the metric's over every framework.
const minIntervalPoints = 10

// IntervalsFrom takes the intervals from held-out residuals. ITL is
// predicted as TPOT and shares its interval.
func IntervalsFrom(res []Residual) Intervals {
	ratios := map[string]map[string][]float64{}
	add := func(metric, fw string, r float64) {
		if ratios[metric] == nil {
			ratios[metric] = map[string][]float64{}
		}
		ratios[metric][fw] = append(ratios[metric][fw], r)
	}
	for _, r := range res {
		if r.Error != "" || !(r.Predicted > 0) {
			continue
		}
		m := r.Metric
		if m == MetricITL {
			m = MetricTPOT
		}
		add(m, r.Framework, r.Value/r.Predicted)
		add(m, AllFrameworks, r.Value/r.Predicted)
	}
	lo, hi := (1-IntervalLevel)/2, 1-(1-IntervalLevel)/2
	out := Intervals{}
	for m, byFw := range ratios {
		out[m] = map[string]Interval{}
		for fw, rs := range byFw {
			if fw != AllFrameworks && len(rs) < minIntervalPoints {
				continue
			}
			out[m][fw] = Interval{Lo: round3(quantile(rs, lo)), Hi: round3(quantile(rs, hi)), Count: len(rs)}
		}
	}
	return out
}

// For returns the interval of framework's metric, else the metric's over every
// framework; ITL takes TPOT's.
func (iv Intervals) For(framework, metric string) (Interval, bool) {
	if metric == MetricITL {
		metric = MetricTPOT
	}
	if i, ok := iv[metric][framework]; ok {
		return i, true
	}
	i, ok := iv[metric][AllFrameworks]
	return i, ok
}

// Range is the interval of a prediction v of framework's metric; nil when
// there is none or v is not a positive number.
func (iv Intervals) Range(framework, metric string, v float64) *Range {
	i, ok := iv.For(framework, metric)
	if !ok || !(v > 0) {
		return nil
	}
	lo, hi := i.Around(v)
	return &Range{Lo: lo, Hi: hi}
}

// Frameworks lists the frameworks with an interval of their own, sorted.
func (iv Intervals) Frameworks() []string {
	var fws []string
	for _, byFw := range iv {
		for fw := range byFw {
			if fw != AllFrameworks && !slices.Contains(fws, fw) {
				fws = append(fws, fw)
			}
		}
	}
	slices.Sort(fws)
	return fws
}

// Published is what published.json holds, both from the published points
// (testdata/published/points.csv): the factors fitted to all of them, which
// plan predicts with, and the intervals of the leave-one-source-out
// cross-validation of that fitting, which plan prints them with.
// TestPublishedCrossValidation rewrites it with -update.
type Published struct {
	Points    string    `json:"points"`
	Count     int       `json:"count"`
	Sources   int       `json:"sources"`
	Level     float64   `json:"level"`
	Intervals Intervals `json:"intervals"`
	// Efficiency holds the pairs fitted to the points, Pooled each
	// architecture's pooled fit for the pairs without points of their own.
	Efficiency Table                 `json:"efficiency"`
	Pooled     map[string]Efficiency `json:"pooled"`
}

//go:embed published.json
var publishedJSON []byte

// LoadPublished returns the fit and the intervals shipped with the model
// (published.json).
func LoadPublished() (Published, error) {
	var p Published
	if err := json.Unmarshal(publishedJSON, &p); err != nil {
		return p, fmt.Errorf("published.json: %w", err)
	}
	return p, nil
}

// Apply returns t with the published factors: a pair fitted to published
// points takes its own, another pair of an architecture with points its
// prior moved halfway to the architecture's pooled ones (withPooled), as the
// cross-validation predicted them; each
// keeps t's scheduler limits, and a pair of an architecture without points
// keeps t's values.
func (p Published) Apply(t Table) Table {
	out := t.Clone()
	for fw, byArch := range t {
		for arch, e := range byArch {
			if f, ok := p.Efficiency[fw][arch]; ok {
				out.Set(fw, arch, withFactors(e, f))
			} else if f, ok := p.Pooled[arch]; ok {
				out.Set(fw, arch, withPooled(e, f))
			}
		}
	}
	for fw, byArch := range p.Efficiency {
		for arch, f := range byArch {
			if _, ok := t[fw][arch]; !ok {
				out.Set(fw, arch, f)
			}
		}
	}
	return out
}

// Fitted is the table plan predicts with: the set's priors (Defaults) with
// the published fit applied, and that fit.
func Fitted(set *campaign.Set) (Table, Published, error) {
	t, err := Defaults(set)
	if err != nil {
		return nil, Published{}, err
	}
	p, err := LoadPublished()
	if err != nil {
		return nil, Published{}, err
	}
	return p.Apply(t), p, nil
}

// Publish fits t to points and cross-validates the fitting: what
// published.json holds.
func Publish(t Table, points []Point, name string) (Published, Scores) {
	cv := CrossValidate(t, points)
	p := Published{Points: name, Count: cv.Points, Sources: cv.Sources, Level: IntervalLevel, Intervals: cv.Intervals,
		Efficiency: Table{}, Pooled: map[string]Efficiency{}}
	_, fits := Calibrate(t, points)
	for _, f := range fits {
		if f.Fitted {
			fw, arch, _ := strings.Cut(f.Pair, "/")
			p.Efficiency.Set(fw, arch, f.After)
		}
	}
	archs := map[string][]Point{}
	for _, pt := range points {
		archs[pt.Hardware.GPU.Arch] = append(archs[pt.Hardware.GPU.Arch], pt)
	}
	names := slices.Sorted(maps.Keys(archs))
	pools := make([]Fit, len(names))
	parallel(len(names), func(i int) { pools[i] = poolFit(t, names[i], archs[names[i]]) })
	for i, f := range pools {
		if f.Fitted {
			p.Pooled[names[i]] = f.After
		}
	}
	return p, cv
}
