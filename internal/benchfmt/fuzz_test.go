package benchfmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/internal/metrics"
)

// FuzzImport feeds arbitrary bytes to the importer. Whatever the input, it
// must not panic; an error must name the file, and a placed one a line:column
// inside it; every Missing path must be zero in the Summary; and a vLLM result
// that ExportVLLM accepts must read back with the same counts and duration.
func FuzzImport(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "{}", "[]", "null", "NaN", "-Infinity", `"x"`, "{} {}", "{\n}\n{",
		`{"duration": NaN, "completed": 1, "request_throughput": Infinity, "burstiness": -Infinity}`,
		`{"duration": 1, "completed": 2, "request_throughput": 2, "ttfts": [0.1, 0], "itls": [[], [NaN]], "errors": ["", "x"]}`,
		`{"duration": 1, "completed": 2, "request_throughput": 2, "input_lens": [1], "output_lens": [1, 2]}`,
		`{"request_throughput": {"avg": 1}, "request_latency": {"unit": "s", "avg": 1, "p50": 2}, "input_config": {"tokenizer": {"name": "t"}, "model_names": "m"}}`,
		`{"request_throughput": {"avg": -1}, "request_goodput": {"avg": -1}, "time_to_first_token": {"unit": "ns", "avg": 1e400}}`,
		`{"date": "x", "model_id": "\ud800", "completed": 1, "duration": 1, "request_throughput": 1, "p99.9_ttft_ms": 1, "median_itl_ms": 2}`,
		"{\"a\\\"NaN\": NaN}", `{"NaN": "Infinity"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ims, err := Parse("data.json", data)
		if err != nil {
			checkError(t, data, err)
			return
		}
		for _, im := range ims {
			if im.Format != VLLM && im.Format != GenAIPerf {
				t.Fatalf("format %q", im.Format)
			}
			checkMissing(t, im)
			// A figure the file gives as NaN is absent, and vLLM's format
			// requires duration and request_throughput: such a file has no
			// export that reads back.
			if im.Format != VLLM || !im.Summary.DurationS.OK() || !im.Summary.RequestThroughput.OK() {
				continue
			}
			var buf bytes.Buffer
			meta := ExportMeta{Model: im.Source.Model, RequestRate: im.Source.RequestRate, MaxConcurrency: im.Source.Concurrency}
			if ExportVLLM(&buf, meta, im.Summary, im.Requests...) != nil {
				continue
			}
			again, err := Parse("again.json", buf.Bytes())
			if err != nil {
				t.Fatalf("export does not read back: %v\n%s", err, buf.Bytes())
			}
			a, b := im.Summary, again[0].Summary
			if a.Succeeded != b.Succeeded || a.Failed != b.Failed || !same(a.DurationS, b.DurationS) ||
				!same(a.RequestThroughput, b.RequestThroughput) || len(im.Requests) != len(again[0].Requests) {
				t.Fatalf("read back differs:\n%+v\n%+v", a, b)
			}
		}
	})
}

func same(a, b metrics.Value) bool { return a == b }

func checkError(t *testing.T, data []byte, err error) {
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("not an *Error: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "data.json:") || e.Msg == "" {
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

// checkMissing checks that every path in Missing is zero in the Summary.
func checkMissing(t *testing.T, im *Imported) {
	b, err := json.Marshal(im.Summary)
	if err != nil {
		return // NaN or Inf: JSON cannot say
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
			t.Fatalf("%s is listed missing but is %v", p, v)
		}
	}
}
