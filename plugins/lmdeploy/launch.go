package main

import (
	_ "embed"
	"fmt"
	"strconv"
	"sync"

	"github.com/llmsweep/llmsweep/plugins/sdk/catalogsnap"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// version is the plugin's own version, not LMDeploy's.
const version = "0.1.0"

// snapshot is LMDeploy's entry of catalog/frameworks.cue (go test -update rewrites
// it).
//
//go:embed framework.json
var snapshot []byte

// framework is parsed on first use, so that go test -update can still rewrite a
// snapshot that no longer parses.
var framework = sync.OnceValue(func() *catalogsnap.Framework { return catalogsnap.MustParse(snapshot) })

func adapter() *sdk.Adapter {
	return &sdk.Adapter{Meta: framework().Info(version), Launch: launch, ReadinessPath: framework().ReadinessPath}
}

// quantizationArgs are the arguments of each catalog quantization on TurboMind.
// Source: lmdeploy/cli/utils.py (ArgumentHelper): --dtype {auto, float16, bfloat16}
// ("ignored if the model is a quantized model"), --model-format {hf, awq, gptq,
// fp8}; https://lmdeploy.readthedocs.io/en/latest/quantization/w4a16.html
// (--backend turbomind --model-format awq).
var quantizationArgs = map[string][]string{
	"fp16":      {"--dtype", "float16"},
	"bf16":      {"--dtype", "bfloat16"},
	"int4-awq":  {"--model-format", "awq"},
	"int4-gptq": {"--model-format", "gptq"},
}

// refused are the catalog quantizations TurboMind cannot load, with why.
var refused = map[string]string{
	// LMDeploy's FP8 is an offline `lmdeploy lite` blocked-FP8 checkpoint
	// (docs/en/quantization/blocked_fp8.md), not FP8 quantized at load time.
	"fp8": "TurboMind has no load-time FP8 weight format",
	// SmoothQuant W8A8 runs on the PyTorch engine only (docs/en/quantization/w8a8.md).
	"int8-w8a8": "TurboMind has no INT8 W8A8 weight format (only LMDeploy's PyTorch engine runs it)",
}

// launch maps a config to `lmdeploy serve api_server`, in the compiler's argument
// order (internal/matrix/expand.go, launch) so that both give the same argv.
// Source: lmdeploy/cli/serve.py and lmdeploy/cli/utils.py (`lmdeploy serve
// api_server --help`): the model path is positional; --server-port (default
// 23333), --tp, --session-len, --revision, --cache-max-entry-count (the share of
// GPU memory left after the weights that goes to the KV cache), --quant-policy
// {0, 4, 8} (KV cache bits), --max-batch-size, --backend {pytorch, turbomind}.
func launch(cfg *sdk.ServerConfig) (*sdk.LaunchSpec, error) {
	q := cfg.GetQuantization()
	if why, ok := refused[q]; ok {
		return nil, fmt.Errorf("%w: lmdeploy cannot run %s on %s: %s", sdk.ErrInvalid, q, cfg.GetGpuArch(), why)
	}
	qargs, ok := quantizationArgs[q]
	if !ok {
		return nil, fmt.Errorf("%w: lmdeploy: no launch arguments for quantization %q on %s", sdk.ErrInvalid, q, cfg.GetGpuArch())
	}
	spec, err := framework().Launch(cfg)
	if err != nil {
		return nil, err
	}
	args := []string{cfg.GetRepo(),
		"--server-port", strconv.Itoa(int(spec.Port)),
		"--tp", strconv.Itoa(int(cfg.GetTensorParallel())),
		"--session-len", strconv.Itoa(int(cfg.GetMaxModelLen())),
	}
	if r := catalogsnap.Revision(cfg); r != "" {
		args = append(args, "--revision", r)
	}
	if u := cfg.GetGpuMemoryUtilization(); u > 0 {
		args = append(args, "--cache-max-entry-count", catalogsnap.FormatFloat(u))
	}
	args = append(args, qargs...)
	switch kv := cfg.GetKvBits(); kv {
	case 0, 16:
	case 8, 4:
		args = append(args, "--quant-policy", strconv.Itoa(int(kv)))
	default:
		return nil, fmt.Errorf("%w: lmdeploy: no %d-bit KV cache (16, 8 or 4)", sdk.ErrInvalid, kv)
	}
	if n := cfg.GetMaxBatchSize(); n > 0 {
		args = append(args, "--max-batch-size", strconv.Itoa(int(n)))
	}
	// api_server falls back to the PyTorch engine for a model TurboMind lacks;
	// pinning TurboMind keeps the measured engine fixed (as the catalog's extra_args).
	args = append(args, "--backend", "turbomind")
	spec.Command = []string{"lmdeploy", "serve", "api_server"}
	spec.Args = append(args, cfg.GetExtraArgs()...)
	return spec, nil
}
