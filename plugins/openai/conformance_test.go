package main

import (
	"testing"

	"github.com/llmsweep/llmsweep/internal/testing/snaptest"
	"github.com/llmsweep/llmsweep/plugins/sdk/conformance"
)

// The binary passes the kit too: see internal/plugins, which launches every
// shipped plugin as the host does.
func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Target{Impl: adapter(), Config: snaptest.Conformance("openai")})
}
