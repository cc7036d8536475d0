package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/internal/benchfmt"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
)

// fixtures are benchfmt's real files (internal/benchfmt/testdata/README.md).
const fixtures = "../benchfmt/testdata/real"

func fixturePaths(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(fixtures, "*", "*"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	return paths
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var fixed = func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }

// TestStoredAsInFile is issue 18's bar: every fixture imports, and what the
// store gives back (TTFT, TPOT, ITL and E2E statistics, throughputs, request
// counts, duration) equals the file's own values, field by field, read from
// the file here by the paths each tool documents, apart from the importer.
func TestStoredAsInFile(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	paths := fixturePaths(t)
	// Each file on its own: a per-request file is then a result of its own.
	var outs []Outcome
	for _, p := range paths {
		o, errs := Files(ctx, st, []string{p}, Options{Now: fixed})
		if len(errs) > 0 {
			t.Fatalf("%s: %v", p, errs)
		}
		outs = append(outs, o...)
	}
	checked := map[string]int{}
	for _, o := range outs {
		name := strings.TrimPrefix(filepath.ToSlash(o.File), fixtures+"/")
		t.Run(fmt.Sprintf("%s#%d", name, o.Index), func(t *testing.T) {
			if o.Failed != "" {
				fs, err := st.Failures(ctx, o.Run)
				if err != nil || len(fs) != 1 || fs[0].Reason != o.Failed || fs[0].Fingerprint != o.Fingerprint {
					t.Fatalf("failure not stored: %+v, %v", fs, err)
				}
				if rs, _ := st.Results(ctx, store.Filter{RunID: o.Run}); len(rs) != 0 {
					t.Fatalf("a run that measured nothing has a result: %+v", rs)
				}
				return
			}
			rs, err := st.Results(ctx, store.Filter{RunID: o.Run})
			if err != nil || len(rs) != 1 {
				t.Fatalf("results of run %s: %d, %v", o.Run, len(rs), err)
			}
			r := rs[0]
			if r.Provenance.Kind != result.Imported || r.Import == nil || r.Import.File != filepath.Base(o.File) {
				t.Fatalf("provenance %+v import %+v", r.Provenance, r.Import)
			}
			b, err := os.ReadFile(o.File)
			if err != nil {
				t.Fatal(err)
			}
			n := checkAgainstFile(t, o.Imported.Format, b, o.Index, &r.Summary)
			if n == 0 {
				t.Fatal("no field checked")
			}
			checked[name] += n
		})
	}
	t.Logf("fields checked per file: %v", checked)
	for _, p := range paths {
		name := strings.TrimPrefix(filepath.ToSlash(p), fixtures+"/")
		if checked[name] == 0 && !strings.Contains(name, "all_requests_failed") {
			t.Errorf("%s: no field checked against the file", name)
		}
	}
}

// field is one figure as the file has it and as the store gave it back.
type field struct {
	name string
	file float64
	got  metrics.Value
}

// checkAgainstFile compares the stored summary with the file's own values.
func checkAgainstFile(t *testing.T, f benchfmt.Format, b []byte, index int, s *metrics.Summary) int {
	t.Helper()
	var fields []field
	num := func(v any) (float64, bool) {
		x, ok := v.(float64)
		return x, ok
	}
	add := func(name string, v any, scale float64, got metrics.Value) {
		if x, ok := num(v); ok {
			fields = append(fields, field{name, x * scale, got})
		}
	}
	type stat struct {
		k string
		v metrics.Value
	}
	addStats := func(prefix string, o map[string]any, scale float64, stats []stat) {
		for _, x := range stats {
			add(prefix+"."+x.k, o[x.k], scale, x.v)
		}
	}
	count := func(name string, v any, got int) {
		if x, ok := num(v); ok {
			fields = append(fields, field{name, x, metrics.Of(float64(got))})
		}
	}
	stats := []struct {
		name string
		st   *metrics.Stats
	}{{"ttft", &s.TTFT}, {"tpot", &s.TPOT}, {"itl", &s.ITL}, {"e2e", &s.E2E}}
	switch f {
	case benchfmt.VLLM:
		doc := decode[any](t, b)
		m, _ := doc.(map[string]any)
		if list, ok := doc.([]any); ok {
			m = list[index].(map[string]any)
		}
		for i, k := range []string{"ttft", "tpot", "itl", "e2el"} {
			st := stats[i].st
			add(k+".mean", m["mean_"+k+"_ms"], 1, st.Mean)
			add(k+".median", m["median_"+k+"_ms"], 1, st.Median)
			add(k+".p50", m["median_"+k+"_ms"], 1, st.P50)
			add(k+".std", m["std_"+k+"_ms"], 1, st.Std)
			for _, p := range []string{"90", "95", "99"} {
				add(k+".p"+p, m["p"+p+"_"+k+"_ms"], 1, map[string]metrics.Value{"90": st.P90, "95": st.P95, "99": st.P99}[p])
			}
		}
		add("duration", m["duration"], 1, s.DurationS)
		add("request_throughput", m["request_throughput"], 1, s.RequestThroughput)
		add("output_throughput", m["output_throughput"], 1, s.OutputThroughput)
		add("total_token_throughput", m["total_token_throughput"], 1, s.TotalTokenThroughput)
		count("completed", m["completed"], s.Succeeded)
		count("failed", m["failed"], s.Failed)
		if c, ok := num(m["completed"]); ok {
			if fl, ok := num(m["failed"]); ok {
				count("requests", c+fl, s.Requests)
			}
		}
	case benchfmt.AIPerf, benchfmt.GenAIPerf:
		m := decode[map[string]any](t, b)
		if rec, ok := m["records"].(map[string]any); ok {
			m = rec
		}
		names := [][]string{{"time_to_first_token", "ttft"}, {"inter_token_latency"}, {"inter_chunk_latency"}, {"request_latency"}}
		for i, alts := range names {
			for _, k := range alts {
				o, ok := m[k].(map[string]any)
				if !ok {
					continue
				}
				st := stats[i].st
				addStats(k, o, 1, []stat{{"avg", st.Mean}, {"p50", st.P50}, {"p50", st.Median}, {"p90", st.P90},
					{"p95", st.P95}, {"p99", st.P99}, {"min", st.Min}, {"max", st.Max}, {"std", st.Std}})
				if f == benchfmt.AIPerf {
					count(k+".count", o["count"], st.N)
				}
			}
		}
		avg := func(k string) any {
			o, _ := m[k].(map[string]any)
			return o["avg"]
		}
		add("request_throughput", avg("request_throughput"), 1, s.RequestThroughput)
		add("output_token_throughput", avg("output_token_throughput"), 1, s.OutputThroughput)
		if f == benchfmt.AIPerf {
			add("total_token_throughput", avg("total_token_throughput"), 1, s.TotalTokenThroughput)
			add("benchmark_duration", avg("benchmark_duration"), 1, s.DurationS)
			count("request_count", avg("request_count"), s.Succeeded)
			count("good_request_count", avg("good_request_count"), s.GoodRequests)
			add("goodput", avg("goodput"), 1, s.Goodput)
			count("error_request_count", avg("error_request_count"), s.Failed)
		}
	case benchfmt.GuideLLM:
		m := decode[map[string]any](t, b)
		bench := m["benchmarks"].([]any)[index].(map[string]any)
		ms := bench["metrics"].(map[string]any)
		for _, x := range []struct {
			k     string
			st    *metrics.Stats
			scale float64
		}{{"time_to_first_token_ms", &s.TTFT, 1}, {"inter_token_latency_ms", &s.TPOT, 1}, {"request_latency", &s.E2E, 1e3}} {
			o := ms[x.k].(map[string]any)["successful"].(map[string]any)
			pc := o["percentiles"].(map[string]any)
			add(x.k+".mean", o["mean"], x.scale, x.st.Mean)
			add(x.k+".median", o["median"], x.scale, x.st.Median)
			add(x.k+".std_dev", o["std_dev"], x.scale, x.st.Std)
			add(x.k+".min", o["min"], x.scale, x.st.Min)
			add(x.k+".max", o["max"], x.scale, x.st.Max)
			add(x.k+".p50", pc["p50"], x.scale, x.st.P50)
			add(x.k+".p90", pc["p90"], x.scale, x.st.P90)
			add(x.k+".p95", pc["p95"], x.scale, x.st.P95)
			add(x.k+".p99", pc["p99"], x.scale, x.st.P99)
			count(x.k+".count", o["count"], x.st.N)
		}
		mean := func(k string) any { return ms[k].(map[string]any)["successful"].(map[string]any)["mean"] }
		add("requests_per_second", mean("requests_per_second"), 1, s.RequestThroughput)
		add("output_tokens_per_second", mean("output_tokens_per_second"), 1, s.OutputThroughput)
		add("tokens_per_second", mean("tokens_per_second"), 1, s.TotalTokenThroughput)
		tot := ms["request_totals"].(map[string]any)
		count("successful", tot["successful"], s.Succeeded)
		count("total", tot["total"], s.Requests)
		sm := bench["scheduler_metrics"].(map[string]any)
		fields = append(fields, field{"duration", sm["measure_end_time"].(float64) - sm["measure_start_time"].(float64), s.DurationS})
	case benchfmt.InferencePerf:
		m := decode[map[string]any](t, b)
		succ, _ := m["successes"].(map[string]any)
		lat, _ := succ["latency"].(map[string]any)
		for i, k := range []string{"time_to_first_token", "time_per_output_token", "inter_token_latency", "request_latency"} {
			o, ok := lat[k].(map[string]any)
			if !ok {
				continue
			}
			st := stats[i].st
			addStats(k, o, 1e3, []stat{{"mean", st.Mean}, {"median", st.Median}, {"median", st.P50}, {"p90", st.P90},
				{"p95", st.P95}, {"p99", st.P99}, {"min", st.Min}, {"max", st.Max}})
		}
		tp, _ := succ["throughput"].(map[string]any)
		add("requests_per_sec", tp["requests_per_sec"], 1, s.RequestThroughput)
		add("output_tokens_per_sec", tp["output_tokens_per_sec"], 1, s.OutputThroughput)
		add("total_tokens_per_sec", tp["total_tokens_per_sec"], 1, s.TotalTokenThroughput)
		count("successes.count", succ["count"], s.Succeeded)
		if fl, ok := m["failures"].(map[string]any); ok {
			count("failures.count", fl["count"], s.Failed)
		} else if ls, ok := m["load_summary"].(map[string]any); ok {
			count("load_summary.count", ls["count"], s.Requests)
		}
		if s.DurationS.OK() {
			t.Errorf("inference-perf writes no duration, but one is stored: %v", s.DurationS)
		}
	case benchfmt.AIPerfRecords:
		// The file's own values are per request: each line's request.
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		failed := 0
		for _, l := range lines {
			if strings.Contains(l, `"error":{`) {
				failed++
			}
		}
		count("lines", float64(len(lines)), s.Requests)
		count("lines with an error", float64(failed), s.Failed)
		count("lines without", float64(len(lines)-failed), s.Succeeded)
		count("ttft samples", float64(len(lines)-failed), s.TTFT.N)
	}
	for _, x := range fields {
		got, ok := x.got.Get()
		if !ok || got != x.file {
			t.Errorf("%s: stored %v, the file has %v", x.name, x.got, x.file)
		}
	}
	return len(fields)
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestFilesGoOnPastABadFile: a bad file is named with its error, the others
// are imported, and a per-request file pairs with its summary.
func TestFilesGoOnPastABadFile(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{\"model_id\": \"m\",\n \"mean_ttft_ms\": \"fast\"}"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(fixtures, "vllm", "bench_serve_v0.25.1.json")
	summary := filepath.Join(fixtures, "aiperf", "llama32_3b_c1_profile_export_aiperf.json")
	records := filepath.Join(fixtures, "aiperf", "llama32_3b_c1_profile_export.jsonl")
	outs, errs := Files(ctx, st, []string{good, bad, "nonesuch.json", summary, records}, Options{Now: fixed})
	if len(errs) != 2 || errs[0].Error() != bad+`:2:18: mean_ttft_ms: want a number, got string "fast"` ||
		!strings.HasPrefix(errs[1].Error(), "nonesuch.json: open nonesuch.json:") {
		t.Errorf("errors: %q", errs)
	}
	if len(outs) != 2 || outs[0].File != good || outs[1].File != summary || outs[1].RecordsFrom != records || outs[1].Records != 6 {
		t.Fatalf("outcomes: %+v", outs)
	}
	recs, err := st.Records(ctx, outs[1].Run, outs[1].Fingerprint)
	if err != nil || len(recs) != 6 || recs[1].GetErrorClass() != benchfmt.ErrorClass {
		t.Errorf("records of the paired summary: %d, %v", len(recs), err)
	}
	// Importing the same file again stores nothing new.
	again, errs := Files(ctx, st, []string{good}, Options{Now: fixed})
	if len(errs) != 0 || again[0].Run != outs[0].Run || again[0].Fingerprint != outs[0].Fingerprint {
		t.Errorf("re-import: %+v %v", again, errs)
	}
	if rs, _ := st.Results(ctx, store.Filter{RunID: outs[0].Run}); len(rs) != 1 {
		t.Errorf("re-import stored %d results", len(rs))
	}
}

// TestImportDetails: client backend, labels, rate, sweep parameters and the
// server from flags, stored and read back; absent figures stay absent.
func TestImportDetails(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	outs, errs := Files(ctx, st, []string{filepath.Join(fixtures, "vllm", "sweep_run0.json"),
		filepath.Join(fixtures, "genai-perf", "issue298_streaming.json")}, Options{Framework: "vllm", ServerVersion: "0.25.1", Hardware: "h100-sxm-x1", Now: fixed})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	rs, err := st.Results(ctx, store.Filter{RunID: outs[0].Run})
	if err != nil || len(rs) != 1 {
		t.Fatal(err)
	}
	r := rs[0]
	imp := r.Import
	if r.Config.Framework != "vllm" || r.Config.Version != "0.25.1" || r.Config.Hardware != "h100-sxm-x1" ||
		imp.ClientBackend != "openai" || !imp.AllAtOnce || imp.Concurrency != 2 || imp.Extra["max_num_seqs"] != 4 ||
		imp.Labels["model_id"] != "facebook/opt-125m" || imp.Date != "20260818-021333" {
		t.Errorf("config %+v import %+v", r.Config, imp)
	}
	if want := time.Date(2026, 8, 18, 2, 13, 33, 0, time.UTC); !r.Finished.After(want) {
		t.Errorf("finished %v, the file's date is %v", r.Finished, want)
	}
	rs, err = st.Results(ctx, store.Filter{RunID: outs[1].Run})
	if err != nil || len(rs) != 1 {
		t.Fatal(err)
	}
	r = rs[0]
	if r.Summary.DurationS.OK() || r.Summary.ITL.P50.OK() || !slices.Contains(r.Import.Missing, "duration_s") {
		t.Errorf("GenAI-Perf's absent figures: duration %v ITL %v missing %v", r.Summary.DurationS, r.Summary.ITL.P50, r.Import.Missing)
	}
	if _, ok := r.Values()["itl_p50_ms"]; ok {
		t.Error("an absent ITL is among the ranked values")
	}
	if r.Config.Framework != "vllm" {
		t.Errorf("--framework is the server for every file: %q", r.Config.Framework)
	}
}
