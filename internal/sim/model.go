package sim

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// Efficiency is the fraction of a GPU's datasheet peaks that a framework reaches:
// MFU of the dense compute peak, MBU of the HBM bandwidth.
//
// StepMS is a fixed time every engine iteration takes on top (the scheduler,
// sampling, kernel launches: host work the roofline does not see). RequestMS
// is a fixed time every request's first token takes on top, outside the GPU's
// iterations (HTTP, tokenizing, queueing in the front end, a multi-step
// scheduler's wait for its next round).
//
// AdmitSteps is how many decode steps an engine runs before it schedules
// newcomers while a batch runs: TGI waits up to max_waiting_tokens (20),
// vLLM with --num-scheduler-steps n runs n at a time; 0 or 1 is every step.
//
// MaxSeqs and MaxBatchTokens are the framework's scheduler limits (running
// sequences, tokens per iteration) where they differ from vLLM's defaults:
// TensorRT-LLM, for one, batches thousands of sequences in its offline runs.
type Efficiency struct {
	MFU            float64 `json:"mfu"`
	MBU            float64 `json:"mbu"`
	StepMS         float64 `json:"step_ms,omitempty"`
	RequestMS      float64 `json:"request_ms,omitempty"`
	AdmitSteps     int     `json:"admit_steps,omitempty"`
	MaxSeqs        int     `json:"max_seqs,omitempty"`
	MaxBatchTokens int     `json:"max_batch_tokens,omitempty"`
	Source         string  `json:"source,omitempty"`
}

func (e Efficiency) valid() bool {
	return e.MFU > 0 && e.MFU <= 1 && e.MBU > 0 && e.MBU <= 1 && e.StepMS >= 0 && e.RequestMS >= 0 && e.AdmitSteps >= 0 && e.MaxSeqs >= 0 && e.MaxBatchTokens >= 0
}

// admitSteps is the scheduling round of l's engine in decode steps.
func (x *Model) admitSteps(l Load) int {
	if l.AdmitSteps > 0 {
		return l.AdmitSteps
	}
	return x.Eff.AdmitSteps
}

// engineLimits are the scheduler's limits: l's (its framework version's
// defaults), else the efficiency entry's, else vLLM's defaults.
func (x *Model) engineLimits(l Load) (seqs, tokens int) {
	seqs, tokens = MaxSeqs, MaxBatchTokens
	if x.Eff.MaxSeqs > 0 {
		seqs = x.Eff.MaxSeqs
	}
	if x.Eff.MaxBatchTokens > 0 {
		tokens = x.Eff.MaxBatchTokens
	}
	if l.MaxSeqs > 0 {
		seqs = l.MaxSeqs
	}
	if l.MaxBatchTokens > 0 {
		tokens = l.MaxBatchTokens
	}
	return seqs, tokens
}

// VersionLimits are the scheduler limits a framework version sets by
// default on a GPU model where they differ from its efficiency entry's,
// 0 where they do not. vLLM's V1 engine, the default from 0.8, runs up to
// 1024 sequences with an 8192-token budget per iteration on H100 and H200
// and 256 with 2048 elsewhere (vllm-project/vllm pull requests 12369 and
// 16158); V0 ran 256 sequences.
func VersionLimits(framework, version, gpuModel string) (seqs, tokens int) {
	if framework != "vllm" || !atLeast(version, 0, 8) {
		return 0, 0
	}
	g := strings.ToLower(gpuModel)
	if strings.Contains(g, "h100") || strings.Contains(g, "h200") {
		return 1024, 8192
	}
	return 256, 2048
}

// PrefillFirst reports whether a framework version runs prompts in
// iterations of their own, the running sequences waiting, rather than
// mixing prompt chunks into the decode iterations: SGLang (unless
// --enable-mixed-chunk), TGI (a prefill, then the batches concatenated) and
// vLLM's V0 engine (before 0.8, chunked prefill off by default) schedule a
// waiting prompt first; vLLM's V1 engine, TensorRT-LLM's in-flight batching
// and LMDeploy mix them.
func PrefillFirst(framework, version string) bool {
	switch framework {
	case "sglang", "tgi":
		return true
	case "vllm":
		return version != "" && !atLeast(version, 0, 8)
	}
	return false
}

