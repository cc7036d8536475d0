package matrix

import (
	"math"
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
)

// TestDeepSeekR1Memory holds the memory fit of DeepSeek-R1 FP8 on 8×H200 to a
// calculation by hand at frontier-8gpu's largest point (concurrency 128,
// 8192 + 1024 tokens):
//
//	weights: 671e9 parameters × 1 byte (FP8)        = 671e9 B      = 624.918 GiB
//	MLA KV:  (kv_lora_rank 512 + qk_rope_head_dim 64)
//	         × 2 bytes (BF16 cache) × 61 layers     = 70,272 B per token
//	         × 9,216 tokens × 128 sequences         = 82,896,224,256 B = 77.203 GiB
//	overhead: 1.5 GiB × 8 GPUs                      = 12 GiB
//	needed:                                           714.121 GiB
//	available: 141 GiB × 8 × 0.9                    = 1015.2 GiB: fits.
//
// A GQA cache of the same shape (2 × 128 KV heads × 192) would be 85 times
// larger: 5,996,544 B per token, 6.4 TiB at this point.
func TestDeepSeekR1Memory(t *testing.T) {
	s := campaigntest.Repo(t)
	c := s.Campaigns["frontier-8gpu"]
	m := s.Models["deepseek-r1"]
	const gib = 1 << 30
	mem := MemoryFor(m, s.Hardware["h200-sxm-x8"], s.Quantizations["fp8"], c.Grid.GPUMemoryUtilization, 8192+1024, 128)
	want := Memory{
		WeightsGiB:   671e9 / gib,
		KVGiB:        82896224256.0 / gib,
		OverheadGiB:  12,
		AvailableGiB: 1015.2,
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9*max(1, math.Abs(b)) }
	if !near(mem.WeightsGiB, want.WeightsGiB) || !near(mem.KVGiB, want.KVGiB) || !near(mem.OverheadGiB, want.OverheadGiB) || !near(mem.AvailableGiB, want.AvailableGiB) {
		t.Fatalf("memory = %+v, want %+v", mem, want)
	}
	if got := mem.WeightsGiB + mem.KVGiB + mem.OverheadGiB; math.Abs(got-714.121) > 0.001 || !mem.Fits() {
		t.Errorf("needs %.3f GiB (fits %v), want 714.121 GiB and a fit", got, mem.Fits())
	}
	if got := m.KVBytes(1, 16); got != 70272 {
		t.Errorf("MLA KV bytes per token = %v, want 70272", got)
	}

	// Compiled: kept on 8×H200, 8×MI300X and 8×B200; on 8×H100 the weights
	// alone exceed 573.5 GiB, and the prune says where it fits.
	x := &Compiler{Set: s}
	kept := map[string]int{}
	var h100 []pruned
	x.Model(c, "deepseek-r1", func(g *Group) {
		for _, cfg := range g.Configs {
			if cfg.Quantization == "fp8" {
				kept[cfg.Hardware]++
			}
		}
	}, func(p pruned) {
		if p.config.Hardware == "h100-sxm-x8" && p.config.Quantization == "fp8" {
			h100 = append(h100, p)
		}
	})
	// 2 frameworks × 3 concurrencies × 2 lengths, less SGLang on Blackwell.
	for hw, n := range map[string]int{"h200-sxm-x8": 12, "mi300x-x8": 12, "b200-x8": 6} {
		if kept[hw] != n {
			t.Errorf("%s: %d fp8 configs kept, want %d", hw, kept[hw], n)
		}
	}
	if kept["h100-sxm-x8"] != 0 || len(h100) != 12 {
		t.Fatalf("h100: %d kept, %d pruned, want 0 and 12", kept["h100-sxm-x8"], len(h100))
	}
	for _, p := range h100 {
		if d := p.detail(); p.reason != ReasonMemory || !strings.Contains(d, "weights 624.9") || !strings.HasSuffix(d, "; fits b200-x8, h200-sxm-x8, mi300x-x8") {
			t.Errorf("h100 prune: %s: %s", p.reason, d)
		}
	}
}

// TestWeightBytes: MXFP4 stores 4.25 bits a weight, so gpt-oss-120b's
// 116.8B parameters take about 62 GB, close to the 65 GB checkpoint (whose
// attention and embeddings stay BF16).
func TestWeightBytes(t *testing.T) {
	s := campaigntest.Repo(t)
	m := s.Models["gpt-oss-120b"]
	if got := m.ParamsB * 1e9 * WeightBytesPer(s.Quantizations["mxfp4"]); math.Abs(got-62.05e9) > 0.01e9 {
		t.Errorf("gpt-oss-120b MXFP4 weights = %.3g B, want 6.205e10", got)
	}
	// Sliding-window layers keep 128 tokens: at 9,216 tokens 18 full layers
	// hold all of them and 18 sliding layers 128 each.
	if got, want := m.KVTokenLayers(9216), 18*9216+18*128; got != want {
		t.Errorf("KV token-layers = %d, want %d", got, want)
	}
}
