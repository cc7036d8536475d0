package main

import (
	"testing"

	"github.com/llmsweep/llmsweep/internal/testing/snaptest"
	"github.com/llmsweep/llmsweep/plugins/sdk/conformance"
)

// The kit against the adapter in-process; internal/plugins runs it against the
// built binary, found and launched as the host finds and launches it.
func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Target{Impl: adapter(), Config: snaptest.Conformance("sglang")})
}
