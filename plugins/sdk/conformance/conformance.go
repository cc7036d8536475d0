// Package conformance is the test suite every framework plugin should pass. A
// plugin author calls it from a test, against the implementation in-process and
// against the built binary:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, conformance.Target{Impl: adapter(), Config: cfg})
//		conformance.Run(t, conformance.Target{Binary: "../../bin/llmsweep-plugin-mine", Config: cfg})
//	}
//
// It checks the handshake, that Info is sane, that LaunchSpec is deterministic,
// that Run against a scripted local server streams well-formed records with
// monotonic timestamps for every protocol the plugin declares, that cancellation
// stops a run within one second, and that no goroutines leak.
package conformance

import (
	"context"
	"errors"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/protobuf/proto"

	"github.com/llmsweep/llmsweep/plugins/sdk"
	"github.com/llmsweep/llmsweep/plugins/sdk/scriptserver"
)

// Target is the plugin under test: Impl in-process, or Binary launched as the
// host launches it. Config is a server config the plugin can launch.
type Target struct {
	Impl   sdk.Framework
	Binary string
	Config *sdk.ServerConfig
}

// Protocols are the request protocols the SDK can measure.
var Protocols = []string{"openai-completions", "openai-chat", "tgi-generate"}

// Run runs the suite as subtests of t.
func Run(t *testing.T, target Target) {
	before := runtime.NumGoroutine()
	fw, closeFn := connect(t, target)
	t.Run("handshake", func(t *testing.T) {
		if _, err := fw.Info(context.Background()); err != nil {
			t.Fatalf("Info over the handshaken connection: %v", err)
		}
	})
	var info *sdk.Info
	t.Run("info", func(t *testing.T) { info = checkInfo(t, fw) })
	t.Run("launch-spec", func(t *testing.T) { checkLaunchSpec(t, fw, target.Config) })
	if info != nil {
		for _, p := range info.GetProtocols() {
			t.Run("run/"+p, func(t *testing.T) { checkRun(t, fw, p) })
		}
		if len(info.GetProtocols()) > 0 {
			t.Run("cancel", func(t *testing.T) { checkCancel(t, fw, info.GetProtocols()[0]) })
		}
	}
	closeFn()
	checkGoroutines(t, before) // here, not in a subtest, whose goroutine would count

}

func connect(t *testing.T, target Target) (sdk.Framework, func()) {
	t.Helper()
	switch {
	case target.Impl != nil:
		client, server := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{
			sdk.PluginName: &sdk.GRPCPlugin{Impl: target.Impl},
		})
		raw, err := client.Dispense(sdk.PluginName)
		if err != nil {
			t.Fatalf("dispense: %v", err)
		}
		return raw.(sdk.Framework), func() { client.Close(); server.Stop() }
	case target.Binary != "":
		c, err := sdk.Open(target.Binary, sdk.OpenOptions{})
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		return c, c.Close
	}
	t.Fatal("conformance.Target needs Impl or Binary")
	return nil, nil
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

func checkInfo(t *testing.T, fw sdk.Framework) *sdk.Info {
	info, err := fw.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !nameRE.MatchString(info.GetName()) {
		t.Errorf("name %q: want lower-case letters, digits and dashes", info.GetName())
	}
	if info.GetVersion() == "" {
		t.Error("version is empty")
	}
	if len(info.GetProtocols()) == 0 {
		t.Error("no protocols")
	}
	for _, p := range info.GetProtocols() {
		if !slices.Contains(Protocols, p) {
			t.Errorf("protocol %q is not one of %v", p, Protocols)
		}
	}
	for what, l := range map[string][]string{"protocols": info.GetProtocols(), "quantizations": info.GetQuantizations(), "architectures": info.GetArchitectures()} {
		if s := slices.Clone(l); len(slices.Compact(slices.Sorted(slices.Values(s)))) != len(l) {
			t.Errorf("%s have duplicates: %v", what, l)
		}
	}
	var versions []string
	for _, v := range info.GetVersions() {
		versions = append(versions, v.GetVersion())
		if v.GetVersion() == "" || v.GetImage() == "" {
			t.Errorf("version %q has no version or no image", v)
		}
	}
	if len(versions) > 0 && !slices.Contains(versions, info.GetDefaultVersion()) {
		t.Errorf("default version %q is not among %v", info.GetDefaultVersion(), versions)
	}
	return info
}

func checkLaunchSpec(t *testing.T, fw sdk.Framework, cfg *sdk.ServerConfig) {
	if cfg == nil {
		t.Fatal("conformance.Target.Config is nil: give a config the plugin can launch")
	}
	ctx := context.Background()
	first, err := fw.LaunchSpec(ctx, cfg)
	if err != nil {
		t.Fatalf("LaunchSpec: %v", err)
	}
	for range 3 {
		again, err := fw.LaunchSpec(ctx, proto.Clone(cfg).(*sdk.ServerConfig))
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(first, again) {
			t.Fatalf("LaunchSpec is not deterministic:\n%v\n%v", first, again)
		}
	}
	if len(first.GetCommand())+len(first.GetArgs()) == 0 {
		t.Error("no command and no args")
	}
	if first.GetPort() <= 0 || first.GetPort() > 65535 {
		t.Errorf("port %d", first.GetPort())
	}
	if !strings.HasPrefix(first.GetReadiness().GetPath(), "/") {
		t.Errorf("readiness path %q does not start with /", first.GetReadiness().GetPath())
	}
	if _, err := fw.LaunchSpec(ctx, &sdk.ServerConfig{}); err == nil {
		t.Error("LaunchSpec of an empty config: want an error")
	}
}

