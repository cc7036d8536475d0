package benchfmt

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// seeds are the real fixtures, and small inputs at each format's edges.
func seeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/real/*/*")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "{}", "[]", "[{}]", "null", "NaN", "-Infinity", `"x"`, "{} {}", "{\n}\n{",
		`{"duration": NaN, "completed": 1, "request_throughput": Infinity, "burstiness": -Infinity, "mean_ttft_ms": 1}`,
		`{"duration": 1, "completed": 2, "mean_ttft_ms": 2, "ttfts": [0.1, 0], "itls": [[], [NaN]], "errors": ["", "x"]}`,
		`[{"model_id": "m", "mean_ttft_ms": 1}, {"model_id": "n", "completed": 0, "failed": 2, "mean_ttft_ms": 0}]`,
		`{"aiperf_version": "1", "records": {"ttft": {"unit": "s", "avg": 1, "p50": null, "count": 3}}}`,
		`{"metadata": {"request_start_ns": 5}, "metrics": {"ttft": {"value": 1, "unit": "ms"}}, "error": null}` + "\n" +
			`{"metadata": {"benchmark_phase": "warmup"}, "metrics": {}}`,
		`{"benchmarks": [{"metrics": {"time_to_first_token_ms": {"successful": {"mean": 1, "percentiles": {"p50": 1}}}}, "requests": {"errored": [{"error": "x"}]}}]}`,
		`{"load_summary": {"count": 3}, "successes": {"count": 0, "latency": {}}, "failures": {"count": 3}}`,
		`[{"start_time": 1.5, "end_time": 2, "info": {"output_token_times": [1.6, 1.7], "input_tokens": 3}, "error": null}]`,
		`{"request_throughput": {"avg": 1}, "request_latency": {"unit": "s", "avg": 1, "p50": 2}, "input_config": {"tokenizer": {"name": "t"}, "model_names": "m"}}`,
	} {
		f.Add([]byte(s))
	}
}

// FuzzImport feeds arbitrary bytes to every JSON reader. Whatever the input,
// it must not panic; an error must name the file, and a placed one a
// line:column inside it; every Missing path must be absent from the Summary;
// requests must turn into records; and a result that an export accepts must
// read back with the same counts and latency statistics.
func FuzzImport(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ims, err := Parse("data.json", data)
		if err != nil {
			checkError(t, data, err)
			return
		}
		for _, im := range ims {
			checkMissing(t, im)
			_ = im.Records(time.Unix(0, 0))
			_ = im.NothingMeasured()
			roundTrip(t, im)
		}
	})
}

// FuzzImportYAML feeds arbitrary bytes to the YAML reader (GuideLLM's
// benchmarks.yaml), with the same checks.
func FuzzImportYAML(f *testing.F) {
	seeds(f)
	f.Add([]byte("benchmarks:\n  - metrics: {time_to_first_token_ms: {successful: {mean: .nan}}}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("benchmarks: [{requests: {successful: [{request_latency: 1e400}]}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ims, err := Parse("data.yaml", data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), "data.yaml") || e.Msg == "" {
				t.Fatalf("error does not name the file or says nothing: %v", err)
			}
			// YAML breaks lines at \r\n, \r and \n.
			lines := bytes.Count(bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n")), []byte("\n")) + 1
			if e.Line > lines {
				t.Fatalf("error placed outside the file: %v", err)
			}
			return
		}
		for _, im := range ims {
			checkMissing(t, im)
			roundTrip(t, im)
		}
	})
}

// roundTrip exports im to vLLM's and AIPerf's formats and reads them back:
// what the target holds must come back as it was.
func roundTrip(t *testing.T, im *Imported) {
	meta := ExportMeta{Model: im.Source.Model, RequestRate: im.Source.RequestRate, MaxConcurrency: im.Source.Concurrency,
		Missing: im.Missing}
	var buf bytes.Buffer
	if ExportAIPerf(&buf, meta, im.Summary) == nil {
		again, err := Parse("again.json", buf.Bytes())
		if err != nil {
			if !im.Summary.TTFT.Mean.OK() && !im.Summary.TPOT.Mean.OK() && !im.Summary.ITL.Mean.OK() && !im.Summary.E2E.Mean.OK() {
				return // no latency summary: nothing for AIPerf's reader
			}
			t.Fatalf("AIPerf export does not read back: %v\n%s", err, buf.Bytes())
		}
		a, b := im.Summary, again[0].Summary
		if a.TTFT.Mean != b.TTFT.Mean || a.E2E.P99 != b.E2E.P99 || a.ITL.P50 != b.ITL.P50 || a.DurationS != b.DurationS {
			t.Fatalf("AIPerf round trip differs:\n%+v\n%+v", a, b)
		}
	}
}

func checkError(t *testing.T, data []byte, err error) {
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("not an *Error: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "data.json") || e.Msg == "" {
		t.Fatalf("error does not name the file or says nothing: %v", err)
	}
	if e.Line == 0 {
		return // about the file as a whole
	}
	lines := bytes.Split(data, []byte("\n"))
	if e.Line > len(lines) || e.Col < 1 || e.Col > len(lines[e.Line-1])+1 {
		t.Fatalf("error placed outside the file (%d lines): %v", len(lines), err)
	}
}
