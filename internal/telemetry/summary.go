package telemetry

import (
	"fmt"
	"slices"
	"strings"

	"gonum.org/v1/gonum/stat"

	"github.com/llmsweep/llmsweep/internal/metrics"
)

// Summary is a config's utilization over its measurement: what results, the
// report, model_rankings and the Prometheus metrics show. What its source does
// not measure is absent: GPU figures for process sampling, CPU figures for NVML,
// power where NVML does not give it.
type Summary struct {
	Source  string `json:"source"`  // SourceNVML or SourceProc
	Samples int    `json:"samples"` // readings, one per device per tick
	Devices int    `json:"devices"`

	// GPU utilization (percent of time a kernel ran), pooled over devices and ticks.
	GPUUtilMean metrics.Value `json:"gpu_util_mean_pct,omitzero"`
	GPUUtilP95  metrics.Value `json:"gpu_util_p95_pct,omitzero"`
	// MemUsedPeakBytes is the largest total device memory in use at one tick,
	// summed over the devices: the config's footprint, whatever its parallelism.
	MemUsedPeakBytes metrics.Value `json:"mem_used_peak_bytes,omitzero"`
	// PowerMeanW is the mean over ticks of the devices' summed power draw.
	PowerMeanW metrics.Value `json:"power_mean_w,omitzero"`

	// CPU (100 = one core busy) and resident memory of the server's process tree.
	CPUMeanPct   metrics.Value `json:"cpu_mean_pct,omitzero"`
	CPUP95Pct    metrics.Value `json:"cpu_p95_pct,omitzero"`
	RSSPeakBytes metrics.Value `json:"rss_peak_bytes,omitzero"`
}

// Summarize summarizes a config's samples, or returns nil when there are none.
// Samples of one tick share their time; the sources are not mixed, so the
// summary describes the source of the first sample.
func Summarize(samples []Sample) *Summary {
	if len(samples) == 0 {
		return nil
	}
	s := &Summary{Source: samples[0].Source}
	devices := map[string]bool{}
	type tick struct {
		mem   uint64
		power float64
	}
	ticks := map[int64]*tick{}
	var gpu, cpu []float64
	var rss uint64
	for _, x := range samples {
		if x.Source != s.Source {
			continue
		}
		s.Samples++
		devices[x.Device] = true
		switch x.Source {
		case SourceNVML:
			gpu = append(gpu, x.GPUUtilPct)
			t := ticks[x.TimeNs]
			if t == nil {
				t = &tick{}
				ticks[x.TimeNs] = t
			}
			t.mem += x.MemUsedBytes
			t.power += x.PowerW
		case SourceProc:
			cpu = append(cpu, x.CPUPct)
			rss = max(rss, x.RSSBytes)
		}
	}
	s.Devices = len(devices)
	if len(gpu) > 0 {
		s.GPUUtilMean, s.GPUUtilP95 = metrics.Of(stat.Mean(gpu, nil)), p95(gpu)
		var peak uint64
		var power float64
		for _, t := range ticks {
			peak = max(peak, t.mem)
			power += t.power
		}
		s.MemUsedPeakBytes = metrics.Of(float64(peak))
		// A GPU never draws 0 W: 0 is NVML not reporting power.
		if power > 0 {
			s.PowerMeanW = metrics.Of(power / float64(len(ticks)))
		}
	}
	if len(cpu) > 0 {
		s.CPUMeanPct, s.CPUP95Pct = metrics.Of(stat.Mean(cpu, nil)), p95(cpu)
		s.RSSPeakBytes = metrics.Of(float64(rss))
	}
	return s
}

func p95(x []float64) metrics.Value {
	slices.Sort(x)
	return metrics.Of(metrics.Quantile(x, 0.95))
}

// Values are the summary's figures under their schema #Metric names
// (gpu_utilization in percent, gpu_memory_gib), where measured.
func (s *Summary) Values() map[string]float64 {
	m := map[string]float64{}
	if s == nil {
		return m
	}
	if v, ok := s.GPUUtilMean.Get(); ok {
		m["gpu_utilization"] = v
	}
	if v, ok := s.MemUsedPeakBytes.Get(); ok {
		m["gpu_memory_gib"] = v / (1 << 30)
	}
	return m
}

// String prints the summary compactly: "GPU 81% (p95 97%), 40.2 GiB, 310 W"
// for NVML, "CPU 95%, RSS 1.20 GiB" for process sampling, "–" when there is
// none. A nil summary is "–".
func (s *Summary) String() string {
	if s == nil {
		return "–"
	}
	var parts []string
	if v, ok := s.GPUUtilMean.Get(); ok {
		p := fmt.Sprintf("GPU %.0f%%", v)
		if q, ok := s.GPUUtilP95.Get(); ok {
			p += fmt.Sprintf(" (p95 %.0f%%)", q)
		}
		parts = append(parts, p)
	}
	if v, ok := s.MemUsedPeakBytes.Get(); ok {
		parts = append(parts, fmt.Sprintf("%.1f GiB", v/(1<<30)))
	}
	if v, ok := s.PowerMeanW.Get(); ok {
		parts = append(parts, fmt.Sprintf("%.0f W", v))
	}
	if v, ok := s.CPUMeanPct.Get(); ok {
		parts = append(parts, fmt.Sprintf("CPU %.0f%%", v))
	}
	if v, ok := s.RSSPeakBytes.Get(); ok {
		parts = append(parts, fmt.Sprintf("RSS %.2f GiB", v/(1<<30)))
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, ", ")
}
