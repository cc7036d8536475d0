package candidates

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/llmsweep/llmsweep/internal/accuracy"
	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/result"
)

func res(fp string, cfg matrix.Config, s metrics.Summary, acc *accuracy.Result) result.Result {
	return result.Result{Run: "r", Fingerprint: fp, Config: cfg, Summary: s, Accuracy: acc,
		Provenance: result.Provenance{Kind: result.Measured}}
}

// TestFromResults: metrics come from the summary and accuracy, what was not
// measured is left out, and two results with one label get IDs told apart by
// their fingerprints; a result from another engine says so in its ID.
func TestFromResults(t *testing.T) {
	cfg := matrix.Config{Model: "m", Hardware: "h-x1", Framework: "vllm", Version: "1", Quantization: "bf16", Workload: "chat", Concurrency: 4}
	s := metrics.Summary{TTFT: metrics.Stats{N: 3, P50: metrics.Of(10), P90: metrics.Of(20), P99: metrics.Of(30)}, OutputThroughput: metrics.Of(360)}
	other := res("cccccccccccc3333", cfg, s, nil)
	other.Engine = "openai:tiny"
	rows := FromResults([]result.Result{
		res("aaaaaaaaaaaa1111", cfg, s, &accuracy.Result{Samples: 10, Accuracy: 0.7}), res("bbbbbbbbbbbb2222", cfg, s, nil), other,
	}, func(string) string { return "demo" })
	if rows[0].ID != "m/h-x1/vllm-1/bf16/chat/c=4#aaaaaaaaaaaa" || rows[1].ID != "m/h-x1/vllm-1/bf16/chat/c=4#bbbbbbbbbbbb" ||
		rows[2].ID != "m/h-x1/vllm-1/bf16/chat/c=4 @openai:tiny" || rows[0].Campaign != "demo" {
		t.Errorf("IDs %q, %q, %q", rows[0].ID, rows[1].ID, rows[2].ID)
	}
	if rows[0].Metrics["ttft_p90_ms"] != 20 || rows[0].Metrics["accuracy"] != 0.7 {
		t.Errorf("metrics = %v", rows[0].Metrics)
	}
	for _, k := range []string{"accuracy", "tpot_p50_ms", "goodput"} {
		if _, ok := rows[1].Metrics[k]; ok {
			t.Errorf("a result without %s got one: %v", k, rows[1].Metrics)
		}
	}

	set := &campaign.Set{Hardware: map[string]campaign.Hardware{"h-x1": {Price: campaign.Price{SpotUSDHour: 1.8, OnDemandUSDHour: 3.6}}}}
	Derive(&rows[0], set)
	want := map[string]float64{"usd_per_hour_spot": 1.8, "usd_per_hour_on_demand": 3.6,
		"usd_per_1m_output_tokens_spot": 1.8 / (360 * 3600) * 1e6, "usd_per_1m_output_tokens_on_demand": 3.6 / (360 * 3600) * 1e6}
	got := map[string]float64{}
	for k := range want {
		got[k] = rows[0].Metrics[k]
	}
	if d := cmp.Diff(want, got, cmpopts.EquateApprox(1e-12, 0)); d != "" {
		t.Errorf("derived (-want +got):\n%s", d)
	}
}

// A criterion no row measures is dropped with a note, not a reason to remove
// every row; a policy with nothing measured is refused.
func TestRankDropsUnmeasured(t *testing.T) {
	rows := []Row{
		{ID: "a", Metrics: map[string]float64{"output_throughput": 100, "ttft_p99_ms": 50}},
		{ID: "b", Metrics: map[string]float64{"output_throughput": 200, "ttft_p99_ms": 80}},
	}
	p := campaign.Policy{Name: "balanced", Method: "topsis", TopN: 5, Criteria: map[string]campaign.Criterion{
		"accuracy":   {Metric: "accuracy", Weight: 0.3, Direction: "benefit"},
		"throughput": {Metric: "output_throughput", Weight: 0.4, Direction: "benefit"},
		"latency":    {Metric: "ttft_p99_ms", Weight: 0.3, Direction: "cost"},
	}, Constraints: []campaign.Constraint{{Metric: "accuracy", Op: ">=", Value: 0.5}}}
	r, err := Rank(rows, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Ranked) != 2 || r.Considered != 2 {
		t.Fatalf("ranked %d of %d", len(r.Ranked), r.Considered)
	}
	wantDropped := []string{"criterion accuracy (accuracy not measured)", "constraint accuracy >= 0.5 (accuracy not measured)"}
	if d := cmp.Diff(wantDropped, r.Dropped); d != "" {
		t.Errorf("dropped (-want +got):\n%s", d)
	}
	p.Criteria = map[string]campaign.Criterion{"accuracy": {Metric: "accuracy", Weight: 1, Direction: "benefit"}}
	if _, err := Rank(rows, p); err == nil || !strings.Contains(err.Error(), "none of its criteria is measured") {
		t.Errorf("nothing measured: %v", err)
	}
}