// atLeast reports whether version ("0.11.0", "v0.6.3.dev") is major.minor
// or later; a version it cannot read is not.
func atLeast(version string, major, minor int) bool {
	parts := strings.SplitN(strings.TrimPrefix(strings.TrimSpace(version), "v"), ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// Constants of the model that are assumptions rather than catalog data.
const (
	// groupScaleOverhead is the extra storage of 4-bit group-wise formats: an FP16
	// scale and a packed zero per group of 128 weights, about 3% (as the
	// compiler's memory fit assumes).
	groupScaleOverhead = 1.03
	// dequantOverhead slows the compute-bound part of W4A16 kernels (Marlin,
	// TurboMind): weights are unpacked to FP16 before the tensor-core MMA, which
	// costs about a fifth of the FP16 GEMM's throughput at large batch.
	dequantOverhead = 1.2
	// allReduceLatency is the fixed cost of one small all-reduce (NCCL or a
	// custom one) over NVLink/xGMI; PCIe links take pcieLatency.
	allReduceLatency = 8e-6
	pcieLatency      = 25e-6
	// gemmRampTokens is the step size at which a decode step's GEMMs reach
	// half their MFU; a prompt's reach it at three times that (StepSeconds).
	gemmRampTokens = 64
	// activationBytes is the width of the activations the all-reduces move.
	activationBytes = 2
)

// Model predicts the time of a serving engine's steps for one model on one node
// shape under one quantization. It is immutable and safe for concurrent use.
type Model struct {
	Name     string
	TP       int
	Eff      Efficiency
	Params   float64 // total parameters
	Active   float64 // parameters used per token
	Layers   int
	Hidden   int
	Heads    int
	KVHeads  int
	HeadDim  int
	Vocab    int
	experts  int // 0 for a dense model
	perToken int // experts per token

	// Bytes of all weights (memory) and of what one decode step of one sequence
	// reads: the active layers plus the LM head (the embedding is a gather).
	WeightBytes  float64
	denseBytes   float64 // read every step: attention, norms, LM head, shared
	expertBytes  float64 // all routed experts' weights
	KVBytesToken float64 // K and V of one token over all layers, whole model

	kvBytesTokenGPU float64 // K and V of one token on one GPU
	// attnDim is the width a decode step's attention works in per head: the
	// head_dim, or under MLA's absorbed decode the latent plus half the RoPE
	// key (scores over kv_lora_rank + qk_rope_head_dim, values over
	// kv_lora_rank).
	attnDim float64
	// Uncalibrated names what the model predicts that no published
	// measurement has checked (MLA decode, MXFP4 compute, local attention,
	// expert parallelism); empty when nothing.
	Uncalibrated  string
	peakFLOPS     float64 // one GPU, at the quantization's compute precision
	bandwidth     float64 // one GPU, bytes/s
	linkBytesPerS float64 // one direction of one GPU's link
	linkLatency   float64
	weightOnly    bool // W4A16: dequantization slows large batches

	// MemoryBytes is the GPU memory of the node; Overhead the per-GPU memory
	// that is neither weights nor KV cache.
	MemoryBytes   float64
	OverheadBytes float64
}

// New builds the model of m served on h with quantization q at efficiency e.
// Missing architecture metadata or hardware figures are an error that names
// them.
func New(m campaign.Model, h campaign.Hardware, q campaign.Quantization, e Efficiency) (*Model, error) {
	var missing []string
	need := func(ok bool, name string) {
		if !ok {
			missing = append(missing, name)
		}
	}
	need(m.ParamsB > 0, "params_b")
	need(m.Layers > 0, "layers")
	need(m.HiddenSize > 0, "hidden_size")
	need(m.AttentionHeads > 0, "attention_heads")
	need(m.KVHeads > 0, "kv_heads")
	need(m.HeadDim > 0, "head_dim")
	need(m.VocabSize > 0, "vocab_size")
	if len(missing) > 0 {
		return nil, fmt.Errorf("model %s lacks architecture metadata the performance model needs: %s", m.Name, strings.Join(missing, ", "))
	}
	missing = nil
	need(h.GPU.HBMTBps > 0, "gpu.hbm_tbps")
	need(h.GPU.DenseTFLOPS["fp16"] > 0, "gpu.dense_tflops.fp16")
	need(h.GPU.MemoryGiB > 0, "gpu.memory_gib")
	need(h.Count > 0, "count")
	if h.Count > 1 {
		need(h.Interconnect.GBps > 0, "interconnect.gbps")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("hardware %s lacks figures the performance model needs: %s", h.Name, strings.Join(missing, ", "))
	}
	if q.WeightBits <= 0 {
		return nil, fmt.Errorf("quantization %s has no weight_bits", q.Name)
	}
	if !e.valid() {
		return nil, fmt.Errorf("efficiency mfu %g, mbu %g: both must be in (0, 1], and step_ms %g not negative", e.MFU, e.MBU, e.StepMS)
	}

	x := &Model{
		Name: m.Name, TP: h.Count, Eff: e,
		Params: m.ParamsB * 1e9, Active: m.ActiveParamsB * 1e9,
		Layers: m.Layers, Hidden: m.HiddenSize, Heads: m.AttentionHeads,
		KVHeads: m.KVHeads, HeadDim: m.HeadDim, Vocab: m.VocabSize,
	}
	if x.Active <= 0 || x.Active > x.Params {
		x.Active = x.Params
	}
	if m.MoE != nil && m.MoE.Experts > 1 {
		x.experts, x.perToken = m.MoE.Experts, m.MoE.ExpertsPerToken
	}

	// Quantized formats keep the embedding and the LM head in 16 bits (vLLM,
	// TGI, AWQ/GPTQ checkpoints). What is left is quantized. A model that ties
	// its LM head to its embedding holds one such matrix, not two.
	head := float64(m.VocabSize) * float64(m.HiddenSize)
	tables := 2.0
	if tied(m) {
		tables = 1
	}
	wb := float64(q.WeightBits) / 8
	switch {
	case q.Method == "mxfp4":
		// One E8M0 scale per block of 32 weights: 4.25 bits a weight.
		wb = (4 + 8.0/32) / 8
	case q.WeightBits == 4:
		wb *= groupScaleOverhead
	}
	body := math.Max(x.Params-tables*head, x.Params/2)
	x.WeightBytes = body*wb + (x.Params-body)*2
	// Per step: the active body and the LM head. For MoE, active = dense +
	// experts·k/E, total = dense + experts, which gives both parts.
	activeBody := math.Max(x.Active-tables*head, x.Active/2)
	if x.experts > 0 && x.Active < x.Params {
		frac := float64(x.perToken) / float64(x.experts)
		experts := (x.Params - x.Active) / (1 - frac)
		x.expertBytes = experts * wb
		x.denseBytes = (activeBody-experts*frac)*wb + head*2
	} else {
		x.denseBytes = activeBody*wb + head*2
	}

	kvb := float64(q.KVBits) / 8
	if kvb == 0 {
		kvb = 2
	}
	x.KVBytesToken = float64(m.Layers*m.KVElementsPerToken()) * kvb
	var unchecked []string
	if m.MLA != nil {
		// MLA caches one latent per token with no heads to split: every GPU of
		// the TP group holds and reads it whole (vLLM and SGLang replicate it),
		// and decode attends in the latent space.
		x.kvBytesTokenGPU = x.KVBytesToken
		x.attnDim = float64(m.MLA.KVLoraRank) + float64(m.MLA.QKRopeHeadDim)/2
		unchecked = append(unchecked, "MLA latent-cache decode")
	} else {
		// Tensor parallelism splits KV heads; with fewer KV heads than GPUs they are
		// replicated.
		perGPUHeads := math.Ceil(float64(m.KVHeads) / float64(h.Count))
		x.kvBytesTokenGPU = 2 * float64(m.Layers) * perGPUHeads * float64(m.HeadDim) * kvb
		x.attnDim = float64(m.HeadDim)
	}
	if m.LocalAttention != nil {
		// Local layers read at most their window; the roofline charges them the
		// whole context, an overestimate for long sequences.
		unchecked = append(unchecked, m.LocalAttention.Kind+" attention (charged as full)")
	}
	if x.experts > 0 && m.ParamsB > 200 {
		// Expert parallelism spreads the experts over the GPUs; the weight bytes
		// per GPU are the same as under TP, the all-to-all is not modelled.
		unchecked = append(unchecked, "expert-parallel MoE")
	}

	x.peakFLOPS = h.GPU.DenseTFLOPS["fp16"] * 1e12
	switch q.Method {
	case "fp8":
		if v := h.GPU.DenseTFLOPS["fp8"]; v > 0 {
			x.peakFLOPS = v * 1e12
		}
	case "w8a8":
		if v := h.GPU.DenseTFLOPS["int8"]; v > 0 {
			x.peakFLOPS = v * 1e12
		}
	case "awq", "gptq":
		x.weightOnly = true
	case "mxfp4":
		// Blackwell multiplies FP4 on its tensor cores; elsewhere the kernels
		// dequantize to 16 bits as W4A16 does.
		if v := h.GPU.DenseTFLOPS["fp4"]; v > 0 {
			x.peakFLOPS = v * 1e12
			unchecked = append(unchecked, "FP4 tensor-core compute")
		} else {
			x.weightOnly = true
			unchecked = append(unchecked, "MXFP4 dequantizing kernels")
		}
	}
	x.Uncalibrated = strings.Join(unchecked, ", ")
	x.bandwidth = h.GPU.HBMTBps * 1e12
	// Datasheets quote bidirectional link bandwidth; a ring uses one direction.
	x.linkBytesPerS = h.Interconnect.GBps * 1e9 / 2
	x.linkLatency = allReduceLatency
	if strings.Contains(strings.ToLower(h.Interconnect.Kind), "pcie") {
		x.linkLatency = pcieLatency
	}
	x.MemoryBytes = h.GPU.MemoryGiB * float64(1<<30) * float64(h.Count)
	x.OverheadBytes = 1.5 * float64(1<<30)
	return x, nil
}

// tied guesses whether a model ties its LM head to its embedding (the catalog
// does not say): whether params_b is closer to the layers' parameters plus one
// vocabulary matrix than plus two. The layers' count is the architecture's:
// Q and O (heads·head_dim each), K and V (kv_heads·head_dim each) and a gated
// MLP of three matrices per expert.
func tied(m campaign.Model) bool {
	h := float64(m.HiddenSize)
	attn := h * float64(m.HeadDim) * float64(2*m.AttentionHeads+2*m.KVHeads)
	experts := 1.0
	if m.MoE != nil {
		experts = float64(m.MoE.Experts)
	}
	mlp := 3 * h * float64(m.IntermediateSize) * experts
	layers := float64(m.Layers) * (attn + mlp)
	vocab := float64(m.VocabSize) * h
	p := m.ParamsB * 1e9
	return m.IntermediateSize > 0 && math.Abs(p-(layers+vocab)) < math.Abs(p-(layers+2*vocab))
}

// ErrNoModel is wrapped by errors about unknown catalog entries.
var ErrNoModel = errors.New("not in the catalog")

// Table maps a framework and a GPU architecture to its efficiency.
type Table map[string]map[string]Efficiency

// DefaultEfficiency applies to a (framework, architecture) pair the table lacks.
var DefaultEfficiency = Efficiency{MFU: 0.45, MBU: 0.65, Source: "built-in fallback"}

// For returns the efficiency of framework on arch, or DefaultEfficiency.
func (t Table) For(framework, arch string) Efficiency {
	if e, ok := t[framework][arch]; ok && e.valid() {
		return e
	}
	return DefaultEfficiency
}

// FromConfig builds the model of a compiled config from the set's catalog.
func FromConfig(set *campaign.Set, t Table, model, hardware, framework, quantization string) (*Model, error) {
	m, ok := set.Models[model]
	if !ok {
		return nil, fmt.Errorf("model %s: %w", model, ErrNoModel)
	}
	h, ok := set.Hardware[hardware]
	if !ok {
		return nil, fmt.Errorf("hardware %s: %w", hardware, ErrNoModel)
	}
	q, ok := set.Quantizations[quantization]
	if !ok {
		return nil, fmt.Errorf("quantization %s: %w", quantization, ErrNoModel)
	}
	return New(m, h, q, t.For(framework, h.GPU.Arch))
}

// allReduce is the time of one ring all-reduce of n bytes over the TP group:
// 2(n−1)/n · bytes / bandwidth, plus a latency per call.
func (x *Model) allReduce(bytes float64) float64 {
	if x.TP <= 1 {
		return 0
	}
	n := float64(x.TP)
	return 2*(n-1)/n*bytes/x.linkBytesPerS + x.linkLatency
}

// commSeconds is the tensor-parallel traffic of a step over tokens tokens: two
// all-reduces per layer (after attention and after the MLP) of the hidden
// states.
func (x *Model) commSeconds(tokens int) float64 {
	if x.TP <= 1 {
		return 0
	}
	return 2 * float64(x.Layers) * x.allReduce(float64(tokens)*float64(x.Hidden)*activationBytes)
}

// computeRate is the FLOP/s the whole TP group sustains.
func (x *Model) computeRate() float64 { return x.peakFLOPS * x.Eff.MFU * float64(x.TP) }

// memRate is the bytes/s one GPU sustains.
func (x *Model) memRate() float64 { return x.bandwidth * x.Eff.MBU }

// weightBytesRead is the weight bytes a step over batch sequences reads on one
// GPU. For MoE the routed experts touched grow with the batch: each expert is
// missed by one token with probability 1−k/E.
func (x *Model) weightBytesRead(batch int) float64 {
	b := x.denseBytes
	if x.experts > 0 && x.expertBytes > 0 {
		hit := 1 - math.Pow(1-float64(x.perToken)/float64(x.experts), float64(max(batch, 1)))
		b += x.expertBytes * hit
	}
	return b / float64(x.TP)
}

// PrefillSeconds is the time of prefilling one prompt of tokens tokens alone.
// FLOPs = 2·P_active·L + 2·layers·L²·heads·head_dim (QK^T and AV, halved for
// the causal mask); time = max(FLOPs/(peak·MFU·TP), bytes/(BW·MBU)) plus the
// all-reduces.
func (x *Model) PrefillSeconds(tokens int) float64 {
	return x.StepSeconds(0, 0, tokens, float64(tokens)*float64(tokens))
}

// DecodeStepSeconds is the time of one decode step of batch sequences holding
// kvTokens tokens of KV cache in all: the weights and the KV cache are read
// once (memory-bound), unless the batch's FLOPs take longer.
func (x *Model) DecodeStepSeconds(batch, kvTokens int) float64 {
	return x.StepSeconds(batch, kvTokens, 0, 0)
}

// StepSeconds is one engine iteration that decodes batch sequences (kvTokens of
// context in all) and prefills prefill prompt tokens, whose causal attention
// covers prefillSq = Σ L² over the prompt chunks (chunked prefill mixes both).
func (x *Model) StepSeconds(batch, kvTokens, prefill int, prefillSq float64) float64 {
	tokens := batch + prefill
	if tokens == 0 {
		return 0
	}
	// Two kinds of kernels, each bound by its own roofline: the GEMMs stream
	// the weights, attention streams the KV cache. They run one after the
	// other, so their times add: a large batch's GEMM compute does not hide
	// its attention's KV reads.
	// A GEMM over few tokens fills few tensor-core tiles: its efficiency
	// ramps up with the tokens in the step.
	// A prompt's GEMMs run outside the decode's captured graph and its
	// small-M kernels: their ramp is three times as long.
	ramp := gemmRampTokens * (1 + 2*float64(prefill)/float64(tokens))
	gemm := 2 * x.Active * float64(tokens) / (x.computeRate() * float64(tokens) / (float64(tokens) + ramp))
	if x.weightOnly {
		// Dequantization costs compute; at small batch it hides under the memory
		// time, at large batch it shows.
		gemm *= dequantOverhead
	}
	weights := x.weightBytesRead(tokens) / x.memRate()
	perToken := float64(x.Layers * x.Heads * x.HeadDim)
	decodePerToken := float64(x.Layers*x.Heads) * x.attnDim
	attn := (4*decodePerToken*float64(kvTokens) + 2*perToken*prefillSq) / x.computeRate()
	kv := float64(kvTokens+prefill) * x.kvBytesTokenGPU / x.memRate()
	return math.Max(gemm, weights) + math.Max(attn, kv) + x.commSeconds(tokens) + x.Eff.StepMS/1e3
}

// KVCapacityTokens is how many tokens of KV cache fit in the node's memory at
// utilization util after the weights and the per-GPU overhead; −1 when the
// weights do not fit at all (Load.KVTokens takes it as is).
func (x *Model) KVCapacityTokens(util float64) int {
	free := x.MemoryBytes*util - x.WeightBytes - x.OverheadBytes*float64(x.TP)
	if free < x.KVBytesToken {
		return -1
	}
	return int(free / x.KVBytesToken)
}
