package sim

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// synthetic returns points of Llama-3.1-8B on one H100 under vLLM, "measured"
// by the model itself at truth, from source, times scale.
func synthetic(t *testing.T, source string, truth Efficiency, scale float64) []Point {
	t.Helper()
	s := catalogSet(t)
	var ps []Point
	for i, c := range []struct {
		in, out, conc int
		metric        string
	}{{128, 128, 1, MetricTPOT}, {2048, 128, 1, MetricTTFT}, {512, 256, 64, MetricThroughput}, {1024, 512, 16, MetricTPOT}, {256, 256, 32, MetricThroughput}} {
		p := Point{ID: source + "-" + string(rune('a'+i)), Source: source, Framework: "vllm", Model: s.Models["llama-3.1-8b-instruct"],
			Hardware: s.Hardware["h100-sxm-x1"], Quant: s.Quantizations["bf16"], Util: 0.9, Metric: c.metric, Batching: BatchContinuous,
			Load: Load{Requests: 4 * c.conc, Concurrency: c.conc, Input: campaign.Distribution{Kind: "fixed", Value: c.in},
				Output: campaign.Distribution{Kind: "fixed", Value: c.out}}}
		v, err := p.Predict(truth)
		if err != nil {
			t.Fatal(err)
		}
		p.Value = v * scale
		ps = append(ps, p)
	}
	return ps
}

// Cross-validation predicts each source with the factors fitted to the other
// sources alone: its residuals are those of fitting to the complement and
// scoring the source, and a source unlike the rest keeps a large error that
// a fit to every point, itself included, partly hides.
func TestCrossValidateHoldsOutSources(t *testing.T) {
	var points []Point
	for i, src := range []string{"a", "b", "c"} {
		points = append(points, synthetic(t, src, Efficiency{MFU: 0.4 + 0.05*float64(i), MBU: 0.6, StepMS: 0.5}, 1)...)
	}
	points = append(points, synthetic(t, "odd", Efficiency{MFU: 0.4, MBU: 0.6, StepMS: 0.5}, 2.5)...)
	start := Table{}
	start.Set("vllm", "hopper", Efficiency{MFU: 0.5, MBU: 0.7})
	cv := CrossValidate(start, points)
	if cv.Sources != 4 || cv.Points != len(points) || len(cv.Residuals) != len(points) {
		t.Fatalf("cv: %d sources, %d points, %d residuals", cv.Sources, cv.Points, len(cv.Residuals))
	}
	for _, held := range []string{"a", "b", "c", "odd"} {
		var train, test []Point
		for _, p := range points {
			if p.Source == held {
				test = append(test, p)
			} else {
				train = append(train, p)
			}
		}
		want := FitScore(start, train, test).Residuals
		var got []Residual
		for _, r := range cv.Residuals {
			if r.Source == held {
				got = append(got, r)
			}
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("source %s: cross-validation is not a fit to the other sources (-fit +cv):\n%s", held, d)
		}
	}
	oddAPE := func(s Scores) (worst float64) {
		for _, r := range s.Residuals {
			if r.Source == "odd" {
				worst = math.Max(worst, r.APE())
			}
		}
		return worst
	}
	if in := FitScore(start, points, points); oddAPE(in) >= oddAPE(cv) {
		t.Errorf("the odd source: %.1f%% fitted with itself, %.1f%% held out", oddAPE(in), oddAPE(cv))
	}
	var bySource int
	for _, s := range cv.BySource {
		if s.Source == "odd" {
			bySource++
		}
	}
	if bySource != 3 {
		t.Errorf("%d per-source summaries of the odd source, want one per metric (3)", bySource)
	}
}

func TestSummarize(t *testing.T) {
	var res []Residual
	for i, pred := range []float64{90, 100, 110, 120, 150, 0} {
		r := Residual{ID: string(rune('a' + i)), Source: "s", Framework: "vllm", Metric: MetricTPOT, Value: 100, Predicted: pred}
		if pred == 0 {
			r.Error = "cannot"
		}
		res = append(res, r)
	}
	byFw, bySrc := Summarize(res)
	if len(byFw) != 2 || len(bySrc) != 1 {
		t.Fatalf("%d framework summaries, %d source summaries", len(byFw), len(bySrc))
	}
	// APEs 10, 0, 10, 20, 50, 100: median 15, P90 75 (interpolated).
	all := byFw[0]
	if all.Framework != "" || all.Count != 6 || all.MdAPE != 15 || all.P90APE != 75 || math.Abs(all.Ratio-1.1) > 1e-9 {
		t.Errorf("summary %+v", all)
	}
}

