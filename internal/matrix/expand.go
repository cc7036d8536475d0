package matrix

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// Prune reasons, the keys of Summary.Pruned.
const (
	ReasonExcluded     = "excluded"           // a campaign exclusion rule matched
	ReasonUnsupported  = "unsupported"        // the framework has no kernels for the quantization on the GPU
	ReasonNoCheckpoint = "no-checkpoint"      // an offline quantization without pre-quantized weights
	ReasonTP           = "tp-indivisible"     // the GPU count does not divide the attention heads
	ReasonContext      = "context"            // the sequence is longer than the model's context
	ReasonMemory       = "memory"             // weights plus KV cache exceed GPU memory
	ReasonSLO          = "predicted-slo-miss" // skip_predicted_slo_miss and the model predicts a miss
)

// Reasons lists the prune reasons in the order they are checked.
var Reasons = []string{ReasonExcluded, ReasonUnsupported, ReasonNoCheckpoint, ReasonTP, ReasonContext, ReasonMemory, ReasonSLO}

// OverheadGiB is GPU memory per device that is neither weights nor KV cache: the
// CUDA context, activations and graph buffers. vLLM's profiler typically finds
// 1–2 GiB at these model sizes; the fit uses 1.5.
const OverheadGiB = 1.5

// Pruned is one config that cannot run, with why.
type Pruned struct {
	Reason string `json:"reason"`
	Detail string `json:"detail"`
	Config Config `json:"config"`
}

// pruned is a Pruned whose detail is formatted only when it is kept as an example.
type pruned struct {
	reason string
	detail func() string
	config Config
}

// Compiler expands campaigns against a loaded catalog.
type Compiler struct {
	Set *campaign.Set
	// Examples is how many pruned configs per reason Explain keeps.
	Examples int
	// Balance, when set, cuts groups by predicted duration (CutBalanced)
	// instead of by count (Cut). Off by default: it changes batches and the
	// order of configs within a group, hence matrix.jsonl and the manifests.
	Balance *Balance
	// SLOMiss, when set, is asked about every config of a campaign with
	// skip_predicted_slo_miss; a non-empty answer (why) prunes the config with
	// ReasonSLO.
	SLOMiss func(c *Config) string

	workloadDigests map[string]string
}

// point is one benchmark load point of the grid.
type point struct {
	concurrency  int
	rate         float64
	input, outpt int
}

// points returns the grid's load points for a workload, in grid order.
func points(c campaign.Campaign, w campaign.Workload) []point {
	seqs := c.Grid.SequenceLengths
	if len(seqs) == 0 {
		seqs = []campaign.SequenceLength{{}}
	}
	var ps []point
	for _, s := range seqs {
		if w.Arrival.OpenLoop() {
			for _, r := range c.Grid.RequestRates {
				ps = append(ps, point{rate: r, input: s.InputTokens, outpt: s.OutputTokens})
			}
		} else {
			for _, n := range c.Grid.Concurrency {
				ps = append(ps, point{concurrency: n, input: s.InputTokens, outpt: s.OutputTokens})
			}
		}
	}
	return ps
}

// maxTokens is the longest input and output a distribution can draw.
func maxTokens(d campaign.Distribution) int {
	if d.Kind == "fixed" {
		return d.Value
	}
	return d.Max
}

// contextLen is the longest sequence (input + output) a config can send.
func contextLen(w campaign.Workload, p point) int {
	in, out := p.input, p.outpt
	if in == 0 {
		in = maxTokens(w.InputTokens)
	}
	if out == 0 {
		out = maxTokens(w.OutputTokens)
	}
	return in + out
}

// inflight is how many sequences a load point keeps in the KV cache at once: the
// concurrency for a closed loop; for an open loop, one second of arrivals, the
// least a server must hold to keep up with the rate.
func (p point) inflight() int {
	if p.concurrency > 0 {
		return p.concurrency
	}
	return int(math.Ceil(p.rate))
}

// Bytes per weight, and per KV element, by bit width.
func bytesPer(bits int) float64 { return float64(bits) / 8 }

// WeightBytesPer is the storage of one weight in quantization q: its width,
// plus the scales of 4-bit formats: about 3% for AWQ/GPTQ (an FP16 scale and
// a packed zero per group of 128), and one 8-bit E8M0 scale per block of 32
// for MXFP4 (4.25 bits a weight).
func WeightBytesPer(q campaign.Quantization) float64 {
	switch {
	case q.Method == "mxfp4":
		return (4 + 8.0/32) / 8
	case q.WeightBits == 4:
		return bytesPer(4) * 1.03
	}
	return bytesPer(q.WeightBits)
}

