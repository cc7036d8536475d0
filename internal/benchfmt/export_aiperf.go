package benchfmt

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"math"
	"slices"

	"github.com/llmsweep/llmsweep/internal/metrics"
)

// ExportAIPerf writes s as AIPerf's profile_export_aiperf.json (the flat
// export of its schema 1.x, ai-dynamo/aiperf aiperf/exporters): each metric
// an object of its unit and statistics, AIPerf's names for ours (TPOT is its
// inter_token_latency, ITL its inter_chunk_latency), the user config under
// input_config. A statistic the summary lacks is left out, never written as
// 0; what AIPerf has no field for (goodput's SLO, the client's own token
// counts, the scheduled-time statistics) is not written. meta.Missing names
// the counts that were not measured.
func ExportAIPerf(w io.Writer, meta ExportMeta, s metrics.Summary) error {
	o := &pyObject{}
	o.str("schema_version", "1.0")
	absent := func(path string) bool { return slices.Contains(meta.Missing, path) }
	scalar := func(key, unit string, v metrics.Value) {
		if x, ok := v.Get(); ok {
			m := &pyObject{}
			m.str("unit", unit)
			m.float("avg", x)
			o.raw(key, m.String())
		}
	}
	count := func(key, unit, path string, n int64) {
		if !absent(path) {
			scalar(key, unit, metrics.Of(float64(n)))
		}
	}
	stats := func(key string, st metrics.Stats) {
		m := &pyObject{}
		m.str("unit", "ms")
		any := false
		for _, f := range []struct {
			name string
			v    metrics.Value
		}{{"avg", st.Mean}, {"p50", st.P50}, {"p90", st.P90}, {"p95", st.P95}, {"p99", st.P99},
			{"min", st.Min}, {"max", st.Max}, {"std", st.Std}} {
			m.value(f.name, f.v)
			any = any || f.v.OK()
		}
		if !any {
			return
		}
		if st.N > 0 {
			m.int("count", int64(st.N))
		}
		o.raw(key, m.String())
	}
	scalar("request_throughput", "requests/sec", s.RequestThroughput)
	stats("request_latency", s.E2E)
	count("request_count", "requests", "succeeded", int64(s.Succeeded))
	stats("time_to_first_token", s.TTFT)
	stats("inter_token_latency", s.TPOT)
	stats("inter_chunk_latency", s.ITL)
	scalar("output_token_throughput", "tokens/sec", s.OutputThroughput)
	scalar("total_token_throughput", "tokens/sec", s.TotalTokenThroughput)
	scalar("goodput", "requests/sec", s.Goodput)
	if d, ok := s.DurationS.Get(); ok {
		scalar("benchmark_duration", "sec", metrics.Of(d))
	}
	count("total_isl", "tokens", "input_tokens", s.InputTokens)
	count("total_osl", "tokens", "output_tokens", s.OutputTokens)
	count("error_request_count", "requests", "failed", int64(s.Failed))

	cfg := &pyObject{}
	ep := &pyObject{}
	ep.raw("model_names", "["+pyString(meta.Model)+"]")
	if meta.Endpoint != "" {
		ep.str("type", meta.Endpoint)
	}
	ep.raw("streaming", "true")
	cfg.raw("endpoint", ep.String())
	if meta.Tokenizer != "" {
		tk := &pyObject{}
		tk.str("name", meta.Tokenizer)
		cfg.raw("tokenizer", tk.String())
	}
	lg := &pyObject{}
	if meta.MaxConcurrency > 0 {
		lg.int("concurrency", int64(meta.MaxConcurrency))
	}
	if r := meta.RequestRate; r > 0 && !math.IsInf(r, 1) {
		lg.float("request_rate", r)
	}
	if meta.NumPrompts > 0 {
		lg.int("request_count", int64(meta.NumPrompts))
	}
	cfg.raw("loadgen", lg.String())
	o.raw("input_config", cfg.String())
	o.raw("was_cancelled", "false")
	if !absent("errors") {
		var es []string
		for _, k := range slices.Sorted(maps.Keys(s.Errors)) {
			e := &pyObject{}
			det := &pyObject{}
			det.str("type", k)
			e.raw("error_details", det.String())
			e.int("count", int64(s.Errors[k]))
			es = append(es, e.String())
		}
		o.raw("error_summary", "["+joinComma(es)+"]")
	}
	if !meta.Date.IsZero() {
		o.str("start_time", meta.Date.UTC().Format("2006-01-02T15:04:05.000000"))
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(o.String()), "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

func joinComma(xs []string) string {
	var b bytes.Buffer
	for i, x := range xs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(x)
	}
	return b.String()
}
