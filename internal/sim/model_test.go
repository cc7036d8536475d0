package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
)

var repo *campaign.Set

func catalogSet(t testing.TB) *campaign.Set {
	t.Helper()
	if repo == nil {
		repo = campaigntest.Repo(t)
	}
	return repo
}

func model(t testing.TB, m, h, q string, e Efficiency) *Model {
	t.Helper()
	s := catalogSet(t)
	x, err := New(s.Models[m], s.Hardware[h], s.Quantizations[q], e)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol*math.Abs(want) {
		t.Errorf("%s = %.6g, want %.6g (±%.1f%%)", what, got, want, tol*100)
	}
}

var eff = Efficiency{MFU: 0.5, MBU: 0.7}

// Llama-3-8B in BF16 on one H100 SXM (3.35 TB/s, 989 TFLOPS): a decode step at
// batch 1 reads the 8.03e9 parameters but the embedding table, 128256·4096 of
// them, at 2 bytes: 15.009 GB / (3.35 TB/s · 0.7) = 6.400 ms.
func TestDecodeStepByHand(t *testing.T) {
	x := model(t, "llama-3.1-8b-instruct", "h100-sxm-x1", "bf16", eff)
	read := (8.03e9 - 128256*4096.0) * 2
	near(t, "bytes read", read, 15.009e9, 1e-3)
	near(t, "decode step, batch 1", x.DecodeStepSeconds(1, 0), read/(3.35e12*0.7), 1e-9)
	near(t, "decode step, batch 1", x.DecodeStepSeconds(1, 0)*1e3, 6.400, 1e-3)
	// The KV cache: 2·32 layers·8 heads·128·2 bytes = 131072 bytes per token.
	near(t, "KV bytes/token", x.KVBytesToken, 131072, 0)
	near(t, "decode step, 1000 tokens of context", x.DecodeStepSeconds(1, 1000), (read+1000*131072)/(3.35e12*0.7), 1e-9)
	// Weights in memory: 16.06 GB.
	near(t, "weight bytes", x.WeightBytes, 16.06e9, 1e-9)
}

// A 1000-token prompt is compute-bound: the GEMMs' 2·8.03e9·1000 FLOPs at 989
// TFLOPS · 0.5, ramped by 1000/(1000+64) for the step's size, then attention's
// 2·32·32·128·1000² (causal QK^T and AV) at 989 TFLOPS · 0.5: 34.54 + 0.54 ms.
func TestPrefillByHand(t *testing.T) {
	x := model(t, "llama-3.1-8b-instruct", "h100-sxm-x1", "bf16", eff)
	// A prompt's GEMMs reach half their MFU at 3 × 64 tokens.
	gemm := 2 * 8.03e9 * 1000 / (989e12 * 0.5 * 1000 / 1192)
	attn := 2 * 32 * 32 * 128 * 1e6 / (989e12 * 0.5)
	near(t, "prefill 1000", x.PrefillSeconds(1000), gemm+attn, 1e-9)
	near(t, "prefill 1000 (ms)", x.PrefillSeconds(1000)*1e3, 39.24, 2e-3)
}

func TestQuantization(t *testing.T) {
	bf16 := model(t, "llama-3.1-8b-instruct", "h100-sxm-x1", "bf16", eff)
	fp8 := model(t, "llama-3.1-8b-instruct", "h100-sxm-x1", "fp8", eff)
	awq := model(t, "llama-3.1-8b-instruct", "h100-sxm-x1", "int4-awq", eff)
	head := 128256 * 4096.0
	// FP8: the body at 1 byte, embedding and LM head at 2; the FP8 peak.
	near(t, "fp8 weight bytes", fp8.WeightBytes, (8.03e9-2*head)*1+2*head*2, 1e-9)
	near(t, "fp8 prefill", fp8.PrefillSeconds(2000), bf16.PrefillSeconds(2000)*989/1979, 0.02)
	// INT4: half a byte plus 3% of scales.
	near(t, "awq weight bytes", awq.WeightBytes, (8.03e9-2*head)*0.5*1.03+2*head*2, 1e-9)
	if !(awq.DecodeStepSeconds(1, 0) < fp8.DecodeStepSeconds(1, 0) && fp8.DecodeStepSeconds(1, 0) < bf16.DecodeStepSeconds(1, 0)) {
		t.Error("fewer weight bits must decode faster at batch 1")
	}
	// At a large batch W4A16 pays for dequantization: slower than BF16.
	if awq.StepSeconds(0, 0, 8192, 8192*512) <= bf16.StepSeconds(0, 0, 8192, 8192*512) {
		t.Error("a compute-bound W4A16 step must be slower than BF16")
	}
	// INT8 W8A8 on an A100 uses its INT8 peak (624); FP8 there has no peak and
	// falls back to FP16 (312).
	i8 := model(t, "llama-3.1-8b-instruct", "a100-sxm-80gb-x1", "int8-w8a8", eff)
	f8 := model(t, "llama-3.1-8b-instruct", "a100-sxm-80gb-x1", "fp8", eff)
	near(t, "A100 int8 peak", i8.peakFLOPS, 624e12, 0)
	near(t, "A100 fp8 peak (fallback)", f8.peakFLOPS, 312e12, 0)
}

