package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/llmsweep/llmsweep/plugins/sdk"
	"github.com/llmsweep/llmsweep/plugins/sdk/conformance"
)

// testConfig is a catalog server config: Llama 3.1 8B in BF16 on one H100.
func testConfig() *sdk.ServerConfig {
	return &sdk.ServerConfig{
		Model: "llama-3.1-8b-instruct", Repo: "meta-llama/Llama-3.1-8B-Instruct", Revision: "main",
		Framework: "vllm", Version: "0.11.2", Quantization: "bf16", QuantizationMethod: "bf16", WeightBits: 16, KvBits: 16,
		Gpu: "H100-SXM5-80GB", GpuArch: "hopper", GpuVendor: "nvidia", Gpus: 1, TensorParallel: 1,
		MaxModelLen: 8192, GpuMemoryUtilization: 0.9,
	}
}

func testFramework() *framework {
	return newFramework(func(cfg *sdk.ServerConfig) (Timing, Limits, error) {
		return testTiming(), Limits{MaxBatch: 4, MaxModelLen: int(cfg.GetMaxModelLen())}, nil
	})
}

// The kit attaches the plugin to its scripted server, as for any adapter; the
// built binary passes it too (internal/plugins launches every shipped plugin).
func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Target{Impl: testFramework(), Config: testConfig()})
}

// Start with a config starts an emulated server in the plugin; the load
// generator measures it through Run, with one record per request.
func TestEmulatedServer(t *testing.T) {
	f := testFramework()
	ctx := context.Background()
	cfg := testConfig()
	srv, err := f.Start(ctx, &sdk.StartRequest{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if srv.GetServedModel() != cfg.GetRepo() || srv.GetPid() != 0 || !strings.HasPrefix(srv.GetBaseUrl(), "http://127.0.0.1:") {
		t.Errorf("server %v: want the repo served on loopback, no pid", srv)
	}
	h, err := f.Health(ctx, &sdk.HealthRequest{Id: srv.GetId()})
	if err != nil || !h.GetReady() {
		t.Fatalf("health: %v %v", h, err)
	}
	const requests, tokens = 12, 6
	var records []*sdk.Record
	sum, err := f.Run(ctx, &sdk.BenchmarkSpec{BaseUrl: srv.GetBaseUrl(), ServedModel: srv.GetServedModel(), Concurrency: 6,
		Requests: requests, Warmup: 1, Seed: 3, IgnoreEos: true,
		InputTokens:  &sdk.Distribution{Kind: "uniform", Min: 16, Max: 64},
		OutputTokens: &sdk.Distribution{Kind: "fixed", Value: tokens}},
		func(r *sdk.Record) error { records = append(records, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if sum.GetSucceeded() != requests || len(records) != requests+1 {
		t.Fatalf("summary %v, %d records", sum, len(records))
	}
	for _, r := range records {
		if r.GetErrorClass() != "" || r.GetOutputTokens() != tokens || r.GetClientOutputTokens() != tokens ||
			r.GetPromptTokens() != r.GetClientPromptTokens() || r.GetFirstTokenNs() <= r.GetStartNs() {
			t.Errorf("record %v", r)
		}
	}
	if err := f.Stop(ctx, srv.GetId()); err != nil {
		t.Fatal(err)
	}
	if h, err := f.Health(ctx, &sdk.HealthRequest{Id: srv.GetId()}); err == nil && h.GetReady() {
		t.Error("a stopped server is still healthy")
	}
}

func TestLaunchSpec(t *testing.T) {
	cfg := testConfig()
	spec, err := launch(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if spec.GetCommand()[0] != "llmsweep-plugin-sim" || spec.GetPort() != defaultPort || spec.GetArgs()[len(spec.GetArgs())-2] != "--config" {
		t.Errorf("spec %v", spec)
	}
	// The config travels whole, so that `serve` predicts for the same server.
	back := &sdk.ServerConfig{}
	if err := protojson.Unmarshal([]byte(spec.GetArgs()[len(spec.GetArgs())-1]), back); err != nil || back.GetModel() != cfg.GetModel() || back.GetGpu() != cfg.GetGpu() {
		t.Errorf("--config %v: %v", back, err)
	}
	if _, err := launch(&sdk.ServerConfig{}); !errors.Is(err, sdk.ErrInvalid) {
		t.Errorf("an empty config: %v, want sdk.ErrInvalid", err)
	}
}
