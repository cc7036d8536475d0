//go:build !(linux && cgo)

package telemetry

import "fmt"

// NewNVML always fails in this build: go-nvml needs cgo, and it loads
// libnvidia-ml.so.1, which only Linux drivers ship.
func NewNVML() (Sampler, error) {
	return nil, fmt.Errorf("telemetry: %w: built without NVML support (needs linux and cgo)", ErrNVMLUnavailable)
}
