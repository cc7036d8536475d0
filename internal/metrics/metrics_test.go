package metrics

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// Reference values from Python 3.11: statistics.quantiles(x, n=100, method="inclusive")
// (type 7, as numpy.percentile) and statistics.pstdev(x) (numpy.std).
func TestDescribeMatchesNumpy(t *testing.T) {
	x := []float64{12, 3, 7, 1, 9, 15, 4, 8, 10, 2}
	got := Describe(x)
	want := Stats{N: 10, Mean: Of(7.1), Median: Of(7.5), Std: Of(4.346262762420146), P50: Of(7.5), P90: Of(12.3), P95: Of(13.65), P99: Of(14.73), Min: Of(1), Max: Of(15)}
	asFloat := cmp.Transformer("float", func(v Value) float64 { return v.Or(math.NaN()) })
	if d := cmp.Diff(want, got, asFloat, cmpopts.EquateApprox(0, 1e-9)); d != "" {
		t.Error(d)
	}
	if s := Describe(nil); s != (Stats{}) || s.P50.OK() {
		t.Errorf("Describe(nil) = %v", s)
	}
	if q := Quantile([]float64{5}, 0.99); q != 5 {
		t.Errorf("one value: %v", q)
	}
}

func rec(i int32, sched, start, first, end int64, out int32, gaps ...int64) *sdk.Record {
	return &sdk.Record{Index: i, ScheduledNs: sched, StartNs: start, FirstTokenNs: first, EndNs: end,
		OutputTokens: out, ClientOutputTokens: out, PromptTokens: 10, ClientPromptTokens: 10, ItlNs: gaps}
}

func TestSummarize(t *testing.T) {
	const M = int64(1e6)
	base := int64(1_700_000_000) * 1e9
	records := []*sdk.Record{
		// warmup: ignored
		{Index: -1, Warmup: true, StartNs: base - 100*M, FirstTokenNs: base - 90*M, EndNs: base - 50*M, OutputTokens: 3},
		// closed loop: scheduled = start. TTFT 10 ms, E2E 50 ms, 5 tokens: TPOT 10 ms.
		rec(0, base, base, base+10*M, base+50*M, 5, 10*M, 10*M, 10*M, 10*M),
		// TTFT 30 ms, E2E 130 ms, 11 tokens: TPOT 10 ms.
		rec(1, base+20*M, base+20*M, base+50*M, base+150*M, 11, 10*M, 10*M, 10*M, 10*M, 10*M, 10*M, 10*M, 10*M, 10*M, 10*M),
		// one token: no TPOT.
		rec(2, base+40*M, base+40*M, base+60*M, base+60*M, 1),
		{Index: 3, ScheduledNs: base + 60*M, StartNs: base + 60*M, EndNs: base + 200*M, ErrorClass: "timeout", OutputTokens: -1, PromptTokens: -1},
	}
	records[3].OutputTokens = -1 // the server did not report usage: the client's count is used
	s := Summarize(records, SLO{TTFTms: 20})
	if s.Requests != 4 || s.Succeeded != 3 || s.Failed != 1 || s.Errors["timeout"] != 1 {
		t.Errorf("counts: %+v", s)
	}
	if s.TTFT.N != 3 || s.TTFT.Mean != Of(20) || s.TPOT.N != 2 || s.TPOT.Mean != Of(10) || s.E2E.Max != Of(130) || s.ITL.N != 14 || s.ITL.Mean != Of(10) {
		t.Errorf("latencies: ttft %+v tpot %+v e2e %+v itl %+v", s.TTFT, s.TPOT, s.E2E, s.ITL)
	}
	if s.DurationS != Of(0.2) || math.Abs(s.RequestThroughput.Or(0)-15) > 1e-9 || math.Abs(s.OutputThroughput.Or(0)-85) > 1e-9 {
		t.Errorf("throughput over %v s: %v req/s, %v tok/s", s.DurationS, s.RequestThroughput, s.OutputThroughput)
	}
	if s.GoodRequests != 2 || math.Abs(s.Goodput.Or(0)-10) > 1e-9 { // requests 0 and 2 have TTFT <= 20 ms
		t.Errorf("goodput: %d good, %v req/s", s.GoodRequests, s.Goodput)
	}
	if s.TTFTScheduled != nil {
		t.Error("a closed-loop run has no scheduled-time latencies")
	}
	if math.Abs(s.ServerReportedPercent.Or(0)-100.0*2/3) > 1e-9 || s.OutputTokens != 17 || s.TokenDiscrepancy != Of(0) {
		t.Errorf("tokens: %v%% reported, %d out, discrepancy %v", s.ServerReportedPercent, s.OutputTokens, s.TokenDiscrepancy)
	}
}

