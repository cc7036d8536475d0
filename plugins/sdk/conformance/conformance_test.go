package conformance_test

import (
	"fmt"
	"testing"

	"github.com/llmsweep/llmsweep/plugins/sdk"
	"github.com/llmsweep/llmsweep/plugins/sdk/conformance"
)

// The kit passes the SDK's own Adapter speaking every protocol.
func TestAdapter(t *testing.T) {
	a := &sdk.Adapter{
		Meta: &sdk.Info{Name: "every-protocol", Version: "1.0.0", Protocols: conformance.Protocols},
		Launch: func(cfg *sdk.ServerConfig) (*sdk.LaunchSpec, error) {
			if cfg.GetRepo() == "" {
				return nil, fmt.Errorf("%w: no repo", sdk.ErrInvalid)
			}
			return &sdk.LaunchSpec{Command: []string{"server", cfg.GetRepo()}, Port: 8000, Readiness: &sdk.Probe{Path: "/health"}}, nil
		},
		ReadinessPath: "/health",
	}
	conformance.Run(t, conformance.Target{Impl: a, Config: &sdk.ServerConfig{Repo: "org/model"}})
}
