package sim

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// Two static rounds of four requests: each round prefills its four prompts in
// one step and decodes 64 steps at batch 4, timed at the run's mean context.
func TestStaticBatchByHand(t *testing.T) {
	x := model(t, "llama-3.1-8b-instruct", "h100-sxm-x1", "bf16", eff)
	l := Load{Requests: 8, Concurrency: 4, Static: true, Input: campaign.Distribution{Kind: "fixed", Value: 512},
		Output: campaign.Distribution{Kind: "fixed", Value: 65}}
	p := x.Simulate(l)
	prefill := x.StepSeconds(0, 0, 4*512, 4*512*512)
	decode := 64 * x.DecodeStepSeconds(4, 4*512+4*1+4*63/2)
	near(t, "TTFT", p.TTFTP50, prefill*1e3, 1e-9)
	near(t, "TPOT", p.TPOTP50, decode/64*1e3, 1e-9)
	near(t, "E2E", p.E2EP50, (prefill+decode)*1e3, 1e-9)
	near(t, "throughput", p.OutputThroughput, 8*65/(2*(prefill+decode)), 1e-9)
}

// With answers of different lengths a static round waits for its longest,
// while a continuous engine refills the slots: it gets more done.
func TestStaticWaitsForLongest(t *testing.T) {
	x := model(t, "llama-3.1-8b-instruct", "h100-sxm-x1", "bf16", eff)
	l := Load{Requests: 64, Concurrency: 8, Static: true, Input: campaign.Distribution{Kind: "fixed", Value: 256},
		Output: campaign.Distribution{Kind: "uniform", Min: 16, Max: 512}, Seed: 7}
	static := x.Simulate(l)
	l.Static = false
	if c := x.Simulate(l); c.OutputThroughput <= 1.1*static.OutputThroughput {
		t.Errorf("continuous %.0f tok/s, static %.0f tok/s", c.OutputThroughput, static.OutputThroughput)
	}
}

// A static round holds only what fits in the KV cache.
func TestStaticBatchKV(t *testing.T) {
	x := model(t, "llama-3.1-8b-instruct", "h100-sxm-x1", "bf16", eff)
	l := Load{Requests: 8, Concurrency: 8, Static: true, Input: campaign.Distribution{Kind: "fixed", Value: 1000},
		Output: campaign.Distribution{Kind: "fixed", Value: 100}, KVTokens: 2 * 1100}
	p := x.Simulate(l)
	if p.PeakKVTokens != 2*1100 || p.Rejected != 0 {
		t.Errorf("peak %d KV tokens, %d rejected; want rounds of 2", p.PeakKVTokens, p.Rejected)
	}
	l.KVTokens = 500
	if r := x.Simulate(l); r.Rejected != 8 || r.OutputThroughput != 0 {
		t.Errorf("requests longer than the cache: %d rejected, %.0f tok/s", r.Rejected, r.OutputThroughput)
	}
}

// An engine that schedules every n steps delays newcomers while a batch
// runs, by half a round on average; alone, a request does not wait.
func TestSchedulingRounds(t *testing.T) {
	x := model(t, "llama-3.1-8b-instruct", "h100-sxm-x1", "bf16", eff)
	open := Load{Requests: 200, Rate: 20, Burstiness: 1, Input: campaign.Distribution{Kind: "fixed", Value: 200},
		Output: campaign.Distribution{Kind: "fixed", Value: 200}}
	base := x.Simulate(open)
	open.AdmitSteps = 10
	rounds := x.Simulate(open)
	step := x.DecodeStepSeconds(int(base.MeanBatch+0.5), 0) * 1e3
	if d := rounds.TTFTP50 - base.TTFTP50; d < 4*step || d > 6*step {
		t.Errorf("TTFT p50 %.1f ms with rounds of 10, %.1f ms without: %.1f ms more, want about 4.5 steps of %.1f ms", rounds.TTFTP50, base.TTFTP50, d, step)
	}
	if rounds.TPOTP50 != base.TPOTP50 {
		t.Errorf("TPOT %.2f ms with rounds, %.2f without", rounds.TPOTP50, base.TPOTP50)
	}
	alone := Load{Requests: 10, Concurrency: 1, Input: open.Input, Output: open.Output}
	a := x.Simulate(alone)
	alone.AdmitSteps = 10
	if b := x.Simulate(alone); b.TTFTP50 != a.TTFTP50 {
		t.Errorf("one request at a time: TTFT %.2f ms with rounds, %.2f without", b.TTFTP50, a.TTFTP50)
	}
}

// TestPercentilesSelect checks selection against sorting, on sizes and
// values with and without ties, as percentiles gets them.
func TestPercentilesSelect(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 300; n++ {
		for _, levels := range []int{2, 7, 1 << 30} {
			v := make([]float64, n)
			for i := range v {
				v[i] = float64(rng.IntN(levels)) / 3
			}
			sorted := slices.Clone(v)
			for _, q := range []float64{0, 0.5, 0.9, 0.99, 1} {
				want := quantile(sorted, q)
				if got := selected(v, q); got != want {
					t.Fatalf("n %d, %d levels, q %v: selected %v, sorted %v", n, levels, q, got, want)
				}
			}
		}
	}
}

// A scratch that reuses a workload's drawn lengths predicts what a fresh one
// does, arrivals drawn after the lengths included.
func TestDrawReuse(t *testing.T) {
	x := model(t, "llama-3.1-8b-instruct", "h100-sxm-x1", "bf16", eff)
	base := Load{Requests: 200, Warmup: 10, Seed: 3,
		Input:  campaign.Distribution{Kind: "lognormal", Mean: 600, Sigma: 0.6, Min: 4, Max: 4000},
		Output: campaign.Distribution{Kind: "uniform", Min: 16, Max: 400}}
	var loads []Load
	for _, conc := range []int{1, 16, 64} {
		l := base
		l.Concurrency = conc
		loads = append(loads, l)
	}
	for _, b := range []float64{1, 0.5} {
		l := base
		l.Rate, l.Burstiness = 8, b
		loads = append(loads, l)
	}
	var sc scratch
	for i, l := range loads {
		got := x.simulate(l, &sc)
		if want := x.Simulate(l); got != want {
			t.Errorf("load %d: reused draws %+v, fresh %+v", i, got, want)
		}
	}
	if len(sc.drawn) != 1 {
		t.Errorf("%d drawings kept for one workload, want 1", len(sc.drawn))
	}
}
