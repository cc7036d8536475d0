// Package telemetry samples device utilization while a benchmark runs: GPUs
// through NVML where a driver is present, and otherwise the CPU time and
// resident memory of the server's process tree read from /proc.
//
// Samples are auxiliary to the measurement: every failure is an error value,
// never a panic, so that telemetry can not take a benchmark run down with it.
package telemetry

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sample is one reading of one device (a GPU) or one process tree.
// Fields a source does not measure are zero.
type Sample struct {
	TimeNs int64  `json:"time_ns"`
	Source string `json:"source"` // "nvml" or "proc"
	Device string `json:"device"` // "gpu0 NVIDIA H100 80GB HBM3" or "pid 123"

	GPUUtilPct    float64 `json:"gpu_util_pct"`
	MemUtilPct    float64 `json:"mem_util_pct"` // memory-bus busy time, not occupancy
	MemUsedBytes  uint64  `json:"mem_used_bytes"`
	MemTotalBytes uint64  `json:"mem_total_bytes"`
	PowerW        float64 `json:"power_w"`

	CPUPct   float64 `json:"cpu_pct"` // 100 = one core busy, as in top
	RSSBytes uint64  `json:"rss_bytes"`
}

// Source names.
const (
	SourceNVML = "nvml"
	SourceProc = "proc"
)

// Sampler reads the current utilization. Sample may return some samples
// together with an error (one GPU failing among several); callers should keep
// the samples either way. Samplers are safe for concurrent use; Sample after
// Close returns an error.
type Sampler interface {
	Sample(now time.Time) ([]Sample, error)
	Close() error
}

// ErrNVMLUnavailable wraps every reason NewNVML fails: no cgo, no driver
// library, NVML refusing to initialise, or no GPU visible.
var ErrNVMLUnavailable = errors.New("nvml unavailable")

// Auto picks NVML when it initialises and sees at least one GPU, and
// otherwise a proc sampler for pid's process tree (pid <= 0: this process).
// The line says which was chosen and why, for the run log.
func Auto(pid int) (Sampler, string) {
	s, err := NewNVML()
	if err == nil {
		return s, fmt.Sprintf("telemetry: %v", s)
	}
	p := NewProc(pid)
	return p, fmt.Sprintf("telemetry: %v; %s", p, strings.TrimPrefix(err.Error(), "telemetry: "))
}
