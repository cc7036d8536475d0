package benchfmt

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/result"
)

// ExportMeta is what a vLLM result says about its run besides the figures.
type ExportMeta struct {
	Model     string // model_id
	Tokenizer string // tokenizer_id; "" writes the model
	Backend   string // --backend; "" writes "openai", vLLM's default
	Label     string // --label; "" writes null, as vLLM does without one
	Date      time.Time
	// NumPrompts is the requests asked for; 0 writes Summary.Requests.
	NumPrompts int
	// RequestRate in requests/s; 0 or +Inf writes "inf": vLLM's closed loop
	// is all requests at once, held back by MaxConcurrency.
	RequestRate float64
	Burstiness  float64 // 0 writes 1, Poisson
	// MaxConcurrency is the cap on requests in flight; 0 writes null.
	MaxConcurrency int
	// SLO is the run's goodput objective; with none set, request_goodput is
	// null, as vLLM writes it without --goodput.
	SLO metrics.SLO
	// Metadata is written as top-level string fields, as vLLM's --metadata.
	Metadata map[string]string
	// Endpoint is the API endpoint type (chat, completions), for AIPerf.
	Endpoint string
	// Missing lists the Summary paths ("succeeded", "input_tokens") that were
	// not measured: the counts among them are left out, never written as 0.
	Missing []string
}

// MetaOf is what an export says of a stored result's run: for an imported
// result, what its file said (the client backend, label, labels, offered
// rate, what was missing); for ours, the config's load point.
func MetaOf(r *result.Result) ExportMeta {
	cfg := r.Config
	m := ExportMeta{Model: cfg.Model, Date: r.Finished, NumPrompts: r.Summary.Requests, RequestRate: cfg.RequestRate,
		MaxConcurrency: cfg.Concurrency, Label: "llmsweep " + r.Run}
	if cfg.Repo != "" {
		m.Model = cfg.Repo
	}
	imp := r.Import
	if imp == nil {
		return m
	}
	m.Backend, m.Endpoint, m.Label, m.Missing = imp.ClientBackend, imp.Endpoint, imp.Label, imp.Missing
	if id := imp.Labels["model_id"]; id != "" {
		m.Model = id
	}
	m.Tokenizer = imp.Labels["tokenizer"]
	if t, ok := parseDate(imp.Date); ok {
		m.Date = t
	}
	switch {
	case imp.AllAtOnce:
		m.RequestRate = math.Inf(1)
	case imp.OfferedRate > 0:
		m.RequestRate = imp.OfferedRate
	}
	if imp.Concurrency > 0 {
		m.MaxConcurrency = imp.Concurrency
	}
	if slices.Contains(imp.Missing, "requests") {
		m.NumPrompts = 0
	}
	for k, v := range imp.Labels {
		if k == "model_id" || k == "tokenizer" || reservedKey(k) {
			continue
		}
		if m.Metadata == nil {
			m.Metadata = map[string]string{}
		}
		m.Metadata[k] = v
	}
	return m
}

// exportPercentiles are the percentiles Stats has, written as if vLLM had run
// with --metric-percentiles 50,90,95,99 --percentile-metrics ttft,tpot,itl,e2el.
var exportPercentiles = []struct {
	word string
	get  func(metrics.Stats) metrics.Value
}{
	{"50", func(s metrics.Stats) metrics.Value { return s.P50 }},
	{"90", func(s metrics.Stats) metrics.Value { return s.P90 }},
	{"95", func(s metrics.Stats) metrics.Value { return s.P95 }},
	{"99", func(s metrics.Stats) metrics.Value { return s.P99 }},
}

