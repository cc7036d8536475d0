package hub

import (
	"context"
	"encoding/json"
	"errors"
	goldenfile "github.com/llmsweep/llmsweep/internal/golden"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/testing/hubtest"
)

const llamaSHA = "0e9e39f249a16976918f6564b8830bc894c89659"

// patch returns m with the JSON fields of p merged in at the top level.
func patch(t *testing.T, m campaign.Model, p string) campaign.Model {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	var over map[string]json.RawMessage
	if err := json.Unmarshal([]byte(p), &over); err != nil {
		t.Fatal(err)
	}
	for k, v := range over {
		fields[k] = v
	}
	if b, err = json.Marshal(fields); err != nil {
		t.Fatal(err)
	}
	var out campaign.Model
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestValidateMatches(t *testing.T) {
	tests := []struct {
		model, config, info string
	}{
		{"llama-3.1-8b-instruct", "llama-3.1-8b-instruct.config.json", "llama-3.1-8b-instruct.info.json"},
		{"mixtral-8x7b-instruct-v0.1", "mixtral-8x7b-instruct-v0.1.config.json", ""},
		{"qwen3-30b-a3b", "qwen3-30b-a3b.config.json", ""},
		{"mistral-small-3.1-24b-instruct-2503", "mistral-small-3.1-24b-instruct-2503.config.json", ""},
		{"gemma-3-4b-it", "gemma-3-4b-it.config.json", ""},
		// Frontier models: MLA, MoE with shared experts and dense layers,
		// sliding and chunked attention, FP8 and MXFP4 weights.
		{"deepseek-v3", "deepseek-v3.config.json", ""},
		{"deepseek-r1", "deepseek-r1.config.json", ""},
		{"kimi-k2-instruct", "kimi-k2-instruct.config.json", ""},
		{"llama-3.1-405b-instruct", "llama-3.1-405b-instruct.config.json", ""},
		{"gpt-oss-120b", "gpt-oss-120b.config.json", ""},
		{"gpt-oss-20b", "gpt-oss-20b.config.json", ""},
		{"llama-4-scout-17b-16e-instruct", "llama-4-scout-17b-16e-instruct.config.json", ""},
		{"llama-4-maverick-17b-128e-instruct", "llama-4-maverick-17b-128e-instruct.config.json", ""},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			h := newFakeHub(t)
			m := catalogModel(t, tt.model)
			repo := h.add(t, m, tt.config, tt.info)
			var sleeps []time.Duration
			c := h.client(&sleeps)
			c.Token = h.token

			ms, info, err := c.Validate(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != 0 {
				t.Errorf("Validate found mismatches:\n%s", Report(m.Name, ms))
			}
			if info.ID != m.HF.Repo || info.SHA != repo.SHA || !info.HasFile("config.json") {
				t.Errorf("info = %+v", info)
			}
			if got, want := Report(m.Name, ms), "model "+m.Name+": the catalog matches the Hub\n"; got != want {
				t.Errorf("Report = %q, want %q", got, want)
			}
			// Info at the catalog's revision, then config.json at the commit it resolved to.
			want := []string{
				"/api/models/" + m.HF.Repo + "/revision/main",
				"/" + m.HF.Repo + "/resolve/" + repo.SHA + "/config.json",
			}
			if diff := cmp.Diff(want, h.paths()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if len(sleeps) != 0 {
				t.Errorf("slept %v", sleeps)
			}
		})
	}
}

func TestModelInfo(t *testing.T) {
	h := newFakeHub(t)
	h.add(t, catalogModel(t, "llama-3.1-8b-instruct"), "llama-3.1-8b-instruct.config.json", "llama-3.1-8b-instruct.info.json")
	var sleeps []time.Duration
	info, err := h.client(&sleeps).ModelInfo(context.Background(), "meta-llama/Llama-3.1-8B-Instruct", "main")
	if err != nil {
		t.Fatal(err)
	}
	info.Config = nil
	info.Siblings = info.Siblings[:2]
	want := &Info{
		ID: "meta-llama/Llama-3.1-8B-Instruct", SHA: llamaSHA, Gated: "manual", License: "llama3.1",
		Siblings: []Sibling{{RFilename: ".gitattributes"}, {RFilename: "LICENSE"}},
	}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("ModelInfo (-want +got):\n%s", diff)
	}
	// The info of a gated repo is public: no token was needed.
	if got := h.requests()[0].Auth; got != "" {
		t.Errorf("Authorization = %q, want none", got)
	}
}

