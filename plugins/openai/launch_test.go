package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/internal/golden"
	"github.com/llmsweep/llmsweep/internal/testing/snaptest"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

func TestInfo(t *testing.T) {
	got, err := snaptest.ProtoJSON(adapter().Meta)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/info.json", got)
}

func TestLaunch(t *testing.T) {
	snaptest.CheckGoldens(t, "testdata/launch", launch, []snaptest.Case{
		{Name: "llama-server", Config: &sdk.ServerConfig{
			Repo: "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF", Gpus: 1, GpuVendor: "nvidia",
			ExtraArgs: []string{"llama-server", "-m", "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", "--port", "8080", "-ngl", "99"},
		}},
		{Name: "ollama", Config: &sdk.ServerConfig{
			Repo: "llama3.1:8b", Port: 11434, Gpus: 1, GpuVendor: "amd",
			Image:     "ollama/ollama:rocm",
			ExtraArgs: []string{"ollama", "serve"},
			Env:       map[string]string{"OLLAMA_HOST": "0.0.0.0:11434"},
		}},
		{Name: "cpu", Config: &sdk.ServerConfig{
			Repo: "qwen2.5-0.5b-instruct", ExtraArgs: []string{"llama-server", "-hf", "Qwen/Qwen2.5-0.5B-Instruct-GGUF"},
		}},
	})
}

// TestLaunchCopies checks that the spec does not share the config's slices or
// maps: the host may reuse the config.
func TestLaunchCopies(t *testing.T) {
	cfg := &sdk.ServerConfig{ExtraArgs: []string{"ollama", "serve"}, Env: map[string]string{"A": "1"}}
	spec, err := launch(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ExtraArgs[0], cfg.ExtraArgs[1], cfg.Env["A"] = "x", "y", "2"
	if spec.Command[0] != "ollama" || spec.Args[0] != "serve" || spec.Env["A"] != "1" {
		t.Errorf("the spec changed with the config: %v %v %v", spec.Command, spec.Args, spec.Env)
	}
}

func TestRefusals(t *testing.T) {
	for name, args := range map[string][]string{"none": nil, "empty command": {"", "serve"}} {
		_, err := launch(&sdk.ServerConfig{Repo: "m", ExtraArgs: args})
		if !errors.Is(err, sdk.ErrInvalid) || !strings.Contains(err.Error(), "give one in extra_args") ||
			!strings.Contains(err.Error(), "attach to a running server's URL") {
			t.Errorf("%s: %v; want an sdk.ErrInvalid error saying to give a command in extra_args or attach", name, err)
		}
	}
}