func TestMonotone(t *testing.T) {
	x := model(t, "llama-3.1-8b-instruct", "h100-sxm-x1", "bf16", eff)
	prev := 0.0
	for _, b := range []int{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024} {
		s := x.DecodeStepSeconds(b, b*1000)
		if s < prev {
			t.Errorf("batch %d: step %.3g s is shorter than at the smaller batch (%.3g s)", b, s, prev)
		}
		prev = s
	}
	// More tensor parallelism: fewer bytes per GPU, a shorter step at batch 1.
	var bytes, step float64 = math.Inf(1), math.Inf(1)
	for _, h := range []string{"h100-sxm-x1", "h100-sxm-x2", "h100-sxm-x4", "h100-sxm-x8"} {
		y := model(t, "llama-3.1-70b-instruct", h, "bf16", eff)
		b := y.weightBytesRead(1) + 1000*y.kvBytesTokenGPU
		if b >= bytes {
			t.Errorf("%s: %.4g bytes per GPU, not fewer than with fewer GPUs (%.4g)", h, b, bytes)
		}
		if s := y.DecodeStepSeconds(1, 1000); s >= step {
			t.Errorf("%s: step %.4g s, not shorter than with fewer GPUs (%.4g)", h, s, step)
		} else {
			step = s
		}
		bytes = b
	}
	// The all-reduce: 2·80 layers · (2·(n−1)/n · 8192·2 bytes / 450 GB/s + 8 µs).
	y := model(t, "llama-3.1-70b-instruct", "h100-sxm-x8", "bf16", eff)
	near(t, "TP8 comm, 1 token", y.commSeconds(1), 160*(2*7.0/8*8192*2/450e9+8e-6), 1e-9)
}

func TestMoE(t *testing.T) {
	x := model(t, "mixtral-8x7b-instruct-v0.1", "h100-sxm-x2", "bf16", eff)
	one, many := x.weightBytesRead(1), x.weightBytesRead(256)
	all := x.WeightBytes / 2
	if !(one < many && many <= all*1.001) {
		t.Errorf("bytes read per GPU: batch 1 %.4g, batch 256 %.4g, all weights %.4g; want growing to all", one, many, all)
	}
	// FLOPs follow the active parameters: prefill scales with active, not total.
	dense := x.Active / x.Params
	if dense > 0.5 {
		t.Errorf("mixtral active fraction %.2f", dense)
	}
}