// Memory is the GPU memory a config needs, in GiB, split as the fit sees it.
type Memory struct {
	WeightsGiB, KVGiB, OverheadGiB, AvailableGiB float64
}

// Fits reports whether the config fits.
func (m Memory) Fits() bool { return m.WeightsGiB+m.KVGiB+m.OverheadGiB <= m.AvailableGiB }

// MemoryFor computes the fit of one config: weights at the quantization's
// width (WeightBytesPer), plus the KV cache of seqs sequences of ctx tokens,
// against the GPUs' memory times the campaign's memory utilization. A token's
// KV cache is 2 · kv_heads · head_dim elements per layer, or under MLA
// kv_lora_rank + qk_rope_head_dim; local-attention layers keep at most their
// window (campaign.Model.KVBytes).
func MemoryFor(m campaign.Model, h campaign.Hardware, q campaign.Quantization, util float64, ctx, seqs int) Memory {
	return memory(m, h, q, util, ctx, seqs)
}

func memory(m campaign.Model, h campaign.Hardware, q campaign.Quantization, util float64, ctx, seqs int) Memory {
	const gib = 1 << 30
	return Memory{
		WeightsGiB:   m.ParamsB * 1e9 * WeightBytesPer(q) / gib,
		KVGiB:        m.KVBytes(ctx, q.KVBits) * float64(seqs) / gib,
		OverheadGiB:  OverheadGiB * float64(h.Count),
		AvailableGiB: h.GPU.MemoryGiB * float64(h.Count) * util,
	}
}

// Server is a batch group's server launch, as the manifests need it.
type Server struct {
	Image string            `json:"image"`
	Args  []string          `json:"args"`
	Env   map[string]string `json:"env,omitempty"`
	Port  int               `json:"port"`
	// ReadinessPath is polled until the server answers.
	ReadinessPath string `json:"readiness_path"`
}

// serverOf is the server launch of a model's checkpoint (repo at revision) in
// quantization qn on hardware h with framework f at version ver, for sequences
// of up to maxLen tokens. Its command line comes from the framework's launcher
// through package launch, which the catalog adapters use too, so that both
// derive it once; an error is a config the launcher cannot express.
func serverOf(f campaign.Framework, h campaign.Hardware, ver, qn string, q campaign.Quantization, repo, revision string, prequantized bool, maxLen int, util float64, modelArgs []string) (Server, error) {
	image := f.Versions[ver].Image
	if h.GPU.Vendor == "amd" {
		image = f.Versions[ver].ROCmImage
	}
	srv := Server{Image: image, Env: f.Launcher.Env, Port: int(f.Port), ReadinessPath: f.ReadinessPath}
	cfg := &sdk.ServerConfig{
		Repo: repo, Revision: revision, Quantization: qn, Prequantized: prequantized, KvBits: int32(q.KVBits),
		GpuArch: h.GPU.Arch, TensorParallel: int32(h.Count), MaxModelLen: int32(maxLen), GpuMemoryUtilization: util,
		ExtraArgs: modelArgs,
	}
	args, err := f.Launcher.Argv(f.Name, cfg, f.Port)
	if err != nil {
		return srv, errors.New(strings.TrimPrefix(err.Error(), sdk.ErrInvalid.Error()+": "))
	}
	srv.Args = args
	return srv, nil
}

// ServerFor is the server launch of a compiled config, as its group's.
func ServerFor(s *campaign.Set, c campaign.Campaign, cfg *Config) (Server, error) {
	f, ok := s.Frameworks[cfg.Framework]
	if !ok {
		return Server{}, fmt.Errorf("config %s: framework %q is not in the catalog", cfg.Fingerprint, cfg.Framework)
	}
	h, ok := s.Hardware[cfg.Hardware]
	if !ok {
		return Server{}, fmt.Errorf("config %s: hardware %q is not in the catalog", cfg.Fingerprint, cfg.Hardware)
	}
	q, ok := s.Quantizations[cfg.Quantization]
	if !ok {
		return Server{}, fmt.Errorf("config %s: quantization %q is not in the catalog", cfg.Fingerprint, cfg.Quantization)
	}
	m := s.Models[cfg.Model]
	return serverOf(f, h, cfg.Version, cfg.Quantization, q, cfg.Repo, cfg.Revision,
		hasCheckpoint(m, cfg.Quantization), cfg.MaxModelLen, c.Grid.GPUMemoryUtilization, f.Architectures[m.Architecture].Args)
}

