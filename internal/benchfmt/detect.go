package benchfmt

import (
	"fmt"
	"slices"
	"strings"
)

// Each format is known by markers that only its tool writes; a file with the
// markers of two tools is an error, never a guess between them. AIPerf writes
// GenAI-Perf's statistic names too (it is its successor), so its own markers
// decide first.
var (
	// aiperfMarkers are top-level keys only AIPerf writes (aiperf/exporters).
	aiperfMarkers = []string{"aiperf_version", "was_cancelled", "error_summary"}
	// vllmMarkers are top-level keys only vLLM's serve benchmark writes
	// (vllm/benchmarks/serve.py), besides its <stat>_<metric>_ms keys.
	vllmMarkers = []string{"model_id", "tokenizer_id", "num_prompts", "completed", "total_input_tokens",
		"total_output_tokens", "request_goodput", "request_goodput:", "mean_ttft_ms", "mean_tpot_ms", "mean_e2el_ms"}
	// genaiMarkers are GenAI-Perf's statistics objects
	// (genai_perf/export_data/json_exporter.py).
	genaiMarkers = []string{"request_throughput", "request_latency", "time_to_first_token", "inter_token_latency",
		"output_token_throughput", "output_token_throughput_per_request", "output_sequence_length", "input_sequence_length"}
)

const formatsHelp = "want a vLLM `vllm bench serve --save-result` file (keys model_id, completed, mean_ttft_ms, ...), " +
	"a GenAI-Perf profile_export_genai_perf.json (request_latency, time_to_first_token, ... objects), " +
	"an AIPerf profile_export_aiperf.json (aiperf_version, or \"records\") or profile_export.jsonl (metadata and metrics a line), " +
	"a GuideLLM benchmarks.json/.yaml (benchmarks), or an inference-perf lifecycle report " +
	"(load_summary, successes, failures; or a per-request array of start_time, end_time, info)"

// detect says which format the top-level value v is in.
func (d *doc) detect(v val) (Format, error) {
	switch d.kind(v) {
	case '[':
		return d.detectArray(v)
	case '{':
	default:
		return "", d.errorAt(v.at, "", "want a JSON object, got "+d.describe(v)+": "+formatsHelp)
	}
	keys := map[string]byte{} // key -> kind of its value
	_ = d.Object(v, func(key string, m val) error {
		keys[key] = d.kind(m)
		return nil
	})
	var found []Format
	switch {
	case keys["metadata"] == '{' && keys["metrics"] == '{':
		found = append(found, AIPerfRecords)
	case hasAny(keys, aiperfMarkers...) || keys["records"] == '{':
		found = append(found, AIPerf)
	}
	if keys["benchmarks"] == '[' {
		found = append(found, GuideLLM)
	}
	if keys["load_summary"] == '{' || keys["successes"] == '{' && keys["failures"] == '{' {
		found = append(found, InferencePerf)
	}
	// vLLM's markers are scalars: AIPerf writes some of its names as objects.
	vllm := keys["request_throughput"] == '0'
	for k, kind := range keys {
		vllm = vllm || kind != '{' && (slices.Contains(vllmMarkers, k) || vllmStatKey.MatchString(k))
	}
	if vllm {
		found = append(found, VLLM)
	}
	if !slices.Contains(found, AIPerf) && !slices.Contains(found, AIPerfRecords) {
		for _, k := range genaiMarkers {
			if keys[k] == '{' {
				found = append(found, GenAIPerf)
				break
			}
		}
	}
	switch len(found) {
	case 0:
		return "", d.errorAt(v.at, "", "not a benchmark result this reads: "+formatsHelp)
	case 1:
		return found[0], nil
	}
	names := make([]string, len(found))
	for i, f := range found {
		names[i] = string(f)
	}
	return "", d.errorAt(v.at, "", fmt.Sprintf("has the keys of %s at once: not one tool's result file", strings.Join(names, " and ")))
}

// detectArray knows inference-perf's per-request report, an array of
// {start_time, end_time, request, response, info, error}, and vllm bench
// sweep's summary.json, an array of vLLM results.
func (d *doc) detectArray(v val) (Format, error) {
	var first *val
	_ = d.elems(v, func(i int, e val) error {
		if i == 0 {
			first = &e
		}
		return errStop
	})
	if first == nil {
		return "", d.errorAt(v.at, "", "an empty array: an inference-perf per-request report with no request")
	}
	if d.kind(*first) == '{' {
		keys := map[string]byte{}
		_ = d.Object(*first, func(key string, m val) error {
			keys[key] = d.kind(m)
			return nil
		})
		if keys["start_time"] != 0 && keys["end_time"] != 0 && (keys["info"] != 0 || keys["request"] != 0) {
			return InferencePerfRequests, nil
		}
		// vllm bench sweep's summary.json: the results of a sweep point's runs.
		if f, err := d.detect(*first); err == nil && f == VLLM {
			return VLLM, nil
		}
	}
	return "", d.errorAt(v.at, "", "want a JSON object, got an array: "+formatsHelp)
}

func hasAny(keys map[string]byte, names ...string) bool {
	for _, n := range names {
		if _, ok := keys[n]; ok {
			return true
		}
	}
	return false
}
