package telemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSampleJSON(t *testing.T) {
	b, err := json.Marshal(Sample{})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"cpu_pct", "device", "gpu_util_pct", "mem_total_bytes", "mem_used_bytes",
		"mem_util_pct", "power_w", "rss_bytes", "source", "time_ns"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys = %v\nwant   %v", keys, want)
	}
}

func TestAuto(t *testing.T) {
	s, line := Auto(0)
	defer s.Close()
	t.Log(line)
	got, err := s.Sample(time.Now())
	if err != nil && runtime.GOOS != "linux" {
		t.Skip(err) // no /proc
	}
	if err != nil {
		t.Fatal(err)
	}
	src := got[0].Source
	if !strings.Contains(line, src) {
		t.Errorf("line %q does not name the chosen source %q", line, src)
	}
	if src == SourceProc && !strings.Contains(line, "nvml unavailable") {
		t.Errorf("line %q does not say why NVML was not used", line)
	}
}

func ExampleStart() {
	s, line := Auto(0) // 0: this process, where no GPU is visible
	defer s.Close()
	fmt.Println(line)

	var samples []Sample
	r := Start(context.Background(), s, 500*time.Millisecond, func(smp Sample) {
		samples = append(samples, smp) // runs on the recorder's goroutine only
	})
	// ... run the benchmark ...
	r.Stop() // after Stop, samples is safe to read here
	if err := r.Err(); err != nil {
		fmt.Println(r.Errors(), "samplings failed, last:", err)
	}
}
