// Package benchfmt reads and writes other benchmark tools' result files, so
// that their runs can be compared with ours and ours fed to their tooling:
//
//   - vLLM's `vllm bench serve --save-result` JSON (formerly
//     benchmarks/benchmark_serving.py), with the per-request arrays that
//     --save-detailed adds, and several results in one file (--append-result);
//   - GenAI-Perf's profile_export_genai_perf.json.
//
// Fields map one to one and keep the source's definitions: a figure is taken
// as the source computed it, never recomputed, and Imported.Notes says where
// the source's definition differs from ours (DESIGN 9, internal/metrics).
// Summary fields the source does not carry stay zero and are listed in
// Imported.Missing.
//
// Where the definitions stand, from the tools' source:
//
//	                vLLM bench serve                      GenAI-Perf                        ours
//	TTFT            first chunk with choices, even empty  first response with content       first content chunk
//	E2E             last chunk with choices               last response with content        last content chunk
//	TPOT            per request (E2E−TTFT)/(out−1), mean  "inter_token_latency", same       same
//	ITL             gaps between chunks, pooled           not exported                      same as vLLM's
//	output tokens   server usage, else re-tokenized text  client tokenizer over the text    server usage, else chunks
//	duration        before first send → after last return first send → last response        first send → last completion
//	req throughput  completed / duration                  all requests sent / duration      succeeded / duration
//	std, pct        numpy: population std, linear pct     same                              same
//
// vLLM: vllm/benchmarks/serve.py (calculate_metrics, benchmark, main_async) and
// vllm/benchmarks/lib/endpoint_request_func.py. GenAI-Perf:
// genai-perf/genai_perf/profile_data_parser/llm_profile_data_parser.py,
// genai_perf/metrics/statistics.py and genai_perf/export_data/json_exporter.py
// in triton-inference-server/perf_analyzer.
package benchfmt

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/llmsweep/llmsweep/internal/metrics"
)

// Format is a result file format.
type Format string

const (
	// VLLM is `vllm bench serve --save-result` (and benchmark_serving.py).
	VLLM Format = "vllm-bench-serve"
	// GenAIPerf is GenAI-Perf's profile_export_genai_perf.json.
	GenAIPerf Format = "genai-perf"
)

// Meta describes the run a result came from, as far as the file says.
type Meta struct {
	Tool      string // "vllm bench serve" or "genai-perf"
	Model     string // vLLM model_id; GenAI-Perf's first model name
	Tokenizer string
	// Backend is vLLM's --backend (openai, openai-chat, vllm, ...) or
	// GenAI-Perf's service kind (openai, triton, ...).
	Backend string
	// Endpoint is GenAI-Perf's endpoint type (chat, completions, kserve, ...).
	Endpoint string
	Label    string // vLLM --label
	// Date is as written (vLLM: local wall clock, "%Y%m%d-%H%M%S"); Time is
	// it parsed, in UTC for want of the zone, or zero.
	Date string
	Time time.Time
	// RequestRate is the offered load in requests/s: +Inf for vLLM's "inf"
	// (all at once), 0 where the file gives none (closed loop).
	RequestRate float64
	Burstiness  float64 // vLLM's gamma shape; 1 is Poisson
	// Concurrency is vLLM's --max-concurrency cap or GenAI-Perf's fixed
	// concurrency; 0 for none.
	Concurrency int
	NumPrompts  int
	// Labels holds the source's other string fields: vLLM's --metadata
	// KEY=VALUE pairs land at the top level of its file.
	Labels map[string]string
}

// Request is one request's values, from vLLM's per-request arrays (times
// converted from its seconds to milliseconds). A field whose array the file
// lacks is zero; Imported.RequestArrays lists those present.
type Request struct {
	InputTokens  int64     // input_lens: server's prompt_tokens, else the dataset's count
	OutputTokens int64     // output_lens: 0 for a failed request
	TTFTms       float64   // ttfts
	ITLms        []float64 // itls: gaps between chunks
	E2Ems        float64   // latencies
	StartS       float64   // start_times: the client's perf_counter, arbitrary origin
	QueueMs      float64   // queue_times: wait for the client's concurrency cap
	Text         string    // generated_texts
	Error        string    // errors
	// Failed is set where the error text is not empty or, since vLLM records
	// no success flag and a failure may carry an empty reason, TTFT is 0.
	Failed bool
}