func TestQueueing(t *testing.T) {
	s := catalogSet(t)
	x := model(t, "llama-3.1-8b-instruct", "h100-sxm-x1", "bf16", eff)
	w := s.Workloads["chat"]
	var ttft []float64
	for _, rate := range []float64{1, 4, 16, 64, 256} {
		l := LoadFor(w, 0, rate, 0, 0)
		l.KVTokens = x.KVCapacityTokens(0.9)
		p := x.Simulate(l)
		t.Logf("rate %g/s: TTFT p50 %.0f ms p99 %.0f ms, TPOT %.1f ms, %.0f tok/s, batch %.1f", rate, p.TTFTP50, p.TTFTP99, p.TPOTP50, p.OutputThroughput, p.MeanBatch)
		ttft = append(ttft, p.TTFTP50)
	}
	if ttft[len(ttft)-1] < 10*ttft[0] {
		t.Errorf("TTFT p50 %.0f ms at 256/s is not far above %.0f ms at 1/s: no queueing", ttft[len(ttft)-1], ttft[0])
	}
	// Closed loop: more concurrency, more throughput and a longer TPOT.
	var tput, tpot float64
	for _, c := range []int{1, 4, 16, 64} {
		l := LoadFor(w, c, 0, 0, 0)
		l.KVTokens = x.KVCapacityTokens(0.9)
		p := x.Simulate(l)
		if p.OutputThroughput <= tput || p.TPOTP50 < tpot {
			t.Errorf("concurrency %d: %.0f tok/s, TPOT %.2f ms; before %.0f tok/s, %.2f ms", c, p.OutputThroughput, p.TPOTP50, tput, tpot)
		}
		tput, tpot = p.OutputThroughput, p.TPOTP50
	}
	// The same input gives the same answer.
	l := LoadFor(w, 8, 0, 0, 0)
	if a, b := x.Simulate(l), x.Simulate(l); a != b {
		t.Errorf("not deterministic: %+v vs %+v", a, b)
	}
}

// A tiny KV cache makes requests wait for memory: TTFT grows.
func TestKVLimit(t *testing.T) {
	x := model(t, "llama-3.1-8b-instruct", "h100-sxm-x1", "bf16", eff)
	l := Load{Requests: 64, Concurrency: 64, Input: campaign.Distribution{Kind: "fixed", Value: 1000},
		Output: campaign.Distribution{Kind: "fixed", Value: 100}}
	l.KVTokens = 1 << 30
	free := x.Simulate(l)
	l.KVTokens = 4 * 1100
	tight := x.Simulate(l)
	if tight.TTFTP99 < 5*free.TTFTP99 || tight.PeakKVTokens > 4*1100 {
		t.Errorf("KV for 4 sequences: TTFT p99 %.0f ms (free: %.0f), peak %d tokens", tight.TTFTP99, free.TTFTP99, tight.PeakKVTokens)
	}
	l.KVTokens = 500
	if r := x.Simulate(l); r.Rejected != 64 {
		t.Errorf("requests longer than the cache: %d rejected, want 64", r.Rejected)
	}
}

