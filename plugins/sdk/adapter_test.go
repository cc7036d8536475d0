package sdk_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/llmsweep/llmsweep/plugins/sdk"
)

func ownLaunch(cfg *sdk.ServerConfig) (*sdk.LaunchSpec, error) {
	return &sdk.LaunchSpec{Command: []string{"own-server"}, Args: []string{cfg.GetRepo()}, Port: 9000,
		Readiness: sdk.ReadinessProbe("/health", 9000)}, nil
}

// A launch the host compiled for the adapter's framework is launched as given;
// the adapter's own mapping serves configs without one, or compiled for another
// framework (the sim plugin emulating a vllm config, say).
func TestAdapterUsesCompiledLaunch(t *testing.T) {
	a := &sdk.Adapter{Meta: &sdk.Info{Name: "fw", Version: "1", Protocols: []string{"openai-chat"}}, Launch: ownLaunch}
	compiled := &sdk.LaunchSpec{Image: "fw:1", Command: []string{"compiled-server"}, Args: []string{"--model", "org/m"}, Port: 8123,
		Readiness: sdk.ReadinessProbe("/ready", 8123)}
	ctx := context.Background()
	for _, tc := range []struct {
		name, framework string
		launch          *sdk.LaunchSpec
		want            string
	}{
		{"compiled for it", "fw", compiled, "compiled-server"},
		{"none compiled", "fw", nil, "own-server"},
		{"compiled for another framework", "vllm", compiled, "own-server"},
		{"an empty compiled launch", "fw", &sdk.LaunchSpec{Port: 1}, "own-server"},
	} {
		cfg := &sdk.ServerConfig{Framework: tc.framework, Repo: "org/m", Launch: tc.launch}
		spec, err := a.LaunchSpec(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if spec.GetCommand()[0] != tc.want {
			t.Errorf("%s: launches %v, want %s", tc.name, spec.GetCommand(), tc.want)
		}
		if tc.want == "compiled-server" && !proto.Equal(spec, compiled) {
			t.Errorf("%s: spec %v, want the compiled one unchanged", tc.name, spec)
		}
	}
}

// Start runs the compiled launch's command: here a shell that writes its
// arguments, standing in for a server.
func TestAdapterStartsCompiledLaunch(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "argv")
	a := &sdk.Adapter{Meta: &sdk.Info{Name: "fw", Version: "1", Protocols: []string{"openai-chat"}}, Launch: ownLaunch}
	cfg := &sdk.ServerConfig{Framework: "fw", Repo: "org/m", Launch: &sdk.LaunchSpec{
		Command: []string{"sh", "-c", `echo "$@" > ` + out + `; sleep 30`, "sh"}, Args: []string{"--model", "org/m"}, Port: 8123}}
	srv, err := a.Start(context.Background(), &sdk.StartRequest{Config: cfg, WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop(context.Background(), srv.GetId())
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(out)
		if got := strings.TrimSpace(string(b)); got == "--model org/m" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the launched command wrote %q, want its compiled arguments", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if srv.GetBaseUrl() != "http://127.0.0.1:8123" {
		t.Errorf("base URL %s, want the compiled port", srv.GetBaseUrl())
	}
}
