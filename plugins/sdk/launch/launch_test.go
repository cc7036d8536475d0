package launch

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// A launcher in the catalog's JSON, as a catalog entry's is decoded.
const launcherJSON = `{
  "command": ["srv", "serve"],
  "model_flag": "--model",
  "flags": {"port": "--port", "tensor_parallel": "--tp", "max_model_len": "--max-total", "max_input_tokens": "--max-input",
            "revision": "--revision", "kv_cache_dtype": "--kv-dtype", "max_batch_size": "--max-batch", "gpu_memory_util": "--mem"},
  "quantization_args": {"bf16": ["--dtype", "bfloat16"], "fp8": ["--quantize", "fp8"], "int4-awq": []},
  "prequantized_args": {"fp8": []},
  "kv_cache_dtypes": {"8": "fp8_e4m3"},
  "extra_args": ["--quiet"],
  "env": {}
}`

func launcher(t *testing.T) *Launcher {
	t.Helper()
	var l Launcher
	dec := json.NewDecoder(strings.NewReader(launcherJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		t.Fatal(err)
	}
	return &l
}

func base() *sdk.ServerConfig {
	return &sdk.ServerConfig{Repo: "org/m", Revision: "main", Quantization: "bf16", GpuArch: "hopper", TensorParallel: 2,
		MaxModelLen: 4096, GpuMemoryUtilization: 0.9, KvBits: 16}
}

func TestArgv(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*sdk.ServerConfig)
		want string
	}{
		{"defaults", func(*sdk.ServerConfig) {},
			"srv serve --model org/m --port 9000 --tp 2 --max-total 4096 --max-input 4095 --mem 0.9 --dtype bfloat16 --quiet"},
		{"everything", func(c *sdk.ServerConfig) {
			c.Revision, c.MaxInputTokens, c.KvBits, c.MaxBatchSize, c.GpuMemoryUtilization = "abc123", 1000, 8, 64, 0.85
			c.ExtraArgs = []string{"--trace"}
		}, "srv serve --model org/m --port 9000 --tp 2 --max-total 4096 --max-input 1000 --revision abc123 --mem 0.85 --dtype bfloat16 --kv-dtype fp8_e4m3 --max-batch 64 --quiet --trace"},
		{"online fp8", func(c *sdk.ServerConfig) { c.Quantization = "fp8" },
			"srv serve --model org/m --port 9000 --tp 2 --max-total 4096 --max-input 4095 --mem 0.9 --quantize fp8 --quiet"},
		{"pre-quantized fp8 names no method", func(c *sdk.ServerConfig) { c.Quantization, c.Prequantized = "fp8", true },
			"srv serve --model org/m --port 9000 --tp 2 --max-total 4096 --max-input 4095 --mem 0.9 --quiet"},
		{"pre-quantized awq keeps its arguments", func(c *sdk.ServerConfig) { c.Quantization, c.Prequantized = "int4-awq", true },
			"srv serve --model org/m --port 9000 --tp 2 --max-total 4096 --max-input 4095 --mem 0.9 --quiet"},
		{"no memory fraction", func(c *sdk.ServerConfig) { c.GpuMemoryUtilization = 0 },
			"srv serve --model org/m --port 9000 --tp 2 --max-total 4096 --max-input 4095 --dtype bfloat16 --quiet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			tc.edit(cfg)
			got, err := launcher(t).Argv("srv", cfg, 9000)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("got  %s\nwant %s", strings.Join(got, " "), tc.want)
			}
		})
	}
}

func TestArgvRefusals(t *testing.T) {
	bare := &Launcher{Command: []string{"bare"}, Flags: Flags{Port: "--port", TensorParallel: "--tp", MaxModelLen: "--len"},
		QuantizationArgs: map[string][]string{"bf16": nil}, PrequantizedArgs: map[string][]string{"fp8": nil}}
	for _, tc := range []struct {
		name string
		l    *Launcher
		edit func(*sdk.ServerConfig)
		want string
	}{
		{"unknown quantization", nil, func(c *sdk.ServerConfig) { c.Quantization = "nf4" }, `srv: no launch arguments for quantization "nf4" on hopper`},
		{"load-time fp8 it cannot do", bare, func(c *sdk.ServerConfig) { c.Quantization = "fp8" }, "srv: fp8 needs a pre-quantized checkpoint: it is not quantized at load time"},
		{"input not below total", nil, func(c *sdk.ServerConfig) { c.MaxInputTokens = 4096 }, "max_input_tokens 4096 must be at least 1 and below max_model_len 4096 (--max-input < --max-total)"},
		{"negative input", nil, func(c *sdk.ServerConfig) { c.MaxInputTokens = -3 }, "max_input_tokens -3 must be at least 1"},
		{"4-bit KV", nil, func(c *sdk.ServerConfig) { c.KvBits = 4 }, "srv: no 4-bit KV cache (16 or 8)"},
		{"8-bit KV without a flag", bare, func(c *sdk.ServerConfig) { c.KvBits = 8 }, "srv: no 8-bit KV cache (16 only)"},
		{"revision without a flag", bare, func(c *sdk.ServerConfig) { c.Revision = "abc" }, `srv: cannot pin revision "abc": its launcher has no revision flag`},
		{"batch cap without a flag", bare, func(c *sdk.ServerConfig) { c.MaxBatchSize = 8 }, "srv: cannot cap the batch at 8: its launcher has no max batch size flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.l
			if l == nil {
				l = launcher(t)
			}
			cfg := proto.CloneOf(base())
			tc.edit(cfg)
			argv, err := l.Argv("srv", cfg, 9000)
			switch {
			case err == nil:
				t.Fatalf("got %q, want an error containing %q", argv, tc.want)
			case !errors.Is(err, sdk.ErrInvalid):
				t.Errorf("%v does not wrap sdk.ErrInvalid", err)
			case !strings.Contains(err.Error(), tc.want):
				t.Errorf("error %q\ndoes not contain %q", err, tc.want)
			}
		})
	}
}

// Argv never shares its result's backing array with the launcher's command, so
// that a caller appending to it cannot change the next command line.
func TestArgvDoesNotAlias(t *testing.T) {
	l := launcher(t)
	a, _ := l.Argv("srv", base(), 9000)
	a[0] = "changed"
	if b, _ := l.Argv("srv", base(), 9000); b[0] != "srv" {
		t.Errorf("the launcher's command changed to %q", b[0])
	}
}