// Digest is a short identifier of its parts: the first 16 hex digits of the sha256
// of the parts, each NUL-terminated.
func Digest(parts ...string) string { return digest(parts...) }

func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func (x *Compiler) workloadDigest(name string) string {
	if d, ok := x.workloadDigests[name]; ok {
		return d
	}
	if x.workloadDigests == nil {
		x.workloadDigests = map[string]string{}
	}
	b, _ := json.Marshal(x.Set.Workloads[name]) // struct fields: a fixed order
	d := digest(string(b))
	x.workloadDigests[name] = d
	return d
}

// Group is the configs of one server identity: model, framework version,
// quantization, hardware and parallelism (DESIGN 4).
type Group struct {
	Key     string   `json:"key"`
	Server  Server   `json:"server"`
	Configs []Config `json:"-"`

	// The encoded parts every config of the group shares: the server's, and each
	// workload's (appendServer, appendWorkload).
	server    []byte
	workloads map[string][]byte
}

// Model expands one model of a campaign. It calls keep for every runnable config
// in order, grouped by server identity, and prune for every config that cannot run.
// Fingerprints are set; batches are not (see Batch).
func (x *Compiler) Model(c campaign.Campaign, model string, keep func(*Group), prune func(pruned)) {
	s := x.Set
	m := s.Models[model]
	sel := s.Select(c)
	maxLen := 0
	for _, w := range sel.Workloads {
		for _, p := range points(c, s.Workloads[w]) {
			maxLen = max(maxLen, contextLen(s.Workloads[w], p))
		}
	}
	maxLen = min(maxLen, m.MaxContext)
	var scratch []byte
	for _, hn := range sel.Hardware {
		h := s.Hardware[hn]
		for _, fn := range sel.Frameworks {
			f := s.Frameworks[fn]
			for _, ver := range c.Versions(f) {
				for _, qn := range sel.Quantizations {
					q := s.Quantizations[qn]
					repo, rev := m.HF.Repo, m.HF.Revision
					if ck, ok := m.CheckpointFor(qn); ok {
						repo, rev = ck.Repo, ck.Revision
					}
					support, listed := f.Architectures[m.Architecture]
					srv, launchErr := serverOf(f, h, ver, qn, q, repo, rev, hasCheckpoint(m, qn), maxLen, c.Grid.GPUMemoryUtilization, support.Args)
					image := srv.Image
					envKeys := make([]string, 0, len(f.Launcher.Env))
					for k, v := range f.Launcher.Env {
						envKeys = append(envKeys, k+"="+v)
					}
					sort.Strings(envKeys)
					g := &Group{
						Key:    strings.Join([]string{model, hn, fn, ver, qn, "tp" + strconv.Itoa(h.Count)}, "/"),
						Server: srv,
					}
					sdigest := digest(append(append([]string{image}, srv.Args...), envKeys...)...)
					// Reasons that hold for the whole group.
					reason, detail := "", func() string { return "" }
					switch {
					case !slices.Contains(q.Requires.Archs, h.GPU.Arch) || !slices.Contains(f.Supports[h.GPU.Arch], qn) || image == "":
						reason = ReasonUnsupported
						detail = func() string { return fmt.Sprintf("%s has no %s kernels on %s (%s)", fn, qn, h.GPU.Arch, h.GPU.Model) }
					case listed && !slices.Contains(support.Archs, h.GPU.Arch):
						reason = ReasonUnsupported
						detail = func() string {
							return fmt.Sprintf("%s does not serve %s on %s (%s)", fn, m.Architecture, h.GPU.Arch, support.Source)
						}
					case launchErr != nil:
						reason = ReasonUnsupported
						detail = func() string { return launchErr.Error() }
					case !q.Online && !hasCheckpoint(m, qn):
						reason = ReasonNoCheckpoint
						detail = func() string {
							return fmt.Sprintf("%s needs pre-quantized weights and %s has none in the catalog", qn, model)
						}
					case m.NativeQuantization != "" && !hasCheckpoint(m, qn):
						// The server cannot turn FP8 or MXFP4 weights back into
						// another format at load time.
						reason = ReasonNoCheckpoint
						detail = func() string {
							return fmt.Sprintf("%s's weights are stored in %s; %s needs a checkpoint of its own and the catalog has none", model, m.NativeQuantization, qn)
						}
					case m.AttentionHeads%h.Count != 0:
						reason = ReasonTP
						detail = func() string {
							return fmt.Sprintf("tensor parallelism %d does not divide %d attention heads", h.Count, m.AttentionHeads)
						}
					}
					if reason == "" {
						n := 0
						for _, wn := range sel.Workloads {
							n += len(points(c, s.Workloads[wn]))
						}
						g.Configs = make([]Config, 0, n)
					}
					for _, wn := range sel.Workloads {
						w := s.Workloads[wn]
						excluded := -1
						for i, r := range c.Exclude {
							if r.Matches(model, hn, fn, qn, wn, h.GPU.Arch) {
								excluded = i
								break
							}
						}
						for _, p := range points(c, w) {
							cfg := Config{
								Model: model, Repo: repo, Revision: rev,
								Hardware: hn, GPU: h.GPU.Model, GPUs: h.Count,
								Framework: fn, Version: ver, Image: image,
								Quantization: qn, TP: h.Count, ServerDigest: sdigest,
								Workload: wn, WorkloadDigest: x.workloadDigest(wn),
								Concurrency: p.concurrency, RequestRate: p.rate,
								InputTokens: p.input, OutputTokens: p.outpt, MaxModelLen: maxLen,
							}
							r, d := reason, detail
							if excluded >= 0 {
								r = ReasonExcluded
								d = func() string { return fmt.Sprintf("exclude[%d]: %s", excluded, c.Exclude[excluded].Reason) }
							}
							if r == "" {
								ctx := contextLen(w, p)
								if ctx > m.MaxContext {
									r = ReasonContext
									d = func() string {
										return fmt.Sprintf("sequences of %d tokens exceed the model's context of %d", ctx, m.MaxContext)
									}
								} else if mem := memory(m, h, q, c.Grid.GPUMemoryUtilization, ctx, p.inflight()); !mem.Fits() {
									r = ReasonMemory
									n := p.inflight()
									d = func() string {
										why := fmt.Sprintf("needs %.1f GiB (weights %.1f + KV %.1f for %d × %d tokens + overhead %.1f) of %.1f GiB",
											mem.WeightsGiB+mem.KVGiB+mem.OverheadGiB, mem.WeightsGiB, mem.KVGiB, n, ctx, mem.OverheadGiB, mem.AvailableGiB)
										return why + x.fitsElsewhere(sel.Hardware, hn, m, q, c.Grid.GPUMemoryUtilization, ctx, n)
									}
								}
							}
							if r == "" && c.SkipPredictedSLOMiss && x.SLOMiss != nil {
								if why := x.SLOMiss(&cfg); why != "" {
									r, d = ReasonSLO, func() string { return why }
								}
							}
							if r != "" {
								prune(pruned{reason: r, detail: d, config: cfg})
								continue
							}
							if g.server == nil {
								g.server = cfg.appendServer(nil)
								g.workloads = map[string][]byte{}
							}
							if g.workloads[wn] == nil {
								g.workloads[wn] = cfg.appendWorkload(nil)
							}
							scratch = cfg.fingerprint(scratch[:0], g.server, g.workloads[wn])
							g.Configs = append(g.Configs, cfg)
						}
					}
					if len(g.Configs) > 0 {
						keep(g)
					}
				}
			}
		}
	}
}

func hasCheckpoint(m campaign.Model, q string) bool {
	_, ok := m.CheckpointFor(q)
	return ok
}

// fitsElsewhere names the campaign's other node shapes on which the config
// would fit, so that a memory prune says where to run it instead.
func (x *Compiler) fitsElsewhere(hardware []string, not string, m campaign.Model, q campaign.Quantization, util float64, ctx, n int) string {
	var fit []string
	for _, hn := range hardware {
		if hn == not {
			continue
		}
		if memory(m, x.Set.Hardware[hn], q, util, ctx, n).Fits() {
			fit = append(fit, hn)
		}
	}
	if len(fit) == 0 {
		return ""
	}
	return "; fits " + strings.Join(fit, ", ")
}
