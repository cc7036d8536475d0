package telemetry

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"
)

// On a GPU machine LLMSWEEP_REQUIRE_GPU=1 turns the skip below into a
// failure (tools/gpu/nvml-check.sh sets it).
func requireGPU() bool { return os.Getenv("LLMSWEEP_REQUIRE_GPU") == "1" }

func TestNVMLUnavailable(t *testing.T) {
	s, err := NewNVML()
	if err == nil {
		s.Close()
		t.Skip("NVML works on this machine")
	}
	if s != nil {
		t.Errorf("NewNVML returned a sampler with its error: %v", s)
	}
	if !errors.Is(err, ErrNVMLUnavailable) {
		t.Errorf("error %q does not wrap ErrNVMLUnavailable", err)
	}
	t.Log(err)
	// A second try must fail the same way (go-nvml keeps global state).
	if _, err := NewNVML(); !errors.Is(err, ErrNVMLUnavailable) {
		t.Errorf("second NewNVML: %v", err)
	}
}

func TestNVMLSample(t *testing.T) {
	s, err := NewNVML()
	if err != nil {
		if requireGPU() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	t.Log(s)
	// A second sampler shares go-nvml's Init count: closing it must leave s working.
	other, err := NewNVML()
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if i > 0 {
			time.Sleep(200 * time.Millisecond)
		}
		got, err := s.Sample(time.Now())
		if err != nil {
			t.Error(err)
		}
		if len(got) == 0 {
			t.Fatal("no samples")
		}
		for _, smp := range got {
			b, _ := json.Marshal(smp)
			t.Logf("%s", b)
			if smp.Source != SourceNVML || smp.Device == "" {
				t.Errorf("source, device = %q, %q", smp.Source, smp.Device)
			}
			if smp.MemTotalBytes == 0 || smp.MemUsedBytes > smp.MemTotalBytes {
				t.Errorf("memory used %d of %d", smp.MemUsedBytes, smp.MemTotalBytes)
			}
			if smp.GPUUtilPct < 0 || smp.GPUUtilPct > 100 || smp.PowerW < 0 {
				t.Errorf("out of range: %+v", smp)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// After the last Shutdown the library is unloaded; this must be an error, not a crash.
	if _, err := s.Sample(time.Now()); err == nil {
		t.Error("Sample after Close succeeded")
	}
}
