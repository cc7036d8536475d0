package hub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Config holds the config.json fields that llmsweep checks against the
// catalog. A zero value means the field is absent from config.json (Unset
// lists those), except where a documented default applies:
// num_key_value_heads defaults to num_attention_heads and head_dim to
// hidden_size / num_attention_heads. For a multi-modal config, a field absent
// at the top level is taken from text_config.
type Config struct {
	Architectures         []string
	NumHiddenLayers       int
	HiddenSize            int
	IntermediateSize      int
	MoEIntermediateSize   int
	NumAttentionHeads     int
	NumKeyValueHeads      int
	HeadDim               int
	VocabSize             int
	MaxPositionEmbeddings int
	// TorchDtype is torch_dtype, or dtype in newer configs, without any "torch." prefix.
	TorchDtype string
	// NumExperts is num_local_experts (Mixtral), num_experts (Qwen MoE) or
	// n_routed_experts (DeepSeek); 0 for a dense model.
	NumExperts       int
	NumExpertsPerTok int
	// NumSharedExperts is n_shared_experts (DeepSeek, Kimi K2).
	NumSharedExperts int
	// FirstKDenseReplace is DeepSeek's count of leading dense layers;
	// InterleaveMoELayerStep Llama 4's period of MoE layers (1: all MoE) and
	// IntermediateSizeMLP the width of its dense layers.
	FirstKDenseReplace     int
	InterleaveMoELayerStep int
	IntermediateSizeMLP    int
	// Multi-head latent attention (DeepSeek-V2/V3, Kimi K2).
	KVLoraRank    int
	QLoraRank     int
	QKRopeHeadDim int
	QKNopeHeadDim int
	VHeadDim      int
	// Local attention: sliding_window with layer_types (gpt-oss), or Llama 4's
	// attention_chunk_size with no_rope_layers (1 = a RoPE layer, which is the
	// chunked kind).
	SlidingWindow      int
	LayerTypes         []string
	AttentionChunkSize int
	NoRopeLayers       []int
	// QuantMethod is quantization_config.quant_method: the format the weights
	// are stored in ("fp8", "mxfp4"), empty for 16-bit weights.
	QuantMethod string
	// Unset lists the checked keys found neither at the top level nor in
	// text_config (nor derived). Their values are transformers' class
	// defaults, which Check cannot see, so it does not compare them.
	Unset []string
}

// field is one key that Config reads.
type field struct {
	keys []string // alternative spellings, the first one present wins
	// one of: *int (a positive integer), *int with zeroOK, *string, *[]string
	dst    func(*Config) any
	zeroOK bool // 0 is allowed, and means absent (expert counts)
}

