// Package benchfmt reads and writes other benchmark tools' result files, so
// that their runs can be compared with ours and ours fed to their tooling:
//
//   - vLLM's `vllm bench serve --save-result` JSON (formerly
//     benchmarks/benchmark_serving.py and its forks), with the per-request
//     arrays that --save-detailed adds, several results in one file
//     (--append-result), and `vllm bench sweep`'s run files;
//   - GenAI-Perf's profile_export_genai_perf.json;
//   - AIPerf's profile_export_aiperf.json (both its early shape, the metrics
//     under "records", and the flat one of schema_version 1.x) and its
//     per-request profile_export.jsonl;
//   - GuideLLM's benchmarks.json / .yaml (every benchmark of a sweep, with its
//     sampled per-request statistics);
//   - inference-perf's (llm-d) lifecycle reports: summary_ and stage_N_
//     lifecycle_metrics.json, and per_request_lifecycle_metrics.json.
//
// Each format is told by markers of its own (detect.go), never by a score
// between tools. Fields map one to one and keep the source's definitions: a
// figure is taken as the source computed it, never recomputed, and
// Imported.Notes says where the source's definition differs from ours (DESIGN
// 9, internal/metrics). A per-request file without a summary is summarized
// with our definitions, and says so. Summary fields the source does not carry
// are absent (metrics.Value) and listed in Imported.Missing, so that nothing
// reads as a measured 0.
//
// Where the definitions stand, from the tools' source:
//
//	                vLLM bench serve        GenAI-Perf / AIPerf         GuideLLM                 inference-perf           ours
//	TTFT            first chunk w/ choices  first response w/ content   first token iteration    first output token       first content chunk
//	TPOT            (E2E−TTFT)/(out−1)      "inter_token_latency", same "inter_token_latency_ms" "time_per_output_token"  same
//	ITL             gaps, pooled            AIPerf inter_chunk_latency  not exported             "inter_token_latency"    gaps, pooled
//	output tokens   server usage, else text client tokenizer            server usage, else text  server or tokenizer      server usage
//	req throughput  completed / duration    all sent / duration         successful / duration    successful / span        succeeded / duration
//
// vLLM: vllm/benchmarks/serve.py. GenAI-Perf: genai-perf/genai_perf in
// triton-inference-server/perf_analyzer. AIPerf: aiperf/metrics in
// ai-dynamo/aiperf. GuideLLM: src/guidellm/benchmark/schemas in
// vllm-project/guidellm. inference-perf: inference_perf/reportgen in
// kubernetes-sigs/inference-perf.
package benchfmt

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	// AIPerf is AIPerf's profile_export_aiperf.json.
	AIPerf Format = "aiperf"
	// AIPerfRecords is AIPerf's per-request profile_export.jsonl.
	AIPerfRecords Format = "aiperf-records"
	// GuideLLM is GuideLLM's benchmarks.json or .yaml.
	GuideLLM Format = "guidellm"
	// InferencePerf is an inference-perf lifecycle summary (summary_ or
	// stage_N_lifecycle_metrics.json).
	InferencePerf Format = "inference-perf"
	// InferencePerfRequests is inference-perf's per_request_lifecycle_metrics.json.
	InferencePerfRequests Format = "inference-perf-requests"
)

// Formats lists the formats, in the order they are documented.
var Formats = []Format{VLLM, GenAIPerf, AIPerf, AIPerfRecords, GuideLLM, InferencePerf, InferencePerfRequests}

// Tool is the name of the tool that writes the format, for provenance.
func (f Format) Tool() string {
	switch f {
	case VLLM:
		return "vllm bench serve"
	case AIPerf, AIPerfRecords:
		return "aiperf"
	case InferencePerf, InferencePerfRequests:
		return "inference-perf"
	}
	return string(f)
}

// PerRequest reports whether the format holds per-request values only, with
// no summary of the tool's own.
func (f Format) PerRequest() bool { return f == AIPerfRecords || f == InferencePerfRequests }

