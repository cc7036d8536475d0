package sim

import (
	"strings"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// known holds the architecture of well-known models that published benchmarks
// use and the catalog may lack, from each repository's config.json on the
// Hugging Face Hub (https://huggingface.co/<repo>/blob/main/config.json):
// num_hidden_layers, hidden_size, intermediate_size, num_attention_heads,
// num_key_value_heads, vocab_size, max_position_embeddings; head_dim is
// hidden_size / num_attention_heads. Parameter counts are the model cards'.
var known = []campaign.Model{
	arch("llama-2-7b", "meta-llama/Llama-2-7b-hf", 6.74, 0, 32, 4096, 11008, 32, 32, 32000, 4096),
	arch("llama-2-13b", "meta-llama/Llama-2-13b-hf", 13.0, 0, 40, 5120, 13824, 40, 40, 32000, 4096),
	arch("llama-2-70b", "meta-llama/Llama-2-70b-hf", 69.0, 0, 80, 8192, 28672, 64, 8, 32000, 4096),
	arch("llama-3-8b", "meta-llama/Meta-Llama-3-8B", 8.03, 0, 32, 4096, 14336, 32, 8, 128256, 8192),
	arch("llama-3-70b", "meta-llama/Meta-Llama-3-70B", 70.6, 0, 80, 8192, 28672, 64, 8, 128256, 8192),
	arch("llama-3.1-405b", "meta-llama/Llama-3.1-405B", 405.9, 0, 126, 16384, 53248, 128, 8, 128256, 131072),
	arch("mistral-7b", "mistralai/Mistral-7B-v0.1", 7.24, 0, 32, 4096, 14336, 32, 8, 32000, 32768),
	moe(arch("mixtral-8x7b", "mistralai/Mixtral-8x7B-v0.1", 46.7, 12.9, 32, 4096, 14336, 32, 8, 32000, 32768), 8, 2),
	arch("qwen2-7b", "Qwen/Qwen2-7B", 7.62, 0, 28, 3584, 18944, 28, 4, 152064, 32768),
	arch("qwen2-72b", "Qwen/Qwen2-72B", 72.7, 0, 80, 8192, 29568, 64, 8, 152064, 32768),
}

func arch(name, repo string, params, active float64, layers, hidden, inter, heads, kv, vocab, ctx int) campaign.Model {
	m := campaign.Model{Name: name, ParamsB: params, ActiveParamsB: active, Layers: layers, HiddenSize: hidden,
		IntermediateSize: inter, AttentionHeads: heads, KVHeads: kv, HeadDim: hidden / heads, VocabSize: vocab,
		MaxContext: ctx, Dtype: "bfloat16"}
	m.HF.Repo = repo
	if active == 0 {
		m.ActiveParamsB = params
	}
	return m
}

func moe(m campaign.Model, experts, perToken int) campaign.Model {
	m.MoE = &campaign.MoE{Experts: experts, ExpertsPerToken: perToken}
	return m
}

// modelKey reduces a Hub repository to what decides its architecture: the name
// without its owner and without the suffixes of fine-tunes and quantized
// uploads (Llama-2-7b-chat-hf and Llama-2-7b-hf share one).
func modelKey(repo string) string {
	s := strings.ToLower(repo)
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	s = strings.TrimPrefix(s, "meta-")
	for _, suf := range []string{"-hf", "-fp8", "-awq", "-gptq", "-int4", "-int8", "-w8a8", "-instruct", "-chat", "-it", "-v0.1", "-v0.2", "-v0.3"} {
		for strings.HasSuffix(s, suf) {
			s = strings.TrimSuffix(s, suf)
		}
	}
	for _, suf := range []string{"-hf", "-instruct", "-chat", "-v0.1", "-v0.2", "-v0.3"} {
		s = strings.TrimSuffix(s, suf)
	}
	return s
}

// FindModel returns the architecture of a Hub repository: the catalog model
// with that repository (or a pre-quantized checkpoint of it), else one whose
// name reduces to the same key, else a built-in well-known model.
func FindModel(set *campaign.Set, repo string) (campaign.Model, bool) {
	if set != nil {
		for _, m := range set.Models {
			if strings.EqualFold(m.HF.Repo, repo) {
				return m, true
			}
			for _, ck := range m.Checkpoints {
				if strings.EqualFold(ck.Repo, repo) {
					return m, true
				}
			}
		}
	}
	key := modelKey(repo)
	if set != nil {
		var names []string
		for n := range set.Models {
			names = append(names, n)
		}
		// Deterministic: the first catalog name in order.
		best := ""
		for _, n := range names {
			if modelKey(set.Models[n].HF.Repo) == key && (best == "" || n < best) {
				best = n
			}
		}
		if best != "" {
			return set.Models[best], true
		}
	}
	for _, m := range known {
		if modelKey(m.HF.Repo) == key {
			return m, true
		}
	}
	return campaign.Model{}, false
}