func TestErrors(t *testing.T) {
	s := catalogSet(t)
	m := s.Models["llama-3.1-8b-instruct"]
	m.Layers, m.HiddenSize, m.HeadDim = 0, 0, 0
	_, err := New(m, s.Hardware["h100-sxm-x1"], s.Quantizations["bf16"], eff)
	if err == nil || !strings.Contains(err.Error(), "model llama-3.1-8b-instruct lacks architecture metadata the performance model needs: layers, hidden_size, head_dim") {
		t.Errorf("missing metadata: %v", err)
	}
	h := s.Hardware["h100-sxm-x8"]
	h.GPU.HBMTBps = 0
	h.Interconnect.GBps = 0
	_, err = New(s.Models["llama-3.1-8b-instruct"], h, s.Quantizations["bf16"], eff)
	if err == nil || !strings.Contains(err.Error(), "hardware h100-sxm-x8 lacks figures the performance model needs: gpu.hbm_tbps, interconnect.gbps") {
		t.Errorf("missing bandwidth: %v", err)
	}
	_, err = New(s.Models["llama-3.1-8b-instruct"], s.Hardware["h100-sxm-x1"], s.Quantizations["bf16"], Efficiency{MFU: 0, MBU: 2})
	if err == nil || !strings.Contains(err.Error(), "must be in (0, 1]") {
		t.Errorf("bad efficiency: %v", err)
	}
	if _, err := FromConfig(s, nil, "no-such-model", "h100-sxm-x1", "vllm", "bf16"); err == nil || !strings.Contains(err.Error(), "model no-such-model: not in the catalog") {
		t.Errorf("unknown model: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	tab, err := Defaults(catalogSet(t))
	if err != nil {
		t.Fatal(err)
	}
	if e := tab.For("vllm", "hopper"); e.MBU != 0.7 || e.MFU != 0.5 {
		t.Errorf("vllm on hopper: %+v", e)
	}
	if e := tab.For("tgi", "blackwell"); e != DefaultEfficiency {
		t.Errorf("a pair the table lacks: %+v, want the fallback", e)
	}
}

func TestSchedule(t *testing.T) {
	jobs := []job{{model: "a", gpu: "g", seconds: 3}, {model: "a", gpu: "g", seconds: 3}, {model: "a", gpu: "g", seconds: 2},
		{model: "a", gpu: "g", seconds: 2}, {model: "a", gpu: "g", seconds: 2}}
	// Two slots: 3,3 | then 2,2 at t=3 | then 2 at t=5: ends at 7.
	if got := schedule(jobs, 2); got != 7 {
		t.Errorf("makespan %g, want 7", got)
	}
	// A GPU type's quota holds back its jobs, not another type's.
	jobs = []job{{model: "a", gpu: "x", seconds: 5}, {model: "a", gpu: "x", seconds: 5}, {model: "b", gpu: "y", seconds: 1}}
	if got := schedule(jobs, 1); got != 10 {
		t.Errorf("makespan %g, want 10", got)
	}
}

// scheduleScan is schedule as first written: every waiting job is scanned at
// every end. schedule must end at the same time.
func scheduleScan(jobs []job, parallelism int) float64 {
	type run struct {
		job
		end float64
	}
	pending := slices.Clone(jobs)
	var running []run
	byModel, byGPU := map[string]int{}, map[string]int{}
	now, last := 0.0, 0.0
	for len(pending) > 0 || len(running) > 0 {
		kept := pending[:0]
		for _, j := range pending {
			if byModel[j.model] < parallelism && byGPU[j.gpu] < parallelism {
				byModel[j.model]++
				byGPU[j.gpu]++
				running = append(running, run{job: j, end: now + j.seconds})
				last = max(last, now+j.seconds)
				continue
			}
			kept = append(kept, j)
		}
		pending = kept
		if len(running) == 0 {
			break
		}
		now = math.Inf(1)
		for _, r := range running {
			now = min(now, r.end)
		}
		still := running[:0]
		for _, r := range running {
			if r.end <= now {
				byModel[r.model]--
				byGPU[r.gpu]--
				continue
			}
			still = append(still, r)
		}
		running = still
	}
	return last
}

func TestScheduleMatchesScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		jobs := make([]job, n)
		models, gpus := 1+rng.IntN(6), 1+rng.IntN(4)
		for i := range jobs {
			// Whole seconds make ends coincide, as equal batches do.
			s := float64(1 + rng.IntN(20))
			if rng.IntN(2) == 0 {
				s = rng.Float64() * 100
			}
			jobs[i] = job{model: fmt.Sprint("m", rng.IntN(models)), gpu: fmt.Sprint("g", rng.IntN(gpus)), seconds: s}
		}
		for _, par := range []int{1, 2, 3, 8} {
			if got, want := schedule(jobs, par), scheduleScan(jobs, par); got != want {
				t.Fatalf("%d jobs, parallelism %d: makespan %v, the scan says %v", n, par, got, want)
			}
		}
	}
}

func TestVersionLimits(t *testing.T) {
	for _, c := range []struct {
		framework, version, gpu string
		seqs, tokens            int
	}{
		{"vllm", "0.11.0", "H100-SXM5-80GB", 1024, 8192},
		{"vllm", "v0.11.0", "H200-SXM-141GB", 1024, 8192},
		{"vllm", "0.8.5", "A100-SXM4-80GB", 256, 2048},
		{"vllm", "0.6.3.dev116", "H100-SXM5-80GB", 0, 0},
		{"vllm", "", "H100-SXM5-80GB", 0, 0},
		{"vllm", "latest", "H100-SXM5-80GB", 0, 0},
		{"sglang", "0.5.5", "H100-SXM5-80GB", 0, 0},
		{"vllm", "1.0", "L40S-48GB", 256, 2048},
	} {
		seqs, tokens := VersionLimits(c.framework, c.version, c.gpu)
		if seqs != c.seqs || tokens != c.tokens {
			t.Errorf("VersionLimits(%q, %q, %q) = %d, %d, want %d, %d", c.framework, c.version, c.gpu, seqs, tokens, c.seqs, c.tokens)
		}
	}
}
