package hub

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// Mismatch is one catalog field whose value differs from the Hub's.
type Mismatch struct {
	Field   string `json:"field"` // the catalog field, e.g. "layers" or "moe.experts"
	Catalog string `json:"catalog"`
	Hub     string `json:"hub"`
}

// Placeholders in Mismatch values.
const (
	Unset = "(unset)" // config.json lacks the field
	None  = "(none)"  // a dense model where the other side is MoE
)

// Check compares the catalog's architecture metadata of m with cfg, in the
// catalog's field order, and returns the fields that differ.
//
// The mapping is the catalog's: layers = num_hidden_layers, attention_heads
// = num_attention_heads, kv_heads = num_key_value_heads, max_context =
// max_position_embeddings, dtype = torch_dtype. For an MoE model the
// catalog's intermediate_size is the per-expert width, so it is compared with
// moe_intermediate_size when the config has one. A numeric field or dtype
// that config.json does not set (see Config.Unset) is not compared; a missing
// architectures list, or an MoE model on one side only, is a mismatch.
func Check(m campaign.Model, cfg *Config) []Mismatch {
	var ms []Mismatch
	add := func(field, catalog, hub string) {
		if catalog != hub {
			ms = append(ms, Mismatch{Field: field, Catalog: catalog, Hub: hub})
		}
	}
	num := func(field string, catalog, hub int) {
		if hub != 0 {
			add(field, strconv.Itoa(catalog), strconv.Itoa(hub))
		}
	}

	arch := Unset
	if len(cfg.Architectures) > 0 {
		arch = cfg.Architectures[0]
	}
	add("architecture", m.Architecture, arch)
	num("layers", m.Layers, cfg.NumHiddenLayers)
	num("hidden_size", m.HiddenSize, cfg.HiddenSize)
	inter := cfg.IntermediateSize
	if (m.MoE != nil || cfg.NumExperts > 0) && cfg.MoEIntermediateSize > 0 {
		inter = cfg.MoEIntermediateSize
	}
	num("intermediate_size", m.IntermediateSize, inter)
	num("attention_heads", m.AttentionHeads, cfg.NumAttentionHeads)
	num("kv_heads", m.KVHeads, cfg.NumKeyValueHeads)
	num("head_dim", m.HeadDim, cfg.HeadDim)
	num("vocab_size", m.VocabSize, cfg.VocabSize)
	num("max_context", m.MaxContext, cfg.MaxPositionEmbeddings)
	if cfg.TorchDtype != "" {
		add("dtype", m.Dtype, cfg.TorchDtype)
	}

	switch {
	case cfg.NumExperts > 0 && m.MoE == nil:
		add("moe.experts", None, strconv.Itoa(cfg.NumExperts))
	case cfg.NumExperts > 0:
		num("moe.experts", m.MoE.Experts, cfg.NumExperts)
		num("moe.experts_per_token", m.MoE.ExpertsPerToken, cfg.NumExpertsPerTok)
	case m.MoE != nil:
		add("moe.experts", strconv.Itoa(m.MoE.Experts), None)
	}
	if m.MoE != nil && cfg.NumExperts > 0 {
		num("moe.shared_experts", m.MoE.SharedExperts, cfg.NumSharedExperts)
		if dense, inter, ok := denseLayers(cfg); ok || m.MoE.DenseLayers > 0 {
			add("moe.dense_layers", strconv.Itoa(m.MoE.DenseLayers), strconv.Itoa(dense))
			if dense > 0 {
				num("moe.dense_intermediate_size", m.MoE.DenseIntermediateSize, inter)
			}
		}
	}

	switch {
	case cfg.KVLoraRank > 0 && m.MLA == nil:
		add("mla.kv_lora_rank", None, strconv.Itoa(cfg.KVLoraRank))
	case cfg.KVLoraRank > 0:
		num("mla.kv_lora_rank", m.MLA.KVLoraRank, cfg.KVLoraRank)
		num("mla.qk_rope_head_dim", m.MLA.QKRopeHeadDim, cfg.QKRopeHeadDim)
		num("mla.qk_nope_head_dim", m.MLA.QKNopeHeadDim, cfg.QKNopeHeadDim)
		num("mla.v_head_dim", m.MLA.VHeadDim, cfg.VHeadDim)
		num("mla.q_lora_rank", m.MLA.QLoraRank, cfg.QLoraRank)
	case m.MLA != nil:
		add("mla.kv_lora_rank", strconv.Itoa(m.MLA.KVLoraRank), None)
	}

	la := m.LocalAttention
	kind, window, layers, ok := localAttention(cfg)
	switch {
	case ok && la == nil:
		add("local_attention", None, fmt.Sprintf("%s %d over %d layers", kind, window, layers))
	case ok:
		add("local_attention.kind", la.Kind, kind)
		num("local_attention.window", la.Window, window)
		num("local_attention.layers", la.Layers, layers)
	case la != nil && la.Kind == "sliding" && cfg.SlidingWindow > 0:
		// A window without layer_types: which layers slide is not in
		// config.json, so only the window is compared.
		num("local_attention.window", la.Window, cfg.SlidingWindow)
	case la != nil:
		add("local_attention", fmt.Sprintf("%s %d over %d layers", la.Kind, la.Window, la.Layers), None)
	}

	if m.NativeQuantization != "" || cfg.QuantMethod != "" {
		add("native_quantization", orNone(m.NativeQuantization), orNone(cfg.QuantMethod))
	}
	return ms
}