// Meta describes the run a result came from, as far as the file says.
type Meta struct {
	Tool        string // "vllm bench serve", "genai-perf", "aiperf", "guidellm", "inference-perf"
	ToolVersion string // where the file says (aiperf_version, guidellm_version)
	Model       string
	Tokenizer   string
	// Backend is the client's backend or API flavour: vLLM's --backend
	// (openai, openai-chat, vllm, ...), GenAI-Perf's service kind, GuideLLM's
	// backend type. It is not the server: see Server.
	Backend string
	// Endpoint is the API endpoint type (chat, completions, kserve, ...).
	Endpoint string
	// Server and ServerVersion are the serving framework, where the file says
	// (GenAI-Perf's Triton --backend, a vLLM --metadata framework=... pair):
	// most files do not, and the importer's --framework flag says instead.
	Server, ServerVersion string
	Label                 string // vLLM --label
	// Date is as written; Time is it parsed (vLLM's local %Y%m%d-%H%M%S, in
	// UTC for want of the zone; RFC 3339; ISO 8601 without a zone, as UTC),
	// or zero.
	Date string
	Time time.Time
	// RequestRate is the offered load in requests/s: +Inf for "inf" (all at
	// once, or as fast as the client can), 0 where the file gives none
	// (closed loop).
	RequestRate float64
	Burstiness  float64 // vLLM's gamma shape; 1 is Poisson
	// Concurrency is the cap on requests in flight (vLLM's --max-concurrency,
	// GenAI-Perf's and AIPerf's concurrency, GuideLLM's streams); 0 for none.
	Concurrency int
	NumPrompts  int
	// Labels holds the source's other string fields: vLLM's --metadata
	// KEY=VALUE pairs, which land at the top level of its file, GuideLLM's
	// strategy, AIPerf's benchmark ID.
	Labels map[string]string
}

// Request is one request's values, times in milliseconds from its start. A
// field the file lacks is zero; Imported.RequestArrays lists those present.
type Request struct {
	InputTokens  int64     // input_lens: server's prompt_tokens, else the dataset's count
	OutputTokens int64     // output_lens: 0 for a failed request
	TTFTms       float64   // ttfts; 0 when no token arrived
	ITLms        []float64 // itls: gaps between chunks
	E2Ems        float64   // latencies
	// StartS is the send time in seconds from an arbitrary origin (vLLM's
	// perf_counter); StartNs, where the file has it, the unix time.
	StartS  float64
	StartNs int64
	QueueMs float64 // queue_times: wait for the client's concurrency cap
	Text    string  // generated_texts
	Error   string  // errors
	// Failed is set where the file marks the request failed or, for vLLM,
	// which records no success flag and may give an empty reason, where the
	// error text is not empty, TTFT is 0, or (with neither array) the
	// latency is 0.
	Failed bool
}

// Imported is one result read from a file.
type Imported struct {
	Format Format
	// Name tells results of one file apart: GuideLLM's "benchmark 3 of 5
	// (constant 0.92/s)", or empty for a file of one result.
	Name    string
	Source  Meta
	Summary metrics.Summary
	// Missing lists the Summary fields, by JSON path ("tpot_ms.p95"), that
	// the file does not carry: they are absent, not measured as zero.
	Missing []string
	// Notes says where the source's definitions differ from ours, and what
	// was derived rather than read.
	Notes []string
	// Extra holds the source's numeric figures that have no Summary field,
	// by their path in the file ("p99.9_ttft_ms", "output_sequence_length.avg"),
	// and the sweep's numeric parameters (vLLM sweep's max_num_seqs).
	Extra map[string]float64
	// Requests are the per-request values, in send order, where the file has
	// them; RequestArrays names the fields read.
	Requests      []Request
	RequestArrays []string

	present map[string]bool // Summary paths read, while decoding
}

// NothingMeasured returns why the result measured nothing, or "" when it
// measured something: a run whose every request failed (vLLM then writes
// all-zero statistics and exits 0) is a failure, never a result.
func (im *Imported) NothingMeasured() string {
	s := &im.Summary
	if !im.present["succeeded"] || s.Succeeded > 0 {
		return ""
	}
	why := "no request succeeded"
	if im.present["failed"] && s.Failed > 0 {
		why = fmt.Sprintf("all %d requests failed", s.Failed)
	}
	return why + " (" + string(im.Format) + " result" + strings.TrimPrefix(" "+im.Name, " ") + "): its latency figures are not measurements"
}