var fields = []field{
	{keys: []string{"architectures"}, dst: func(c *Config) any { return &c.Architectures }},
	{keys: []string{"num_hidden_layers"}, dst: func(c *Config) any { return &c.NumHiddenLayers }},
	{keys: []string{"hidden_size"}, dst: func(c *Config) any { return &c.HiddenSize }},
	{keys: []string{"intermediate_size"}, dst: func(c *Config) any { return &c.IntermediateSize }},
	{keys: []string{"moe_intermediate_size"}, dst: func(c *Config) any { return &c.MoEIntermediateSize }, zeroOK: true},
	{keys: []string{"num_attention_heads"}, dst: func(c *Config) any { return &c.NumAttentionHeads }},
	{keys: []string{"num_key_value_heads"}, dst: func(c *Config) any { return &c.NumKeyValueHeads }},
	{keys: []string{"head_dim"}, dst: func(c *Config) any { return &c.HeadDim }},
	{keys: []string{"vocab_size"}, dst: func(c *Config) any { return &c.VocabSize }},
	{keys: []string{"max_position_embeddings"}, dst: func(c *Config) any { return &c.MaxPositionEmbeddings }},
	{keys: []string{"torch_dtype", "dtype"}, dst: func(c *Config) any { return &c.TorchDtype }},
	{keys: []string{"num_local_experts", "num_experts", "n_routed_experts"}, dst: func(c *Config) any { return &c.NumExperts }, zeroOK: true},
	{keys: []string{"num_experts_per_tok"}, dst: func(c *Config) any { return &c.NumExpertsPerTok }, zeroOK: true},
	{keys: []string{"n_shared_experts"}, dst: func(c *Config) any { return &c.NumSharedExperts }, zeroOK: true},
	{keys: []string{"first_k_dense_replace"}, dst: func(c *Config) any { return &c.FirstKDenseReplace }, zeroOK: true},
	{keys: []string{"interleave_moe_layer_step"}, dst: func(c *Config) any { return &c.InterleaveMoELayerStep }, zeroOK: true},
	{keys: []string{"intermediate_size_mlp"}, dst: func(c *Config) any { return &c.IntermediateSizeMLP }, zeroOK: true},
	{keys: []string{"kv_lora_rank"}, dst: func(c *Config) any { return &c.KVLoraRank }, zeroOK: true},
	{keys: []string{"q_lora_rank"}, dst: func(c *Config) any { return &c.QLoraRank }, zeroOK: true},
	{keys: []string{"qk_rope_head_dim"}, dst: func(c *Config) any { return &c.QKRopeHeadDim }, zeroOK: true},
	{keys: []string{"qk_nope_head_dim"}, dst: func(c *Config) any { return &c.QKNopeHeadDim }, zeroOK: true},
	{keys: []string{"v_head_dim"}, dst: func(c *Config) any { return &c.VHeadDim }, zeroOK: true},
	{keys: []string{"sliding_window"}, dst: func(c *Config) any { return &c.SlidingWindow }, zeroOK: true},
	{keys: []string{"layer_types"}, dst: func(c *Config) any { return &c.LayerTypes }, zeroOK: true},
	{keys: []string{"attention_chunk_size"}, dst: func(c *Config) any { return &c.AttentionChunkSize }, zeroOK: true},
	{keys: []string{"no_rope_layers"}, dst: func(c *Config) any { return &c.NoRopeLayers }, zeroOK: true},
}

// architecture keys are absent from models that lack the feature, so they are
// never listed in Unset.
var architectureKeys = map[string]bool{
	"n_shared_experts": true, "first_k_dense_replace": true, "interleave_moe_layer_step": true,
	"intermediate_size_mlp": true, "kv_lora_rank": true, "q_lora_rank": true, "qk_rope_head_dim": true,
	"qk_nope_head_dim": true, "v_head_dim": true, "sliding_window": true, "layer_types": true,
	"attention_chunk_size": true, "no_rope_layers": true,
}

// optional keys are not listed in Unset: dense models lack them.
var optional = map[string]bool{
	"moe_intermediate_size": true, "num_local_experts": true, "num_experts_per_tok": true,
}

// DecodeConfig decodes config.json. Unknown keys are ignored; a known key
// with a value of the wrong type is an error that names it. null counts as absent.
func DecodeConfig(b []byte) (*Config, error) {
	top, err := object(b, "")
	if err != nil {
		return nil, err
	}
	cfg := &Config{}
	if err := cfg.fill(top, ""); err != nil {
		return nil, err
	}
	if raw, ok := top["text_config"]; ok && !isNull(raw) {
		text, err := object(raw, "text_config")
		if err != nil {
			return nil, err
		}
		if err := cfg.fill(text, "text_config."); err != nil {
			return nil, err
		}
	}
	if cfg.NumKeyValueHeads == 0 {
		cfg.NumKeyValueHeads = cfg.NumAttentionHeads
	}
	if raw, ok := top["quantization_config"]; ok && !isNull(raw) {
		q, err := object(raw, "quantization_config")
		if err != nil {
			return nil, err
		}
		if m, ok := q["quant_method"]; ok && !isNull(m) {
			if err := decodeValue(m, &cfg.QuantMethod, false); err != nil {
				return nil, fmt.Errorf("field %q: %v", "quantization_config.quant_method", err)
			}
		}
	}
	// MLA configs have no head_dim: a query/key head is the no-RoPE part
	// plus the RoPE part, not hidden_size / num_attention_heads.
	if cfg.HeadDim == 0 && cfg.KVLoraRank > 0 {
		cfg.HeadDim = cfg.QKNopeHeadDim + cfg.QKRopeHeadDim
	}
	if cfg.HeadDim == 0 && cfg.NumAttentionHeads > 0 {
		cfg.HeadDim = cfg.HiddenSize / cfg.NumAttentionHeads
	}
	cfg.TorchDtype = strings.TrimPrefix(cfg.TorchDtype, "torch.")
	for _, f := range fields {
		if !optional[f.keys[0]] && !architectureKeys[f.keys[0]] && isZero(f.dst(cfg)) {
			cfg.Unset = append(cfg.Unset, f.keys[0])
		}
	}
	return cfg, nil
}

