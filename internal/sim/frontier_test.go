package sim

import (
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
)

// TestMLAAndMXFP4: DeepSeek-R1's decode reads the MLA latent, whole on every
// GPU, not per-head K and V; gpt-oss computes in FP4 on Blackwell and
// dequantizes on Hopper; both say they are uncalibrated.
func TestMLAAndMXFP4(t *testing.T) {
	s := campaigntest.Repo(t)
	e := Efficiency{MFU: 0.5, MBU: 0.7}
	r1, err := New(s.Models["deepseek-r1"], s.Hardware["h200-sxm-x8"], s.Quantizations["fp8"], e)
	if err != nil {
		t.Fatal(err)
	}
	// (512 + 64) × 2 bytes × 61 layers.
	if r1.KVBytesToken != 70272 || r1.kvBytesTokenGPU != 70272 {
		t.Errorf("KV bytes per token = %v, per GPU %v, want 70272 both", r1.KVBytesToken, r1.kvBytesTokenGPU)
	}
	if r1.attnDim != 544 || !strings.Contains(r1.Uncalibrated, "MLA") {
		t.Errorf("attnDim %v, uncalibrated %q", r1.attnDim, r1.Uncalibrated)
	}
	// A step over a long context costs more with more KV, as the latent read grows.
	if short, long := r1.DecodeStepSeconds(32, 32*1024), r1.DecodeStepSeconds(32, 32*9216); !(long > short) {
		t.Errorf("decode step: %v s at 1k, %v s at 9k tokens each", short, long)
	}
	// Weights of 671 GB FP8 fit 8×H200 with room for the latent cache.
	if n := r1.KVCapacityTokens(0.9); n < 1_000_000 {
		t.Errorf("KV capacity %d tokens, want over a million", n)
	}

	oss := s.Models["gpt-oss-120b"]
	b200, err := New(oss, s.Hardware["b200-x8"], s.Quantizations["mxfp4"], e)
	if err != nil {
		t.Fatal(err)
	}
	h100, err := New(oss, s.Hardware["h100-sxm-x8"], s.Quantizations["mxfp4"], e)
	if err != nil {
		t.Fatal(err)
	}
	if b200.peakFLOPS != 9000e12 || b200.weightOnly {
		t.Errorf("b200: peak %g, weight-only %v; want the FP4 peak", b200.peakFLOPS, b200.weightOnly)
	}
	if h100.peakFLOPS != 989e12 || !h100.weightOnly || !strings.Contains(h100.Uncalibrated, "dequantizing") {
		t.Errorf("h100: peak %g, weight-only %v, %q; want 16-bit dequantizing kernels", h100.peakFLOPS, h100.weightOnly, h100.Uncalibrated)
	}
	// 4.25 bits for the body, 16 for embedding and LM head: 60–66 GB
	// (the checkpoint is about 65 GB).
	if b200.WeightBytes < 60e9 || b200.WeightBytes > 66e9 {
		t.Errorf("gpt-oss-120b weights %.3g B, want 60–66 GB", b200.WeightBytes)
	}
}
