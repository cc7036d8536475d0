package benchfmt

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/llmsweep/llmsweep/internal/metrics"
)

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

// TestExportKeysAsVLLM checks the export against a file vLLM wrote (a real
// one, testdata/real): every key exported is one vLLM writes (serve.py's
// names, the --save-detailed arrays, the --metadata pairs), with the JSON
// type of the real file where it has the key, and the
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
	ref, err := os.ReadFile("testdata/real/vllm/sweep_run0.json")
	if err != nil {
		t.Fatal(err)
	}
	want := topKinds(t, ref)
	for k, kind := range got {
		switch wk, ok := want[k]; {
		case !ok && !reservedKey(k) && exportMeta.Metadata[k] == "":
			t.Errorf("exported key %q is not one vLLM writes", k)
		case !ok:
		case k == "label" || k == "request_goodput" || k == "request_rate":
			// null or "inf" in the real file, a value in the export
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