// Detect says which format b is in. For several results in one file, it
// looks at the first.
func Detect(name string, b []byte) (Format, error) {
	d, err := load(name, b)
	if err != nil {
		return "", err
	}
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
		return nil, &Error{File: path, Msg: fmt.Sprintf("holds %d results: use ImportAll", len(all))}
	}
	return all[0], nil
}

// ImportAll reads every result in the file at path: vLLM's --append-result
// writes one JSON document a line, GuideLLM one benchmark per sweep point.
func ImportAll(path string) ([]*Imported, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Parse reads the results in b, naming the file name in errors. A name
// ending in .yaml or .yml is read as YAML (GuideLLM's), anything else as
// JSON (Python's flavour, with bare NaN and Infinity) or JSON lines.
func Parse(name string, b []byte) ([]*Imported, error) {
	d, err := load(name, b)
	if err != nil {
		return nil, err
	}
	starts, err := d.values()
	if err != nil {
		return nil, err
	}
	f, err := d.detect(d.val(starts[0], ""))
	if err != nil {
		return nil, err
	}
	var out []*Imported
	switch f {
	case AIPerfRecords:
		im, err := d.aiperfRecords(starts)
		if err != nil {
			return nil, err
		}
		out = []*Imported{im}
	case InferencePerfRequests:
		im, err := d.infPerfRequests(d.val(starts[0], ""))
		if err != nil {
			return nil, err
		}
		out = []*Imported{im}
	case GuideLLM:
		if len(starts) > 1 {
			return nil, d.errorAt(starts[1], "", "a GuideLLM file holds one document")
		}
		if out, err = d.guidellm(d.val(starts[0], "")); err != nil {
			return nil, err
		}
	default:
		if d.kind(d.val(starts[0], "")) == '[' {
			if len(starts) > 1 {
				return nil, d.errorAt(starts[1], "", "an array of results holds the whole file")
			}
			var elems []int
			_ = d.elems(d.val(starts[0], ""), func(_ int, e val) error {
				elems = append(elems, e.at)
				return nil
			})
			starts = elems
		}
		for _, at := range starts {
			v := d.val(at, "")
			g, err := d.detect(v)
			if err != nil {
				return nil, err
			}
			if g != f {
				return nil, d.errorAt(at, "", fmt.Sprintf("a %s result after a %s one: one file holds one tool's results", g, f))
			}
			var im *Imported
			switch f {
			case VLLM:
				im, err = d.vllm(v)
			case GenAIPerf:
				im, err = d.genaiPerf(v)
			case AIPerf:
				im, err = d.aiperf(v)
			case InferencePerf:
				im, err = d.infPerf(v)
			}
			if err != nil {
				return nil, err
			}
			out = append(out, im)
		}
	}
	for _, im := range out {
		if im.Source.Tool == "" {
			im.Source.Tool = im.Format.Tool()
		}
		if err := d.usable(im); err != nil {
			return nil, err
		}
		im.Missing = missing(im.Summary, im.present)
	}
	return out, nil
}

// usable checks that a result has a latency summary to compare: some
// statistic of TTFT, TPOT, ITL or E2E, or a count that says nothing
// succeeded (a failed run, which the importer stores as a failure).
func (d *doc) usable(im *Imported) error {
	for _, n := range statsNames {
		for _, p := range statPaths {
			if p != "n" && im.present[n+"."+p] {
				return nil
			}
		}
	}
	if im.NothingMeasured() != "" {
		return nil
	}
	where := ""
	if im.Name != "" {
		where = " (" + im.Name + ")"
	}
	return &Error{File: d.name, Msg: fmt.Sprintf("the %s result%s has no latency summary: none of TTFT, TPOT, ITL or E2E is in it", im.Format, where)}
}

// load makes the document of a file: YAML by its name, else JSON.
func load(name string, b []byte) (*doc, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml":
		return yamlDoc(name, b)
	}
	return newDoc(name, b), nil
}
