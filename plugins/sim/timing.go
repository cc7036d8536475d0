package main

import (
	"fmt"
	"strings"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/sim"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// timingFor is the performance model of a server config (internal/sim), and
// the server's limits: the framework's max batch (default vLLM's 256), the KV
// cache the GPUs hold at the config's memory utilization, and max_model_len.
// Everything the model needs comes in the config (llmsweep fills its hardware,
// architecture and efficiency from the catalog it compiled with), so the plugin
// loads no catalog of its own.
func timingFor(cfg *sdk.ServerConfig) (Timing, Limits, error) {
	m, h, q, e, err := modelInputs(cfg)
	if err != nil {
		return nil, Limits{}, err
	}
	x, err := sim.New(m, h, q, e)
	if err != nil {
		return nil, Limits{}, fmt.Errorf("%w: sim: %v", sdk.ErrInvalid, err)
	}
	util := cfg.GetGpuMemoryUtilization()
	if util <= 0 {
		util = 0.9
	}
	lim := Limits{MaxBatch: int(cfg.GetMaxBatchSize()), MaxKVTokens: x.KVCapacityTokens(util), MaxModelLen: int(cfg.GetMaxModelLen())}
	if lim.MaxKVTokens <= 0 {
		return nil, Limits{}, fmt.Errorf("%w: sim: %s does not fit on %d × %s at memory utilization %g: no room for a KV cache",
			sdk.ErrInvalid, cfg.GetModel(), cfg.GetGpus(), cfg.GetGpu(), util)
	}
	return x, lim, nil
}

// modelInputs are the catalog entries of a config, as the host sent them: the
// model's architecture, the hardware, the quantization and the efficiency. A
// config without the first two (from a host that predates them, or written by
// hand) is refused with what is missing.
func modelInputs(cfg *sdk.ServerConfig) (campaign.Model, campaign.Hardware, campaign.Quantization, sim.Efficiency, error) {
	var missing []string
	a, hw := cfg.GetArchitecture(), cfg.GetHardware()
	if a == nil {
		missing = append(missing, "architecture")
	}
	if hw == nil {
		missing = append(missing, "hardware")
	}
	if len(missing) > 0 {
		return campaign.Model{}, campaign.Hardware{}, campaign.Quantization{}, sim.Efficiency{}, fmt.Errorf(
			"%w: sim: the server config has no %s; llmsweep sends them from its catalog (ServerConfig fields 24 and 25): is the host older than this plugin?",
			sdk.ErrInvalid, strings.Join(missing, " and "))
	}
	m := campaign.Model{
		Name: cfg.GetModel(), ParamsB: a.GetParamsB(), ActiveParamsB: a.GetActiveParamsB(), Layers: int(a.GetLayers()),
		HiddenSize: int(a.GetHiddenSize()), IntermediateSize: int(a.GetIntermediateSize()), AttentionHeads: int(a.GetAttentionHeads()),
		KVHeads: int(a.GetKvHeads()), HeadDim: int(a.GetHeadDim()), VocabSize: int(a.GetVocabSize()),
		MaxContext: int(a.GetMaxContext()), Dtype: a.GetDtype(),
	}
	if a.GetExperts() > 0 {
		m.MoE = &campaign.MoE{Experts: int(a.GetExperts()), ExpertsPerToken: int(a.GetExpertsPerToken())}
	}
	h := campaign.Hardware{
		Name: hw.GetName(),
		GPU: campaign.GPU{Model: cfg.GetGpu(), Vendor: cfg.GetGpuVendor(), Arch: cfg.GetGpuArch(),
			MemoryGiB: hw.GetMemoryGib(), HBMTBps: hw.GetHbmTbps(), DenseTFLOPS: hw.GetDenseTflops()},
		Count:        int(cfg.GetGpus()),
		Interconnect: campaign.Interconnect{Kind: hw.GetInterconnect(), GBps: hw.GetInterconnectGbps()},
	}
	q := campaign.Quantization{Name: cfg.GetQuantization(), Method: cfg.GetQuantizationMethod(),
		WeightBits: int(cfg.GetWeightBits()), KVBits: int(cfg.GetKvBits())}
	e := sim.DefaultEfficiency
	if pe := cfg.GetEfficiency(); pe != nil {
		e = sim.Efficiency{MFU: pe.GetMfu(), MBU: pe.GetMbu(), StepMS: pe.GetStepMs(), Source: pe.GetSource()}
	}
	return m, h, q, e, nil
}
