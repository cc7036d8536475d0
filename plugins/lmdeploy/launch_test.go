package main

import (
	"testing"

	"github.com/llmsweep/llmsweep/internal/testing/snaptest"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// options sets everything a compiled config leaves at its default.
func options() snaptest.Case {
	cfg := snaptest.Config("hopper", "int4-awq", 2)
	cfg.Framework, cfg.Version = "lmdeploy", "0.16.0"
	cfg.Revision = "0e9e39f249a16976918f6564b8830bc894c89659"
	cfg.KvBits = 8
	cfg.MaxBatchSize = 256
	cfg.Port = 8000
	cfg.Gpus = 4
	cfg.Image = "registry.example.com/lmdeploy:patched"
	cfg.Env = map[string]string{"TM_LOG_LEVEL": "INFO"}
	cfg.ExtraArgs = []string{"--enable-prefix-caching"}
	return snaptest.Case{Name: "options", Config: cfg}
}

func TestAdapter(t *testing.T) { snaptest.CheckAdapter(t, "lmdeploy", plugin) }

func TestLaunch(t *testing.T) {
	kv4 := options()
	kv4.Name = "kv-int4"
	kv4.Config.KvBits, kv4.Config.ExtraArgs = 4, nil
	cases := append(snaptest.Cases(plugin.Framework(), "hopper"), options(), kv4)
	snaptest.CheckGoldens(t, "testdata/launch", plugin.Framework().Launch, cases)
}

func TestRefusals(t *testing.T) {
	base := snaptest.Config("hopper", "bf16", 1)
	base.Framework, base.Version = "lmdeploy", plugin.Framework().DefaultVersion
	refusals := append(snaptest.CommonRefusals("lmdeploy"),
		snaptest.Refusal{Name: "fp8", Edit: func(c *sdk.ServerConfig) { c.Quantization = "fp8" },
			Want: "lmdeploy has no fp8 kernels on GPU architecture hopper (H100-SXM5-80GB): there it runs fp16, bf16, int4-awq, int4-gptq"},
		snaptest.Refusal{Name: "int8-w8a8", Edit: func(c *sdk.ServerConfig) { c.Quantization = "int8-w8a8" },
			Want: "lmdeploy has no int8-w8a8 kernels on GPU architecture hopper"},
		snaptest.Refusal{Name: "bf16 on volta", Edit: func(c *sdk.ServerConfig) { c.GpuArch, c.Gpu = "volta", "V100-32GB" },
			Want: "lmdeploy has no bf16 kernels on GPU architecture volta (V100-32GB): there it runs fp16, int4-awq, int4-gptq"},
		snaptest.Refusal{Name: "cdna3", Edit: func(c *sdk.ServerConfig) { c.GpuArch, c.Gpu, c.GpuVendor = "cdna3", "MI300X-192GB", "amd" },
			Want: "lmdeploy does not run bf16 on GPU architecture cdna3 (MI300X-192GB)"},
		snaptest.Refusal{Name: "2-bit KV cache", Edit: func(c *sdk.ServerConfig) { c.KvBits = 2 }, Want: "lmdeploy: no 2-bit KV cache (16, 8 or 4)"},
	)
	snaptest.CheckRefusals(t, plugin.Framework().Launch, base, refusals)
}
