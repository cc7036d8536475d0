// Package snaptest holds a framework adapter to the repository's catalog and
// compiler in tests: its embedded catalog snapshot, its launch specs as golden
// files, and its argv for every server group of the shipped campaigns. Only tests
// import it.
package snaptest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
	"github.com/llmsweep/llmsweep/internal/golden"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/plugins"
	"github.com/llmsweep/llmsweep/plugins/sdk"
	"github.com/llmsweep/llmsweep/plugins/sdk/catalogsnap"
	"github.com/llmsweep/llmsweep/plugins/sdk/conformance"
)

// Launch is an adapter's launch function.
type Launch = func(*sdk.ServerConfig) (*sdk.LaunchSpec, error)

var (
	loadOnce sync.Once
	loaded   *campaign.Set
)

// repo loads the repository's catalog and campaigns once per test binary: loading
// them evaluates all of the CUE.
func repo(t *testing.T) *campaign.Set {
	t.Helper()
	loadOnce.Do(func() { loaded = campaigntest.Repo(t) })
	if loaded == nil {
		t.Fatal("the repository's campaigns did not load (see the first failure)")
	}
	return loaded
}

// Snapshot is the catalog entry f as an adapter embeds it (its framework.json).
func Snapshot(f campaign.Framework) []byte {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		panic(err) // plain structs and maps of strings always marshal
	}
	return append(b, '\n')
}

// CheckSnapshot compares the adapter's snapshot at path with the catalog's entry
// for framework name; go test -update rewrites it.
func CheckSnapshot(t *testing.T, name, path string) {
	t.Helper()
	f, ok := repo(t).Frameworks[name]
	if !ok {
		t.Fatalf("framework %q is not in the catalog", name)
	}
	got := Snapshot(f)
	if _, err := catalogsnap.Parse(got); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, path, string(got))
}

// ProtoJSON is m as indented protojson. protojson's output deliberately varies
// its spacing from build to build, so it is re-indented with encoding/json.
func ProtoJSON(m proto.Message) (string, error) {
	raw, err := protojson.MarshalOptions{Multiline: true}.Marshal(m)
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact(raw), "", "  "); err != nil {
		return "", err
	}
	out.WriteByte('\n')
	return out.String(), nil
}

func compact(raw []byte) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw // json.Indent reports it
	}
	return b.Bytes()
}

// Case is a named config whose launch spec is a golden file.
type Case struct {
	Name   string
	Config *sdk.ServerConfig
}

// gpus are the representative GPUs of the architectures the goldens cover.
var gpus = map[string]struct{ model, vendor string }{
	"ampere": {"A100-SXM4-80GB", "nvidia"},
	"hopper": {"H100-SXM5-80GB", "nvidia"},
	"cdna3":  {"MI300X-192GB", "amd"},
}

// checkpoints are the repos of Llama 3.1 8B Instruct served in each catalog
// quantization (fp8 is quantized at load time from the 16-bit weights), with the
// catalog's method and weight bits.
var checkpoints = map[string]struct {
	repo, method string
	bits         int32
}{
	"fp16":      {"meta-llama/Llama-3.1-8B-Instruct", "fp16", 16},
	"bf16":      {"meta-llama/Llama-3.1-8B-Instruct", "bf16", 16},
	"fp8":       {"meta-llama/Llama-3.1-8B-Instruct", "fp8", 8},
	"int8-w8a8": {"neuralmagic/Meta-Llama-3.1-8B-Instruct-quantized.w8a8", "w8a8", 8},
	"int4-awq":  {"hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4", "awq", 4},
	"int4-gptq": {"hugging-quants/Meta-Llama-3.1-8B-Instruct-GPTQ-INT4", "gptq", 4},
	// No MXFP4 Llama 3.1 8B exists: gpt-oss-20b is the MXFP4 checkpoint the
	// catalog serves, and launch reads only the repo and the method.
	"mxfp4": {"openai/gpt-oss-20b", "mxfp4", 4},
}

// Config is a config of Llama 3.1 8B Instruct in quantization q on tp GPUs of
// architecture arch, as the compiler would resolve it.
func Config(arch, q string, tp int32) *sdk.ServerConfig {
	g, ck := gpus[arch], checkpoints[q]
	return &sdk.ServerConfig{
		Model: "llama-3.1-8b-instruct", Repo: ck.repo, Revision: "main",
		Quantization: q, QuantizationMethod: ck.method, WeightBits: ck.bits, KvBits: 16,
		Gpu: g.model, GpuArch: arch, GpuVendor: g.vendor, Gpus: tp, TensorParallel: tp,
		MaxModelLen: 8192, GpuMemoryUtilization: 0.9,
		Prequantized: q == "mxfp4", // MXFP4 is never quantized at load time
	}
}

// Cases are the configs of every quantization f supports on each of archs, at
// tp 1 and tp 8, named <arch>-<quantization>-tp<n>.
func Cases(f *catalogsnap.Framework, archs ...string) []Case {
	var cases []Case
	for _, arch := range archs {
		for _, q := range f.Supports[arch] {
			for _, tp := range []int32{1, 8} {
				cfg := Config(arch, q, tp)
				cfg.Framework, cfg.Version = f.Name, f.DefaultVersion
				cases = append(cases, Case{Name: fmt.Sprintf("%s-%s-tp%d", arch, q, tp), Config: cfg})
			}
		}
	}
	return cases
}

