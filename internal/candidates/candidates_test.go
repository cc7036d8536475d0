package candidates

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/store"
)

func result(fp string, cfg matrix.Config, s metrics.Summary, acc *float64) store.Result {
	cj, _ := json.Marshal(cfg)
	sj, _ := json.Marshal(s)
	return store.Result{RunID: "r", Fingerprint: fp, Config: cj, Summary: sj, Metrics: store.Metrics{Accuracy: acc}}
}

// TestFromStore: metrics come from the summary, accuracy from its column, and
// two results with one label get IDs told apart by their fingerprints.
func TestFromStore(t *testing.T) {
	cfg := matrix.Config{Model: "m", Hardware: "h-x1", Framework: "vllm", Version: "1", Quantization: "bf16", Workload: "chat", Concurrency: 4}
	s := metrics.Summary{TTFT: metrics.Stats{P50: 10, P90: 20, P99: 30}, OutputThroughput: 360}
	acc := 0.7
	rows, parsed, err := FromStore("demo", []store.Result{
		result("aaaaaaaaaaaa1111", cfg, s, &acc), result("bbbbbbbbbbbb2222", cfg, s, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].ID != "m/h-x1/vllm-1/bf16/chat/c=4#aaaaaaaaaaaa" || rows[1].ID != "m/h-x1/vllm-1/bf16/chat/c=4#bbbbbbbbbbbb" {
		t.Errorf("IDs %q, %q", rows[0].ID, rows[1].ID)
	}
	if parsed[0].Config.Concurrency != 4 || parsed[1].Summary.OutputThroughput != 360 {
		t.Errorf("parsed = %+v", parsed)
	}
	if rows[0].Metrics["ttft_p90_ms"] != 20 || rows[0].Metrics["accuracy"] != 0.7 {
		t.Errorf("metrics = %v", rows[0].Metrics)
	}
	if _, ok := rows[1].Metrics["accuracy"]; ok {
		t.Error("a result without accuracy got one")
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

	if _, _, err := FromStore("demo", []store.Result{{RunID: "r", Fingerprint: "f", Config: json.RawMessage(`{"model": 1}`)}}); err == nil {
		t.Error("a config of the wrong shape was accepted")
	}
}