// Imported is one result read from a file.
type Imported struct {
	Format  Format
	Source  Meta
	Summary metrics.Summary
	// Missing lists the Summary fields, by JSON path ("tpot_ms.p95"), that
	// the file does not carry: they are zero, not measured as zero.
	Missing []string
	// Notes says where the source's definitions differ from ours, and what
	// was derived rather than read.
	Notes []string
	// Extra holds the source's numeric figures that have no Summary field,
	// by their path in the file ("p99.9_ttft_ms", "output_sequence_length.avg").
	Extra map[string]float64
	// Requests are the per-request values, in send order, where the file has
	// them (vLLM with --save-detailed); RequestArrays names the arrays read.
	Requests      []Request
	RequestArrays []string

	present map[string]bool // Summary paths read, while decoding
}

// Detect says which format b is in. For several results in one file, it
// looks at the first.
func Detect(b []byte) (Format, error) {
	d := newDoc("input", b)
	starts, err := d.values()
	if err != nil {
		return "", err
	}
	return d.detect(d.val(starts[0], ""))
}

// Import reads the one result in the file at path.
func Import(path string) (*Imported, error) {
	all, err := ImportAll(path)
	if err != nil {
		return nil, err
	}
	if len(all) > 1 {
		return nil, &Error{File: path, Msg: fmt.Sprintf("holds %d results (vLLM --append-result): use ImportAll", len(all))}
	}
	return all[0], nil
}

// ImportAll reads every result in the file at path: vLLM's --append-result
// writes one JSON document a line.
func ImportAll(path string) ([]*Imported, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(filepath.Base(path), b)
}

// Parse reads the results in b, naming the file name in errors.
func Parse(name string, b []byte) ([]*Imported, error) {
	d := newDoc(name, b)
	starts, err := d.values()
	if err != nil {
		return nil, err
	}
	var out []*Imported
	for _, at := range starts {
		v := d.val(at, "")
		f, err := d.detect(v)
		if err != nil {
			return nil, err
		}
		var im *Imported
		switch f {
		case VLLM:
			im, err = d.vllm(v)
		case GenAIPerf:
			im, err = d.genaiPerf(v)
		}
		if err != nil {
			return nil, err
		}
		im.Missing = missing(im.Summary, im.present)
		im.present = nil
		out = append(out, im)
	}
	return out, nil
}

// Signature keys: a file is taken for a format when at least two of its
// top-level keys are among that format's, so that a file with a key missing
// or mistyped is still recognised and gets an error about that key.
var (
	vllmKeys = []string{"date", "backend", "model_id", "tokenizer_id", "num_prompts", "duration",
		"completed", "total_input_tokens", "total_output_tokens", "request_throughput",
		"output_throughput", "total_token_throughput", "mean_ttft_ms", "mean_tpot_ms", "mean_e2el_ms"}
	genaiKeys = []string{"input_config", "request_throughput", "request_latency", "time_to_first_token",
		"inter_token_latency", "output_token_throughput", "output_token_throughput_per_request",
		"output_sequence_length", "input_sequence_length"}
)

func (d *doc) detect(v val) (Format, error) {
	if d.kind(v) != '{' {
		return "", d.errorAt(v.at, "", "want a JSON object, got "+d.describe(v))
	}
	var nv, ng int
	_ = d.Object(v, func(key string, m val) error {
		obj := d.kind(m) == '{'
		if key == "request_throughput" { // a number in vLLM, a statistics object in GenAI-Perf
			if obj {
				ng++
			} else {
				nv++
			}
			return nil
		}
		for _, k := range vllmKeys {
			if key == k {
				nv++
			}
		}
		for _, k := range genaiKeys {
			if key == k {
				ng++
			}
		}
		return nil
	})
	switch {
	case nv >= 2 && nv > ng:
		return VLLM, nil
	case ng >= 2 && ng > nv:
		return GenAIPerf, nil
	}
	return "", d.errorAt(v.at, "", "not a benchmark result this reads: want a vLLM `vllm bench serve --save-result` file "+
		"(keys date, model_id, duration, completed, request_throughput, mean_ttft_ms, ...) or a GenAI-Perf "+
		"profile_export_genai_perf.json (keys request_latency, time_to_first_token, inter_token_latency, input_config, ...)")
}