// CheckGoldens compares each case's launch spec with dir/<name>.json; go test
// -update rewrites them.
func CheckGoldens(t *testing.T, dir string, launch Launch, cases []Case) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			spec, err := launch(c.Config)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := launch(c.Config)
			if !sameSpec(spec, again) {
				t.Error("launch is not deterministic")
			}
			got, err := ProtoJSON(spec)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join(dir, c.Name+".json"), got)
		})
	}
}

func sameSpec(a, b *sdk.LaunchSpec) bool {
	ja, _ := ProtoJSON(a)
	jb, _ := ProtoJSON(b)
	return ja == jb
}

// discard drops the compiler's pruned configs; its type parameter is inferred
// from matrix.Compiler.Model's unexported callback type.
func discard[T any](T) {}

// EachGroup calls fn with every server group campaign c compiles to, model by
// model, in the compiler's order.
func EachGroup(s *campaign.Set, c campaign.Campaign, fn func(*matrix.Group)) {
	x := &matrix.Compiler{Set: s}
	for _, model := range s.Select(c).Models {
		x.Model(c, model, fn, discard)
	}
}

// Agree compiles every shipped campaign and checks, for each server group of
// framework name, that launch gives the compiler's argv, image, environment, port
// and readiness path for one config of the group mapped through
// plugins.ServerConfig. It returns the number of groups checked and of distinct
// group keys among them.
func Agree(t *testing.T, name string, launch Launch) (groups, distinct int) {
	t.Helper()
	s := repo(t)
	seen := map[string]bool{}
	failed := 0
	for _, cn := range slices.Sorted(maps.Keys(s.Campaigns)) {
		c := s.Campaigns[cn]
		EachGroup(s, c, func(g *matrix.Group) {
			cfg := &g.Configs[0]
			if cfg.Framework != name {
				return
			}
			groups++
			seen[g.Key] = true
			if err := agree(s, c, cfg, g.Server, launch); err != nil {
				if failed++; failed <= maxReported {
					t.Errorf("campaign %s, group %s: %v", cn, g.Key, err)
				}
			}
		})
	}
	if failed > maxReported {
		t.Errorf("... and %d more groups disagree", failed-maxReported)
	}
	return groups, len(seen)
}

// maxReported is how many disagreeing groups Agree reports in full.
const maxReported = 5

func agree(s *campaign.Set, c campaign.Campaign, cfg *matrix.Config, want matrix.Server, launch Launch) error {
	sc, err := plugins.ServerConfig(s, c, cfg)
	if err != nil {
		return err
	}
	// The adapter's own mapping is what is held to the compiler's, not the
	// compiled launch the host sends along.
	sc.Launch = nil
	spec, err := launch(sc)
	if err != nil {
		return fmt.Errorf("the adapter refuses a config the compiler keeps: %w", err)
	}
	var diffs []string
	if d := cmp.Diff(want.Args, slices.Concat(spec.GetCommand(), spec.GetArgs())); d != "" {
		diffs = append(diffs, "argv (-compiler +adapter):\n"+d)
	}
	if spec.GetImage() != want.Image {
		diffs = append(diffs, fmt.Sprintf("image: compiler %q, adapter %q", want.Image, spec.GetImage()))
	}
	if d := cmp.Diff(want.Env, spec.GetEnv(), cmpEmptyMaps); d != "" {
		diffs = append(diffs, "env (-compiler +adapter):\n"+d)
	}
	if int(spec.GetPort()) != want.Port || spec.GetReadiness().GetPort() != spec.GetPort() {
		diffs = append(diffs, fmt.Sprintf("port: compiler %d, adapter %d (readiness on %d)", want.Port, spec.GetPort(), spec.GetReadiness().GetPort()))
	}
	if spec.GetReadiness().GetPath() != want.ReadinessPath {
		diffs = append(diffs, fmt.Sprintf("readiness path: compiler %q, adapter %q", want.ReadinessPath, spec.GetReadiness().GetPath()))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("compiler and adapter disagree:\n%s", strings.Join(diffs, "\n"))
	}
	return nil
}

// cmpEmptyMaps treats a nil map and an empty one as equal.
var cmpEmptyMaps = cmp.FilterValues(func(a, b map[string]string) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())

// Refusal is a config edit that launch must refuse with an sdk.ErrInvalid error
// containing Want.
type Refusal struct {
	Name string
	Edit func(*sdk.ServerConfig)
	Want string
}

