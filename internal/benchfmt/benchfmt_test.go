package benchfmt

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"

	"github.com/llmsweep/llmsweep/internal/metrics"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// Fixtures are real files from public repositories (testdata/README.md), by
// the format each must be detected as.
var Fixtures = map[string]Format{
	"vllm/bench_serve_v0.25.1.json":                         VLLM,
	"vllm/bench_serve_all_requests_failed_v0.25.1.json":     VLLM,
	"vllm/bench_serve_speculative_v0.25.1.json":             VLLM,
	"vllm/sweep_run0.json":                                  VLLM,
	"vllm/sweep_summary.json":                               VLLM,
	"genai-perf/issue298_streaming.json":                    GenAIPerf,
	"genai-perf/issue298_not_streaming.json":                GenAIPerf,
	"aiperf/run1_profile_export_aiperf.json":                AIPerf,
	"aiperf/nvfp4_5090_agent_c2_profile_export_aiperf.json": AIPerf,
	"aiperf/llama32_3b_c1_profile_export_aiperf.json":       AIPerf,
	"aiperf/qwen3_4b_c16_profile_export_aiperf.json":        AIPerf,
	"aiperf/llama32_3b_c1_profile_export.jsonl":             AIPerfRecords,
	"guidellm/codellama_prefill_cut.json":                   GuideLLM,
	"guidellm/llama7b_tp1_prefill_cut.json":                 GuideLLM,
	"inference-perf/eagle_stage_0_lifecycle_metrics.json":   InferencePerf,
	"inference-perf/eagle_summary_lifecycle_metrics.json":   InferencePerf,
	"inference-perf/awq_stage_4_lifecycle_metrics.json":     InferencePerf,
	"inference-perf/llmd_stage_lifecycle_metrics.json":      InferencePerf,
	"inference-perf/llmd_stage_prompt_tokens_only.json":     InferencePerf,
}

// TestFixturesListed holds the table to the files: every fixture is tested.
func TestFixturesListed(t *testing.T) {
	files, err := filepath.Glob("testdata/real/*/*")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, strings.TrimPrefix(filepath.ToSlash(f), "testdata/real/"))
	}
	var want []string
	for f := range Fixtures {
		want = append(want, f)
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fixtures on disk differ from the table (-table +disk):\n%s", diff)
	}
}

// TestImportGolden imports each fixture and compares everything read with
// testdata/golden/<tool>/<fixture>.json; go test -update rewrites them.
func TestImportGolden(t *testing.T) {
	for name, format := range Fixtures {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "real", name)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if f, err := Detect(path, b); err != nil || f != format {
				t.Fatalf("Detect = %q, %v; want %q", f, err, format)
			}
			ims, err := ImportAll(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, im := range ims {
				if im.Format != format {
					t.Errorf("format %q, want %q", im.Format, format)
				}
				checkMissing(t, im)
			}
			got := render(t, ims)
			golden := filepath.Join("testdata", "golden", strings.TrimSuffix(name, filepath.Ext(name))+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s differs from %s (-want +got); run go test -update if intended:\n%s", name, golden, diff)
			}
		})
	}
}

