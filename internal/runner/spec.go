package runner

import (
	"fmt"
	"time"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/sharegpt"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// benchmarkSpec is what the plugin runs for a config: the workload's shape at the
// config's load point.
func benchmarkSpec(w campaign.Workload, cfg *matrix.Config, srv *sdk.Server) (*sdk.BenchmarkSpec, error) {
	spec := &sdk.BenchmarkSpec{
		BaseUrl:      srv.GetBaseUrl(),
		ServedModel:  srv.GetServedModel(),
		Fingerprint:  cfg.Fingerprint,
		Concurrency:  int32(cfg.Concurrency),
		RequestRate:  cfg.RequestRate,
		Arrival:      w.Arrival.Kind,
		Burstiness:   w.Arrival.Burstiness,
		Warmup:       int32(w.Warmup),
		Requests:     int32(w.Requests),
		InputTokens:  distribution(w.InputTokens, cfg.InputTokens),
		OutputTokens: distribution(w.OutputTokens, cfg.OutputTokens),
		Seed:         int64(w.Prompts.Seed),
		// Output lengths are the workload's: the server must not stop at EOS.
		IgnoreEos: true,
	}
	if w.Prompts.Source == "sharegpt" {
		// Requests take prompts in order; a seeded sample of the file, enough
		// for the warmup and the measured requests (a timed run cycles them).
		n := w.Requests + w.Warmup
		if n == w.Warmup {
			n = 0 // a duration: all of them
		}
		prompts, err := sharegpt.Load(w.Prompts.Path, sharegpt.Options{Seed: int64(w.Prompts.Seed), Max: n})
		if err != nil {
			return nil, fmt.Errorf("workload %s: %w", w.Name, err)
		}
		spec.Prompts = prompts
	}
	if w.Duration != "" {
		d, err := time.ParseDuration(w.Duration)
		if err != nil {
			return nil, fmt.Errorf("workload %s: duration %q: %v", w.Name, w.Duration, err)
		}
		spec.DurationSeconds = d.Seconds()
	}
	return spec, nil
}

// distribution is the workload's distribution, or a fixed length when the
// campaign's grid fixes one.
func distribution(d campaign.Distribution, fixed int) *sdk.Distribution {
	if fixed > 0 {
		return &sdk.Distribution{Kind: "fixed", Value: int32(fixed)}
	}
	return &sdk.Distribution{Kind: d.Kind, Value: int32(d.Value), Min: int32(d.Min), Max: int32(d.Max),
		Mean: d.Mean, Stddev: d.Stddev, Sigma: d.Sigma}
}

func slo(w campaign.Workload) metrics.SLO {
	return metrics.SLO{TTFTms: w.SLO.TTFTms, TPOTms: w.SLO.TPOTms, E2Ems: w.SLO.E2Ems}
}
