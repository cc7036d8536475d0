package main

import (
	_ "embed"
	"fmt"
	"strconv"
	"sync"

	"github.com/llmsweep/llmsweep/plugins/sdk/catalogsnap"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// version is the plugin's own version, not vLLM's.
const version = "0.1.0"

// snapshot is vLLM's entry of catalog/frameworks.cue (go test -update rewrites it).
//
//go:embed framework.json
var snapshot []byte

// framework is parsed on first use, so that go test -update can still rewrite a
// snapshot that no longer parses.
var framework = sync.OnceValue(func() *catalogsnap.Framework { return catalogsnap.MustParse(snapshot) })

func adapter() *sdk.Adapter {
	return &sdk.Adapter{Meta: framework().Info(version), Launch: launch, ReadinessPath: framework().ReadinessPath}
}

// quantizationArgs are the arguments of each catalog quantization.
// Source: --dtype and --quantization, vllm/engine/arg_utils.py (EngineArgs) and
// https://docs.vllm.ai/en/v0.11.2/features/quantization/; awq_marlin and gptq_marlin
// are accepted through override_quantization_method in
// vllm/model_executor/layers/quantization/awq_marlin.py and gptq_marlin.py.
var quantizationArgs = map[string][]string{
	"fp16": {"--dtype", "float16"},
	"bf16": {"--dtype", "bfloat16"},
	// Dynamic FP8 W8A8, quantized at load time from a 16-bit checkpoint.
	"fp8": {"--quantization", "fp8"},
	// compressed-tensors is detected from the checkpoint's quantization_config.
	"int8-w8a8": nil,
	// Marlin kernels by name, so that a GPU without them fails at launch instead of
	// falling back to the slow AWQ/GPTQ kernels.
	"int4-awq":  {"--quantization", "awq_marlin"},
	"int4-gptq": {"--quantization", "gptq_marlin"},
}

// launch maps a config to `vllm serve`, in the compiler's argument order
// (internal/matrix/expand.go, launch) so that both give the same argv.
// Source: https://docs.vllm.ai/en/v0.11.2/cli/serve.html and vllm/engine/arg_utils.py:
// the model is positional; --port (vllm/entrypoints/openai/cli_args.py, default
// 8000), --tensor-parallel-size, --max-model-len, --revision,
// --gpu-memory-utilization (fraction of total GPU memory), --kv-cache-dtype
// {auto, fp8, fp8_e4m3, fp8_e5m2}, --max-num-seqs.
func launch(cfg *sdk.ServerConfig) (*sdk.LaunchSpec, error) {
	qargs, ok := quantizationArgs[cfg.GetQuantization()]
	if cfg.GetPrequantized() && cfg.GetQuantization() == "fp8" {
		// The checkpoint's config names its FP8 method (fp8 or compressed-tensors),
		// and naming another one is an error: let the server read it.
		qargs = nil
	}
	if !ok {
		return nil, fmt.Errorf("%w: vllm: no launch arguments for quantization %q on %s", sdk.ErrInvalid, cfg.GetQuantization(), cfg.GetGpuArch())
	}
	spec, err := framework().Launch(cfg)
	if err != nil {
		return nil, err
	}
	args := []string{cfg.GetRepo(),
		"--port", strconv.Itoa(int(spec.Port)),
		"--tensor-parallel-size", strconv.Itoa(int(cfg.GetTensorParallel())),
		"--max-model-len", strconv.Itoa(int(cfg.GetMaxModelLen())),
	}
	if r := catalogsnap.Revision(cfg); r != "" {
		args = append(args, "--revision", r)
	}
	if u := cfg.GetGpuMemoryUtilization(); u > 0 {
		args = append(args, "--gpu-memory-utilization", catalogsnap.FormatFloat(u))
	}
	args = append(args, qargs...)
	switch cfg.GetKvBits() {
	case 0, 16:
	case 8:
		args = append(args, "--kv-cache-dtype", "fp8")
	default:
		return nil, fmt.Errorf("%w: vllm: no %d-bit KV cache (16 or 8)", sdk.ErrInvalid, cfg.GetKvBits())
	}
	if n := cfg.GetMaxBatchSize(); n > 0 {
		args = append(args, "--max-num-seqs", strconv.Itoa(int(n)))
	}
	spec.Command = []string{"vllm", "serve"}
	spec.Args = append(args, cfg.GetExtraArgs()...)
	return spec, nil
}