// A late client does not hide latency: from the scheduled time, TTFT includes the lag.
func TestSummarizeOpenLoop(t *testing.T) {
	const M = int64(1e6)
	r := rec(0, 1000*M, 1040*M, 1050*M, 1100*M, 2, 50*M)
	r.ClientOutputTokens = 3 // one more chunk than the server counted
	s := Summarize([]*sdk.Record{r}, SLO{})
	if s.TTFT.Mean != Of(10) || s.TTFTScheduled == nil || s.TTFTScheduled.Mean != Of(50) || s.SendLag.Mean != Of(40) || s.E2EScheduled.Mean != Of(100) {
		t.Errorf("ttft %v, from schedule %+v, lag %+v", s.TTFT.Mean, s.TTFTScheduled, s.SendLag)
	}
	if s.TokenDiscrepancy != Of(-0.5) {
		t.Errorf("discrepancy %v, want (2-3)/2", s.TokenDiscrepancy)
	}
}

// What was not measured is absent, never 0: no first token means no TTFT, a
// run with no duration has no throughputs, and neither reaches Values or JSON.
func TestUnmeasuredIsAbsent(t *testing.T) {
	const M = int64(1e6)
	r := &sdk.Record{Index: 0, ScheduledNs: 1000 * M, StartNs: 1000 * M, EndNs: 1000 * M, OutputTokens: -1, PromptTokens: -1}
	s := Summarize([]*sdk.Record{r}, SLO{})
	if s.TTFT.N != 0 || s.TTFT.P50.OK() || s.OutputThroughput.OK() || s.DurationS.OK() || s.TokenDiscrepancy.OK() {
		t.Fatalf("unmeasured metrics are set: %+v", s)
	}
	v := s.Values()
	if _, ok := v["ttft_p50_ms"]; ok {
		t.Errorf("Values has ttft_p50_ms: %v", v)
	}
	if _, ok := v["output_throughput"]; ok {
		t.Errorf("Values has output_throughput: %v", v)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"ttft_ms":{"n":0}`) {
		t.Errorf("JSON has TTFT statistics: %s", b)
	}
	for _, k := range []string{`"output_throughput"`, `"duration_s"`, `"token_discrepancy"`} {
		if strings.Contains(string(b), k) {
			t.Errorf("JSON has %s: %s", k, b)
		}
	}
	var back Summary
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.OutputThroughput.OK() || back.TTFT.P99.OK() {
		t.Errorf("round trip set absent values: %+v", back)
	}
}

func TestValue(t *testing.T) {
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if Of(x).OK() {
			t.Errorf("Of(%v) is present", x)
		}
	}
	var v Value
	if err := json.Unmarshal([]byte("0"), &v); err != nil || v != Of(0) || !v.OK() {
		t.Errorf("0 decodes to %v, %v", v, err)
	}
	if err := json.Unmarshal([]byte("null"), &v); err != nil || v.OK() {
		t.Errorf("null decodes to %v, %v", v, err)
	}
	if err := json.Unmarshal([]byte(`"x"`), &v); err == nil {
		t.Error("a string decodes")
	}
	if got := fmt.Sprintf("%.2f|%6.1f|%v|%s", Of(2.5), v, Of(3), Of(0.5)); got != "2.50|     –|3|0.5" {
		t.Errorf("Format: %q", got)
	}
	if v.String() != "–" || Of(2.5).String() != "2.5" {
		t.Errorf("String: %q %q", v.String(), Of(2.5).String())
	}
	if d, _ := (Value{}).Value(); d != nil {
		t.Errorf("absent stores %v, want NULL", d)
	}
}

func TestMannWhitney(t *testing.T) {
	// Fully separated samples of 5: U = 0, mu = 12.5, sigma = sqrt(25·11/12),
	// z = (12.5 − 0.5)/sigma = 2.5067, p = 2·(1 − Φ(z)) = 0.01219.
	u, p := MannWhitney([]float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10})
	if u != 0 || math.Abs(p-0.01219) > 1e-4 {
		t.Errorf("separated: U %v p %v", u, p)
	}
	if _, p := MannWhitney([]float64{1, 2, 3}, []float64{1, 2, 3}); p != 1 {
		t.Errorf("identical: p %v", p)
	}
	if _, p := MannWhitney([]float64{4, 4, 4}, []float64{4, 4}); p != 1 {
		t.Errorf("all tied: p %v", p)
	}
	if _, p := MannWhitney(nil, []float64{1}); p != 1 {
		t.Errorf("empty: p %v", p)
	}
}
