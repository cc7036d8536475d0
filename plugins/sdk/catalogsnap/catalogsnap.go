// Package catalogsnap reads the snapshot of a framework's catalog entry that an
// adapter embeds (its framework.json, which the adapter's tests keep equal to
// catalog/frameworks.cue), and answers from it what the adapter needs at run time:
// its sdk.Info, the image of a version, whether it runs a quantization on a GPU
// architecture, and the parts of a LaunchSpec every framework shares.
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

	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// Framework is the part of a catalog framework entry (schema #Framework) that a
// plugin uses. The launcher's flags are not in it: each adapter spells its
// launcher out in Go, and a test holds that to the compiler's argv.
type Framework struct {
	Name           string              `json:"name"`
	Display        string              `json:"display"`
	Versions       map[string]Image    `json:"versions"`
	DefaultVersion string              `json:"default_version"`
	Launcher       Launcher            `json:"launcher"`
	Supports       map[string][]string `json:"supports"`
	Protocols      []string            `json:"protocols"`
	Port           int32               `json:"port"`
	ReadinessPath  string              `json:"readiness_path"`
	Docs           string              `json:"docs,omitempty"`
}

// Image is a version's container images.
type Image struct {
	Image     string `json:"image"`
	ROCmImage string `json:"rocm_image,omitempty"`
}

// Launcher holds the launcher's environment.
type Launcher struct {
	Env map[string]string `json:"env"`
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

// Launch checks what every framework needs of a config and returns a LaunchSpec
// with everything but Command and Args: the image, port, environment, readiness
// probe and resources. Errors wrap sdk.ErrInvalid.
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
	env := map[string]string{}
	maps.Copy(env, f.Launcher.Env)
	maps.Copy(env, cfg.GetEnv())
	if len(env) == 0 {
		env = nil
	}
	return &sdk.LaunchSpec{
		Image:     image,
		Env:       env,
		Port:      port,
		Readiness: Readiness(f.ReadinessPath, port),
		Resources: Resources(cfg),
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

// Model loading takes minutes (download, weight load, CUDA graph capture), so the
// probe allows an hour, as the generated Argo manifests do.
const (
	probeInitialDelay = 30
	probePeriod       = 10
	probeTimeout      = 5
	probeFailures     = 360 // 360 × 10 s = 1 h after the initial delay
)

// Readiness is the probe of a server that answers path on port once its model is
// loaded.
func Readiness(path string, port int32) *sdk.Probe {
	return &sdk.Probe{
		Path:                path,
		Port:                port,
		InitialDelaySeconds: probeInitialDelay,
		PeriodSeconds:       probePeriod,
		TimeoutSeconds:      probeTimeout,
		FailureThreshold:    probeFailures,
	}
}

// Per-GPU requests, kept small enough for a one-GPU L4 node (8 vCPU, 32 GiB).
const (
	cpuPerGPU       = 4
	memoryGiBPerGPU = 16
	// NCCL/RCCL move tensor-parallel traffic through /dev/shm, and vLLM's engine
	// processes exchange inputs through shared memory even at tp 1; a container's
	// default 64 MiB is far too small for either.
	shmGiB         = 2
	shmGiBParallel = 16
)

// Resources are the pod resources of a server on cfg's GPUs.
func Resources(cfg *sdk.ServerConfig) *sdk.Resources {
	gpus := cfg.GetGpus()
	if gpus == 0 {
		gpus = max(cfg.GetTensorParallel(), 1)
	}
	r := &sdk.Resources{
		Gpus:        gpus,
		GpuResource: "nvidia.com/gpu",
		Cpu:         float64(cpuPerGPU * gpus),
		MemoryGib:   float64(memoryGiBPerGPU * gpus),
		ShmGib:      shmGiB,
	}
	if cfg.GetGpuVendor() == "amd" {
		r.GpuResource = "amd.com/gpu"
	}
	if cfg.GetTensorParallel() > 1 {
		r.ShmGib = shmGiBParallel
	}
	return r
}

// Revision is the revision flag's value, or "" when the config serves the
// default branch and the flag is left out (as the compiler leaves it out).
func Revision(cfg *sdk.ServerConfig) string {
	if r := cfg.GetRevision(); r != "main" {
		return r
	}
	return ""
}

// FormatFloat formats a fraction as the compiler does (shortest exact form).
func FormatFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
