package benchfmt

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/llmsweep/llmsweep/internal/metrics"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// fixtures are written as each tool's writer writes (testdata/README.md).
var fixtures = map[string]Format{
	"vllm_serve.json":                    VLLM,
	"vllm_serve_detailed.json":           VLLM,
	"vllm_benchmark_serving_legacy.json": VLLM,
	"vllm_append.json":                   VLLM,
	"genai_perf.json":                    GenAIPerf,
	"genai_perf_legacy.json":             GenAIPerf,
}

// TestImportGolden imports each fixture and compares everything read with
// testdata/golden/<fixture>; go test -update rewrites them.
func TestImportGolden(t *testing.T) {
	for name, format := range fixtures {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if f, err := Detect(b); err != nil || f != format {
				t.Fatalf("Detect = %q, %v; want %q", f, err, format)
			}
			ims, err := ImportAll(path)
			if err != nil {
				t.Fatal(err)
			}
			got := render(t, ims)
			golden := filepath.Join("testdata", "golden", name)
			if *update {
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

// render writes imports as JSON, with RequestRate and Burstiness as Python
// writes them, since JSON has no Infinity.
func render(t *testing.T, ims []*Imported) []byte {
	type meta struct {
		Meta
		RequestRate, Burstiness string
	}
	type imported struct {
		*Imported
		Source meta
	}
	out := make([]imported, len(ims))
	for i, im := range ims {
		out[i] = imported{im, meta{im.Source, pyFloat(im.Source.RequestRate), pyFloat(im.Source.Burstiness)}}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestImportFigures pins the figures that matter against the fixtures'
// own numbers, so that a wrong golden file cannot hide a wrong mapping.
func TestImportFigures(t *testing.T) {
	im, err := Import("testdata/vllm_serve_detailed.json")
	if err != nil {
		t.Fatal(err)
	}
	s := im.Summary
	checks := []struct {
		name      string
		got, want float64
	}{
		{"requests", float64(s.Requests), 6},
		{"succeeded", float64(s.Succeeded), 5},
		{"failed", float64(s.Failed), 1},
		{"duration_s", s.DurationS.Or(-1), 1.734521},
		{"ttft mean", s.TTFT.Mean.Or(-1), 200.3386},
		{"ttft p50 = median", s.TTFT.P50.Or(-1), s.TTFT.Median.Or(-2)},
		{"tpot n", float64(s.TPOT.N), 5},
		{"itl n", float64(s.ITL.N), 28},
		{"goodput", s.Goodput.Or(-1), 3 / 1.734521},
		{"good requests", float64(s.GoodRequests), 3},
		{"request rate", im.Source.RequestRate, 8},
		{"concurrency", float64(im.Source.Concurrency), 4},
		{"request 0 TTFT ms", im.Requests[0].TTFTms, 90.623},
		{"p99.9 kept", im.Extra["p99.9_ttft_ms"], im.Extra["p99.9_ttft_ms"]},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-9*math.Max(1, math.Abs(c.want)) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if _, ok := im.Extra["p99.9_ttft_ms"]; !ok {
		t.Errorf("p99.9_ttft_ms not kept in Extra: %v", im.Extra)
	}
	if !im.Requests[3].Failed || im.Requests[2].Failed {
		t.Errorf("failed flags: %+v", im.Requests)
	}
	if im.Source.Labels["gpu"] != "H100" {
		t.Errorf("--metadata gpu=H100 not in Labels: %v", im.Source.Labels)
	}

	im, err = Import("testdata/vllm_serve.json")
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(im.Source.RequestRate, 1) || im.Source.Concurrency != 0 {
		t.Errorf(`request_rate "inf", max_concurrency null: got %v, %d`, im.Source.RequestRate, im.Source.Concurrency)
	}
	for _, p := range []string{"goodput", "e2e_ms.mean", "ttft_ms.p90", "ttft_ms.p95"} {
		if !contains(im.Missing, p) {
			t.Errorf("Missing lacks %s: %v", p, im.Missing)
		}
	}

	im, err = Import("testdata/vllm_benchmark_serving_legacy.json")
	if err != nil {
		t.Fatal(err)
	}
	if im.Summary.Requests != 4 || im.Summary.Failed != 1 || !im.Summary.Goodput.OK() {
		t.Errorf("legacy: requests %d failed %d goodput %v", im.Summary.Requests, im.Summary.Failed, im.Summary.Goodput)
	}

	im, err = Import("testdata/genai_perf.json")
	if err != nil {
		t.Fatal(err)
	}
	if !im.Summary.TPOT.Mean.OK() || !contains(im.Missing, "itl_ms.mean") || im.Source.Concurrency != 4 ||
		im.Source.Model != "meta-llama/Llama-3.1-8B-Instruct" || im.Source.Endpoint != "chat" {
		t.Errorf("genai-perf: TPOT %v, missing %v, meta %+v", im.Summary.TPOT, im.Missing, im.Source)
	}
	im, err = Import("testdata/genai_perf_legacy.json")
	if err != nil {
		t.Fatal(err)
	}
	if im.Source.RequestRate != 2 || im.Source.Tokenizer != "hf-internal-testing/llama-tokenizer" || !im.Summary.Goodput.OK() {
		t.Errorf("genai-perf legacy: %+v goodput %v", im.Source, im.Summary.Goodput)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// vllmTop is a valid vLLM result, with %s where a test splices fields in.
const vllmTop = `{"date": "20250614-093015", "backend": "openai", "model_id": "m", %s"duration": 2.0, "completed": 2, "request_throughput": 1.0}`

func TestErrors(t *testing.T) {
	genai := func(s string) string {
		return `{"request_throughput": {"unit": "requests/sec", "avg": 1.0}, "time_to_first_token": ` + s + `}`
	}
	for _, c := range []struct {
		name, in, want string
	}{
		{"empty", "", "run.json: empty file, want a JSON object"},
		{"blank", " \n ", "run.json: empty file, want a JSON object"},
		{"syntax", `{"completed": 1,}`, "run.json:1:17: invalid JSON: invalid character '}' looking for beginning of object key string"},
		{"syntax on line 3", "{\n  \"duration\": 1.0,\n  \"completed\": tru\n}", "run.json:3:19: invalid JSON: invalid character '\\n' in literal true (expecting 'e')"},
		{"NaN key", `{NaN: 1}`, "run.json:1:2: invalid JSON: invalid character 'N' looking for beginning of object key string"},
		{"truncated", `{"completed": 1`, "run.json:1:16: invalid JSON: unexpected end of file"},
		{"trailing", `{"completed": 1} x`, "run.json:1:18: invalid JSON: invalid character 'x' looking for beginning of value"},
		{"array", `[1, 2]`, "run.json:1:1: want a JSON object, got an array"},
		{"string", `"x"`, `run.json:1:1: want a JSON object, got string "x"`},
		{"unknown shape", `{"foo": 1, "bar": {}}`, "run.json:1:1: not a benchmark result this reads: want a vLLM `vllm bench serve --save-result` file " +
			"(keys date, model_id, duration, completed, request_throughput, mean_ttft_ms, ...) or a GenAI-Perf " +
			"profile_export_genai_perf.json (keys request_latency, time_to_first_token, inter_token_latency, input_config, ...)"},
		{"wrong type", strings.Replace(vllmTop, "%s", `"mean_ttft_ms": "fast", `, 1),
			`run.json:1:83: mean_ttft_ms: want a number, got string "fast"`},
		{"missing", `{"date": "20250614-093015", "model_id": "m", "duration": 2.0, "request_throughput": 1.0}`,
			"run.json:1:1: completed: missing, want an integer"},
		{"not an integer", `{"model_id": "m", "duration": 2.0, "completed": 1.5}`,
			"run.json:1:49: completed: want an integer, got number 1.5"},
		{"NaN integer", `{"model_id": "m", "duration": 2.0, "completed": NaN}`,
			"run.json:1:49: completed: want an integer, got number NaN"},
		{"rate", strings.Replace(vllmTop, "%s", `"request_rate": "fast", `, 1),
			`run.json:1:83: request_rate: want a number or "inf", got string "fast"`},
		{"label", strings.Replace(vllmTop, "%s", `"label": 3, `, 1),
			"run.json:1:76: label: want a string or null, got number 3"},
		{"array element", strings.Replace(vllmTop, "%s", `"ttfts": [0.1, 0.2], "itls": [[0.01], [0.02, "x"]], `, 1),
			`run.json:1:112: itls[1][1]: want a number, got string "x"`},
		{"array not array", strings.Replace(vllmTop, "%s", `"ttfts": {}, `, 1),
			"run.json:1:76: ttfts: want an array, got an object"},
		{"array lengths", strings.Replace(vllmTop, "%s", `"input_lens": [1, 2], "ttfts": [0.1], `, 1),
			"run.json:1:98: ttfts: has 1 values, input_lens has 2"},
		{"genai type", genai(`{"unit": "ms", "avg": "1"}`),
			`run.json:1:107: time_to_first_token.avg: want a number, got string "1"`},
		{"genai unit", genai(`{"unit": "min", "avg": 1.0}`),
			`run.json:1:94: time_to_first_token.unit: want "ms", "s", "us" or "ns", got string "min"`},
		{"genai no unit", genai(`{"avg": 1.0}`),
			"run.json:1:85: time_to_first_token.unit: missing, want a string"},
		{"genai missing", `{"request_latency": {"unit": "ms", "avg": 1.0}, "time_to_first_token": {"unit": "ms", "avg": 1.0}}`,
			"run.json:1:1: request_throughput: missing, want an object"},
		{"genai no avg", `{"request_throughput": {"unit": "requests/sec"}, "request_latency": {"unit": "ms", "avg": 1.0}}`,
			"run.json:1:24: request_throughput.avg: missing, want a number"},
		{"genai config", genai(`{"unit": "ms", "avg": 1.0}`)[:len(genai(""))-1] + `{"unit": "ms"}, "input_config": {"perf_analyzer": {"stimulus": {"concurrency": "4"}}}}`,
			`run.json:1:164: input_config.perf_analyzer.stimulus.concurrency: want an integer, got string "4"`},
		{"genai models", genai(`{"unit": "ms", "avg": 1.0}`)[:len(genai(""))-1] + `{"unit": "ms"}, "input_config": {"model_names": [1]}}`,
			"run.json:1:134: input_config.model_names[0]: want a string, got number 1"},
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

func TestImportOneOfMany(t *testing.T) {
	_, err := Import("testdata/vllm_append.json")
	if want := "testdata/vllm_append.json: holds 2 results (vLLM --append-result): use ImportAll"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	ims, err := ImportAll("testdata/vllm_append.json")
	if err != nil || len(ims) != 2 {
		t.Fatalf("ImportAll: %d, %v", len(ims), err)
	}
	if ims[0].Source.RequestRate != 2 || !math.IsInf(ims[1].Source.Burstiness, 1) {
		t.Errorf("rates %v, burstiness %v (bare Infinity)", ims[0].Source.RequestRate, ims[1].Source.Burstiness)
	}
}

// sample is a run as Summarize would see it: four requests, one failed.
func sample() (metrics.Summary, []Request) {
	reqs := []Request{
		{InputTokens: 120, OutputTokens: 5, TTFTms: 80.5, ITLms: []float64{10.25, 11, 12.5, 9.75}, E2Ems: 124, StartS: 10.001, QueueMs: 0.5, Text: "héllo \"w\"\n😀"},
		{InputTokens: 95, OutputTokens: 1, TTFTms: 70, E2Ems: 70, StartS: 10.1, Text: "x"},
		{InputTokens: 300, Failed: true, Error: "HTTP 503: Service Unavailable", StartS: 10.2},
		{InputTokens: 200, OutputTokens: 3, TTFTms: 150.125, ITLms: []float64{20, 30.5}, E2Ems: 200.625, StartS: 10.3, QueueMs: 1.25},
	}
	var ttft, tpot, itl, e2e []float64
	var in, out int64
	for _, r := range reqs {
		if r.Failed {
			continue
		}
		ttft, e2e = append(ttft, r.TTFTms), append(e2e, r.E2Ems)
		if r.OutputTokens > 1 {
			tpot = append(tpot, (r.E2Ems-r.TTFTms)/float64(r.OutputTokens-1))
		}
		itl = append(itl, r.ITLms...)
		in, out = in+r.InputTokens, out+r.OutputTokens
	}
	dur := 0.5
	s := metrics.Summary{
		Requests: 4, Succeeded: 3, Failed: 1, Errors: map[string]int{"http_503": 1}, DurationS: metrics.Of(dur),
		TTFT: metrics.Describe(ttft), TPOT: metrics.Describe(tpot), ITL: metrics.Describe(itl), E2E: metrics.Describe(e2e),
		RequestThroughput: metrics.Of(3 / dur), OutputThroughput: metrics.Of(float64(out) / dur), TotalTokenThroughput: metrics.Of(float64(in+out) / dur),
		Goodput: metrics.Of(2 / dur), GoodRequests: 2, InputTokens: in, OutputTokens: out, ClientOutputTokens: out,
		ServerReportedPercent: metrics.Of(100),
	}
	return s, reqs
}

var exportMeta = ExportMeta{
	Model: "meta-llama/Llama-3.1-8B-Instruct", Backend: "openai-chat", Label: "llmsweep",
	Date: time.Date(2025, 6, 14, 9, 30, 15, 0, time.UTC), RequestRate: 8, MaxConcurrency: 4,
	SLO: metrics.SLO{TTFTms: 200}, Metadata: map[string]string{"gpu": "H100"},
}

// TestRoundTrip exports a summary as vLLM does and imports it again: every
// figure vLLM carries comes back exactly, the per-request values within
// float rounding (vLLM stores seconds), and Missing names exactly what vLLM
// has no field for.
func TestRoundTrip(t *testing.T) {
	s, reqs := sample()
	var buf bytes.Buffer
	if err := ExportVLLM(&buf, exportMeta, s, reqs...); err != nil {
		t.Fatal(err)
	}
	ims, err := Parse("export.json", buf.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.Bytes())
	}
	im := ims[0]
	want := s
	want.Errors, want.ClientOutputTokens, want.ServerReportedPercent, want.TokenDiscrepancy = nil, 0, metrics.Value{}, metrics.Value{}
	for _, st := range []*metrics.Stats{&want.TTFT, &want.TPOT, &want.ITL, &want.E2E} {
		st.Min, st.Max = metrics.Value{}, metrics.Value{}
	}
	if diff := cmp.Diff(want, im.Summary, cmp.AllowUnexported(metrics.Value{})); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	wantMissing := []string{"errors", "ttft_ms.min", "ttft_ms.max", "tpot_ms.min", "tpot_ms.max", "itl_ms.min", "itl_ms.max",
		"e2e_ms.min", "e2e_ms.max", "client_output_tokens", "server_reported_percent", "token_discrepancy"}
	if diff := cmp.Diff(wantMissing, im.Missing); diff != "" {
		t.Errorf("Missing (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(reqs, im.Requests, cmpopts.EquateApprox(0, 1e-12), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	src := im.Source
	if src.Model != exportMeta.Model || src.Tokenizer != exportMeta.Model || src.Backend != "openai-chat" ||
		src.Label != "llmsweep" || !src.Time.Equal(exportMeta.Date) || src.RequestRate != 8 || src.Burstiness != 1 ||
		src.Concurrency != 4 || src.NumPrompts != 4 || src.Labels["gpu"] != "H100" {
		t.Errorf("meta: %+v", src)
	}
}

// TestReexport imports a file vLLM wrote, exports it and imports that: the
// Summary and requests survive; what vLLM writes that a Summary has no
// field for (p99.9, peak figures) does not.
func TestReexport(t *testing.T) {
	im, err := Import("testdata/vllm_serve_detailed.json")
	if err != nil {
		t.Fatal(err)
	}
	meta := ExportMeta{
		Model: im.Source.Model, Tokenizer: im.Source.Tokenizer, Backend: im.Source.Backend, Label: im.Source.Label,
		Date: im.Source.Time, NumPrompts: im.Source.NumPrompts, RequestRate: im.Source.RequestRate,
		Burstiness: im.Source.Burstiness, MaxConcurrency: im.Source.Concurrency, SLO: metrics.SLO{TTFTms: 250},
		Metadata: im.Source.Labels,
	}
	var buf bytes.Buffer
	if err := ExportVLLM(&buf, meta, im.Summary, im.Requests...); err != nil {
		t.Fatal(err)
	}
	again, err := Parse("again.json", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(im.Summary, again[0].Summary); diff != "" {
		t.Errorf("summary (-first +again):\n%s", diff)
	}
	if diff := cmp.Diff(im.Requests, again[0].Requests, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("requests (-first +again):\n%s", diff)
	}
	if diff := cmp.Diff(im.Source, again[0].Source); diff != "" {
		t.Errorf("meta (-first +again):\n%s", diff)
	}
}

// TestExportGolden pins the exported bytes: Python's separators and float
// forms, vLLM's key order.
func TestExportGolden(t *testing.T) {
	s, reqs := sample()
	var buf bytes.Buffer
	if err := ExportVLLM(&buf, exportMeta, s, reqs...); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden", "vllm_export.json")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("export differs from %s (-want +got); run go test -update if intended:\n%s", golden, diff)
	}
}

// TestExportKeysAsVLLM checks the export against a file as vLLM writes it:
// every key exported is one vLLM writes, with the same JSON type, and the
// keys vLLM's own results table reads
// (.buildkite/nightly-benchmarks/scripts/convert-results-json-to-markdown.py)
// are all there.
func TestExportKeysAsVLLM(t *testing.T) {
	s, reqs := sample()
	var buf bytes.Buffer
	if err := ExportVLLM(&buf, exportMeta, s, reqs...); err != nil {
		t.Fatal(err)
	}
	got := topKinds(t, buf.Bytes())
	ref, err := os.ReadFile("testdata/vllm_serve_detailed.json")
	if err != nil {
		t.Fatal(err)
	}
	want := topKinds(t, ref)
	for k, kind := range got {
		switch wk, ok := want[k]; {
		case !ok:
			t.Errorf("exported key %q is not one vLLM writes", k)
		case wk != kind:
			t.Errorf("%s: exported as %s, vLLM writes %s", k, kind, wk)
		}
	}
	for _, k := range []string{"completed", "request_throughput", "total_token_throughput", "output_throughput",
		"total_input_tokens", "total_output_tokens", "mean_ttft_ms", "median_ttft_ms", "p99_ttft_ms",
		"mean_tpot_ms", "median_tpot_ms", "p99_tpot_ms", "mean_itl_ms", "median_itl_ms", "p99_itl_ms"} {
		if _, ok := got[k]; !ok {
			t.Errorf("%s missing: vLLM's results table reads it", k)
		}
	}
}

// topKinds maps each top-level key to its JSON type, telling Python's int
// (no '.' or exponent) from float.
func topKinds(t *testing.T, b []byte) map[string]string {
	d := newDoc("x", b)
	starts, err := d.values()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	err = d.Object(d.val(starts[0], ""), func(k string, v val) error {
		kind := string(d.kind(v))
		if kind == "0" {
			kind = "int"
			if bytes.ContainsAny(d.src[v.at:v.end], ".eE") {
				kind = "float"
			}
		}
		out[k] = kind
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestExportRejects(t *testing.T) {
	s, reqs := sample()
	for _, c := range []struct {
		name string
		meta ExportMeta
		reqs []Request
		want string
	}{
		{"count", exportMeta, reqs[:3], "ExportVLLM: 3 per-request values for 4 requests"},
		{"error text", exportMeta, append([]Request{{Error: "x"}}, reqs[1:]...),
			"ExportVLLM: request 0 has error text but is not failed: vLLM would read it as failed"},
		{"metadata", ExportMeta{Metadata: map[string]string{"p99_ttft_ms": "1"}}, nil,
			`ExportVLLM: metadata key "p99_ttft_ms" is one of vLLM's own`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := ExportVLLM(&bytes.Buffer{}, c.meta, s, c.reqs...)
			if err == nil || err.Error() != c.want {
				t.Errorf("got %v, want %s", err, c.want)
			}
		})
	}
}

// TestPyFloat pins floats against what Python's json.dumps writes.
func TestPyFloat(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want string
	}{
		{0, "0.0"}, {math.Copysign(0, -1), "-0.0"}, {1, "1.0"}, {100, "100.0"}, {0.1, "0.1"},
		{1.0 / 3, "0.3333333333333333"}, {0.0001, "0.0001"}, {0.00001, "1e-05"}, {1.5e-7, "1.5e-07"},
		{1e15, "1000000000000000.0"}, {1234567890123456, "1234567890123456.0"}, {1e16, "1e+16"},
		{12345678901234567, "1.2345678901234568e+16"}, {1e100, "1e+100"}, {5e-324, "5e-324"},
		{-2.5, "-2.5"}, {math.NaN(), "NaN"}, {math.Inf(1), "Infinity"}, {math.Inf(-1), "-Infinity"},
	} {
		if got := pyFloat(c.f); got != c.want {
			t.Errorf("pyFloat(%v) = %s, want %s", c.f, got, c.want)
		}
	}
	// json.dumps("a\"b\\c\né中😀\x7f\x01")
	if got, want := pyString("a\"b\\c\né中😀\x7f\x01"), `"a\"b\\c\n\u00e9\u4e2d\ud83d\ude00\u007f\u0001"`; got != want {
		t.Errorf("pyString = %s, want %s", got, want)
	}
}