// ExportVLLM writes s as `vllm bench serve --save-result` does, with the same
// keys, key order and JSON types, and the per-request arrays of
// --save-detailed when perRequest is given (one per request, in send order).
// Numbers are written as Python's json.dump writes them, NaN and Infinity
// included, so the file reads back in vLLM's tooling as one of its own.
// What vLLM writes and a Summary lacks (max_output_tokens_per_s,
// max_concurrent_requests, rtfx) is left out; what a Summary has and vLLM
// lacks (min, max, N, Errors, the client-side token counts) is not written.
func ExportVLLM(w io.Writer, meta ExportMeta, s metrics.Summary, perRequest ...Request) error {
	if len(perRequest) > 0 && s.Requests > 0 && len(perRequest) != s.Requests {
		return fmt.Errorf("ExportVLLM: %d per-request values for %d requests", len(perRequest), s.Requests)
	}
	for i, r := range perRequest {
		if !r.Failed && r.Error != "" {
			return fmt.Errorf("ExportVLLM: request %d has error text but is not failed: vLLM would read it as failed", i)
		}
	}
	o := &pyObject{}
	date := meta.Date
	if date.IsZero() {
		date = time.Now()
	}
	backend := cmpOr(meta.Backend, "openai")
	o.str("date", date.Format(vllmDate))
	o.str("endpoint_type", backend)
	o.str("backend", backend)
	o.optStr("label", meta.Label)
	o.str("model_id", meta.Model)
	o.str("tokenizer_id", cmpOr(meta.Tokenizer, meta.Model))
	absent := func(path string) bool { return slices.Contains(meta.Missing, path) }
	if n := cmpOr(meta.NumPrompts, s.Requests); n > 0 || !absent("requests") {
		o.int("num_prompts", int64(n))
	}
	keys := make([]string, 0, len(meta.Metadata))
	for k := range meta.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if reservedKey(k) {
			return fmt.Errorf("ExportVLLM: metadata key %q is one of vLLM's own", k)
		}
		o.str(k, meta.Metadata[k])
	}
	if meta.RequestRate == 0 || math.IsInf(meta.RequestRate, 1) {
		o.str("request_rate", "inf")
	} else {
		o.float("request_rate", meta.RequestRate)
	}
	o.float("burstiness", cmpOr(meta.Burstiness, 1))
	if meta.MaxConcurrency > 0 {
		o.int("max_concurrency", int64(meta.MaxConcurrency))
	} else {
		o.raw("max_concurrency", "null")
	}
	o.value("duration", s.DurationS)
	for _, c := range []struct {
		key, path string
		n         int64
	}{{"completed", "succeeded", int64(s.Succeeded)}, {"failed", "failed", int64(s.Failed)},
		{"total_input_tokens", "input_tokens", s.InputTokens}, {"total_output_tokens", "output_tokens", s.OutputTokens}} {
		if !absent(c.path) {
			o.int(c.key, c.n)
		}
	}
	o.value("request_throughput", s.RequestThroughput)
	if meta.SLO != (metrics.SLO{}) {
		o.value("request_goodput", s.Goodput)
	} else {
		o.raw("request_goodput", "null")
	}
	o.value("output_throughput", s.OutputThroughput)
	o.value("total_token_throughput", s.TotalTokenThroughput)
	if len(perRequest) > 0 {
		writeRequests(o, perRequest)
	}
	for _, m := range []struct {
		name string
		st   *metrics.Stats
	}{
		{"ttft", &s.TTFT}, {"tpot", &s.TPOT}, {"itl", &s.ITL}, {"e2el", &s.E2E},
		{"client_queue_time", s.SendLag}, {"e2el_including_client_queue", s.E2EScheduled},
	} {
		if m.st == nil {
			continue
		}
		o.value("mean_"+m.name+"_ms", m.st.Mean)
		o.value("median_"+m.name+"_ms", m.st.Median)
		o.value("std_"+m.name+"_ms", m.st.Std)
		for _, p := range exportPercentiles {
			o.value("p"+p.word+"_"+m.name+"_ms", p.get(*m.st))
		}
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(o.String())
	return bw.Flush()
}

