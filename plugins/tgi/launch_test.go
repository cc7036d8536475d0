package main

import (
	"testing"

	"github.com/llmsweep/llmsweep/internal/testing/snaptest"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// options sets everything a compiled config leaves at its default.
func options() snaptest.Case {
	cfg := snaptest.Config("hopper", "fp8", 2)
	cfg.Framework, cfg.Version = "tgi", "3.3.4"
	cfg.Revision = "0e9e39f249a16976918f6564b8830bc894c89659"
	cfg.KvBits = 8
	cfg.MaxInputTokens = 4096
	cfg.MaxBatchSize = 256
	cfg.Port = 8080
	cfg.Gpus = 4
	cfg.Image = "registry.example.com/tgi:patched"
	cfg.Env = map[string]string{"LOG_LEVEL": "debug"}
	cfg.ExtraArgs = []string{"--max-waiting-tokens", "10"}
	return snaptest.Case{Name: "options", Config: cfg}
}

func TestAdapter(t *testing.T) { snaptest.CheckAdapter(t, "tgi", plugin) }

func TestLaunch(t *testing.T) {
	cases := append(snaptest.Cases(plugin.Framework(), "hopper", "cdna3"), options(), snaptest.Prequantized("tgi", plugin.Framework().DefaultVersion))
	snaptest.CheckGoldens(t, "testdata/launch", plugin.Framework().Launch, cases)
}

func TestRefusals(t *testing.T) {
	base := snaptest.Config("hopper", "bf16", 1)
	base.Framework, base.Version = "tgi", plugin.Framework().DefaultVersion
	refusals := append(snaptest.CommonRefusals("tgi"),
		snaptest.Refusal{Name: "fp8 on ampere", Edit: func(c *sdk.ServerConfig) {
			c.GpuArch, c.Gpu, c.Quantization = "ampere", "A100-SXM4-80GB", "fp8"
		}, Want: "tgi has no fp8 kernels on GPU architecture ampere (A100-SXM4-80GB): there it runs fp16, bf16, int8-w8a8, int4-awq, int4-gptq"},
		snaptest.Refusal{Name: "awq on cdna3", Edit: func(c *sdk.ServerConfig) {
			c.GpuArch, c.Gpu, c.GpuVendor, c.Quantization = "cdna3", "MI300X-192GB", "amd", "int4-awq"
		}, Want: "tgi has no int4-awq kernels on GPU architecture cdna3 (MI300X-192GB)"},
		snaptest.Refusal{Name: "blackwell", Edit: func(c *sdk.ServerConfig) {
			c.GpuArch, c.Gpu = "blackwell", "B200-180GB"
		}, Want: "tgi does not run bf16 on GPU architecture blackwell (B200-180GB)"},
		snaptest.Refusal{Name: "int4 KV cache", Edit: func(c *sdk.ServerConfig) { c.KvBits = 4 }, Want: "tgi: no 4-bit KV cache (16 or 8)"},
		snaptest.Refusal{Name: "input as long as total", Edit: func(c *sdk.ServerConfig) { c.MaxInputTokens = c.MaxModelLen },
			Want: "tgi: max_input_tokens 8192 must be at least 1 and below max_model_len 8192"},
		snaptest.Refusal{Name: "no room for input", Edit: func(c *sdk.ServerConfig) { c.MaxModelLen = 1 },
			Want: "tgi: max_input_tokens 0 must be at least 1 and below max_model_len 1"},
	)
	snaptest.CheckRefusals(t, plugin.Framework().Launch, base, refusals)
}
