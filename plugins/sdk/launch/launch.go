// Package launch derives a framework server's command line from a declarative
// description of its launcher: which flag takes the port, the tensor
// parallelism, the context length and the memory fraction, and which arguments
// each quantization and KV-cache width need.
//
// It is the one place a command line is derived. llmsweep's compiler writes the
// Argo manifests' server command with it from a catalog entry's launcher
// (catalog/frameworks.cue), and a catalog adapter derives its LaunchSpec with
// it from the snapshot of the same entry that it embeds (package catalogsnap).
// A Launcher's JSON is the catalog's #Framework.launcher.
package launch

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// Launcher is how a framework's server is started.
type Launcher struct {
	// Command starts the server; the model follows it.
	Command []string `json:"command"`
	// ModelFlag precedes the model; empty when the model is positional.
	ModelFlag string `json:"model_flag"`
	// Flags are the framework's names for the parameters llmsweep sets.
	Flags Flags `json:"flags"`
	// QuantizationArgs are the arguments of each catalog quantization. A
	// quantization without an entry cannot be launched from 16-bit weights.
	QuantizationArgs map[string][]string `json:"quantization_args"`
	// PrequantizedArgs replace QuantizationArgs when the model is served from a
	// pre-quantized checkpoint of the quantization, whose config names its own
	// method (naming another one is an error there).
	PrequantizedArgs map[string][]string `json:"prequantized_args,omitempty"`
	// KVCacheDtypes maps a KV-cache width in bits, other than 16, to the value of
	// Flags.KVCacheDtype that selects it.
	KVCacheDtypes map[string]string `json:"kv_cache_dtypes,omitempty"`
	// ExtraArgs are always appended.
	ExtraArgs []string          `json:"extra_args"`
	Env       map[string]string `json:"env"`
}

// Flags are a framework's flag names; an empty one is a parameter the framework
// has no flag for.
type Flags struct {
	Port           string `json:"port"`
	TensorParallel string `json:"tensor_parallel"`
	MaxModelLen    string `json:"max_model_len"`
	// MaxInputTokens caps the prompt, at max_model_len - 1 unless the config
	// says otherwise: for frameworks that need it below their total budget (TGI).
	MaxInputTokens string `json:"max_input_tokens,omitempty"`
	Revision       string `json:"revision,omitempty"`
	// Quantization and Dtype are documentation: QuantizationArgs spell out the
	// arguments, these name the flags they use.
	Quantization  string `json:"quantization,omitempty"`
	KVCacheDtype  string `json:"kv_cache_dtype,omitempty"`
	MaxBatchSize  string `json:"max_batch_size,omitempty"`
	GPUMemoryUtil string `json:"gpu_memory_util,omitempty"`
	Dtype         string `json:"dtype,omitempty"`
}

// Argv is the command line of framework name's server for cfg, listening on
// port: the command, the model, the parameters' flags in a fixed order, the
// quantization's arguments, then the launcher's and the config's extra
// arguments. A config the launcher cannot express (a quantization without
// arguments, a KV-cache width or a batch cap it has no flag for) is an error
// wrapping sdk.ErrInvalid that says so; nothing is dropped silently.
func (l *Launcher) Argv(name string, cfg *sdk.ServerConfig, port int32) ([]string, error) {
	invalid := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", sdk.ErrInvalid, name, fmt.Sprintf(format, a...))
	}
	q := cfg.GetQuantization()
	qargs, ok := l.QuantizationArgs[q]
	if pre, isPre := l.PrequantizedArgs[q]; isPre && cfg.GetPrequantized() {
		qargs, ok = pre, true
	}
	if !ok {
		if _, isPre := l.PrequantizedArgs[q]; isPre {
			return nil, invalid("%s needs a pre-quantized checkpoint: it is not quantized at load time", q)
		}
		return nil, invalid("no launch arguments for quantization %q on %s", q, cfg.GetGpuArch())
	}
	args := slices.Clone(l.Command)
	if l.ModelFlag != "" {
		args = append(args, l.ModelFlag)
	}
	args = append(args, cfg.GetRepo())
	add := func(flag string, v int64) {
		if flag != "" {
			args = append(args, flag, strconv.FormatInt(v, 10))
		}
	}
	maxLen := cfg.GetMaxModelLen()
	add(l.Flags.Port, int64(port))
	add(l.Flags.TensorParallel, int64(cfg.GetTensorParallel()))
	add(l.Flags.MaxModelLen, int64(maxLen))
	if l.Flags.MaxInputTokens != "" {
		input := cfg.GetMaxInputTokens()
		if input == 0 {
			input = maxLen - 1
		}
		if input < 1 || input >= maxLen {
			return nil, invalid("max_input_tokens %d must be at least 1 and below max_model_len %d (%s < %s)",
				input, maxLen, l.Flags.MaxInputTokens, l.Flags.MaxModelLen)
		}
		add(l.Flags.MaxInputTokens, int64(input))
	}
	if r := cfg.GetRevision(); r != "" && r != "main" {
		if l.Flags.Revision == "" {
			return nil, invalid("cannot pin revision %q: its launcher has no revision flag", r)
		}
		args = append(args, l.Flags.Revision, r)
	}
	if u := cfg.GetGpuMemoryUtilization(); u > 0 && l.Flags.GPUMemoryUtil != "" {
		args = append(args, l.Flags.GPUMemoryUtil, FormatFloat(u))
	}
	args = append(args, qargs...)
	switch bits := cfg.GetKvBits(); bits {
	case 0, 16:
	default:
		v, ok := l.KVCacheDtypes[strconv.Itoa(int(bits))]
		if !ok || l.Flags.KVCacheDtype == "" {
			return nil, invalid("no %d-bit KV cache (%s)", bits, kvWidths(l))
		}
		args = append(args, l.Flags.KVCacheDtype, v)
	}
	if n := cfg.GetMaxBatchSize(); n > 0 {
		if l.Flags.MaxBatchSize == "" {
			return nil, invalid("cannot cap the batch at %d: its launcher has no max batch size flag", n)
		}
		add(l.Flags.MaxBatchSize, int64(n))
	}
	args = append(args, l.ExtraArgs...)
	return append(args, cfg.GetExtraArgs()...), nil
}

// kvWidths lists the KV-cache widths the launcher selects, widest first: "16
// only", "16 or 8", "16, 8 or 4".
func kvWidths(l *Launcher) string {
	bits := []int{16}
	if l.Flags.KVCacheDtype != "" {
		for k := range l.KVCacheDtypes {
			if n, err := strconv.Atoi(k); err == nil {
				bits = append(bits, n)
			}
		}
	}
	slices.SortFunc(bits, func(a, b int) int { return b - a })
	ws := make([]string, len(bits))
	for i, b := range bits {
		ws[i] = strconv.Itoa(b)
	}
	if len(ws) == 1 {
		return "16 only"
	}
	return strings.Join(ws[:len(ws)-1], ", ") + " or " + ws[len(ws)-1]
}

// FormatFloat formats a fraction in its shortest exact form, as every command
// line of the compiler does.
func FormatFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
