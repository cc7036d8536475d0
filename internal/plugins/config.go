package plugins

import (
	"fmt"
	"slices"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/sim"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// ServerConfig is the plugin's view of a compiled config's server identity: what
// LaunchSpec and Start need, resolved from the catalog. It carries the launch
// the compiler derived for the config's group, so that a plugin launches on
// this machine exactly what the Argo manifests launch, and the hardware, model
// and expected efficiency, so that a plugin needs no catalog of its own.
func ServerConfig(s *campaign.Set, c campaign.Campaign, cfg *matrix.Config) (*sdk.ServerConfig, error) {
	h, ok := s.Hardware[cfg.Hardware]
	if !ok {
		return nil, fmt.Errorf("config %s: hardware %q is not in the catalog", cfg.Fingerprint, cfg.Hardware)
	}
	q, ok := s.Quantizations[cfg.Quantization]
	if !ok {
		return nil, fmt.Errorf("config %s: quantization %q is not in the catalog", cfg.Fingerprint, cfg.Quantization)
	}
	m := s.Models[cfg.Model]
	sc := &sdk.ServerConfig{
		Model:                cfg.Model,
		Repo:                 cfg.Repo,
		Revision:             cfg.Revision,
		Framework:            cfg.Framework,
		Version:              cfg.Version,
		Image:                cfg.Image,
		Quantization:         cfg.Quantization,
		QuantizationMethod:   q.Method,
		WeightBits:           int32(q.WeightBits),
		KvBits:               int32(q.KVBits),
		Gpu:                  h.GPU.Model,
		GpuArch:              h.GPU.Arch,
		GpuVendor:            h.GPU.Vendor,
		Gpus:                 int32(h.Count),
		TensorParallel:       int32(cfg.TP),
		MaxModelLen:          int32(cfg.MaxModelLen),
		GpuMemoryUtilization: c.Grid.GPUMemoryUtilization,
		Prequantized:         prequantized(m, cfg.Quantization),
		Hardware: &sdk.Hardware{
			Name:             h.Name,
			MemoryGib:        h.GPU.MemoryGiB,
			HbmTbps:          h.GPU.HBMTBps,
			DenseTflops:      h.GPU.DenseTFLOPS,
			Interconnect:     h.Interconnect.Kind,
			InterconnectGbps: h.Interconnect.GBps,
		},
		Architecture: architecture(m),
	}
	if f, ok := s.Frameworks[cfg.Framework]; ok {
		// The framework's launch arguments for the model's architecture
		// (expert parallelism, remote code), as the compiler appends them.
		sc.ExtraArgs = f.Architectures[m.Architecture].Args
	}
	table, err := sim.Defaults(s)
	if err != nil {
		return nil, err
	}
	e := table.For(cfg.Framework, h.GPU.Arch)
	sc.Efficiency = &sdk.Efficiency{Mfu: e.MFU, Mbu: e.MBU, StepMs: e.StepMS, Source: e.Source}
	if f, ok := s.Frameworks[cfg.Framework]; ok {
		srv, err := matrix.ServerFor(s, c, cfg)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", cfg.Fingerprint, err)
		}
		n := min(len(f.Launcher.Command), len(srv.Args))
		sc.Launch = &sdk.LaunchSpec{
			Image:     srv.Image,
			Command:   slices.Clone(srv.Args[:n]),
			Args:      slices.Clone(srv.Args[n:]),
			Env:       srv.Env,
			Port:      int32(srv.Port),
			Readiness: sdk.ReadinessProbe(srv.ReadinessPath, int32(srv.Port)),
			Resources: sdk.ServerResources(sc),
		}
	}
	return sc, nil
}

// architecture is a catalog model's shape as the protocol carries it.
func architecture(m campaign.Model) *sdk.ModelArchitecture {
	a := &sdk.ModelArchitecture{
		ParamsB:          m.ParamsB,
		ActiveParamsB:    m.ActiveParamsB,
		Layers:           int32(m.Layers),
		HiddenSize:       int32(m.HiddenSize),
		IntermediateSize: int32(m.IntermediateSize),
		AttentionHeads:   int32(m.AttentionHeads),
		KvHeads:          int32(m.KVHeads),
		HeadDim:          int32(m.HeadDim),
		VocabSize:        int32(m.VocabSize),
		MaxContext:       int32(m.MaxContext),
		Dtype:            m.Dtype,
	}
	if m.MoE != nil {
		a.Experts, a.ExpertsPerToken = int32(m.MoE.Experts), int32(m.MoE.ExpertsPerToken)
	}
	return a
}

// prequantized is whether q is served from weights stored in q: a
// pre-quantized checkpoint, or the model's own FP8/MXFP4 weights.
func prequantized(m campaign.Model, q string) bool {
	_, ok := m.CheckpointFor(q)
	return ok
}
