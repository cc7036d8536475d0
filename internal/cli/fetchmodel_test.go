package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/internal/testing/hubtest"
)

// TestFetchModel runs fetch-model on the quickstart campaign against the fake
// Hub: the first run downloads the checkpoint into huggingface_hub's layout,
// the second finds it and downloads nothing, --hub-only never downloads.
func TestFetchModel(t *testing.T) {
	h := hubtest.New(t)
	const sha = "89abcdef0123456789abcdef0123456789abcdef"
	h.Model("meta-llama/Llama-3.2-1B-Instruct", &hubtest.Repo{SHA: sha, Gated: true, Files: map[string][]byte{
		"config.json":       []byte(`{"architectures":["LlamaForCausalLM"]}`),
		"model.safetensors": bytes.Repeat([]byte{7}, 2048),
		"tokenizer.json":    []byte(`{}`),
		"original/params":   []byte(`{}`),
	}})
	t.Setenv("HF_TOKEN", hubtest.Token)
	dir := t.TempDir()
	t.Chdir("../..")
	args := []string{"fetch-model", "campaigns/quickstart.cue", "--model", "llama-3.2-1b-instruct", "--cache-dir", dir, "--hub", h.URL}

	code, out, errs := run(t, args...)
	if code != 0 || !strings.Contains(out, "meta-llama/Llama-3.2-1B-Instruct@main (89abcdef0123): 3 files, 2088 bytes, fetched 3 files") {
		t.Fatalf("first fetch: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	if !strings.Contains(out, "campaign quickstart: no accuracy task reads a data set") {
		t.Errorf("the task data step did not run:\n%s", out)
	}
	snap := filepath.Join(dir, "huggingface", "hub", "models--meta-llama--Llama-3.2-1B-Instruct", "snapshots", sha)
	if b, err := os.ReadFile(filepath.Join(snap, "model.safetensors")); err != nil || len(b) != 2048 {
		t.Fatalf("weights not in the cache: %v", err)
	}
	downloads := func() int {
		n := 0
		for _, p := range h.Paths() {
			if strings.Contains(p, "/resolve/") {
				n++
			}
		}
		return n
	}
	before := downloads()
	code, out, errs = run(t, args...)
	if code != 0 || !strings.Contains(out, "already cached") || downloads() != before {
		t.Fatalf("second fetch: exit %d, %d downloads\nstdout: %s\nstderr: %s", code, downloads()-before, out, errs)
	}

	code, out, errs = run(t, append(args[:len(args):len(args)], "--hub-only", "--cache-dir", t.TempDir())...)
	if code != 0 || !strings.Contains(out, "on the Hub") || downloads() != before {
		t.Fatalf("--hub-only: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}

	code, _, errs = run(t, "fetch-model", "campaigns/quickstart.cue", "--model", "qwen3-8b", "--cache-dir", dir, "--hub", h.URL)
	if code == 0 || !strings.Contains(errs, `campaign quickstart does not run model "qwen3-8b"`) {
		t.Errorf("a model outside the campaign: exit %d\n%s", code, errs)
	}
	t.Setenv("HF_TOKEN", "")
	code, _, errs = run(t, append(args[:len(args):len(args)], "--cache-dir", t.TempDir())...)
	if code == 0 || !strings.Contains(errs, "HF_TOKEN") {
		t.Errorf("a gated model without a token: exit %d\n%s", code, errs)
	}
}
