//go:build linux && cgo

package telemetry

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// go-nvml dlopens libnvidia-ml.so.1 in nvml.Init and reports a missing
// library as ERROR_LIBRARY_NOT_FOUND. Its other functions do not check that
// the library is loaded: the binary is linked with the NVML symbols left
// unresolved, so calling one before a successful Init, or after the last
// Shutdown, ends the process ("symbol lookup error", exit 127) or faults, and
// no recover can catch it. Hence nothing but Init runs until Init succeeded,
// and Sample refuses to run after Close.

type nvmlSampler struct {
	mu      sync.Mutex
	closed  bool
	devices []gpu
}

type gpu struct {
	h     nvml.Device
	label string
}

// NewNVML initialises NVML and opens every visible GPU. The error wraps
// ErrNVMLUnavailable when the driver library is missing, NVML fails to
// initialise, or no GPU is visible. Close shuts NVML down again.
func NewNVML() (Sampler, error) {
	if ret := nvml.Init(); ret != nvml.SUCCESS {
		if ret == nvml.ERROR_LIBRARY_NOT_FOUND {
			return nil, fmt.Errorf("telemetry: %w: cannot load libnvidia-ml.so.1 (no NVIDIA driver on this machine or in this container)", ErrNVMLUnavailable)
		}
		// When the library loaded but nvmlInit failed, go-nvml keeps it
		// loaded; Shutdown would only answer ERROR_UNINITIALIZED.
		return nil, fmt.Errorf("telemetry: %w: nvmlInit: %v", ErrNVMLUnavailable, ret)
	}
	s := &nvmlSampler{}
	fail := func(err error) (Sampler, error) {
		nvml.Shutdown()
		return nil, err
	}
	n, ret := nvml.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return fail(fmt.Errorf("telemetry: %w: device count: %v", ErrNVMLUnavailable, ret))
	}
	if n == 0 {
		return fail(fmt.Errorf("telemetry: %w: NVML sees no GPU", ErrNVMLUnavailable))
	}
	for i := range n {
		h, ret := nvml.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return fail(fmt.Errorf("telemetry: %w: gpu%d: handle: %v", ErrNVMLUnavailable, i, ret))
		}
		name, ret := h.GetName()
		if ret != nvml.SUCCESS {
			name = "unknown"
		}
		s.devices = append(s.devices, gpu{h: h, label: fmt.Sprintf("gpu%d %s", i, name)})
	}
	return s, nil
}

func (s *nvmlSampler) String() string {
	labels := make([]string, len(s.devices))
	for i, d := range s.devices {
		labels[i] = d.label
	}
	return fmt.Sprintf("nvml sampler, %d GPU(s): %s", len(s.devices), strings.Join(labels, ", "))
}

// Sample reads every GPU. A metric the device does not support (power on
// some boards, utilization under MIG) stays zero; any other failure drops
// that metric and is returned, and a GPU whose every read failed yields no
// sample.
func (s *nvmlSampler) Sample(now time.Time) ([]Sample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("telemetry: nvml sampler is closed")
	}
	var (
		out  []Sample
		errs []error
	)
	for _, d := range s.devices {
		smp := Sample{TimeNs: now.UnixNano(), Source: SourceNVML, Device: d.label}
		failed := 0
		check := func(what string, ret nvml.Return) bool {
			switch ret {
			case nvml.SUCCESS:
				return true
			case nvml.ERROR_NOT_SUPPORTED:
			default:
				failed++
				errs = append(errs, fmt.Errorf("telemetry: %s: %s: %v", d.label, what, ret))
			}
			return false
		}
		if u, ret := d.h.GetUtilizationRates(); check("utilization", ret) {
			smp.GPUUtilPct, smp.MemUtilPct = float64(u.Gpu), float64(u.Memory)
		}
		if m, ret := d.h.GetMemoryInfo(); check("memory", ret) {
			smp.MemUsedBytes, smp.MemTotalBytes = m.Used, m.Total
		}
		if mw, ret := d.h.GetPowerUsage(); check("power", ret) {
			smp.PowerW = float64(mw) / 1000
		}
		if failed < 3 {
			out = append(out, smp)
		}
	}
	return out, errors.Join(errs...)
}

// Close shuts NVML down once; go-nvml counts Init calls, so other open
// samplers keep working.
func (s *nvmlSampler) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if ret := nvml.Shutdown(); ret != nvml.SUCCESS {
		return fmt.Errorf("telemetry: nvml shutdown: %v", ret)
	}
	return nil
}