func TestDecodeInfo(t *testing.T) {
	tests := []struct {
		in   string
		want *Info
		err  string
	}{
		{in: `{"id":"a/b","sha":"s","gated":false,"private":true}`, want: &Info{ID: "a/b", SHA: "s", Private: true}},
		{in: `{"id":"a/b","gated":"auto","cardData":{"license":["mit","apache-2.0"]}}`, want: &Info{ID: "a/b", Gated: "auto", License: "mit,apache-2.0"}},
		{in: `{"id":"a/b","gated":true,"cardData":null,"config":null}`, want: &Info{ID: "a/b", Gated: "auto"}},
		{in: `{"id":"a/b","gated":1}`, err: `field "gated": want false, "auto" or "manual", got 1`},
		{in: `{"id":"a/b","cardData":{"license":7}}`, err: `field "cardData.license": want a string or a list of strings, got 7`},
		{in: `{"id":"a/b","private":"no"}`, err: `field "private": want bool, got string`},
		{in: `{"sha":"s"}`, err: `field "id" is missing`},
		{in: `<!DOCTYPE html>`, err: `not valid JSON: invalid character '<' looking for beginning of value (at byte 1)`},
	}
	for _, tt := range tests {
		got, err := decodeInfo([]byte(tt.in))
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("decodeInfo(%s) error = %v, want %s", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("decodeInfo(%s): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("decodeInfo(%s) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestDecodeConfig(t *testing.T) {
	tests := []struct {
		name, in string // in: a testdata file, or inline JSON
		want     *Config
	}{
		{
			name: "llama: head_dim is hidden_size/num_attention_heads",
			in:   "llama-3.1-8b-instruct.config.json",
			want: &Config{Architectures: []string{"LlamaForCausalLM"}, NumHiddenLayers: 32, HiddenSize: 4096,
				IntermediateSize: 14336, NumAttentionHeads: 32, NumKeyValueHeads: 8, HeadDim: 128, VocabSize: 128256,
				MaxPositionEmbeddings: 131072, TorchDtype: "bfloat16"},
		},
		{
			name: "mixtral: num_local_experts",
			in:   "mixtral-8x7b-instruct-v0.1.config.json",
			want: &Config{Architectures: []string{"MixtralForCausalLM"}, NumHiddenLayers: 32, HiddenSize: 4096,
				IntermediateSize: 14336, NumAttentionHeads: 32, NumKeyValueHeads: 8, HeadDim: 128, VocabSize: 32000,
				MaxPositionEmbeddings: 32768, TorchDtype: "bfloat16", NumExperts: 8, NumExpertsPerTok: 2},
		},
		{
			name: "qwen3 moe: num_experts and moe_intermediate_size",
			in:   "qwen3-30b-a3b.config.json",
			want: &Config{Architectures: []string{"Qwen3MoeForCausalLM"}, NumHiddenLayers: 48, HiddenSize: 2048,
				IntermediateSize: 6144, MoEIntermediateSize: 768, NumAttentionHeads: 32, NumKeyValueHeads: 4, HeadDim: 128,
				VocabSize: 151936, MaxPositionEmbeddings: 40960, TorchDtype: "bfloat16", NumExperts: 128, NumExpertsPerTok: 8},
		},
		{
			name: "mistral3: text_config",
			in:   "mistral-small-3.1-24b-instruct-2503.config.json",
			want: &Config{Architectures: []string{"Mistral3ForConditionalGeneration"}, NumHiddenLayers: 40, HiddenSize: 5120,
				IntermediateSize: 32768, NumAttentionHeads: 32, NumKeyValueHeads: 8, HeadDim: 128, VocabSize: 131072,
				MaxPositionEmbeddings: 131072, TorchDtype: "bfloat16"},
		},
		{
			name: "gemma3: class defaults are unset",
			in:   "gemma-3-4b-it.config.json",
			want: &Config{Architectures: []string{"Gemma3ForConditionalGeneration"}, NumHiddenLayers: 34, HiddenSize: 2560,
				IntermediateSize: 10240, TorchDtype: "bfloat16", SlidingWindow: 1024,
				Unset: []string{"num_attention_heads", "num_key_value_heads", "head_dim", "vocab_size", "max_position_embeddings"}},
		},
		{
			name: "dtype, null head_dim, n_routed_experts",
			in: `{"architectures":["DeepseekV2ForCausalLM"],"num_hidden_layers":27,"hidden_size":2048,"intermediate_size":10944,
				"moe_intermediate_size":1408,"num_attention_heads":16,"num_key_value_heads":16,"head_dim":null,"vocab_size":102400,
				"max_position_embeddings":163840,"dtype":"torch.bfloat16","n_routed_experts":64,"num_experts_per_tok":6}`,
			want: &Config{Architectures: []string{"DeepseekV2ForCausalLM"}, NumHiddenLayers: 27, HiddenSize: 2048,
				IntermediateSize: 10944, MoEIntermediateSize: 1408, NumAttentionHeads: 16, NumKeyValueHeads: 16, HeadDim: 128,
				VocabSize: 102400, MaxPositionEmbeddings: 163840, TorchDtype: "bfloat16", NumExperts: 64, NumExpertsPerTok: 6},
		},
		{
			name: "deepseek-v3: MLA head_dim, shared experts, FP8 quantization_config",
			in:   "deepseek-v3.config.json",
			want: &Config{Architectures: []string{"DeepseekV3ForCausalLM"}, NumHiddenLayers: 61, HiddenSize: 7168,
				IntermediateSize: 18432, MoEIntermediateSize: 2048, NumAttentionHeads: 128, NumKeyValueHeads: 128,
				HeadDim: 192, VocabSize: 129280, MaxPositionEmbeddings: 163840, TorchDtype: "bfloat16",
				NumExperts: 256, NumExpertsPerTok: 8, NumSharedExperts: 1, FirstKDenseReplace: 3,
				KVLoraRank: 512, QLoraRank: 1536, QKRopeHeadDim: 64, QKNopeHeadDim: 128, VHeadDim: 128, QuantMethod: "fp8"},
		},
		{
			name: "gpt-oss-20b: layer_types, MXFP4, no dtype",
			in:   "gpt-oss-20b.config.json",
			want: &Config{Architectures: []string{"GptOssForCausalLM"}, NumHiddenLayers: 24, HiddenSize: 2880,
				IntermediateSize: 2880, NumAttentionHeads: 64, NumKeyValueHeads: 8, HeadDim: 64, VocabSize: 201088,
				MaxPositionEmbeddings: 131072, NumExperts: 32, NumExpertsPerTok: 4, SlidingWindow: 128,
				LayerTypes: slices.Repeat([]string{"sliding_attention", "full_attention"}, 12), QuantMethod: "mxfp4",
				Unset: []string{"torch_dtype"}},
		},
		{
			name: "llama-4 maverick: text_config, interleaved MoE, chunked attention",
			in:   "llama-4-maverick-17b-128e-instruct.config.json",
			want: &Config{Architectures: []string{"Llama4ForConditionalGeneration"}, NumHiddenLayers: 48, HiddenSize: 5120,
				IntermediateSize: 8192, NumAttentionHeads: 40, NumKeyValueHeads: 8, HeadDim: 128, VocabSize: 202048,
				MaxPositionEmbeddings: 1048576, TorchDtype: "bfloat16", NumExperts: 128, NumExpertsPerTok: 1,
				InterleaveMoELayerStep: 2, IntermediateSizeMLP: 16384, AttentionChunkSize: 8192, NoRopeLayers: []int{}},
		},
		{
			name: "top level wins over text_config",
			in: `{"architectures":["XForConditionalGeneration"],"vocab_size":5,"torch_dtype":"float16",
				"text_config":{"vocab_size":7,"torch_dtype":"float32","num_hidden_layers":2,"hidden_size":64,
				"intermediate_size":128,"num_attention_heads":4,"max_position_embeddings":256,"unknown":{"deep":[1]}}}`,
			want: &Config{Architectures: []string{"XForConditionalGeneration"}, NumHiddenLayers: 2, HiddenSize: 64,
				IntermediateSize: 128, NumAttentionHeads: 4, NumKeyValueHeads: 4, HeadDim: 16, VocabSize: 5,
				MaxPositionEmbeddings: 256, TorchDtype: "float16"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			if strings.HasSuffix(tt.in, ".json") {
				in = readFile(t, tt.in)
			}
			got, err := DecodeConfig(in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DecodeConfig (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckMoE(t *testing.T) {
	qwen := catalogModel(t, "qwen3-30b-a3b")
	cfg, err := DecodeConfig(readFile(t, "qwen3-30b-a3b.config.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The catalog's intermediate_size of an MoE model is moe_intermediate_size.
	if ms := Check(qwen, cfg); len(ms) != 0 {
		t.Errorf("Check: %v", ms)
	}
	dense := patch(t, qwen, `{"moe": null, "intermediate_size": 6144}`)
	want := []Mismatch{
		{Field: "intermediate_size", Catalog: "6144", Hub: "768"},
		{Field: "moe.experts", Catalog: "(none)", Hub: "128"},
	}
	if diff := cmp.Diff(want, Check(dense, cfg)); diff != "" {
		t.Errorf("dense catalog entry (-want +got):\n%s", diff)
	}
	wrong := patch(t, qwen, `{"moe": {"experts": 64, "experts_per_token": 4}, "intermediate_size": 6144}`)
	want = []Mismatch{
		{Field: "intermediate_size", Catalog: "6144", Hub: "768"},
		{Field: "moe.experts", Catalog: "64", Hub: "128"},
		{Field: "moe.experts_per_token", Catalog: "4", Hub: "8"},
	}
	if diff := cmp.Diff(want, Check(wrong, cfg)); diff != "" {
		t.Errorf("wrong experts (-want +got):\n%s", diff)
	}
	mixtral := catalogModel(t, "mixtral-8x7b-instruct-v0.1")
	llama, err := DecodeConfig(readFile(t, "llama-3.1-8b-instruct.config.json"))
	if err != nil {
		t.Fatal(err)
	}
	ms := Check(mixtral, llama)
	if last := ms[len(ms)-1]; last != (Mismatch{Field: "moe.experts", Catalog: "8", Hub: "(none)"}) {
		t.Errorf("MoE catalog entry against a dense config: last mismatch = %+v", last)
	}
	if ms := Check(mixtral, &Config{}); len(ms) != 2 || ms[0].Hub != Unset {
		t.Errorf("empty config: %v", ms)
	}
}

// TestCheckFrontier: a catalog entry with a wrong MLA dimension, expert
// count or local-attention span is caught field by field.
func TestCheckFrontier(t *testing.T) {
	r1 := catalogModel(t, "deepseek-r1")
	cfg, err := DecodeConfig(readFile(t, "deepseek-r1.config.json"))
	if err != nil {
		t.Fatal(err)
	}
	wrong := patch(t, r1, `{"mla": {"kv_lora_rank": 256, "qk_rope_head_dim": 64, "qk_nope_head_dim": 128, "v_head_dim": 128, "q_lora_rank": 1536},
		"moe": {"experts": 160, "experts_per_token": 6, "shared_experts": 2, "dense_layers": 1, "dense_intermediate_size": 12288},
		"native_quantization": null}`)
	want := []Mismatch{
		{Field: "moe.experts", Catalog: "160", Hub: "256"},
		{Field: "moe.experts_per_token", Catalog: "6", Hub: "8"},
		{Field: "moe.shared_experts", Catalog: "2", Hub: "1"},
		{Field: "moe.dense_layers", Catalog: "1", Hub: "3"},
		{Field: "moe.dense_intermediate_size", Catalog: "12288", Hub: "18432"},
		{Field: "mla.kv_lora_rank", Catalog: "256", Hub: "512"},
		{Field: "native_quantization", Catalog: "(none)", Hub: "fp8"},
	}
	if diff := cmp.Diff(want, Check(wrong, cfg)); diff != "" {
		t.Errorf("wrong DeepSeek-R1 entry (-want +got):\n%s", diff)
	}
	// A GQA entry for an MLA config.
	gqa := patch(t, r1, `{"mla": null}`)
	if diff := cmp.Diff([]Mismatch{{Field: "mla.kv_lora_rank", Catalog: "(none)", Hub: "512"}}, Check(gqa, cfg)); diff != "" {
		t.Errorf("entry without mla (-want +got):\n%s", diff)
	}

	oss := catalogModel(t, "gpt-oss-120b")
	ocfg, err := DecodeConfig(readFile(t, "gpt-oss-120b.config.json"))
	if err != nil {
		t.Fatal(err)
	}
	bad := patch(t, oss, `{"local_attention": {"kind": "chunked", "window": 4096, "layers": 36}}`)
	want = []Mismatch{
		{Field: "local_attention.kind", Catalog: "chunked", Hub: "sliding"},
		{Field: "local_attention.window", Catalog: "4096", Hub: "128"},
		{Field: "local_attention.layers", Catalog: "36", Hub: "18"},
	}
	if diff := cmp.Diff(want, Check(bad, ocfg)); diff != "" {
		t.Errorf("wrong gpt-oss local attention (-want +got):\n%s", diff)
	}
	none := patch(t, oss, `{"local_attention": null, "native_quantization": "fp8"}`)
	want = []Mismatch{
		{Field: "local_attention", Catalog: "(none)", Hub: "sliding 128 over 18 layers"},
		{Field: "native_quantization", Catalog: "fp8", Hub: "mxfp4"},
	}
	if diff := cmp.Diff(want, Check(none, ocfg)); diff != "" {
		t.Errorf("gpt-oss without local attention (-want +got):\n%s", diff)
	}

	scout := catalogModel(t, "llama-4-scout-17b-16e-instruct")
	scfg, err := DecodeConfig(readFile(t, "llama-4-scout-17b-16e-instruct.config.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Scout is MoE in every layer; a dense-layer count is wrong.
	dense := patch(t, scout, `{"moe": {"experts": 16, "experts_per_token": 1, "shared_experts": 1, "dense_layers": 24, "dense_intermediate_size": 16384}}`)
	if diff := cmp.Diff([]Mismatch{{Field: "moe.dense_layers", Catalog: "24", Hub: "0"}}, Check(dense, scfg)); diff != "" {
		t.Errorf("scout with dense layers (-want +got):\n%s", diff)
	}
}

func TestValidateMismatchReport(t *testing.T) {
	h := newFakeHub(t)
	llama := catalogModel(t, "llama-3.1-8b-instruct")
	h.add(t, llama, "llama-3.1-8b-instruct.config.json", "llama-3.1-8b-instruct.info.json")
	var sleeps []time.Duration
	c := h.client(&sleeps)
	c.Token = h.token

	m := patch(t, llama, `{
		"name": "llama-3-8b-instruct",
		"hf": {"repo": "meta-llama/Llama-3.1-8B-Instruct", "revision": "main", "gated": false},
		"architecture": "MistralForCausalLM", "layers": 80, "kv_heads": 4, "max_context": 8192,
		"dtype": "float16", "moe": {"experts": 8, "experts_per_token": 2}}`)
	ms, _, err := c.Validate(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	want := []Mismatch{
		{Field: "hf.gated", Catalog: "false", Hub: "true (manual)"},
		{Field: "architecture", Catalog: "MistralForCausalLM", Hub: "LlamaForCausalLM"},
		{Field: "layers", Catalog: "80", Hub: "32"},
		{Field: "kv_heads", Catalog: "4", Hub: "8"},
		{Field: "max_context", Catalog: "8192", Hub: "131072"},
		{Field: "dtype", Catalog: "float16", Hub: "bfloat16"},
		{Field: "moe.experts", Catalog: "8", Hub: "(none)"},
	}
	if diff := cmp.Diff(want, ms); diff != "" {
		t.Errorf("mismatches (-want +got):\n%s", diff)
	}
	golden(t, "mismatch.golden", Report(m.Name, ms))
	golden(t, "mismatch1.golden", Report("llama-3-8b-instruct", ms[4:5]))
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got)
}

func TestGatedNeedsToken(t *testing.T) {
	h := newFakeHub(t)
	m := catalogModel(t, "llama-3.1-8b-instruct")
	h.add(t, m, "llama-3.1-8b-instruct.config.json", "llama-3.1-8b-instruct.info.json")
	var sleeps []time.Duration
	c := h.client(&sleeps)

	_, info, err := c.Validate(context.Background(), m)
	want := "hub: meta-llama/Llama-3.1-8B-Instruct at revision " + llamaSHA + " is gated (401 Unauthorized): " +
		"set HF_TOKEN to a token that has accepted the license at https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct"
	if err == nil || err.Error() != want {
		t.Fatalf("no token: error = %v\nwant %s", err, want)
	}
	var he *Error
	if !errors.Is(err, ErrAccess) || !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
		t.Errorf("no token: error %#v is not ErrAccess with status 401", err)
	}
	if info == nil || info.Gated != "manual" {
		t.Errorf("no token: the public info should come back, got %+v", info)
	}

	c.Token = "hf_other"
	_, _, err = c.Validate(context.Background(), m)
	want = "hub: meta-llama/Llama-3.1-8B-Instruct at revision " + llamaSHA + " is gated (403 Forbidden): " +
		"the token in HF_TOKEN was refused; set HF_TOKEN to a token that has accepted the license at https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct"
	if err == nil || err.Error() != want || !errors.Is(err, ErrAccess) {
		t.Fatalf("refused token: error = %v\nwant %s", err, want)
	}

	c.Token = h.token
	if _, _, err := c.Validate(context.Background(), m); err != nil {
		t.Fatalf("with a token that has access: %v", err)
	}
	reqs := h.requests()
	if got := reqs[len(reqs)-1]; got.Auth != "Bearer hf_test" {
		t.Errorf("Authorization = %q, want the bearer token", got.Auth)
	}
	if len(sleeps) != 0 {
		t.Errorf("401 and 403 are not retried; slept %v", sleeps)
	}
}

func TestPrivateRepo(t *testing.T) {
	h := newFakeHub(t)
	m := catalogModel(t, "llama-3.1-8b-instruct")
	h.add(t, m, "llama-3.1-8b-instruct.config.json", "").Private = true
	var sleeps []time.Duration
	_, err := h.client(&sleeps).ModelInfo(context.Background(), m.HF.Repo, "main")
	want := "hub: meta-llama/Llama-3.1-8B-Instruct at revision main is gated or private (or does not exist) (401 Unauthorized): " +
		"set HF_TOKEN to a token that has accepted the license at https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct"
	if err == nil || err.Error() != want || !errors.Is(err, ErrAccess) {
		t.Errorf("error = %v\nwant %s", err, want)
	}
}

func TestNotFound(t *testing.T) {
	h := newFakeHub(t)
	m := catalogModel(t, "llama-3.1-8b-instruct")
	h.add(t, m, "", "llama-3.1-8b-instruct.info.json")
	var sleeps []time.Duration
	c := h.client(&sleeps)
	c.Token = h.token
	ctx := context.Background()

	_, err := c.ModelInfo(ctx, "meta-llama/Llama-9-8B", "main")
	check := func(what, want string) {
		t.Helper()
		if err == nil || err.Error() != want || !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: error = %v\nwant %s", what, err, want)
		}
	}
	check("missing repo", "hub: repository meta-llama/Llama-9-8B not found (404 Not Found, revision main)")
	_, err = c.ModelInfo(ctx, m.HF.Repo, "v9")
	check("missing revision", "hub: revision v9 not found in meta-llama/Llama-3.1-8B-Instruct (404 Not Found)")
	_, err = c.Config(ctx, m.HF.Repo, "main")
	check("missing file", "hub: meta-llama/Llama-3.1-8B-Instruct has no config.json at revision main (404 Not Found)")
	if len(sleeps) != 0 {
		t.Errorf("404 is not retried; slept %v", sleeps)
	}
}

func TestRevisionIsOneEscapedSegment(t *testing.T) {
	h := newFakeHub(t)
	m := catalogModel(t, "qwen3-30b-a3b")
	h.add(t, m, "qwen3-30b-a3b.config.json", "").Refs = []string{"refs/pr/1"}
	var sleeps []time.Duration
	c := h.client(&sleeps)
	if _, err := c.Config(context.Background(), m.HF.Repo, "refs/pr/1"); err != nil {
		t.Fatal(err)
	}
	if got, want := h.paths()[0], "/Qwen/Qwen3-30B-A3B/resolve/refs%2Fpr%2F1/config.json"; got != want {
		t.Errorf("path = %s, want %s", got, want)
	}
}

func TestRetryAfter429(t *testing.T) {
	h := newFakeHub(t)
	m := catalogModel(t, "qwen3-30b-a3b")
	h.add(t, m, "qwen3-30b-a3b.config.json", "")
	h.Intercept(func(n int, w http.ResponseWriter, r *http.Request) bool {
		switch n {
		case 0:
			w.Header().Set("Retry-After", "7")
			hubtest.Error(w, http.StatusTooManyRequests, "", "rate limited")
		case 1:
			hubtest.Error(w, http.StatusBadGateway, "", "bad gateway")
		default:
			return false
		}
		return true
	})
	var sleeps []time.Duration
	c := h.client(&sleeps)
	info, err := c.ModelInfo(context.Background(), m.HF.Repo, "main")
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != m.HF.Repo {
		t.Errorf("ID = %q", info.ID)
	}
	// Retry-After wins; without one, the second wait is a jittered 2*Backoff.
	if len(sleeps) != 2 || sleeps[0] != 7*time.Second || sleeps[1] < 10*time.Millisecond || sleeps[1] > 20*time.Millisecond {
		t.Errorf("sleeps = %v, want [7s, 10ms..20ms]", sleeps)
	}
	if n := len(h.requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestRetry503GivesUp(t *testing.T) {
	h := newFakeHub(t)
	h.Intercept(func(n int, w http.ResponseWriter, r *http.Request) bool {
		hubtest.Error(w, http.StatusServiceUnavailable, "", "upstream connect error or disconnect/reset before headers")
		return true
	})
	var sleeps []time.Duration
	c := h.client(&sleeps)
	c.Retries = 3
	_, err := c.Config(context.Background(), "Qwen/Qwen3-30B-A3B", "main")
	want := `hub: fetching config.json of Qwen/Qwen3-30B-A3B at revision main failed after 4 attempts: ` +
		`the Hub answered 503 Service Unavailable: "upstream connect error or disconnect/reset before headers"; try again later`
	if err == nil || err.Error() != want || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("error = %v\nwant %s", err, want)
	}
	if n := len(h.requests()); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
	if len(sleeps) != 3 {
		t.Fatalf("sleeps = %v, want 3", sleeps)
	}
	for i, d := range sleeps {
		hi := c.Backoff << i
		if d < hi/2 || d > hi {
			t.Errorf("sleep %d = %v, want within [%v, %v]", i, d, hi/2, hi)
		}
	}

	sleeps = nil
	c.Retries = -1
	if _, err := c.Config(context.Background(), "Qwen/Qwen3-30B-A3B", "main"); !errors.Is(err, ErrUnavailable) || len(sleeps) != 0 {
		t.Errorf("Retries -1: err = %v, sleeps = %v", err, sleeps)
	}
}

func TestRetryConnectionReset(t *testing.T) {
	h := newFakeHub(t)
	m := catalogModel(t, "qwen3-30b-a3b")
	h.add(t, m, "qwen3-30b-a3b.config.json", "")
	h.Intercept(func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n > 0 {
			return false
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		conn.(*net.TCPConn).SetLinger(0) // close with RST
		conn.Close()
		return true
	})
	var sleeps []time.Duration
	if _, err := h.client(&sleeps).Config(context.Background(), m.HF.Repo, "main"); err != nil {
		t.Fatal(err)
	}
	if len(sleeps) != 1 || len(h.requests()) != 2 {
		t.Errorf("sleeps = %v, requests = %d; want one retry", sleeps, len(h.requests()))
	}
}

func TestOtherStatus(t *testing.T) {
	h := newFakeHub(t)
	h.Intercept(func(n int, w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusTeapot)
		w.Write([]byte("<html>\n  <body>" + strings.Repeat("x", 300) + "</body></html>"))
		return true
	})
	var sleeps []time.Duration
	_, err := h.client(&sleeps).ModelInfo(context.Background(), "org/name", "main")
	if !errors.Is(err, ErrStatus) {
		t.Fatalf("error = %v, want ErrStatus", err)
	}
	want := `hub: fetching repo info of org/name at revision main: GET ` + h.URL + `/api/models/org/name/revision/main ` +
		`answered 418 I'm a teapot: "<html> <body>` + strings.Repeat("x", 187) + `..."`
	if err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
	if len(sleeps) != 0 {
		t.Errorf("slept %v", sleeps)
	}
}

func TestMalformedConfig(t *testing.T) {
	llama := readFile(t, "llama-3.1-8b-instruct.config.json")
	tests := []struct {
		name   string
		config []byte
		want   string
	}{
		{"truncated", llama[:430], "not valid JSON: unexpected end of JSON input (at byte 430)"},
		{"layers as a string", []byte(strings.Replace(string(llama), `"num_hidden_layers": 32`, `"num_hidden_layers": "32"`, 1)),
			`field "num_hidden_layers": want an integer, got string "32"`},
		{"fractional", []byte(`{"hidden_size": 4096.5}`), `field "hidden_size": want an integer, got 4096.5`},
		{"zero", []byte(`{"num_attention_heads": 0}`), `field "num_attention_heads": want a positive integer, got 0`},
		{"architectures as a string", []byte(`{"architectures": "LlamaForCausalLM"}`),
			`field "architectures": want a list of strings, got string "LlamaForCausalLM"`},
		{"dtype as a number", []byte(`{"torch_dtype": 16}`), `field "torch_dtype": want a string, got number 16`},
		{"text_config field", []byte(`{"text_config": {"hidden_size": true}}`), `field "text_config.hidden_size": want an integer, got boolean true`},
		{"text_config not an object", []byte(`{"text_config": [1, 2]}`), `field "text_config": want an object, got list [1, 2]`},
		{"not an object", []byte(`["LlamaForCausalLM"]`), `want a JSON object, got array`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHub(t)
			m := catalogModel(t, "llama-3.1-8b-instruct")
			h.add(t, m, "", "").Files["config.json"] = tt.config
			var sleeps []time.Duration
			c := h.client(&sleeps)
			c.Token = h.token
			c.CacheDir = t.TempDir()
			sha := "9f2c1e0d4b3a29180716253443526170819a0b1c"
			for range 2 { // a malformed config.json is never cached
				_, err := c.Config(context.Background(), m.HF.Repo, sha)
				want := "hub: config.json of meta-llama/Llama-3.1-8B-Instruct at revision " + sha + " is malformed: " + tt.want
				if err == nil || err.Error() != want || !errors.Is(err, ErrMalformed) {
					t.Fatalf("error = %v\nwant %s", err, want)
				}
			}
			if n := len(h.requests()); n != 2 {
				t.Errorf("%d requests, want 2", n)
			}
		})
	}
}

func TestCache(t *testing.T) {
	h := newFakeHub(t)
	m := catalogModel(t, "llama-3.1-8b-instruct")
	h.add(t, m, "llama-3.1-8b-instruct.config.json", "llama-3.1-8b-instruct.info.json")
	var sleeps []time.Duration
	c := h.client(&sleeps)
	c.Token = h.token
	c.CacheDir = t.TempDir()
	ctx := context.Background()

	pinned := patch(t, m, `{"hf": {"repo": "meta-llama/Llama-3.1-8B-Instruct", "revision": "`+llamaSHA+`", "gated": true}}`)
	for i := range 2 {
		ms, info, err := c.Validate(ctx, pinned)
		if err != nil || len(ms) != 0 || info.SHA != llamaSHA {
			t.Fatalf("Validate %d: %v %v %+v", i, err, ms, info)
		}
	}
	if n := len(h.requests()); n != 2 {
		t.Errorf("%d requests, want 2: the second Validate is served from the cache", n)
	}
	dir := filepath.Join(c.CacheDir, "meta-llama--Llama-3.1-8B-Instruct", llamaSHA)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"config.json", "info.json"}, names); diff != "" {
		t.Errorf("cache entries, no temp files left (-want +got):\n%s", diff)
	}
	for file, fixture := range map[string]string{"config.json": "llama-3.1-8b-instruct.config.json", "info.json": "llama-3.1-8b-instruct.info.json"} {
		got, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(readFile(t, fixture)) {
			t.Errorf("cached %s differs from what the Hub sent", file)
		}
	}

	// A branch can move: info at main is fetched again, config.json at the
	// commit main resolved to comes from the cache.
	if _, _, err := c.Validate(ctx, m); err != nil {
		t.Fatal(err)
	}
	if got := h.paths()[2:]; !cmp.Equal(got, []string{"/api/models/meta-llama/Llama-3.1-8B-Instruct/revision/main"}) {
		t.Errorf("requests for revision main = %v", got)
	}

	// A corrupt entry is fetched again and replaced.
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Config(ctx, m.HF.Repo, llamaSHA); err != nil {
		t.Fatal(err)
	}
	if n := len(h.requests()); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

func TestContextCancel(t *testing.T) {
	t.Run("between retries", func(t *testing.T) {
		h := newFakeHub(t)
		h.Intercept(func(n int, w http.ResponseWriter, r *http.Request) bool {
			hubtest.Error(w, http.StatusServiceUnavailable, "", "down")
			return true
		})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var sleeps []time.Duration
		c := h.client(&sleeps)
		c.Sleep = func(time.Duration) { cancel() }
		_, err := c.ModelInfo(ctx, "org/name", "main")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want context.Canceled", err)
		}
		if want := "hub: fetching repo info of org/name at revision main: context canceled"; err.Error() != want {
			t.Errorf("error = %v\nwant %s", err, want)
		}
		if n := len(h.requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("in flight", func(t *testing.T) {
		h := newFakeHub(t)
		arrived := make(chan struct{})
		h.Intercept(func(n int, w http.ResponseWriter, r *http.Request) bool {
			close(arrived)
			<-r.Context().Done()
			return true
		})
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-arrived
			cancel()
		}()
		var sleeps []time.Duration
		_, err := h.client(&sleeps).Config(ctx, "org/name", "main")
		if !errors.Is(err, context.Canceled) || len(sleeps) != 0 {
			t.Errorf("error = %v, sleeps = %v; want context.Canceled and no retry", err, sleeps)
		}
	})
	t.Run("default sleep", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		c := &Client{}
		start := time.Now()
		if err := c.sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
			t.Errorf("sleep on a cancelled context = %v after %v", err, time.Since(start))
		}
	})
}

func TestInvalidRepoID(t *testing.T) {
	h := newFakeHub(t)
	var sleeps []time.Duration
	c := h.client(&sleeps)
	for _, repo := range []string{"", "../etc", "a/b/c", "org--x/name", "org/na me", "-org/name"} {
		_, err := c.ModelInfo(context.Background(), repo, "main")
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("ModelInfo(%q) error = %v, want ErrInvalid", repo, err)
		}
	}
	if n := len(h.requests()); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}

func TestBackoff(t *testing.T) {
	c := &Client{}
	for attempt, hi := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		if d := c.backoff(attempt); d < hi/2 || d > hi {
			t.Errorf("backoff(%d) = %v, want within [%v, %v]", attempt, d, hi/2, hi)
		}
	}
	if d := c.backoff(40); d < MaxBackoff/2 || d > MaxBackoff {
		t.Errorf("backoff(40) = %v, want capped at %v", d, MaxBackoff)
	}
	if c.retries() != DefaultRetries || c.base() != DefaultBaseURL {
		t.Errorf("defaults: retries %d, base %s", c.retries(), c.base())
	}

	tests := map[string]time.Duration{
		"":       0,
		"120":    120 * time.Second,
		"-3":     0,
		"soon":   0,
		"999999": maxRetryAfter,
		time.Now().Add(time.Hour).UTC().Format(http.TimeFormat): maxRetryAfter,
	}
	for v, want := range tests {
		if got := retryAfter(http.Header{"Retry-After": {v}}); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
	d := retryAfter(http.Header{"Retry-After": {time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)}})
	if d < 28*time.Second || d > 30*time.Second {
		t.Errorf("retryAfter(date in 30s) = %v", d)
	}
}
