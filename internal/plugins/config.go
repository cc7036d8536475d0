package plugins

import (
	"fmt"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// ServerConfig is the plugin's view of a compiled config's server identity: what
// LaunchSpec and Start need, resolved from the catalog.
func ServerConfig(s *campaign.Set, c campaign.Campaign, cfg *matrix.Config) (*sdk.ServerConfig, error) {
	h, ok := s.Hardware[cfg.Hardware]
	if !ok {
		return nil, fmt.Errorf("config %s: hardware %q is not in the catalog", cfg.Fingerprint, cfg.Hardware)
	}
	q, ok := s.Quantizations[cfg.Quantization]
	if !ok {
		return nil, fmt.Errorf("config %s: quantization %q is not in the catalog", cfg.Fingerprint, cfg.Quantization)
	}
	return &sdk.ServerConfig{
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
		Prequantized:         s.Models[cfg.Model].Checkpoints[cfg.Quantization].Repo != "",
	}, nil
}
