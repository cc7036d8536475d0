package main

import (
	"fmt"
	"os"
	"sort"
	"sync"

	"cuelang.org/go/cue/cuecontext"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/sim"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// catalog is the catalog the performance model reads, loaded once per plugin
// process as llmsweep loads it: $LLMSWEEP_CATALOG, else catalog/ of the CUE
// module of the working directory (the plugin runs in the host's), else the
// built-in one.
var catalog = sync.OnceValues(func() (*campaign.Set, error) {
	set, err := campaign.Load(cuecontext.New(), nil, campaign.Options{Catalog: os.Getenv("LLMSWEEP_CATALOG")})
	if err != nil {
		return nil, fmt.Errorf("sim: loading the catalog: %w", err)
	}
	return set, nil
})

// timingFor is the performance model of a server config (internal/sim), and
// the server's limits: the framework's max batch (default vLLM's 256), the KV
// cache the GPUs hold at the config's memory utilization, and max_model_len.
func timingFor(cfg *sdk.ServerConfig) (Timing, Limits, error) {
	set, err := catalog()
	if err != nil {
		return nil, Limits{}, err
	}
	hw, err := hardwareOf(set, cfg)
	if err != nil {
		return nil, Limits{}, err
	}
	table, err := sim.Defaults(set)
	if err != nil {
		return nil, Limits{}, fmt.Errorf("sim: %w", err)
	}
	m, err := sim.FromConfig(set, table, cfg.GetModel(), hw, cfg.GetFramework(), cfg.GetQuantization())
	if err != nil {
		return nil, Limits{}, fmt.Errorf("%w: sim: %v", sdk.ErrInvalid, err)
	}
	util := cfg.GetGpuMemoryUtilization()
	if util <= 0 {
		util = 0.9
	}
	lim := Limits{MaxBatch: int(cfg.GetMaxBatchSize()), MaxKVTokens: m.KVCapacityTokens(util), MaxModelLen: int(cfg.GetMaxModelLen())}
	if lim.MaxKVTokens <= 0 {
		return nil, Limits{}, fmt.Errorf("%w: sim: %s does not fit on %s at memory utilization %g: no room for a KV cache", sdk.ErrInvalid, cfg.GetModel(), hw, util)
	}
	return m, lim, nil
}

// hardwareOf finds the catalog's hardware entry of a config, which names its GPU
// and their count; the first by name wins if several match.
func hardwareOf(set *campaign.Set, cfg *sdk.ServerConfig) (string, error) {
	var names []string
	for name, h := range set.Hardware {
		if h.GPU.Model == cfg.GetGpu() && int32(h.Count) == cfg.GetGpus() && (cfg.GetGpuArch() == "" || h.GPU.Arch == cfg.GetGpuArch()) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "", fmt.Errorf("%w: sim: no hardware in the catalog has %d × %s", sdk.ErrInvalid, cfg.GetGpus(), cfg.GetGpu())
	}
	sort.Strings(names)
	return names[0], nil
}
