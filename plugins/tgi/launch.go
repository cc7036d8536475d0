package main

import (
	_ "embed"
	"fmt"
	"strconv"
	"sync"

	"github.com/llmsweep/llmsweep/plugins/sdk/catalogsnap"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// version is the plugin's own version, not TGI's.
const version = "0.1.0"

// snapshot is TGI's entry of catalog/frameworks.cue (go test -update rewrites it).
//
//go:embed framework.json
var snapshot []byte

// framework is parsed on first use, so that go test -update can still rewrite a
// snapshot that no longer parses.
var framework = sync.OnceValue(func() *catalogsnap.Framework { return catalogsnap.MustParse(snapshot) })

// adapter leaves ServedModel at its default, the repo: TGI serves one model and
// answers to any model name, so the repo is as good as any.
func adapter() *sdk.Adapter {
	return &sdk.Adapter{Meta: framework().Info(version), Launch: launch, ReadinessPath: framework().ReadinessPath}
}

// quantizationArgs are the arguments of each catalog quantization. --dtype
// "cannot be used with --quantize", so each quantization sets one of the two.
// Source: https://huggingface.co/docs/text-generation-inference/reference/launcher
// (--dtype {float16, bfloat16}; --quantize {awq, compressed-tensors, gptq, fp8, ...})
// and .../conceptual/quantization (fp8 is quantized at load time; AWQ and GPTQ
// checkpoints run on Marlin kernels where the GPU has them).
var quantizationArgs = map[string][]string{
	"fp16":      {"--dtype", "float16"},
	"bf16":      {"--dtype", "bfloat16"},
	"fp8":       {"--quantize", "fp8"},
	"int8-w8a8": {"--quantize", "compressed-tensors"},
	"int4-awq":  {"--quantize", "awq"},
	"int4-gptq": {"--quantize", "gptq"},
}

// launch maps a config to text-generation-launcher, in the compiler's argument
// order (internal/matrix/expand.go, launch) so that both give the same argv.
// Source: https://huggingface.co/docs/text-generation-inference/reference/launcher
// (launcher/src/main.rs): --model-id, --port, --num-shard, --max-total-tokens
// (prompt + generated tokens per request), --max-input-tokens (must be below
// --max-total-tokens), --revision, --cuda-memory-fraction (of visible GPU memory),
// --kv-cache-dtype {fp8_e4m3fn, fp8_e5m2} (ROCm: fp8_e4m3fn only),
// --max-batch-size.
func launch(cfg *sdk.ServerConfig) (*sdk.LaunchSpec, error) {
	qargs, ok := quantizationArgs[cfg.GetQuantization()]
	if cfg.GetPrequantized() && cfg.GetQuantization() == "fp8" {
		// The checkpoint's config names its FP8 method (fp8 or compressed-tensors),
		// and naming another one is an error: let the server read it.
		qargs = nil
	}
	if !ok {
		return nil, fmt.Errorf("%w: tgi: no launch arguments for quantization %q on %s", sdk.ErrInvalid, cfg.GetQuantization(), cfg.GetGpuArch())
	}
	spec, err := framework().Launch(cfg)
	if err != nil {
		return nil, err
	}
	total := cfg.GetMaxModelLen()
	input := cfg.GetMaxInputTokens()
	if input == 0 {
		input = total - 1
	}
	if input < 1 || input >= total {
		return nil, fmt.Errorf("%w: tgi: max_input_tokens %d must be at least 1 and below max_model_len %d (TGI's --max-total-tokens)", sdk.ErrInvalid, input, total)
	}
	args := []string{"--model-id", cfg.GetRepo(),
		"--port", strconv.Itoa(int(spec.Port)),
		"--num-shard", strconv.Itoa(int(cfg.GetTensorParallel())),
		"--max-total-tokens", strconv.Itoa(int(total)),
		"--max-input-tokens", strconv.Itoa(int(input)),
	}
	if r := catalogsnap.Revision(cfg); r != "" {
		args = append(args, "--revision", r)
	}
	if u := cfg.GetGpuMemoryUtilization(); u > 0 {
		args = append(args, "--cuda-memory-fraction", catalogsnap.FormatFloat(u))
	}
	args = append(args, qargs...)
	switch cfg.GetKvBits() {
	case 0, 16:
	case 8:
		// E4M3 is the one FP8 KV format that both CUDA and ROCm builds accept.
		args = append(args, "--kv-cache-dtype", "fp8_e4m3fn")
	default:
		return nil, fmt.Errorf("%w: tgi: no %d-bit KV cache (16 or 8)", sdk.ErrInvalid, cfg.GetKvBits())
	}
	if n := cfg.GetMaxBatchSize(); n > 0 {
		args = append(args, "--max-batch-size", strconv.Itoa(int(n)))
	}
	spec.Command = []string{"text-generation-launcher"}
	spec.Args = append(args, cfg.GetExtraArgs()...)
	return spec, nil
}
