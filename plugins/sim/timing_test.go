package main

import (
	"errors"
	"testing"

	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// The plugin's timing comes from internal/sim over the repository's catalog.
func TestTimingFromCatalog(t *testing.T) {
	cfg := &sdk.ServerConfig{Model: "llama-3.2-1b-instruct", Framework: "vllm", Quantization: "bf16",
		Gpu: "L4-24GB", GpuArch: "ada", Gpus: 1, GpuMemoryUtilization: 0.9, MaxModelLen: 4096}
	tm, lim, err := timingFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if lim.MaxKVTokens <= 0 || lim.MaxModelLen != 4096 {
		t.Errorf("limits %+v", lim)
	}
	p, d1, d64 := tm.PrefillSeconds(512), tm.DecodeStepSeconds(1, 512), tm.DecodeStepSeconds(64, 64*512)
	if !(p > 0 && d1 > 0 && d64 > d1 && p < 10 && d64 < 10) {
		t.Errorf("prefill of 512 tokens %g s, decode step of 1 %g s, of 64 %g s", p, d1, d64)
	}
	if _, ok := tm.(Stepper); !ok {
		t.Error("internal/sim's model costs mixed steps; the scheduler should use them")
	}
	cfg.Gpu = "nonesuch"
	if _, _, err := timingFor(cfg); !errors.Is(err, sdk.ErrInvalid) {
		t.Errorf("an unknown GPU: %v, want sdk.ErrInvalid", err)
	}
}
