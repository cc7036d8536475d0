// Package metrics turns a config's per-request records into its summary, with the
// consensus definitions of vLLM, GenAI-Perf/AIPerf and MLPerf (DESIGN 9):
//
//   - TTFT = first content chunk − request start
//   - E2E = last content chunk − request start
//   - TPOT = (E2E − TTFT) / (output tokens − 1), for requests with more than one token
//   - ITL = every gap between content chunks, pooled over requests
//   - throughputs divide by the benchmark's wall duration: first measured send
//     to last measured completion
//   - goodput = requests meeting every SLO that is set, divided by that duration
//
// Output tokens are the server's count (usage), or the client's where the server
// reported none; the discrepancy between the two is reported. Open-loop runs also
// get TTFT and E2E from the scheduled send time, so that a client that fell behind
// its schedule cannot hide latency (coordinated omission).
package metrics

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"

	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// Stats describe one latency metric, in milliseconds. N is the number of
// samples; a statistic that was not measured (no samples, or one an imported
// file does not give) is absent.
type Stats struct {
	N      int   `json:"n"`
	Mean   Value `json:"mean,omitzero"`
	Median Value `json:"median,omitzero"`
	Std    Value `json:"std,omitzero"`
	P50    Value `json:"p50,omitzero"`
	P90    Value `json:"p90,omitzero"`
	P95    Value `json:"p95,omitzero"`
	P99    Value `json:"p99,omitzero"`
	Min    Value `json:"min,omitzero"`
	Max    Value `json:"max,omitzero"`
}

// SLO is a workload's per-request objectives, in milliseconds; 0 means unset.
type SLO struct {
	TTFTms, TPOTms, E2Ems float64
}