func orNone(s string) string {
	if s == "" {
		return None
	}
	return s
}

// denseLayers is how many layers of an MoE config have a dense MLP, and its
// width: DeepSeek's first_k_dense_replace (width intermediate_size), or the
// layers between Llama 4's MoE layers (interleave_moe_layer_step, width
// intermediate_size_mlp). ok is false when the config says neither.
func denseLayers(cfg *Config) (n, inter int, ok bool) {
	switch {
	case cfg.InterleaveMoELayerStep > 0:
		n = cfg.NumHiddenLayers - cfg.NumHiddenLayers/cfg.InterleaveMoELayerStep
		return n, cfg.IntermediateSizeMLP, true
	case cfg.FirstKDenseReplace > 0:
		inter = cfg.IntermediateSize
		return cfg.FirstKDenseReplace, inter, true
	}
	return 0, 0, false
}

// noRopeLayerInterval is transformers' Llama4TextConfig default: every fourth
// layer is a global NoPE layer when no_rope_layers is not spelled out.
const noRopeLayerInterval = 4

// localAttention is the config's local attention: Llama 4's chunked RoPE
// layers, or the sliding_attention entries of layer_types. ok is false when
// neither is there.
func localAttention(cfg *Config) (kind string, window, layers int, ok bool) {
	if cfg.AttentionChunkSize > 0 {
		if len(cfg.NoRopeLayers) > 0 {
			for _, rope := range cfg.NoRopeLayers {
				layers += rope
			}
		} else {
			layers = cfg.NumHiddenLayers - cfg.NumHiddenLayers/noRopeLayerInterval
		}
		return "chunked", cfg.AttentionChunkSize, layers, true
	}
	for _, t := range cfg.LayerTypes {
		if t == "sliding_attention" {
			layers++
		}
	}
	if layers > 0 {
		return "sliding", cfg.SlidingWindow, layers, true
	}
	return "", 0, 0, false
}

// CheckInfo compares what the catalog says about the repo with the Hub's
// repo info: whether it is gated.
func CheckInfo(m campaign.Model, info *Info) []Mismatch {
	if m.HF.Gated == (info.Gated != "") {
		return nil
	}
	hub := "false"
	if info.Gated != "" {
		hub = "true (" + info.Gated + ")"
	}
	return []Mismatch{{Field: "hf.gated", Catalog: strconv.FormatBool(m.HF.Gated), Hub: hub}}
}

// Report renders ms as an aligned table under a one-line summary.
func Report(model string, ms []Mismatch) string {
	if len(ms) == 0 {
		return fmt.Sprintf("model %s: the catalog matches the Hub\n", model)
	}
	var b strings.Builder
	verb := "fields differ"
	if len(ms) == 1 {
		verb = "field differs"
	}
	fmt.Fprintf(&b, "model %s: %d %s between the catalog and the Hub\n", model, len(ms), verb)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  field\tcatalog\thub")
	for _, m := range ms {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", m.Field, m.Catalog, m.Hub)
	}
	tw.Flush()
	return b.String()
}

// Validate is the validate-model step: it fetches the repo info of m at
// m.HF.Revision, then config.json at the commit that revision resolved to
// (so that both describe the same commit even if a branch moves), and
// returns the mismatches of CheckInfo and Check. Mismatches are not an
// error: the caller fails the step when there are any, printing Report.
func (c *Client) Validate(ctx context.Context, m campaign.Model) ([]Mismatch, *Info, error) {
	info, err := c.ModelInfo(ctx, m.HF.Repo, m.HF.Revision)
	if err != nil {
		return nil, nil, err
	}
	rev := m.HF.Revision
	if commitSHA.MatchString(info.SHA) {
		rev = info.SHA
	}
	cfg, err := c.Config(ctx, m.HF.Repo, rev)
	if err != nil {
		return nil, info, err
	}
	return append(CheckInfo(m, info), Check(m, cfg)...), info, nil
}
