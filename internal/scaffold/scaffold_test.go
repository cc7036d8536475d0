package scaffold_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/internal/plugins"
	"github.com/llmsweep/llmsweep/internal/scaffold"
	"github.com/llmsweep/llmsweep/internal/testing/shipped"
	"github.com/llmsweep/llmsweep/plugins/sdk"
	"github.com/llmsweep/llmsweep/plugins/sdk/conformance"
)

func sdkDir(t *testing.T) string {
	t.Helper()
	root, err := shipped.Root()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "plugins", "sdk")
}

// goIn runs the go command in dir as an author would in their own module: no
// workspace, go.mod and go.sum read-only.
func goIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
}

// A plugin written by scaffold in a folder outside the repository is a module of
// its own that vets, passes its own tests (the conformance kit in-process and as
// its binary) and builds as written; llmsweep finds the binary through
// $LLMSWEEP_PLUGIN_PATH, starts it, and it passes the conformance kit there too.
func TestGeneratedPluginConforms(t *testing.T) {
	work := t.TempDir()
	dir := filepath.Join(work, "my-engine")
	files, err := scaffold.Write(scaffold.Options{Name: "my-engine", Dir: dir, SDK: sdkDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".gitignore", "Makefile", "README.md", "conformance_test.go", "go.mod", "go.sum", "launch.go", "main.go"}
	if !slices.Equal(files, want) {
		t.Errorf("wrote %v, want %v", files, want)
	}
	gomod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	if !bytes.Contains(gomod, []byte("module llmsweep-plugin-my-engine\n")) || !bytes.Contains(gomod, []byte("replace "+scaffold.SDKModule+" => "+sdkDir(t))) {
		t.Errorf("go.mod:\n%s", gomod)
	}

	goIn(t, dir, "vet", "./...")
	goIn(t, dir, "test", "-count=1", "./...")
	bin := filepath.Join(work, "plugins")
	goIn(t, dir, "build", "-o", filepath.Join(bin, plugins.Prefix+"my-engine"), ".")

	t.Setenv("LLMSWEEP_PLUGIN_PATH", bin)
	t.Setenv("XDG_DATA_HOME", filepath.Join(work, "data"))
	h := &plugins.Host{Dirs: plugins.Dirs()}
	f, err := h.Find("my-engine")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(f.Path) != bin {
		t.Fatalf("found %s, want it from $LLMSWEEP_PLUGIN_PATH (%s)", f.Path, bin)
	}
	p, err := h.OpenFound(f)
	if err != nil {
		t.Fatal(err)
	}
	info, err := p.Info(context.Background())
	p.Close()
	if err != nil || info.GetName() != "my-engine" || info.GetVersion() != "0.1.0" {
		t.Fatalf("Info %v, %v", info, err)
	}
	cfg := &sdk.ServerConfig{Framework: "my-engine", Repo: "org/model", Quantization: "bf16", Gpus: 1, TensorParallel: 1,
		MaxModelLen: 4096, GpuMemoryUtilization: 0.9}
	conformance.Run(t, conformance.Target{Binary: f.Path, Config: cfg})
}

func TestWriteRefuses(t *testing.T) {
	sdk := sdkDir(t)
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "main.go"), []byte("package main\n"), 0o644)
	notSDK := t.TempDir()
	os.WriteFile(filepath.Join(notSDK, "go.mod"), []byte("module example.com/other\n"), 0o644)
	for _, tc := range []struct {
		name string
		opt  scaffold.Options
		want string
	}{
		{"upper case", scaffold.Options{Name: "MyEngine", Dir: t.TempDir(), SDK: sdk}, `plugin name "MyEngine": use lower-case letters, digits and dashes`},
		{"leading dash", scaffold.Options{Name: "-x", Dir: t.TempDir(), SDK: sdk}, `plugin name "-x"`},
		{"path in the name", scaffold.Options{Name: "a/b", Dir: t.TempDir(), SDK: sdk}, `plugin name "a/b"`},
		{"folder not empty", scaffold.Options{Name: "x", Dir: full, SDK: sdk}, full + " exists and is not empty"},
		{"no SDK", scaffold.Options{Name: "x", Dir: t.TempDir()}, "no SDK folder: give the plugins/sdk folder of an llmsweep checkout (--sdk)"},
		{"not the SDK", scaffold.Options{Name: "x", Dir: t.TempDir(), SDK: notSDK}, "is not the plugin SDK's go.mod"},
		{"SDK folder missing", scaffold.Options{Name: "x", Dir: t.TempDir(), SDK: filepath.Join(notSDK, "nope")}, "the SDK folder"},
		{"bad module path", scaffold.Options{Name: "x", Dir: t.TempDir(), SDK: sdk, Module: "bad path!"}, `module path "bad path!"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scaffold.Write(tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if entries, _ := os.ReadDir(full); len(entries) != 1 {
		t.Errorf("a refused write touched the folder: %d entries", len(entries))
	}
}

func TestFindSDK(t *testing.T) {
	sdk := sdkDir(t)
	if got := scaffold.FindSDK(t.TempDir(), filepath.Join(sdk, "..", "..", "internal", "cli")); got != sdk {
		t.Errorf("FindSDK from inside the checkout: %q, want %q", got, sdk)
	}
	if got := scaffold.FindSDK(t.TempDir()); got != "" {
		t.Errorf("FindSDK outside any checkout: %q", got)
	}
}
