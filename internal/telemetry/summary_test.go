package telemetry

import (
	"math"
	"testing"
)

func TestSummarizeNVML(t *testing.T) {
	const G = 1 << 30
	var samples []Sample
	// Two GPUs over 20 ticks: gpu0 busy i×5 %, gpu1 idle; memory grows on gpu0.
	for i := range 20 {
		ts := int64(i) * 1e9
		samples = append(samples,
			Sample{TimeNs: ts, Source: SourceNVML, Device: "gpu0", GPUUtilPct: float64(i * 5), MemUsedBytes: uint64(10+i) * G, PowerW: 300},
			Sample{TimeNs: ts, Source: SourceNVML, Device: "gpu1", GPUUtilPct: 0, MemUsedBytes: 2 * G, PowerW: 100})
	}
	s := Summarize(samples)
	if s.Source != SourceNVML || s.Samples != 40 || s.Devices != 2 {
		t.Fatalf("%+v", s)
	}
	// Mean over 40 readings: (5·(0+…+19)) / 40 = 23.75.
	if v, _ := s.GPUUtilMean.Get(); math.Abs(v-23.75) > 1e-9 {
		t.Errorf("mean util %v", v)
	}
	if v, _ := s.MemUsedPeakBytes.Get(); v != 31*G {
		t.Errorf("peak memory %v GiB, want 29+2", v/G)
	}
	if v, _ := s.PowerMeanW.Get(); v != 400 {
		t.Errorf("power %v, want the summed 400 W", v)
	}
	if s.CPUMeanPct.OK() || s.RSSPeakBytes.OK() {
		t.Errorf("NVML summary has CPU figures: %+v", s)
	}
	if v := s.Values(); v["gpu_memory_gib"] != 31 || v["gpu_utilization"] != 23.75 {
		t.Errorf("values %v", v)
	}
}

func TestSummarizeProc(t *testing.T) {
	s := Summarize([]Sample{
		{TimeNs: 1, Source: SourceProc, Device: "pid 7", CPUPct: 50, RSSBytes: 100},
		{TimeNs: 2, Source: SourceProc, Device: "pid 7", CPUPct: 150, RSSBytes: 300},
	})
	if v, _ := s.CPUMeanPct.Get(); v != 100 {
		t.Errorf("cpu mean %v", v)
	}
	if v, _ := s.RSSPeakBytes.Get(); v != 300 {
		t.Errorf("rss peak %v", v)
	}
	if s.GPUUtilMean.OK() || s.PowerMeanW.OK() || len(s.Values()) != 0 {
		t.Errorf("proc summary has GPU figures: %+v", s)
	}
	if Summarize(nil) != nil {
		t.Error("no samples, a summary")
	}
	// NVML without power support reports 0 W: absent, not 0.
	n := Summarize([]Sample{{TimeNs: 1, Source: SourceNVML, Device: "gpu0", GPUUtilPct: 10}})
	if n.PowerMeanW.OK() {
		t.Errorf("power %v", n.PowerMeanW)
	}
}