// object decodes a JSON object into its members, naming path on error.
func object(b []byte, path string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		var te *json.UnmarshalTypeError
		if path != "" && errors.As(err, &te) {
			return nil, fmt.Errorf("field %q: want an object, got %s", path, describe(b))
		}
		return nil, jsonError(err)
	}
	if m == nil {
		return nil, fmt.Errorf("want a JSON object, got null")
	}
	return m, nil
}

// fill sets each field of c that is still zero from m.
func (c *Config) fill(m map[string]json.RawMessage, prefix string) error {
	for _, f := range fields {
		dst := f.dst(c)
		if !isZero(dst) {
			continue
		}
		for _, k := range f.keys {
			raw, ok := m[k]
			if !ok || isNull(raw) {
				continue
			}
			if err := decodeValue(raw, dst, f.zeroOK); err != nil {
				return fmt.Errorf("field %q: %v", prefix+k, err)
			}
			break
		}
	}
	return nil
}

func decodeValue(raw json.RawMessage, dst any, zeroOK bool) error {
	switch d := dst.(type) {
	case *int:
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return err
		}
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("want an integer, got %s", describe(raw))
		}
		i, err := n.Int64()
		if err != nil || i > 1<<40 {
			return fmt.Errorf("want an integer, got %s", n)
		}
		if i < 0 || (i == 0 && !zeroOK) {
			return fmt.Errorf("want a positive integer, got %d", i)
		}
		*d = int(i)
	case *string:
		if err := json.Unmarshal(raw, d); err != nil {
			return fmt.Errorf("want a string, got %s", describe(raw))
		}
	case *[]string:
		if err := json.Unmarshal(raw, d); err != nil {
			return fmt.Errorf("want a list of strings, got %s", describe(raw))
		}
	case *[]int:
		if err := json.Unmarshal(raw, d); err != nil {
			return fmt.Errorf("want a list of integers, got %s", describe(raw))
		}
	default:
		panic(fmt.Sprintf("hub: unexpected field type %T", dst))
	}
	return nil
}

func isZero(dst any) bool {
	switch d := dst.(type) {
	case *int:
		return *d == 0
	case *string:
		return *d == ""
	case *[]string:
		return len(*d) == 0
	case *[]int:
		return len(*d) == 0
	}
	return false
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// describe names a JSON value's type and shows it when short: string "32".
func describe(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	kind := "a value"
	if len(raw) > 0 {
		switch raw[0] {
		case '"':
			kind = "string"
		case '{':
			kind = "object"
		case '[':
			kind = "list"
		case 't', 'f':
			kind = "boolean"
		case 'n':
			kind = "null"
		default:
			kind = "number"
		}
	}
	if len(raw) > 40 {
		return kind
	}
	return kind + " " + string(raw)
}

// jsonError rewords encoding/json's errors for people reading a config file.
func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("not valid JSON: %v (at byte %d)", se, se.Offset)
	case errors.As(err, &te):
		if te.Field == "" {
			return fmt.Errorf("want a JSON object, got %s", te.Value)
		}
		return fmt.Errorf("field %q: want %s, got %s", te.Field, te.Type, te.Value)
	}
	return err
}
