package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/llmsweep/llmsweep/plugins/sdk"
)

const (
	version     = "0.1.0" // the plugin's own version
	defaultPort = 8000    // of the standalone server (serve), as vLLM's
)

// framework is the sim plugin: Start with a server config starts an emulated
// server inside the plugin process, whose latencies are the performance model's
// predictions for that config; Start with an attach URL and Run are the SDK
// adapter's, so that the same load generator measures it as it measures real
// servers.
type framework struct {
	*sdk.Adapter
	timing func(*sdk.ServerConfig) (Timing, Limits, error)

	mu      sync.Mutex
	servers map[string]*Server
	next    int
}

func newFramework(timing func(*sdk.ServerConfig) (Timing, Limits, error)) *framework {
	return &framework{
		Adapter: &sdk.Adapter{
			Meta: &sdk.Info{
				Name:      "sim",
				Version:   version,
				Display:   "Emulated engine (predicted, not measured)",
				Protocols: []string{"openai-completions", "openai-chat"},
				Docs:      "https://platform.openai.com/docs/api-reference/completions",
			},
			Launch:        launch,
			ReadinessPath: "/v1/models",
		},
		timing:  timing,
		servers: map[string]*Server{},
	}
}

// launch runs the emulated server on its own, as `llmsweep-plugin-sim serve`,
// for a config. It refuses a config without a model, since the model is what
// the timing is predicted for.
func launch(cfg *sdk.ServerConfig) (*sdk.LaunchSpec, error) {
	if cfg.GetModel() == "" {
		return nil, fmt.Errorf("%w: sim: the server config names no catalog model to predict", sdk.ErrInvalid)
	}
	port := cfg.GetPort()
	if port == 0 {
		port = defaultPort
	}
	raw, err := protojson.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("sim: %v", err)
	}
	// protojson varies its whitespace on purpose; compacted, the spec is stable.
	var js bytes.Buffer
	if err := json.Compact(&js, raw); err != nil {
		return nil, fmt.Errorf("sim: %v", err)
	}
	return &sdk.LaunchSpec{
		Command:   []string{"llmsweep-plugin-sim", "serve"},
		Args:      []string{"--port", strconv.Itoa(int(port)), "--config", js.String()},
		Port:      port,
		Readiness: &sdk.Probe{Path: "/health", Port: port, PeriodSeconds: 1, TimeoutSeconds: 5, FailureThreshold: 30},
	}, nil
}

// servedModel is the name an emulated server answers to: the checkpoint's repo,
// as a launched vLLM's would be.
func servedModel(cfg *sdk.ServerConfig) string {
	if cfg.GetRepo() != "" {
		return cfg.GetRepo()
	}
	return cfg.GetModel()
}

// Start attaches to req.AttachUrl, or starts an emulated server for req.Config
// on a free loopback port of this process.
func (f *framework) Start(ctx context.Context, req *sdk.StartRequest) (*sdk.Server, error) {
	if req.GetAttachUrl() != "" {
		return f.Adapter.Start(ctx, req)
	}
	cfg := req.GetConfig()
	if cfg == nil {
		return nil, fmt.Errorf("%w: start needs a server config or an attach URL", sdk.ErrInvalid)
	}
	if _, err := launch(cfg); err != nil {
		return nil, err
	}
	t, lim, err := f.timing(cfg)
	if err != nil {
		return nil, err
	}
	srv, err := StartServer(servedModel(cfg), "", t, lim)
	if err != nil {
		return nil, fmt.Errorf("sim: starting the emulated server: %w", err)
	}
	f.mu.Lock()
	f.next++
	id := "sim-emulated-" + strconv.Itoa(f.next)
	f.servers[id] = srv
	f.mu.Unlock()
	// Pid stays 0: the emulator's own CPU and memory say nothing of the engine's.
	return &sdk.Server{Id: id, BaseUrl: srv.URL, ServedModel: srv.Model}, nil
}

func (f *framework) emulated(id string) *Server {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.servers[id]
}

// Stop stops an emulated server, or forgets an attached one.
func (f *framework) Stop(ctx context.Context, id string) error {
	srv := f.emulated(id)
	if srv == nil {
		return f.Adapter.Stop(ctx, id)
	}
	f.mu.Lock()
	delete(f.servers, id)
	f.mu.Unlock()
	srv.Close()
	return nil
}

// Health probes an emulated server's /health, or an attached server as the
// adapter does.
func (f *framework) Health(ctx context.Context, req *sdk.HealthRequest) (*sdk.Health, error) {
	srv := f.emulated(req.GetId())
	if srv == nil {
		return f.Adapter.Health(ctx, req)
	}
	ok, detail := ready(ctx, srv.URL)
	h := &sdk.Health{Ready: ok}
	if ok {
		h.Status = 200
	} else {
		h.Detail = detail
	}
	return h, nil
}
