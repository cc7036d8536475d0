// Package catalogsnap reads the snapshot of a framework's catalog entry that an
// adapter embeds (its framework.json, which the adapter's tests keep equal to
// catalog/frameworks.cue), and answers from it what the adapter needs at run time:
// its sdk.Info, the image of a version, whether it runs a quantization on a GPU
// architecture, and the LaunchSpec of a config, whose command line package launch
// derives from the entry's launcher exactly as llmsweep's compiler does.
//
// A plugin binary carries the snapshot instead of loading the catalog, so that it
// needs neither CUE nor the repository to run.
package catalogsnap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/llmsweep/llmsweep/plugins/sdk"
	"github.com/llmsweep/llmsweep/plugins/sdk/launch"
)

// Framework is a catalog framework entry (schema #Framework): llmsweep decodes
// the catalog's into it, and a snapshot is its JSON.
type Framework struct {
	Name           string              `json:"name"`
	Display        string              `json:"display"`
	Versions       map[string]Image    `json:"versions"`
	DefaultVersion string              `json:"default_version"`
	Launcher       launch.Launcher     `json:"launcher"`
	Supports       map[string][]string `json:"supports"`
	// Architectures maps a model architecture (config.json's
	// architectures[0]) that needs more than the generic launch to the GPU
	// architectures the framework serves it on and the arguments it needs.
	Architectures map[string]ArchitectureSupport `json:"architectures,omitempty"`
	Protocols     []string                       `json:"protocols"`
	Port          int32                          `json:"port"`
	ReadinessPath string                         `json:"readiness_path"`
	Docs          string                         `json:"docs,omitempty"`
}

// ArchitectureSupport is how a framework serves one model architecture.
type ArchitectureSupport struct {
	Archs  []string `json:"archs"`
	Args   []string `json:"args"`
	Source string   `json:"source"`
}

// Image is a version's container images.
type Image struct {
	Image     string `json:"image"`
	ROCmImage string `json:"rocm_image,omitempty"`
}

// Parse decodes a snapshot strictly: an unknown field is an error, so that a
// snapshot written by a newer catalog is not half read.
func Parse(data []byte) (*Framework, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f Framework
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("catalog snapshot: %w", err)
	}
	switch {
	case f.Name == "":
		return nil, fmt.Errorf("catalog snapshot: no name")
	case len(f.Versions) == 0:
		return nil, fmt.Errorf("catalog snapshot %s: no versions", f.Name)
	case f.Versions[f.DefaultVersion].Image == "":
		return nil, fmt.Errorf("catalog snapshot %s: default version %q has no image", f.Name, f.DefaultVersion)
	case f.Port <= 0 || !strings.HasPrefix(f.ReadinessPath, "/"):
		return nil, fmt.Errorf("catalog snapshot %s: port %d and readiness path %q are required", f.Name, f.Port, f.ReadinessPath)
	case len(f.Launcher.Command) == 0:
		return nil, fmt.Errorf("catalog snapshot %s: the launcher has no command", f.Name)
	}
	return &f, nil
}

// MustParse is Parse for a snapshot embedded in the binary, where a bad one is a
// build mistake that the adapter's tests catch.
func MustParse(data []byte) *Framework {
	f, err := Parse(data)
	if err != nil {
		panic(err)
	}
	return f
}

// Info is the plugin's sdk.Info: quantizations are the union over supports, and
// versions are in version order.
func (f *Framework) Info(pluginVersion string) *sdk.Info {
	quants := map[string]bool{}
	for _, qs := range f.Supports {
		for _, q := range qs {
			quants[q] = true
		}
	}
	info := &sdk.Info{
		Name:           f.Name,
		Version:        pluginVersion,
		Display:        f.Display,
		Protocols:      slices.Clone(f.Protocols),
		Quantizations:  slices.Sorted(maps.Keys(quants)),
		Architectures:  slices.Sorted(maps.Keys(f.Supports)),
		DefaultVersion: f.DefaultVersion,
		Docs:           f.Docs,
	}
	for _, v := range slices.SortedFunc(maps.Keys(f.Versions), compareVersions) {
		img := f.Versions[v]
		info.Versions = append(info.Versions, &sdk.FrameworkVersion{Version: v, Image: img.Image, RocmImage: img.ROCmImage})
	}
	return info
}

// compareVersions orders dotted versions numerically where both parts are numbers
// (0.9.0 < 0.10.1), and as strings otherwise.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range min(len(pa), len(pb)) {
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		if ea == nil && eb == nil {
			if c := na - nb; c != 0 {
				return c
			}
		} else if c := strings.Compare(pa[i], pb[i]); c != 0 {
			return c
		}
	}
	return len(pa) - len(pb)
}

// Launch is the LaunchSpec of a config: the version's image for the GPU vendor,
// the command line the launcher gives (package launch), the launcher's
// environment under the config's, the port, readiness probe and resources.
// Errors wrap sdk.ErrInvalid.
func (f *Framework) Launch(cfg *sdk.ServerConfig) (*sdk.LaunchSpec, error) {
	if err := f.check(cfg); err != nil {
		return nil, err
	}
	image, err := f.image(cfg)
	if err != nil {
		return nil, err
	}
	port := cfg.GetPort()
	if port == 0 {
		port = f.Port
	}
	argv, err := f.Launcher.Argv(f.Name, cfg, port)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	maps.Copy(env, f.Launcher.Env)
	maps.Copy(env, cfg.GetEnv())
	if len(env) == 0 {
		env = nil
	}
	n := len(f.Launcher.Command)
	return &sdk.LaunchSpec{
		Image:     image,
		Command:   argv[:n:n],
		Args:      argv[n:],
		Env:       env,
		Port:      port,
		Readiness: sdk.ReadinessProbe(f.ReadinessPath, port),
		Resources: sdk.ServerResources(cfg),
	}, nil
}