// attach starts a scripted server and attaches the plugin to it.
func attach(t *testing.T, fw sdk.Framework, script scriptserver.Script) (*scriptserver.Server, *sdk.Server) {
	t.Helper()
	srv := scriptserver.Start(script)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	s, err := fw.Start(ctx, &sdk.StartRequest{AttachUrl: srv.URL, ServedModel: "scripted"})
	if err != nil {
		t.Fatalf("Start (attach): %v", err)
	}
	t.Cleanup(func() {
		if err := fw.Stop(context.Background(), s.GetId()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	h, err := fw.Health(ctx, &sdk.HealthRequest{Id: s.GetId()})
	if err != nil || !h.GetReady() {
		t.Fatalf("Health of a ready server: %v %v", h, err)
	}
	return srv, s
}

func checkRun(t *testing.T, fw sdk.Framework, protocol string) {
	_, s := attach(t, fw, scriptserver.Script{Delay: time.Millisecond})
	const requests, warmup, tokens = 8, 2, 5
	spec := &sdk.BenchmarkSpec{
		BaseUrl: s.GetBaseUrl(), ServedModel: s.GetServedModel(), Protocol: protocol,
		Concurrency: 3, Warmup: warmup, Requests: requests, Seed: 7,
		OutputTokens: &sdk.Distribution{Kind: "fixed", Value: tokens},
		InputTokens:  &sdk.Distribution{Kind: "uniform", Min: 4, Max: 12},
	}
	var records []*sdk.Record
	sum, err := fw.Run(context.Background(), spec, func(r *sdk.Record) error {
		records = append(records, r)
		return nil
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(records) != requests+warmup {
		t.Fatalf("%d records, want %d", len(records), requests+warmup)
	}
	seen := map[int32]bool{}
	for _, r := range records {
		if r.GetErrorClass() != "" {
			t.Errorf("request %d failed: %s: %s", r.GetIndex(), r.GetErrorClass(), r.GetError())
			continue
		}
		if r.GetWarmup() != (r.GetIndex() < 0) {
			t.Errorf("request %d: warmup %v; warmup requests have negative indices", r.GetIndex(), r.GetWarmup())
		}
		if seen[r.GetIndex()] {
			t.Errorf("index %d twice", r.GetIndex())
		}
		seen[r.GetIndex()] = true
		if !(0 < r.GetScheduledNs() && r.GetScheduledNs() <= r.GetStartNs() && r.GetStartNs() < r.GetFirstTokenNs() && r.GetFirstTokenNs() <= r.GetEndNs()) {
			t.Errorf("request %d: timestamps not monotonic: scheduled %d start %d first %d end %d",
				r.GetIndex(), r.GetScheduledNs(), r.GetStartNs(), r.GetFirstTokenNs(), r.GetEndNs())
		}
		var gaps int64
		for _, g := range r.GetItlNs() {
			if g < 0 {
				t.Errorf("request %d: negative inter-token gap %d", r.GetIndex(), g)
			}
			gaps += g
		}
		if gaps > r.GetEndNs()-r.GetFirstTokenNs() {
			t.Errorf("request %d: gaps sum to %d ns, more than first token to end (%d)", r.GetIndex(), gaps, r.GetEndNs()-r.GetFirstTokenNs())
		}
		if r.GetClientOutputTokens() != tokens || r.GetOutputTokens() != tokens || len(r.GetItlNs()) != tokens-1 {
			t.Errorf("request %d: output tokens client %d server %d, %d gaps; want %d, %d, %d",
				r.GetIndex(), r.GetClientOutputTokens(), r.GetOutputTokens(), len(r.GetItlNs()), tokens, tokens, tokens-1)
		}
	}
	for i := range int32(requests) {
		if !seen[i] {
			t.Errorf("no record of request %d", i)
		}
	}
	if sum.GetRequests() != requests || sum.GetSucceeded() != requests || sum.GetWarmup() != warmup {
		t.Errorf("summary %v: want %d requests, all succeeded, %d warmup", sum, requests, warmup)
	}
}

func checkCancel(t *testing.T, fw sdk.Framework, protocol string) {
	_, s := attach(t, fw, scriptserver.Script{Tokens: 1000, Delay: 50 * time.Millisecond})
	spec := &sdk.BenchmarkSpec{
		BaseUrl: s.GetBaseUrl(), ServedModel: s.GetServedModel(), Protocol: protocol,
		Concurrency: 4, Requests: 100, OutputTokens: &sdk.Distribution{Kind: "fixed", Value: 1000},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := fw.Run(ctx, spec, func(*sdk.Record) error { return nil })
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Run did not return within 1 s of cancellation")
	}
}

// checkGoroutines waits for the goroutines started by the suite to end.
func checkGoroutines(t *testing.T, before int) {
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before the suite, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
}
