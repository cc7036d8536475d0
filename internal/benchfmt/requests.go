package benchfmt

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// ErrorClass is the error class of an imported request that failed: the
// tools name their errors in free text, which Record.Error keeps.
const ErrorClass = "imported"

// HasTimings reports whether the requests carry latencies to compare: a
// file with token counts only per request has nothing a test of latency can
// use, and its requests are not records.
func (im *Imported) HasTimings() bool {
	for _, r := range im.Requests {
		if r.TTFTms > 0 || r.E2Ems > 0 {
			return true
		}
	}
	return false
}

// Records turns the requests into the per-request records our store keeps,
// in send order. A file's absolute send times (AIPerf's request_start_ns,
// GuideLLM's and inference-perf's epoch seconds) are kept; relative ones
// (vLLM's perf_counter) are placed from origin, the run's start. Token
// counts the file lacks are -1 (not reported), as the protocol has it.
func (im *Imported) Records(origin time.Time) []*sdk.Record {
	if len(im.Requests) == 0 {
		return nil
	}
	has := func(field string) bool { return slices.Contains(im.RequestArrays, field) }
	inputs := has("input_lens") || has("input_sequence_length") || has("prompt_tokens") || has("input_tokens")
	outputs := has("output_lens") || has("output_sequence_length") || has("output_token_count") || has("output_tokens")
	first := math.Inf(1)
	absolute := true
	for _, r := range im.Requests {
		first = min(first, r.StartS)
		absolute = absolute && r.StartNs != 0
	}
	out := make([]*sdk.Record, 0, len(im.Requests))
	for i, r := range im.Requests {
		start := r.StartNs
		if !absolute {
			start = origin.UnixNano() + int64(math.Round((r.StartS-first)*1e9))
		}
		rec := &sdk.Record{Index: int32(i), ScheduledNs: start, StartNs: start, PromptTokens: -1, OutputTokens: -1, Output: r.Text}
		if inputs {
			rec.PromptTokens = int32(min(r.InputTokens, math.MaxInt32))
		}
		if outputs {
			rec.OutputTokens = int32(min(r.OutputTokens, math.MaxInt32))
		}
		end := r.E2Ems
		if r.TTFTms > 0 && !r.Failed {
			rec.FirstTokenNs = start + nanos(r.TTFTms)
			if end == 0 { // no latency given: the last chunk closes the request
				end = r.TTFTms
				for _, g := range r.ITLms {
					end += g
				}
			}
		}
		rec.EndNs = start + nanos(end)
		for _, g := range r.ITLms {
			rec.ItlNs = append(rec.ItlNs, nanos(g))
		}
		if r.Failed {
			rec.ErrorClass = ErrorClass
			rec.Error = cmpOr(r.Error, "failed (no reason given)")
			rec.OutputTokens, rec.ItlNs = 0, nil
		}
		out = append(out, rec)
	}
	return out
}

func nanos(ms float64) int64 { return int64(math.Round(ms * 1e6)) }

// summarizeRequests gives a per-request file (which has no summary of its
// tool's) our summary of its requests (internal/metrics, DESIGN 9). What our
// client measures and the file cannot say (the client's own token counts,
// goodput without an SLO) stays absent.
func summarizeRequests(im *Imported) {
	recs := im.Records(time.Unix(0, 0))
	s := metrics.Summarize(recs, metrics.SLO{})
	s.ClientOutputTokens, s.ServerReportedPercent, s.TokenDiscrepancy, s.Goodput, s.GoodRequests =
		0, metrics.Value{}, metrics.Value{}, metrics.Value{}, 0
	if s.Errors != nil {
		s.Errors = map[string]int{}
		for _, r := range im.Requests {
			if r.Failed {
				s.Errors[errorKey(r.Error)]++
			}
		}
	}
	im.Summary = s
	for _, p := range []string{"requests", "succeeded", "failed", "errors", "input_tokens", "output_tokens"} {
		im.mark(p)
	}
	if s.DurationS.OK() {
		for _, p := range []string{"duration_s", "request_throughput", "output_throughput", "total_token_throughput"} {
			im.mark(p)
		}
	}
	for _, st := range []struct {
		name string
		s    metrics.Stats
	}{{"ttft_ms", s.TTFT}, {"tpot_ms", s.TPOT}, {"itl_ms", s.ITL}, {"e2e_ms", s.E2E}} {
		if st.s.N > 0 {
			for _, p := range statPaths {
				im.mark(st.name + "." + p)
			}
		}
	}
	im.note("The file has per-request values only: its summary is llmsweep's, computed from them with llmsweep's " +
		"definitions (duration from the first send to the last completion).")
}

// errorKey names an error's class from its text: the text before a colon
// ("TimeoutError: ...").
func errorKey(text string) string {
	k, _, _ := strings.Cut(text, ":")
	return cmpOr(strings.TrimSpace(k), "error")
}

// RequestsOf turns stored records back into requests, for an export: times
// from each record's start, send times from the first record's.
func RequestsOf(recs []*sdk.Record) []Request {
	var first int64
	for _, r := range recs {
		if first == 0 || r.GetStartNs() < first {
			first = r.GetStartNs()
		}
	}
	out := make([]Request, 0, len(recs))
	for _, r := range recs {
		q := Request{InputTokens: int64(max(r.GetPromptTokens(), 0)), OutputTokens: int64(max(r.GetOutputTokens(), 0)),
			E2Ems: float64(r.GetEndNs()-r.GetStartNs()) / 1e6, StartS: float64(r.GetStartNs()-first) / 1e9,
			Text: r.GetOutput(), Error: r.GetError(), Failed: r.GetErrorClass() != ""}
		if r.GetOutputTokens() < 0 {
			q.OutputTokens = int64(r.GetClientOutputTokens())
		}
		if q.Failed && q.Error == "" {
			q.Error = r.GetErrorClass()
		}
		if r.GetFirstTokenNs() > 0 {
			q.TTFTms = float64(r.GetFirstTokenNs()-r.GetStartNs()) / 1e6
		}
		for _, g := range r.GetItlNs() {
			q.ITLms = append(q.ITLms, float64(g)/1e6)
		}
		if q.Failed {
			q.OutputTokens, q.ITLms, q.TTFTms = 0, nil, 0
		}
		out = append(out, q)
	}
	return out
}
