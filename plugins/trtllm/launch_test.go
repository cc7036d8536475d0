package main

import (
	"testing"

	"github.com/llmsweep/llmsweep/internal/testing/snaptest"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// options sets what trtllm-serve can take beyond a compiled config's defaults:
// a batch cap, a prompt cap, a port, an image, environment and extra arguments.
func options() snaptest.Case {
	cfg := snaptest.Config("hopper", "bf16", 2)
	cfg.Framework, cfg.Version = "trtllm", "1.0.0"
	cfg.MaxBatchSize = 64
	cfg.MaxInputTokens = 4096
	cfg.Port = 9000
	cfg.Gpus = 4
	cfg.Image = "registry.example.com/trtllm:patched"
	cfg.Env = map[string]string{"TLLM_LOG_LEVEL": "INFO"}
	cfg.ExtraArgs = []string{"--enable_chunked_prefill"}
	return snaptest.Case{Name: "options", Config: cfg}
}

// Every supported quantization at TP 1 and 8 on Hopper (TensorRT-LLM has no
// CDNA3 build), and the options.
func TestAdapter(t *testing.T) { snaptest.CheckAdapter(t, "trtllm", plugin) }

func TestLaunch(t *testing.T) {
	cases := append(snaptest.Cases(plugin.Framework(), "hopper", "cdna3"), options())
	snaptest.CheckGoldens(t, "testdata/launch", plugin.Framework().Launch, cases)
}

// What trtllm-serve's command line cannot express is refused, not dropped.
func TestRefusals(t *testing.T) {
	base := snaptest.Config("hopper", "bf16", 1)
	base.Framework, base.Version = "trtllm", plugin.Framework().DefaultVersion
	refusals := append(snaptest.CommonRefusals("trtllm"),
		snaptest.Refusal{Name: "fp8", Edit: func(c *sdk.ServerConfig) { c.Quantization = "fp8" },
			Want: "trtllm has no fp8 kernels on GPU architecture hopper (H100-SXM5-80GB): there it runs bf16"},
		snaptest.Refusal{Name: "fp16", Edit: func(c *sdk.ServerConfig) { c.Quantization = "fp16" },
			Want: "trtllm has no fp16 kernels on GPU architecture hopper"},
		snaptest.Refusal{Name: "cdna3", Edit: func(c *sdk.ServerConfig) { c.GpuArch, c.Gpu, c.GpuVendor = "cdna3", "MI300X-192GB", "amd" },
			Want: "trtllm does not run bf16 on GPU architecture cdna3 (MI300X-192GB)"},
		snaptest.Refusal{Name: "FP8 KV cache", Edit: func(c *sdk.ServerConfig) { c.KvBits = 8 }, Want: "trtllm: no 8-bit KV cache (16 only)"},
		snaptest.Refusal{Name: "pinned revision", Edit: func(c *sdk.ServerConfig) { c.Revision = "0e9e39f249a16976918f6564b8830bc894c89659" },
			Want: `trtllm: cannot pin revision "0e9e39f249a16976918f6564b8830bc894c89659": its launcher has no revision flag`},
		snaptest.Refusal{Name: "prompt as long as the context", Edit: func(c *sdk.ServerConfig) { c.MaxInputTokens = c.MaxModelLen },
			Want: "trtllm: max_input_tokens 8192 must be at least 1 and below max_model_len 8192 (--max_num_tokens < --max_seq_len)"},
	)
	snaptest.CheckRefusals(t, plugin.Framework().Launch, base, refusals)
}
