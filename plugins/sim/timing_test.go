package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/plugins"
	"github.com/llmsweep/llmsweep/internal/sim"
	"github.com/llmsweep/llmsweep/internal/testing/snaptest"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// The plugin predicts from the server config the host sends exactly what
// `llmsweep plan` predicts from the catalog: for every server group of the
// quickstart, the model built from the config's hardware, architecture and
// efficiency costs steps as the one internal/sim builds from the catalog.
func TestTimingAsPlanned(t *testing.T) {
	set := campaigntest.Repo(t)
	c := set.Campaigns["quickstart"]
	table, err := sim.Defaults(set)
	if err != nil {
		t.Fatal(err)
	}
	groups := 0
	snaptest.EachGroup(set, c, func(g *matrix.Group) {
		groups++
		cfg := &g.Configs[0]
		sc, err := plugins.ServerConfig(set, c, cfg)
		if err != nil {
			t.Fatal(err)
		}
		tm, lim, err := timingFor(sc)
		if err != nil {
			t.Fatalf("%s: %v", g.Key, err)
		}
		want, err := sim.FromConfig(set, table, cfg.Model, cfg.Hardware, cfg.Framework, cfg.Quantization)
		if err != nil {
			t.Fatal(err)
		}
		got := tm.(*sim.Model)
		for _, n := range []int{1, 512, 4096} {
			if got.PrefillSeconds(n) != want.PrefillSeconds(n) || got.DecodeStepSeconds(n%64+1, n) != want.DecodeStepSeconds(n%64+1, n) {
				t.Errorf("%s: prefill or decode of %d tokens differs from the catalog's model", g.Key, n)
			}
		}
		if lim.MaxKVTokens != want.KVCapacityTokens(c.Grid.GPUMemoryUtilization) || lim.MaxModelLen != cfg.MaxModelLen {
			t.Errorf("%s: limits %+v", g.Key, lim)
		}
	})
	if groups == 0 {
		t.Fatal("the quickstart has no server group")
	}
}

// A config without the catalog's figures is refused, naming what is missing.
func TestTimingNeedsHostFigures(t *testing.T) {
	cfg := &sdk.ServerConfig{Model: "llama-3.2-1b-instruct", Framework: "vllm", Quantization: "bf16",
		Gpu: "L4-24GB", GpuArch: "ada", Gpus: 1, GpuMemoryUtilization: 0.9, MaxModelLen: 4096}
	_, _, err := timingFor(cfg)
	if !errors.Is(err, sdk.ErrInvalid) || !strings.Contains(err.Error(), "the server config has no architecture and hardware") {
		t.Errorf("a config without figures: %v", err)
	}
	cfg.Architecture = &sdk.ModelArchitecture{ParamsB: 1.24, Layers: 16}
	cfg.Hardware = &sdk.Hardware{MemoryGib: 24, HbmTbps: 0.3, DenseTflops: map[string]float64{"fp16": 121}}
	if _, _, err := timingFor(cfg); !errors.Is(err, sdk.ErrInvalid) || !strings.Contains(err.Error(), "lacks architecture metadata") {
		t.Errorf("a config with half an architecture: %v", err)
	}
}