func (f *Framework) check(cfg *sdk.ServerConfig) error {
	invalid := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", sdk.ErrInvalid, f.Name, fmt.Sprintf(format, a...))
	}
	switch {
	case cfg.GetRepo() == "":
		return invalid("no model repo to serve")
	case cfg.GetTensorParallel() < 1:
		return invalid("tensor_parallel is %d; it must be at least 1", cfg.GetTensorParallel())
	case cfg.GetGpus() != 0 && cfg.GetGpus() < cfg.GetTensorParallel():
		return invalid("tensor_parallel %d needs at least as many GPUs, not %d", cfg.GetTensorParallel(), cfg.GetGpus())
	case cfg.GetMaxModelLen() <= 0:
		return invalid("max_model_len is %d; it must be positive", cfg.GetMaxModelLen())
	case cfg.GetGpuMemoryUtilization() < 0 || cfg.GetGpuMemoryUtilization() > 1:
		return invalid("gpu_memory_utilization %v is not a fraction in (0, 1]", cfg.GetGpuMemoryUtilization())
	case cfg.GetPort() < 0 || cfg.GetPort() > 65535:
		return invalid("port %d is out of range", cfg.GetPort())
	case cfg.GetMaxBatchSize() < 0:
		return invalid("max_batch_size is %d; it must be positive, or 0 for the default", cfg.GetMaxBatchSize())
	case cfg.GetGpuVendor() != "" && cfg.GetGpuVendor() != "nvidia" && cfg.GetGpuVendor() != "amd":
		return invalid("unknown GPU vendor %q (nvidia, amd)", cfg.GetGpuVendor())
	case cfg.GetGpuArch() == "":
		return invalid("no GPU architecture given; %s supports %s", f.Name, strings.Join(slices.Sorted(maps.Keys(f.Supports)), ", "))
	}
	if _, ok := f.Versions[f.version(cfg)]; !ok {
		return invalid("unknown version %q; known: %s", cfg.GetVersion(), strings.Join(slices.SortedFunc(maps.Keys(f.Versions), compareVersions), ", "))
	}
	q, arch := cfg.GetQuantization(), cfg.GetGpuArch()
	qs, ok := f.Supports[arch]
	switch {
	case !ok:
		return fmt.Errorf("%w: %s does not run %s on GPU architecture %s (%s): it supports %s", sdk.ErrInvalid,
			f.Name, q, arch, cfg.GetGpu(), strings.Join(slices.Sorted(maps.Keys(f.Supports)), ", "))
	case !slices.Contains(qs, q):
		return fmt.Errorf("%w: %s has no %s kernels on GPU architecture %s (%s): there it runs %s", sdk.ErrInvalid,
			f.Name, q, arch, cfg.GetGpu(), strings.Join(qs, ", "))
	}
	return nil
}

// version is the config's version, or the default when it names none.
func (f *Framework) version(cfg *sdk.ServerConfig) string {
	if v := cfg.GetVersion(); v != "" {
		return v
	}
	return f.DefaultVersion
}

// image is cfg.Image when set, else the version's image for the GPU vendor.
func (f *Framework) image(cfg *sdk.ServerConfig) (string, error) {
	if cfg.GetImage() != "" {
		return cfg.GetImage(), nil
	}
	v := f.version(cfg)
	img := f.Versions[v].Image
	if cfg.GetGpuVendor() == "amd" {
		img = f.Versions[v].ROCmImage
	}
	if img == "" {
		return "", fmt.Errorf("%w: %s %s has no image for %s GPUs; give one in image", sdk.ErrInvalid, f.Name, v, cfg.GetGpuVendor())
	}
	return img, nil
}

// Adapter is the plugin of a catalog framework: its Info and its LaunchSpec come
// from the snapshot, the rest is sdk.Adapter's.
func (f *Framework) Adapter(pluginVersion string) *sdk.Adapter {
	return &sdk.Adapter{Meta: f.Info(pluginVersion), Launch: f.Launch, ReadinessPath: f.ReadinessPath}
}

// Plugin is a catalog adapter: the snapshot of its catalog entry that it
// embeds, and its own version. An adapter's whole main is
//
//	//go:embed framework.json
//	var snapshot []byte
//
//	var plugin = &catalogsnap.Plugin{Snapshot: snapshot, Version: "0.1.0"}
//
//	func main() { sdk.Serve(plugin.Adapter()) }
type Plugin struct {
	Snapshot []byte
	Version  string // the plugin's own, not the framework's

	once sync.Once
	f    *Framework
}

// Framework is the parsed snapshot. It is parsed on first use, so that a test
// can still rewrite a snapshot that no longer parses; a binary whose snapshot
// does not parse is a build mistake, and panics.
func (p *Plugin) Framework() *Framework {
	p.once.Do(func() { p.f = MustParse(p.Snapshot) })
	return p.f
}

// Adapter is the plugin's sdk.Adapter.
func (p *Plugin) Adapter() *sdk.Adapter { return p.Framework().Adapter(p.Version) }