func TestIntervals(t *testing.T) {
	var res []Residual
	for i := range 20 {
		// measured/predicted from 0.5 to 1.45 for vllm; trtllm has too few.
		res = append(res, Residual{Framework: "vllm", Metric: MetricTPOT, Value: 50 + 5*float64(i), Predicted: 100})
	}
	res = append(res, Residual{Framework: "trtllm", Metric: MetricITL, Value: 80, Predicted: 100},
		Residual{Framework: "trtllm", Metric: MetricTTFT, Error: "x"})
	iv := IntervalsFrom(res)
	v, ok := iv.For("vllm", MetricTPOT)
	if !ok || v.Count != 20 || math.Abs(v.Lo-0.595) > 1e-9 || math.Abs(v.Hi-1.355) > 1e-9 {
		t.Errorf("vllm TPOT interval %+v", v)
	}
	// trtllm's one ITL point joins TPOT over every framework.
	if _, own := iv[MetricTPOT]["trtllm"]; own {
		t.Error("trtllm has an interval of its own from one point")
	}
	all, ok := iv.For("trtllm", MetricITL)
	if !ok || all.Count != 21 {
		t.Errorf("trtllm ITL falls back to TPOT over all: %+v", all)
	}
	if _, ok := iv.For("vllm", MetricTTFT); ok {
		t.Error("an interval for TTFT, which has no prediction")
	}
	r := iv.Range("vllm", MetricTPOT, 10)
	if r == nil || math.Abs(r.Lo-5.95) > 1e-9 || math.Abs(r.Hi-13.55) > 1e-9 {
		t.Errorf("range of 10 ms: %+v", r)
	}
	if iv.Range("vllm", MetricTPOT, 0) != nil {
		t.Error("a range around no prediction")
	}
	if fws := strings.Join(iv.Frameworks(), ","); fws != "vllm" {
		t.Errorf("frameworks %s", fws)
	}
}

// The shipped fit and intervals parse, cover every metric, and apply to the
// catalog's table: a fitted pair takes its factors and keeps its limits, a
// pair without points its prior moved halfway to its architecture's pooled
// factors.
func TestPublished(t *testing.T) {
	p, err := LoadPublished()
	if err != nil {
		t.Fatal(err)
	}
	if p.Count < 250 || p.Sources < 12 || p.Level != IntervalLevel {
		t.Errorf("intervals from %d points, %d sources, level %g", p.Count, p.Sources, p.Level)
	}
	for _, m := range []string{MetricTTFT, MetricTPOT, MetricThroughput} {
		i, ok := p.Intervals.For("no-such-framework", m)
		if !ok || !(i.Lo > 0 && i.Lo < 1 && i.Hi > 1) {
			t.Errorf("%s: %+v", m, i)
		}
	}
	prior, err := Defaults(catalogSet(t))
	if err != nil {
		t.Fatal(err)
	}
	tab := p.Apply(prior)
	fit, ok := p.Efficiency["trtllm"]["hopper"]
	if got := tab.For("trtllm", "hopper"); !ok || got.MFU != fit.MFU || got.MBU != fit.MBU || got.MaxSeqs != prior.For("trtllm", "hopper").MaxSeqs {
		t.Errorf("trtllm/hopper: fitted %+v, applied %+v", fit, got)
	}
	pool, ok := p.Pooled["hopper"]
	if _, own := p.Efficiency["lmdeploy"]["hopper"]; own || !ok {
		t.Fatalf("lmdeploy/hopper has points of its own, or hopper no pool")
	}
	// Halfway between its prior and the pool: within both's range.
	got, own := tab.For("lmdeploy", "hopper"), prior.For("lmdeploy", "hopper")
	if got != withPooled(own, pool) || got.MFU < min(own.MFU, pool.MFU) || got.MFU > max(own.MFU, pool.MFU) || got.MFU == own.MFU {
		t.Errorf("lmdeploy/hopper: prior %+v, pooled %+v, applied %+v", own, pool, got)
	}
	if got, want := tab.For("vllm", "blackwell"), prior.For("vllm", "blackwell"); got != want {
		t.Errorf("vllm/blackwell, no points: %+v, want the prior %+v", got, want)
	}
}
