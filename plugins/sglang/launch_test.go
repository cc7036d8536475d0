package main

import (
	"testing"

	"github.com/llmsweep/llmsweep/internal/testing/snaptest"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// options sets everything a compiled config leaves at its default: a pinned
// revision, an FP8 KV cache, a batch cap, a port, an image, environment and
// extra arguments.
func options() snaptest.Case {
	cfg := snaptest.Config("hopper", "fp8", 2)
	cfg.Framework, cfg.Version = "sglang", "0.5.3.post3"
	cfg.Revision = "0e9e39f249a16976918f6564b8830bc894c89659"
	cfg.KvBits = 8
	cfg.MaxBatchSize = 128
	cfg.Port = 9000
	cfg.Gpus = 4
	cfg.Image = "registry.example.com/sglang:patched"
	cfg.Env = map[string]string{"SGLANG_LOG_LEVEL": "debug"}
	cfg.ExtraArgs = []string{"--enable-torch-compile"}
	return snaptest.Case{Name: "options", Config: cfg}
}

// Every supported quantization at TP 1 and 8 on Hopper and CDNA3, the options,
// and an FP8 checkpoint that names its own method.
func TestAdapter(t *testing.T) { snaptest.CheckAdapter(t, "sglang", plugin) }

func TestLaunch(t *testing.T) {
	cases := append(snaptest.Cases(plugin.Framework(), "hopper", "cdna3"), options(), snaptest.Prequantized("sglang", plugin.Framework().DefaultVersion))
	snaptest.CheckGoldens(t, "testdata/launch", plugin.Framework().Launch, cases)
}

func TestRefusals(t *testing.T) {
	base := snaptest.Config("hopper", "bf16", 1)
	base.Framework, base.Version = "sglang", plugin.Framework().DefaultVersion
	refusals := append(snaptest.CommonRefusals("sglang"),
		snaptest.Refusal{Name: "fp8 on ampere", Edit: func(c *sdk.ServerConfig) {
			c.GpuArch, c.Gpu, c.Quantization = "ampere", "A100-SXM4-80GB", "fp8"
		}, Want: "sglang has no fp8 kernels on GPU architecture ampere (A100-SXM4-80GB): there it runs fp16, bf16, int8-w8a8, int4-awq, int4-gptq"},
		snaptest.Refusal{Name: "awq on cdna3", Edit: func(c *sdk.ServerConfig) {
			c.GpuArch, c.Gpu, c.GpuVendor, c.Quantization = "cdna3", "MI300X-192GB", "amd", "int4-awq"
		}, Want: "sglang has no int4-awq kernels on GPU architecture cdna3 (MI300X-192GB)"},
		snaptest.Refusal{Name: "blackwell", Edit: func(c *sdk.ServerConfig) { c.GpuArch, c.Gpu = "blackwell", "B200-180GB" },
			Want: "sglang does not run bf16 on GPU architecture blackwell (B200-180GB)"},
		snaptest.Refusal{Name: "int4 KV cache", Edit: func(c *sdk.ServerConfig) { c.KvBits = 4 }, Want: "sglang: no 4-bit KV cache (16 or 8)"},
	)
	snaptest.CheckRefusals(t, plugin.Framework().Launch, base, refusals)
}