// CommonRefusals are the refusals every catalog adapter shares, for framework
// name with a valid config on hopper.
func CommonRefusals(name string) []Refusal {
	return []Refusal{
		{"empty repo", func(c *sdk.ServerConfig) { c.Repo = "" }, name + ": no model repo to serve"},
		{"tp 0", func(c *sdk.ServerConfig) { c.TensorParallel = 0 }, name + ": tensor_parallel is 0; it must be at least 1"},
		{"tp -2", func(c *sdk.ServerConfig) { c.TensorParallel = -2 }, name + ": tensor_parallel is -2; it must be at least 1"},
		{"fewer GPUs than tp", func(c *sdk.ServerConfig) { c.TensorParallel, c.Gpus = 8, 4 }, "tensor_parallel 8 needs at least as many GPUs, not 4"},
		{"max_model_len 0", func(c *sdk.ServerConfig) { c.MaxModelLen = 0 }, name + ": max_model_len is 0; it must be positive"},
		{"max_model_len -1", func(c *sdk.ServerConfig) { c.MaxModelLen = -1 }, name + ": max_model_len is -1; it must be positive"},
		{"memory fraction over 1", func(c *sdk.ServerConfig) { c.GpuMemoryUtilization = 1.5 }, "gpu_memory_utilization 1.5 is not a fraction in (0, 1]"},
		{"negative batch size", func(c *sdk.ServerConfig) { c.MaxBatchSize = -1 }, "max_batch_size is -1"},
		{"port out of range", func(c *sdk.ServerConfig) { c.Port = 70000 }, "port 70000 is out of range"},
		{"unknown vendor", func(c *sdk.ServerConfig) { c.GpuVendor = "intel" }, `unknown GPU vendor "intel"`},
		{"no GPU arch", func(c *sdk.ServerConfig) { c.GpuArch = "" }, name + ": no GPU architecture given"},
		{"unknown version", func(c *sdk.ServerConfig) { c.Version = "9.9.9" }, name + `: unknown version "9.9.9"; known: `},
		{"unknown arch", func(c *sdk.ServerConfig) { c.GpuArch, c.Gpu = "pascal", "P100" }, name + " does not run bf16 on GPU architecture pascal (P100): it supports "},
		{"unknown quantization", func(c *sdk.ServerConfig) { c.Quantization = "nf4" }, name + " has no nf4 kernels on GPU architecture hopper"},
	}
}

// CheckRefusals checks that launch refuses each edit of base.
func CheckRefusals(t *testing.T, launch Launch, base *sdk.ServerConfig, refusals []Refusal) {
	t.Helper()
	if _, err := launch(base); err != nil {
		t.Fatalf("the base config is refused: %v", err)
	}
	for _, r := range refusals {
		t.Run(r.Name, func(t *testing.T) {
			cfg := proto.CloneOf(base)
			r.Edit(cfg)
			spec, err := launch(cfg)
			switch {
			case err == nil:
				t.Fatalf("launched %v %v; want an error containing %q", spec.GetCommand(), spec.GetArgs(), r.Want)
			case !errors.Is(err, sdk.ErrInvalid):
				t.Errorf("%v does not wrap sdk.ErrInvalid", err)
			case !strings.Contains(err.Error(), r.Want):
				t.Errorf("error %q\ndoes not contain %q", err, r.Want)
			}
		})
	}
}

// CheckAdapter runs what every catalog adapter must pass: its snapshot is its
// catalog entry (go test -update rewrites it), its Info is testdata/info.json,
// its LaunchSpec gives the compiler's command line for every server group of
// every shipped campaign (and there is at least one), and it passes the
// conformance kit in-process. internal/plugins runs the kit against its binary.
func CheckAdapter(t *testing.T, name string, p *catalogsnap.Plugin) {
	t.Run("snapshot", func(t *testing.T) { CheckSnapshot(t, name, "framework.json") })
	if _, err := catalogsnap.Parse(p.Snapshot); err != nil {
		t.Fatalf("the embedded snapshot: %v (go test -update rewrites it)", err)
	}
	t.Run("info", func(t *testing.T) {
		got, err := ProtoJSON(p.Adapter().Meta)
		if err != nil {
			t.Fatal(err)
		}
		golden.Check(t, "testdata/info.json", got)
	})
	t.Run("agrees-with-compiler", func(t *testing.T) {
		n, distinct := Agree(t, name, p.Framework().Launch)
		if n == 0 {
			t.Fatalf("no shipped campaign has a %s server group", name)
		}
		t.Logf("%d server groups (%d distinct) agree with the compiler", n, distinct)
	})
	t.Run("conformance", func(t *testing.T) {
		conformance.Run(t, conformance.Target{Impl: p.Adapter(), Config: Conformance(name)})
	})
}

// Conformance is a config that the shipped plugin of a name can launch, for the
// conformance kit.
func Conformance(name string) *sdk.ServerConfig {
	cfg := Config("hopper", "bf16", 1)
	cfg.Framework = name
	if name == "openai" {
		cfg.ExtraArgs = []string{"llama-server", "-m", "model.gguf", "--port", "8080"}
	}
	return cfg
}

// Prequantized is an FP8 config served from a pre-quantized checkpoint, whose
// config names its own method.
func Prequantized(framework, version string) Case {
	cfg := Config("hopper", "fp8", 1)
	cfg.Framework, cfg.Version, cfg.Prequantized = framework, version, true
	return Case{Name: "hopper-fp8-prequantized", Config: cfg}
}