func writeRequests(o *pyObject, rs []Request) {
	arr := func(key string, f func(r Request, b *strings.Builder)) {
		var b strings.Builder
		b.WriteByte('[')
		for i, r := range rs {
			if i > 0 {
				b.WriteString(", ")
			}
			f(r, &b)
		}
		b.WriteByte(']')
		o.raw(key, b.String())
	}
	arr("input_lens", func(r Request, b *strings.Builder) { b.WriteString(strconv.FormatInt(r.InputTokens, 10)) })
	arr("output_lens", func(r Request, b *strings.Builder) { b.WriteString(strconv.FormatInt(r.OutputTokens, 10)) })
	arr("ttfts", func(r Request, b *strings.Builder) { b.WriteString(pyFloat(r.TTFTms / 1000)) })
	arr("itls", func(r Request, b *strings.Builder) {
		b.WriteByte('[')
		for j, g := range r.ITLms {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyFloat(g / 1000))
		}
		b.WriteByte(']')
	})
	arr("latencies", func(r Request, b *strings.Builder) { b.WriteString(pyFloat(r.E2Ems / 1000)) })
	arr("start_times", func(r Request, b *strings.Builder) { b.WriteString(pyFloat(r.StartS)) })
	arr("queue_times", func(r Request, b *strings.Builder) { b.WriteString(pyFloat(r.QueueMs / 1000)) })
	arr("generated_texts", func(r Request, b *strings.Builder) { b.WriteString(pyString(r.Text)) })
	arr("errors", func(r Request, b *strings.Builder) {
		e := r.Error
		if r.Failed && e == "" {
			e = "request failed" // vLLM reads an empty error as success
		}
		b.WriteString(pyString(e))
	})
}

// reservedKey reports whether k is a key vLLM writes itself.
func reservedKey(k string) bool {
	switch k {
	case "date", "endpoint_type", "backend", "label", "model_id", "tokenizer_id", "num_prompts",
		"request_rate", "burstiness", "max_concurrency", "duration", "completed", "failed",
		"total_input_tokens", "total_output_tokens", "request_throughput", "request_goodput",
		"output_throughput", "total_token_throughput", "input_lens", "output_lens", "ttfts", "itls",
		"latencies", "start_times", "queue_times", "generated_texts", "errors":
		return true
	}
	return vllmStatKey.MatchString(k)
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// pyObject builds a JSON object as Python's json.dump does without indent:
// keys in insertion order, ", " and ": " as separators.
type pyObject struct{ b strings.Builder }

func (o *pyObject) raw(key, v string) {
	if o.b.Len() == 0 {
		o.b.WriteByte('{')
	} else {
		o.b.WriteString(", ")
	}
	o.b.WriteString(pyString(key))
	o.b.WriteString(": ")
	o.b.WriteString(v)
}

func (o *pyObject) str(key, v string)       { o.raw(key, pyString(v)) }
func (o *pyObject) int(key string, v int64) { o.raw(key, strconv.FormatInt(v, 10)) }
func (o *pyObject) float(key string, v float64) {
	o.raw(key, pyFloat(v))
}

// value writes a metric, or leaves the key out when it was not measured:
// never a 0 that vLLM's tooling would read as one.
func (o *pyObject) value(key string, v metrics.Value) {
	if x, ok := v.Get(); ok {
		o.float(key, x)
	}
}

func (o *pyObject) optStr(key, v string) {
	if v == "" {
		o.raw(key, "null")
		return
	}
	o.str(key, v)
}

func (o *pyObject) String() string {
	if o.b.Len() == 0 {
		return "{}"
	}
	return o.b.String() + "}"
}

// pyFloat formats f as Python's repr (and so json.dump) does: the shortest
// digits that read back to f, in exponent form when the decimal exponent is
// below -4 or above 15, and always with a '.' or an exponent, so that
// Python reads a float back, never an int.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	sign := ""
	if math.Signbit(f) {
		sign, f = "-", -f
	}
	if f == 0 {
		return sign + "0.0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	decpt := x + 1 // f = 0.digits × 10^decpt
	if decpt <= -4 || decpt > 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := "+"
		if x < 0 {
			es, x = "-", -x
		}
		return fmt.Sprintf("%s%se%s%02d", sign, m, es, x)
	}
	switch {
	case decpt <= 0:
		return sign + "0." + strings.Repeat("0", -decpt) + digits
	case decpt >= len(digits):
		return sign + digits + strings.Repeat("0", decpt-len(digits)) + ".0"
	}
	return sign + digits[:decpt] + "." + digits[decpt:]
}

// pyString quotes s as json.dump does with ensure_ascii: everything outside
// printable ASCII escaped, as \uXXXX (surrogate pairs past the BMP).
func pyString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s { // invalid UTF-8 reads as U+FFFD
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r >= 0x20 && r < 0x7f:
				b.WriteRune(r)
			case r > 0xffff:
				r -= 0x10000
				fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			default:
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