// render writes imports as JSON, with the rates as Python writes them, since
// JSON has no Infinity, and the requests counted rather than listed.
func render(t *testing.T, ims []*Imported) []byte {
	type meta struct {
		Meta
		RequestRate, Burstiness string
	}
	type imported struct {
		*Imported
		Source   meta
		Requests int
	}
	out := make([]imported, len(ims))
	for i, im := range ims {
		out[i] = imported{im, meta{im.Source, pyFloat(im.Source.RequestRate), pyFloat(im.Source.Burstiness)}, len(im.Requests)}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// checkMissing checks that every path in Missing is absent from the Summary,
// and every path not in Missing is present: no figure reads as a measured 0.
func checkMissing(t *testing.T, im *Imported) {
	t.Helper()
	b, err := json.Marshal(im.Summary)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, p := range im.Missing {
		var v any = m
		for _, k := range strings.Split(p, ".") {
			if mm, ok := v.(map[string]any); ok {
				v = mm[k]
			}
		}
		if v != nil && v != float64(0) {
			t.Errorf("%s is listed missing but is %v", p, v)
		}
	}
}

// derive is a real fixture changed by edit, for the cases no public file
// shows as such (a field dropped, another date form).
func derive(t *testing.T, name string, edit func(map[string]any)) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "real", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func parse1(t *testing.T, name string, b []byte) *Imported {
	t.Helper()
	ims, err := Parse(name, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(ims) != 1 {
		t.Fatalf("%d results, want 1", len(ims))
	}
	return ims[0]
}

// Failure class 1: a file missing optional fields imports, naming each.
func TestVLLMMissingFields(t *testing.T) {
	b := derive(t, "vllm/bench_serve_v0.25.1.json", func(m map[string]any) {
		delete(m, "duration")
		delete(m, "completed")
		delete(m, "request_throughput")
	})
	im := parse1(t, "fork.json", b)
	for _, p := range []string{"duration_s", "succeeded", "request_throughput"} {
		if !slices.Contains(im.Missing, p) {
			t.Errorf("Missing lacks %s: %v", p, im.Missing)
		}
	}
	if im.Summary.DurationS.OK() || im.Summary.RequestThroughput.OK() || im.Summary.TTFT.N != 0 {
		t.Errorf("absent figures are set: %+v", im.Summary)
	}
	if !im.Summary.TTFT.P50.OK() {
		t.Error("the latency summary is lost")
	}
	if !slices.ContainsFunc(im.Notes, func(n string) bool { return strings.Contains(n, "no duration, completed, request_throughput") }) {
		t.Errorf("no note names the missing fields: %q", im.Notes)
	}
	// A result with no latency summary at all is an error that says so.
	b = derive(t, "vllm/bench_serve_v0.25.1.json", func(m map[string]any) {
		for k := range m {
			if vllmStatKey.MatchString(k) {
				delete(m, k)
			}
		}
	})
	_, err := Parse("nolatency.json", b)
	if want := "nolatency.json: the vllm-bench-serve result has no latency summary: none of TTFT, TPOT, ITL or E2E is in it"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// Failure class 2: AIPerf is told from GenAI-Perf by its own keys.
func TestDetectAIPerfNotGenAIPerf(t *testing.T) {
	for name, f := range Fixtures {
		if f != AIPerf {
			continue
		}
		b, err := os.ReadFile(filepath.Join("testdata", "real", name))
		if err != nil {
			t.Fatal(err)
		}
		im, err := Parse(name, b)
		if err != nil {
			t.Fatal(err)
		}
		if im[0].Format != AIPerf || im[0].Source.Model == "" || !im[0].Summary.DurationS.OK() || im[0].Summary.OutputTokens == 0 {
			t.Errorf("%s: %s, model %q, duration %v, output tokens %d", name, im[0].Format, im[0].Source.Model,
				im[0].Summary.DurationS, im[0].Summary.OutputTokens)
		}
		for _, n := range im[0].Notes {
			if strings.Contains(n, "GenAI-Perf") {
				t.Errorf("%s: a GenAI-Perf note on an AIPerf result: %s", name, n)
			}
		}
	}
	// A file with both tools' markers is an error, never a guess.
	b := derive(t, "vllm/bench_serve_v0.25.1.json", func(m map[string]any) { m["aiperf_version"] = "0.10.0" })
	_, err := Parse("both.json", b)
	if want := "both.json:1:1: has the keys of aiperf and vllm-bench-serve at once: not one tool's result file"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// Failure class 3: counts in the file are read.
func TestCounts(t *testing.T) {
	// A vLLM file without "failed" (benchmark_serving.py before it): every
	// prompt was sent, the successes are "completed".
	b := derive(t, "vllm/bench_serve_v0.25.1.json", func(m map[string]any) {
		delete(m, "failed")
		m["completed"] = 7
	})
	s := parse1(t, "old.json", b).Summary
	if s.Requests != 8 || s.Succeeded != 7 || s.Failed != 1 {
		t.Errorf("requests %d succeeded %d failed %d, want 8 7 1", s.Requests, s.Succeeded, s.Failed)
	}
	// GenAI-Perf's newer request_count.
	b = derive(t, "genai-perf/issue298_streaming.json", func(m map[string]any) {
		m["request_count"] = map[string]any{"unit": "requests", "avg": 172.0}
	})
	im := parse1(t, "genai.json", b)
	if im.Summary.Requests != 172 || slices.Contains(im.Missing, "requests") {
		t.Errorf("requests %d, missing %v", im.Summary.Requests, im.Missing)
	}
}

// Failure class 4: a run with no success says it measured nothing.
func TestNothingMeasured(t *testing.T) {
	im, err := Import("testdata/real/vllm/bench_serve_all_requests_failed_v0.25.1.json")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := im.NothingMeasured(), "all 8 requests failed (vllm-bench-serve result): its latency figures are not measurements"; got != want {
		t.Errorf("NothingMeasured = %q, want %q", got, want)
	}
	im, err = Import("testdata/real/vllm/bench_serve_v0.25.1.json")
	if err != nil || im.NothingMeasured() != "" {
		t.Errorf("a good run: %q, %v", im.NothingMeasured(), err)
	}
}

// Failure classes 6 and 7: labels, rates, sweep parameters and dates.
func TestKeptFields(t *testing.T) {
	im, err := Import("testdata/real/vllm/sweep_run0.json")
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(im.Source.RequestRate, 1) || im.Extra["max_num_seqs"] != 4 || im.Extra["run_number"] != 0 ||
		!im.Summary.E2E.P99.OK() {
		t.Errorf("rate %v, extra %v, e2e %v", im.Source.RequestRate, im.Extra, im.Summary.E2E)
	}
	b := derive(t, "vllm/bench_serve_v0.25.1.json", func(m map[string]any) {
		m["date"] = "2026-08-16T16:08:53+02:00"
		m["gpu"] = "H100"
		m["framework"] = "vllm"
		m["framework_version"] = "0.25.1"
		m["num_turns"] = 3
	})
	im = parse1(t, "labels.json", b)
	if want := time.Date(2026, 8, 16, 14, 8, 53, 0, time.UTC); !im.Source.Time.Equal(want) {
		t.Errorf("RFC 3339 date read as %v, want %v", im.Source.Time, want)
	}
	if im.Source.Labels["gpu"] != "H100" || im.Source.Server != "vllm" || im.Source.ServerVersion != "0.25.1" ||
		im.Source.Backend != "vllm" {
		t.Errorf("meta %+v", im.Source)
	}
	if !slices.ContainsFunc(im.Notes, func(n string) bool { return strings.Contains(n, "Multi-turn fields num_turns") }) {
		t.Errorf("no multi-turn note: %q", im.Notes)
	}
	im, err = Import("testdata/real/aiperf/nvfp4_5090_agent_c2_profile_export_aiperf.json")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 7, 3, 5, 16, 2, 949937000, time.UTC); !im.Source.Time.Equal(want) || im.Source.Concurrency != 2 ||
		im.Source.Labels["benchmark_id"] != "f7db269e44e9" || im.Source.ToolVersion != "0.10.0" {
		t.Errorf("aiperf meta %+v", im.Source)
	}
}

// Failure class 8: the client's backend is not the server; GenAI-Perf's
// Triton backend is.
func TestBackendIsNotServer(t *testing.T) {
	im, err := Import("testdata/real/vllm/sweep_run0.json")
	if err != nil {
		t.Fatal(err)
	}
	if im.Source.Backend != "openai" || im.Source.Server != "" {
		t.Errorf("backend %q server %q", im.Source.Backend, im.Source.Server)
	}
	im, err = Import("testdata/real/genai-perf/issue298_streaming.json")
	if err != nil {
		t.Fatal(err)
	}
	if im.Source.Backend != "triton" || im.Source.Server != "tensorrtllm" || im.Source.Endpoint != "kserve" {
		t.Errorf("backend %q server %q endpoint %q", im.Source.Backend, im.Source.Server, im.Source.Endpoint)
	}
}

// TestGuideLLMYAML reads the GuideLLM fixture written as YAML (GuideLLM
// writes either): the same results, and errors placed in the YAML.
func TestGuideLLMYAML(t *testing.T) {
	b, err := os.ReadFile("testdata/real/guidellm/codellama_prefill_cut.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var yb bytes.Buffer
	enc := yaml.NewEncoder(&yb)
	enc.SetIndent(2) // as GuideLLM's (PyYAML's) output is indented
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	y := yb.Bytes()
	fromJSON, err := Parse("benchmarks.json", b)
	if err != nil {
		t.Fatal(err)
	}
	fromYAML, err := Parse("benchmarks.yaml", y)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fromJSON, fromYAML, cmp.AllowUnexported(Imported{})); diff != "" {
		t.Errorf("YAML reads differently (-json +yaml):\n%s", diff)
	}
	bad := bytes.Replace(y, []byte("905.6251287460327"), []byte("fast"), 1) // TTFT's mean
	_, err = Parse("benchmarks.yaml", bad)
	if err == nil || !strings.HasPrefix(err.Error(), "benchmarks.yaml:") || !strings.Contains(err.Error(), `want a number, got string "fast"`) {
		t.Errorf("got %v", err)
	}
	var e *Error
	if !errorsAs(err, &e) || e.Line == 0 || !bytes.Contains(bytes.Split(bad, []byte("\n"))[e.Line-1], []byte("fast")) {
		t.Errorf("the error is not placed on the YAML line of the value: %v", err)
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
	}{
		{"empty", "", "run.json: empty file, want a JSON object"},
		{"syntax", `{"completed": 1,}`, "run.json:1:17: invalid JSON: invalid character '}' looking for beginning of object key string"},
		{"truncated", `{"completed": 1`, "run.json:1:16: invalid JSON: unexpected end of file"},
		{"unknown shape", `{"foo": 1, "bar": {}}`, "run.json:1:1: not a benchmark result this reads: " + formatsHelp},
		{"string", `"x"`, `run.json:1:1: want a JSON object, got string "x": ` + formatsHelp},
		{"vllm type", `{"model_id": "m", "completed": 2, "mean_ttft_ms": "fast"}`,
			`run.json:1:51: mean_ttft_ms: want a number, got string "fast"`},
		{"vllm count", `{"model_id": "m", "completed": 1.5, "mean_ttft_ms": 1}`,
			"run.json:1:32: completed: want a count, got number 1.5"},
		{"aiperf unit", `{"aiperf_version": "0.8.0", "time_to_first_token": {"unit": "min", "avg": 1}}`,
			"run.json:1:52: time_to_first_token.unit: missing, want a time unit (\"ms\", \"sec\", \"us\" or \"ns\")"},
		{"aiperf count", `{"aiperf_version": "0.8.0", "request_latency": {"unit": "ms", "avg": 1}, "request_count": {"avg": 1.5}}`,
			"run.json:1:99: request_count.avg: want a count, got number 1.5"},
		{"aiperf records line", "{\"metadata\": {}, \"metrics\": {}}\n[1]",
			"run.json:2:1: want a JSON object a line, got an array"},
		{"aiperf records value", "{\"metadata\": {}, \"metrics\": {\"request_latency\": {\"value\": \"x\", \"unit\": \"ms\"}}}",
			`run.json:1:59: metrics.request_latency.value: want a number, got string "x"`},
		{"guidellm benchmark", `{"benchmarks": [1]}`, "run.json:1:17: benchmarks[0]: want a benchmark object, got number 1"},
		{"guidellm none", `{"benchmarks": []}`, "run.json:1:1: benchmarks: no benchmark in the file"},
		{"infperf count", `{"load_summary": {"count": -1}}`, "run.json:1:28: load_summary.count: want a count, got number -1"},
		{"infperf latency", `{"successes": {"count": 1, "latency": {"time_to_first_token": {"mean": "x"}}}, "failures": {"count": 0}}`,
			`run.json:1:72: successes.latency.time_to_first_token.mean: want a number, got string "x"`},
		{"infperf request", `[{"start_time": 1, "end_time": "x", "info": {}}]`,
			`run.json:1:32: [0].end_time: want a number, got string "x"`},
		{"empty array", `[]`, "run.json:1:1: an empty array: an inference-perf per-request report with no request"},
		{"two tools", "{\"model_id\": \"m\", \"mean_ttft_ms\": 1}\n{\"aiperf_version\": \"1\", \"request_latency\": {\"unit\": \"ms\", \"avg\": 1}}",
			"run.json:2:1: a aiperf result after a vllm-bench-serve one: one file holds one tool's results"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("run.json", []byte(c.in))
			if err == nil {
				t.Fatalf("no error, want %s", c.want)
			}
			if err.Error() != c.want {
				t.Errorf("got  %s\nwant %s", err, c.want)
			}
		})
	}
}

// TestRequestsToRecords checks the per-request values against the file's own,
// request by request, for AIPerf's JSONL.
func TestRequestsToRecords(t *testing.T) {
	im, err := Import("testdata/real/aiperf/llama32_3b_c1_profile_export.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.ReadFile("testdata/real/aiperf/llama32_3b_c1_profile_export.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(f), []byte("\n"))
	recs := im.Records(time.Time{})
	if len(recs) != len(lines) || im.Summary.Requests != len(lines) {
		t.Fatalf("%d records, %d requests for %d lines", len(recs), im.Summary.Requests, len(lines))
	}
	failed := 0
	for i, l := range lines {
		var line struct {
			Metadata struct {
				Start int64 `json:"request_start_ns"`
			}
			Metrics map[string]struct {
				Value json.RawMessage
			}
			Error *struct{ Type, Message string }
		}
		if err := json.Unmarshal(l, &line); err != nil {
			t.Fatal(err)
		}
		r := recs[i]
		if r.StartNs != line.Metadata.Start {
			t.Errorf("line %d: start %d, want %d", i+1, r.StartNs, line.Metadata.Start)
		}
		if line.Error != nil {
			failed++
			if r.ErrorClass != ErrorClass || r.Error != line.Error.Type+": "+line.Error.Message {
				t.Errorf("line %d: error %q %q", i+1, r.ErrorClass, r.Error)
			}
			continue
		}
		num := func(k string) float64 {
			var f float64
			if err := json.Unmarshal(line.Metrics[k].Value, &f); err != nil {
				t.Fatalf("line %d %s: %v", i+1, k, err)
			}
			return f
		}
		if got, want := r.FirstTokenNs-r.StartNs, nanos(num("time_to_first_token")); got != want {
			t.Errorf("line %d: TTFT %d ns, want %d", i+1, got, want)
		}
		if got, want := r.EndNs-r.StartNs, nanos(num("request_latency")); got != want {
			t.Errorf("line %d: E2E %d ns, want %d", i+1, got, want)
		}
		if got, want := r.OutputTokens, int32(num("output_sequence_length")); got != want {
			t.Errorf("line %d: output tokens %d, want %d", i+1, got, want)
		}
		var gaps []float64
		if err := json.Unmarshal(line.Metrics["inter_chunk_latency"].Value, &gaps); err != nil {
			t.Fatal(err)
		}
		if len(r.ItlNs) != len(gaps) || nanos(gaps[0]) != r.ItlNs[0] {
			t.Errorf("line %d: %d gaps, want %d", i+1, len(r.ItlNs), len(gaps))
		}
	}
	if im.Summary.Failed != failed || im.Summary.Errors["TimeoutError"] != failed {
		t.Errorf("failed %d (%v), want %d", im.Summary.Failed, im.Summary.Errors, failed)
	}
}

// TestSummaryOfRequests holds a per-request file's summary to metrics.Summarize.
func TestSummaryOfRequests(t *testing.T) {
	im, err := Import("testdata/real/aiperf/llama32_3b_c1_profile_export.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	want := metrics.Summarize(im.Records(time.Unix(0, 0)), metrics.SLO{})
	got := im.Summary
	if got.TTFT != want.TTFT || got.E2E != want.E2E || got.ITL != want.ITL || got.DurationS != want.DurationS ||
		got.Goodput.OK() || got.ServerReportedPercent.OK() {
		t.Errorf("summary\n got %+v\nwant %+v", got, want)
	}
}

func errorsAs(err error, e **Error) bool {
	x, ok := err.(*Error)
	*e = x
	return ok
}

// TestYAMLAliasBomb: aliases that expand exponentially are an error, not a
// hang or an exhausted memory.
func TestYAMLAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	_, err := Parse("bomb.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "aliases expand the document too far") {
		t.Errorf("got %v", err)
	}
}

// TestExportRoundTrip exports every fixture's results to vLLM's and AIPerf's
// formats and reads them back: each value the target holds comes back equal,
// and what the source lacked is still absent, never written as 0.
func TestExportRoundTrip(t *testing.T) {
	type target struct {
		name   string
		export func(*bytes.Buffer, ExportMeta, metrics.Summary) error
		// holds lists the Summary paths the format can carry.
		holds []string
	}
	statsOf := func(names []string, stats ...string) []string {
		var out []string
		for _, n := range names {
			for _, s := range stats {
				out = append(out, n+"."+s)
			}
		}
		return out
	}
	latency := []string{"ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"}
	targets := []target{
		{"vllm", func(b *bytes.Buffer, m ExportMeta, s metrics.Summary) error { return ExportVLLM(b, m, s) },
			append(statsOf(latency, "mean", "median", "std", "p50", "p90", "p95", "p99"),
				"duration_s", "succeeded", "failed", "requests", "input_tokens", "output_tokens", "request_throughput",
				"output_throughput", "total_token_throughput")},
		{"aiperf", func(b *bytes.Buffer, m ExportMeta, s metrics.Summary) error { return ExportAIPerf(b, m, s) },
			append(statsOf(latency, "mean", "std", "p50", "p90", "p95", "p99", "min", "max"),
				"duration_s", "succeeded", "failed", "requests", "input_tokens", "output_tokens", "request_throughput",
				"output_throughput", "total_token_throughput", "goodput", "errors")},
	}
	for name := range Fixtures {
		ims, err := ImportAll(filepath.Join("testdata", "real", name))
		if err != nil {
			t.Fatal(err)
		}
		for i, im := range ims {
			for _, tg := range targets {
				t.Run(fmt.Sprintf("%s#%d/%s", name, i, tg.name), func(t *testing.T) {
					var buf bytes.Buffer
					meta := ExportMeta{Model: cmpOr(im.Source.Model, "m"), Missing: im.Missing,
						RequestRate: im.Source.RequestRate, MaxConcurrency: im.Source.Concurrency}
					if err := tg.export(&buf, meta, im.Summary); err != nil {
						t.Fatal(err)
					}
					again := parse1(t, "again.json", buf.Bytes())
					want, got := flatten(t, im.Summary), flatten(t, again.Summary)
					for _, p := range tg.holds {
						if slices.Contains(im.Missing, p) {
							if !slices.Contains(again.Missing, p) {
								t.Errorf("%s was not in the source, but is in the export: %v", p, got[p])
							}
							continue
						}
						if p == "requests" && !(slices.Contains(tg.holds, "failed") && !slices.Contains(im.Missing, "failed")) {
							continue // derived from succeeded and failed
						}
						if !cmp.Equal(want[p], got[p]) {
							t.Errorf("%s: %v, exported and read back %v", p, want[p], got[p])
						}
					}
				})
			}
		}
	}
}

// flatten maps a Summary's JSON paths to their values.
func flatten(t *testing.T, s metrics.Summary) map[string]any {
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok && k != "errors" {
			for kk, vv := range sub {
				out[k+"."+kk] = vv
			}
			continue
		}
		out[k] = v
	}
	return out
}
