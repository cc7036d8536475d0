package main

import (
	"fmt"
	"maps"
	"slices"

	"github.com/llmsweep/llmsweep/plugins/sdk"
)

const (
	version     = "0.1.0" // the plugin's own version
	defaultPort = 8080    // llama-server's default
	// GET /v1/models answers once the server can list its model: llama-server,
	// ollama and vLLM all serve it.
	readinessPath = "/v1/models"
)

func adapter() *sdk.Adapter {
	return &sdk.Adapter{
		Meta: &sdk.Info{
			Name:      "openai",
			Version:   version,
			Display:   "OpenAI-compatible server",
			Protocols: []string{"openai-completions", "openai-chat"},
			Docs:      "https://platform.openai.com/docs/api-reference/completions",
		},
		Launch:        launch,
		ReadinessPath: readinessPath,
	}
}

// launch runs the command given in extra_args as it is: this adapter knows no
// server's flags, so the command itself must listen on the config's port.
func launch(cfg *sdk.ServerConfig) (*sdk.LaunchSpec, error) {
	argv := cfg.GetExtraArgs()
	if len(argv) == 0 || argv[0] == "" {
		return nil, fmt.Errorf(`%w: openai: no server command; give one in extra_args (e.g. ["llama-server", "-m", "model.gguf", "--port", "8080"]) or attach to a running server's URL`, sdk.ErrInvalid)
	}
	port := cfg.GetPort()
	if port == 0 {
		port = defaultPort
	}
	spec := &sdk.LaunchSpec{
		Image:   cfg.GetImage(),
		Command: slices.Clone(argv[:1]),
		Args:    slices.Clone(argv[1:]),
		Port:    port,
		Readiness: &sdk.Probe{
			Path: readinessPath, Port: port,
			// Loading a model can take many minutes: allow an hour.
			InitialDelaySeconds: 5, PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 360,
		},
	}
	if len(cfg.GetEnv()) > 0 {
		spec.Env = maps.Clone(cfg.GetEnv())
	}
	if n := cfg.GetGpus(); n > 0 {
		spec.Resources = &sdk.Resources{Gpus: n, GpuResource: "nvidia.com/gpu"}
		if cfg.GetGpuVendor() == "amd" {
			spec.Resources.GpuResource = "amd.com/gpu"
		}
	}
	return spec, nil
}