// Summary is a config's measured result.
type Summary struct {
	Requests  int `json:"requests"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	// Errors counts failed requests by error class.
	Errors map[string]int `json:"errors,omitempty"`

	DurationS Value `json:"duration_s,omitzero"`

	TTFT Stats `json:"ttft_ms"`
	TPOT Stats `json:"tpot_ms"`
	ITL  Stats `json:"itl_ms"`
	E2E  Stats `json:"e2e_ms"`
	// From the scheduled send time; set for open-loop runs only.
	TTFTScheduled *Stats `json:"ttft_scheduled_ms,omitempty"`
	E2EScheduled  *Stats `json:"e2e_scheduled_ms,omitempty"`
	// SendLag is actual minus scheduled send time (open loop only).
	SendLag *Stats `json:"send_lag_ms,omitempty"`

	// Throughputs divide by DurationS: absent when it is.
	RequestThroughput     Value `json:"request_throughput,omitzero"`      // req/s
	OutputThroughput      Value `json:"output_throughput,omitzero"`       // output tok/s
	TotalTokenThroughput  Value `json:"total_token_throughput,omitzero"`  // input+output tok/s
	Goodput               Value `json:"goodput,omitzero"`                 // req/s meeting the SLO
	GoodRequests          int   `json:"good_requests"`                    // requests meeting the SLO
	InputTokens           int64 `json:"input_tokens"`                     // server's count where reported
	OutputTokens          int64 `json:"output_tokens"`                    // server's count where reported
	ClientOutputTokens    int64 `json:"client_output_tokens"`             // content chunks
	ServerReportedPercent Value `json:"server_reported_percent,omitzero"` // requests whose usage the server reported
	// TokenDiscrepancy is (server − client) / server output tokens, over the
	// requests the server reported; absent when it reported none.
	TokenDiscrepancy Value `json:"token_discrepancy,omitzero"`
}

const ms = 1e6 // ns per ms

// Values are the summary's measured metrics under their schema #Metric names;
// a metric that was not measured is not in the map.
func (s *Summary) Values() map[string]float64 {
	m := make(map[string]float64, 14)
	for _, x := range []struct {
		name string
		v    Value
	}{
		{"ttft_p50_ms", s.TTFT.P50}, {"ttft_p90_ms", s.TTFT.P90}, {"ttft_p99_ms", s.TTFT.P99},
		{"tpot_p50_ms", s.TPOT.P50}, {"tpot_p90_ms", s.TPOT.P90}, {"tpot_p99_ms", s.TPOT.P99},
		{"itl_p50_ms", s.ITL.P50}, {"itl_p99_ms", s.ITL.P99},
		{"e2e_p50_ms", s.E2E.P50}, {"e2e_p99_ms", s.E2E.P99},
		{"request_throughput", s.RequestThroughput}, {"output_throughput", s.OutputThroughput},
		{"total_token_throughput", s.TotalTokenThroughput}, {"goodput", s.Goodput},
	} {
		if v, ok := x.v.Get(); ok {
			m[x.name] = v
		}
	}
	return m
}

// Summarize computes the summary of a config's records. Warmup records are
// left out.
func Summarize(records []*sdk.Record, slo SLO) Summary {
	var (
		s                               Summary
		ttft, tpot, itl, e2e            []float64
		ttftSched, e2eSched, lag        []float64
		openLoop                        bool
		first, last                     int64
		reported, serverOut, clientSame int64
		inTokens                        int64
	)
	for _, r := range records {
		if r.GetWarmup() {
			continue
		}
		s.Requests++
		if first == 0 || r.GetScheduledNs() < first {
			first = r.GetScheduledNs()
		}
		last = max(last, r.GetEndNs())
		if r.GetErrorClass() != "" {
			s.Failed++
			if s.Errors == nil {
				s.Errors = map[string]int{}
			}
			s.Errors[r.GetErrorClass()]++
			continue
		}
		s.Succeeded++
		start := r.GetStartNs()
		t := float64(r.GetFirstTokenNs()-start) / ms
		e := float64(r.GetEndNs()-start) / ms
		if r.GetFirstTokenNs() == 0 { // no content at all: no TTFT, E2E to the response end
			t = math.NaN()
		} else {
			ttft = append(ttft, t)
		}
		e2e = append(e2e, e)
		out := int64(r.GetClientOutputTokens())
		if r.GetOutputTokens() >= 0 {
			out = int64(r.GetOutputTokens())
			reported++
			serverOut += out
			clientSame += int64(r.GetClientOutputTokens())
		}
		s.OutputTokens += out
		s.ClientOutputTokens += int64(r.GetClientOutputTokens())
		if r.GetPromptTokens() >= 0 {
			inTokens += int64(r.GetPromptTokens())
		} else {
			inTokens += int64(r.GetClientPromptTokens())
		}
		var tp float64
		if out > 1 && !math.IsNaN(t) {
			tp = (e - t) / float64(out-1)
			tpot = append(tpot, tp)
		}
		for _, g := range r.GetItlNs() {
			itl = append(itl, float64(g)/ms)
		}
		sched := r.GetScheduledNs()
		if sched != 0 && sched != start {
			openLoop = true
		}
		if sched != 0 {
			lag = append(lag, float64(start-sched)/ms)
			if !math.IsNaN(t) {
				ttftSched = append(ttftSched, float64(r.GetFirstTokenNs()-sched)/ms)
			}
			e2eSched = append(e2eSched, float64(r.GetEndNs()-sched)/ms)
		}
		if meets(slo, t, tp, e, out) {
			s.GoodRequests++
		}
	}
	s.InputTokens = inTokens
	s.TTFT, s.TPOT, s.ITL, s.E2E = Describe(ttft), Describe(tpot), Describe(itl), Describe(e2e)
	if openLoop {
		a, b, c := Describe(ttftSched), Describe(e2eSched), Describe(lag)
		s.TTFTScheduled, s.E2EScheduled, s.SendLag = &a, &b, &c
	}
	if last > first {
		d := float64(last-first) / 1e9
		s.DurationS = Of(d)
		s.RequestThroughput = Of(float64(s.Succeeded) / d)
		s.OutputThroughput = Of(float64(s.OutputTokens) / d)
		s.TotalTokenThroughput = Of(float64(s.OutputTokens+s.InputTokens) / d)
		s.Goodput = Of(float64(s.GoodRequests) / d)
	}
	if s.Succeeded > 0 {
		s.ServerReportedPercent = Of(100 * float64(reported) / float64(s.Succeeded))
	}
	if serverOut > 0 {
		s.TokenDiscrepancy = Of(float64(serverOut-clientSame) / float64(serverOut))
	}
	return s
}

// meets reports whether a request meets every SLO that is set. A request with
// one output token has no TPOT, and so meets a TPOT objective.
func meets(slo SLO, ttft, tpot, e2e float64, out int64) bool {
	if slo.TTFTms > 0 && !(ttft <= slo.TTFTms) {
		return false
	}
	if slo.TPOTms > 0 && out > 1 && !(tpot <= slo.TPOTms) {
		return false
	}
	return slo.E2Ems <= 0 || e2e <= slo.E2Ems
}

// Describe computes the statistics of x (which it sorts).
func Describe(x []float64) Stats {
	if len(x) == 0 {
		return Stats{}
	}
	slices.Sort(x)
	mean, std := stat.PopMeanStdDev(x, nil) // population std, as numpy's (and vLLM's) default
	return Stats{
		N: len(x), Mean: Of(mean), Std: Of(std),
		Median: Of(Quantile(x, 0.5)), P50: Of(Quantile(x, 0.5)), P90: Of(Quantile(x, 0.9)),
		P95: Of(Quantile(x, 0.95)), P99: Of(Quantile(x, 0.99)),
		Min: Of(x[0]), Max: Of(x[len(x)-1]),
	}
}

// Quantile is the p-quantile of sorted x by linear interpolation between closest
// ranks (Hyndman–Fan type 7): what numpy.percentile, and so vLLM's benchmark,
// and PostgreSQL's percentile_cont compute.
func Quantile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := p * float64(n-1)
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}
