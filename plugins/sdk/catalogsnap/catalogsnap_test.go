package catalogsnap

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/plugins/sdk"
)

const snap = `{
  "name": "fw",
  "display": "A framework",
  "versions": {
    "0.10.1": {"image": "fw:0.10.1", "rocm_image": "fw:0.10.1-rocm"},
    "0.9.0": {"image": "fw:0.9.0"}
  },
  "default_version": "0.10.1",
  "launcher": {"command": ["fw", "serve"], "model_flag": "", "flags": {"port": "--port", "tensor_parallel": "--tp", "max_model_len": "--max-len"}, "quantization_args": {"bf16": ["--dtype", "bfloat16"]}, "extra_args": ["--quiet"], "env": {"A": "catalog", "B": "catalog"}},
  "supports": {"hopper": ["bf16", "fp8"], "cdna3": ["bf16"]},
  "protocols": ["openai-chat"],
  "port": 8000,
  "readiness_path": "/health"
}`

func config() *sdk.ServerConfig {
	return &sdk.ServerConfig{Repo: "org/m", Quantization: "bf16", GpuArch: "hopper", GpuVendor: "nvidia",
		TensorParallel: 1, MaxModelLen: 4096}
}

func TestParse(t *testing.T) {
	for name, tc := range map[string]struct{ edit, want string }{
		"unknown field":   {`"display": "A framework", "launch": {},`, `unknown field "launch"`},
		"default unknown": {`"default_version": "0.11.0",`, `default version "0.11.0" has no image`},
		"no port":         {`"port": 0,`, "port 0 and readiness path"},
		"no command":      {`"launcher": {"command": [], "flags": {}, "quantization_args": {}, "extra_args": [], "env": {}},`, "the launcher has no command"},
	} {
		// The top-level line of the key (nested objects have keys of the same name).
		key := "\n  " + tc.edit[:strings.Index(tc.edit, ":")]
		i := strings.Index(snap, key) + 3
		j := i + strings.Index(snap[i:], "\n")
		_, err := Parse([]byte(snap[:i] + tc.edit + snap[j:]))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %q", name, err, tc.want)
		}
	}
}

func TestInfo(t *testing.T) {
	info := MustParse([]byte(snap)).Info("1.2.3")
	var versions []string
	for _, v := range info.GetVersions() {
		versions = append(versions, v.GetVersion())
	}
	if !slices.Equal(versions, []string{"0.9.0", "0.10.1"}) {
		t.Errorf("versions %v, want numeric order", versions)
	}
	if !slices.Equal(info.GetQuantizations(), []string{"bf16", "fp8"}) || !slices.Equal(info.GetArchitectures(), []string{"cdna3", "hopper"}) {
		t.Errorf("quantizations %v, architectures %v", info.GetQuantizations(), info.GetArchitectures())
	}
	if info.GetVersion() != "1.2.3" || info.GetDefaultVersion() != "0.10.1" || info.GetName() != "fw" {
		t.Errorf("info %v", info)
	}
}

func TestLaunch(t *testing.T) {
	f := MustParse([]byte(snap))
	cfg := config()
	cfg.Env = map[string]string{"B": "config"}
	spec, err := f.Launch(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Image != "fw:0.10.1" || spec.Port != 8000 || spec.Env["A"] != "catalog" || spec.Env["B"] != "config" {
		t.Errorf("spec %v: want the default version's image, the catalog's port, and the config's env over the catalog's", spec)
	}
	if want := "fw serve | org/m --port 8000 --tp 1 --max-len 4096 --dtype bfloat16 --quiet"; strings.Join(spec.Command, " ")+" | "+strings.Join(spec.Args, " ") != want {
		t.Errorf("command %q args %q; want %s", spec.Command, spec.Args, want)
	}
	if r := spec.Resources; r.Gpus != 1 || r.GpuResource != "nvidia.com/gpu" || r.ShmGib < 1 {
		t.Errorf("resources %v", r)
	}

	cfg = config()
	cfg.GpuArch, cfg.GpuVendor, cfg.TensorParallel, cfg.Gpus = "cdna3", "amd", 8, 8
	spec, err = f.Launch(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r := spec.Resources; spec.Image != "fw:0.10.1-rocm" || r.GpuResource != "amd.com/gpu" || r.ShmGib < 16 || r.Gpus != 8 {
		t.Errorf("AMD tp 8: image %s, resources %v", spec.Image, r)
	}

	cfg.Version = "0.9.0"
	if _, err := f.Launch(cfg); !errors.Is(err, sdk.ErrInvalid) || !strings.Contains(err.Error(), "fw 0.9.0 has no image for amd GPUs") {
		t.Errorf("a version without a ROCm image on AMD: %v", err)
	}
	cfg.Image = "mine:1"
	if spec, err := f.Launch(cfg); err != nil || spec.Image != "mine:1" {
		t.Errorf("a config's own image: %v, %v", spec.GetImage(), err)
	}
}

func TestCompareVersions(t *testing.T) {
	got := []string{"1.0", "0.10.1", "0.9.0", "0.10.1rc1", "0.10"}
	slices.SortFunc(got, compareVersions)
	want := []string{"0.9.0", "0.10", "0.10.1", "0.10.1rc1", "1.0"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
