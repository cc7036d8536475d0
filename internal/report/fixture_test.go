package report

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
	"github.com/llmsweep/llmsweep/internal/store/storetest"
	"github.com/llmsweep/llmsweep/internal/telemetry"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// testSet is a small catalog and three policies shaped like the shipped
// balanced, cost-first and latency-first, so that the golden file does not
// move when the real catalog's prices do.
func testSet() *campaign.Set {
	hw := func(name string, gpus int, spot, od float64) campaign.Hardware {
		return campaign.Hardware{Name: name, Count: gpus, GPU: campaign.GPU{Model: "G", MemoryGiB: 80}, Price: campaign.Price{SpotUSDHour: spot, OnDemandUSDHour: od}}
	}
	crit := func(metric string, w float64, dir string) campaign.Criterion {
		return campaign.Criterion{Metric: metric, Weight: w, Direction: dir}
	}
	return &campaign.Set{
		Hardware: map[string]campaign.Hardware{
			"gpu-a-x1": hw("gpu-a-x1", 1, 1.5, 4),
			"gpu-b-x2": hw("gpu-b-x2", 2, 3, 9),
		},
		Policies: map[string]campaign.Policy{
			"balanced": {Name: "balanced", Description: "Balanced.", Method: "topsis", Normalization: "vector", TopN: 10, TieBreak: "cost",
				Criteria: map[string]campaign.Criterion{
					"accuracy": crit("accuracy", 0.3, "benefit"), "latency": crit("ttft_p99_ms", 0.25, "cost"),
					"throughput": crit("output_throughput", 0.2, "benefit"), "cost": crit("usd_per_1m_output_tokens_on_demand", 0.15, "cost"),
					"memory": crit("gpu_memory_gib", 0.1, "cost")}},
			"cost-first": {Name: "cost-first", Description: "Cost first under SLOs.", Method: "topsis", Normalization: "minmax", TopN: 10, TieBreak: "cost",
				Criteria: map[string]campaign.Criterion{
					"cost": crit("usd_per_1m_output_tokens_spot", 0.6, "cost"), "goodput": crit("goodput", 0.4, "benefit")},
				Constraints: []campaign.Constraint{{Metric: "ttft_p99_ms", Op: "<", Value: 200}}},
			"latency-first": {Name: "latency-first", Description: "Latency first.", Method: "topsis", Normalization: "vector", TopN: 10, TieBreak: "latency",
				Criteria: map[string]campaign.Criterion{
					"ttft": crit("ttft_p99_ms", 0.5, "cost"), "tpot": crit("tpot_p99_ms", 0.4, "cost"), "throughput": crit("output_throughput", 0.1, "benefit")},
				Constraints: []campaign.Constraint{{Metric: "accuracy", Op: ">=", Value: 0.5}}},
		},
	}
}

var t0 = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

type fixtureConfig struct {
	cfg       matrix.Config
	ttft, tpt float64 // TTFT P50 (ms) and output tok/s at this load
}

// fixtureConfigs: one model on two hardware shapes, two frameworks, three
// load points; vLLM on gpu-b is served by the emulated engine.
func fixtureConfigs() []fixtureConfig {
	var out []fixtureConfig
	for hi, hw := range []string{"gpu-a-x1", "gpu-b-x2"} {
		for fi, fw := range []string{"vllm", "tgi"} {
			for li, c := range []int{1, 4, 16} {
				cfg := matrix.Config{Model: "m-7b", Hardware: hw, GPUs: hi + 1, TP: hi + 1, Framework: fw, Version: []string{"0.9.0", "3.0.1"}[fi],
					Quantization: "bf16", Workload: "chat", Concurrency: c, MaxModelLen: 4096}
				key, _ := json.Marshal(cfg)
				sum := sha256.Sum256(key)
				cfg.Fingerprint = hex.EncodeToString(sum[:])
				ttft := 40 * (1 + float64(li)*0.8) * (1 + 0.25*float64(fi)) / (1 + 0.5*float64(hi))
				tpt := 300 * float64(c) / (1 + 0.15*float64(c)) * (1 + 0.6*float64(hi)) * (1 - 0.1*float64(fi))
				out = append(out, fixtureConfig{cfg, ttft, tpt})
			}
		}
	}
	return out
}

func summary(ttft, tpot, tps float64, n int) metrics.Summary {
	v := metrics.Of
	st := func(p50 float64) metrics.Stats {
		return metrics.Stats{N: n, Mean: v(p50 * 1.05), Median: v(p50), P50: v(p50), P90: v(p50 * 1.4), P95: v(p50 * 1.6),
			P99: v(p50 * 2), Min: v(p50 * 0.7), Max: v(p50 * 2.2)}
	}
	return metrics.Summary{Requests: n, Succeeded: n, DurationS: v(120), TTFT: st(ttft), TPOT: st(tpot), ITL: st(tpot), E2E: st(ttft + 100*tpot),
		RequestThroughput: v(tps / 100), OutputThroughput: v(tps), TotalTokenThroughput: v(tps * 3), Goodput: v(tps / 110), GoodRequests: n}
}

// records are n requests with TTFTs spread around ttft ms, deterministically.
func records(ttft float64, n int) []*sdk.Record {
	var out []*sdk.Record
	for i := range n {
		start := int64(1_800_000_000_000_000_000) + int64(i)*50_000_000
		first := start + int64((ttft+float64(i%10)-4.5)*1e6)
		out = append(out, &sdk.Record{Index: int32(i), ScheduledNs: start, StartNs: start, FirstTokenNs: first,
			EndNs: first + 99*20_000_000, OutputTokens: 100, ClientOutputTokens: 100, Status: 200, FinishReason: "length"})
	}
	return out
}

// seed fills a store with two runs of campaign "demo": r1 (the prior run) and
// r2, where one config failed, vLLM on gpu-b-x1 is predicted by the emulated
// engine, and TGI on gpu-a got 30% slower to its first token.
func seed(t testing.TB, st store.Store) {
	t.Helper()
	ctx := context.Background()
	cs := fixtureConfigs()
	for ri, id := range []string{"r1", "r2"} {
		started := t0.Add(time.Duration(ri) * 24 * time.Hour)
		if _, err := st.CreateRun(ctx, result.Run{ID: id, Campaign: "demo", MatrixHash: "hash-demo", Configs: len(cs) + 1, Started: started}); err != nil {
			t.Fatal(err)
		}
		for i, c := range cs {
			ttft := c.ttft
			if ri == 1 && c.cfg.Framework == "tgi" && c.cfg.Hardware == "gpu-a-x1" {
				ttft *= 1.3
			}
			if ri == 1 && c.cfg.Framework == "tgi" && c.cfg.Hardware == "gpu-b-x2" && c.cfg.Concurrency == 16 {
				if err := st.PutFailure(ctx, result.Failure{Run: id, Fingerprint: c.cfg.Fingerprint, Attempt: 3, Final: true,
					Reason: "server exited: CUDA out of memory", Time: started.Add(time.Hour)}); err != nil {
					t.Fatal(err)
				}
				continue
			}
			res := result.Result{Run: id, Fingerprint: c.cfg.Fingerprint, Config: c.cfg, Attempts: 1,
				Summary: summary(ttft, 12+float64(i%3)*3, c.tpt, 200), Provenance: result.Provenance{Kind: result.Measured},
				ServedBy: c.cfg.Framework + " at http://127.0.0.1:8000 (model m-7b)", Finished: started.Add(time.Duration(i+1) * 2 * time.Minute),
				Utilization: &telemetry.Summary{Source: telemetry.SourceNVML, Samples: 120 * (i + 1), Devices: c.cfg.GPUs,
					GPUUtilMean: metrics.Of(float64(60 + i)), GPUUtilP95: metrics.Of(float64(90 + i%10)),
					MemUsedPeakBytes: metrics.Of(float64(c.cfg.GPUs) * 70 * (1 << 30)), PowerMeanW: metrics.Of(float64(250 * c.cfg.GPUs))}}
			if c.cfg.Framework == "vllm" && c.cfg.Hardware == "gpu-b-x2" {
				res.Engine, res.ServedBy, res.Utilization = "sim", "sim", nil
				res.Fingerprint = result.Identity(c.cfg.Fingerprint, res.Engine)
				res.Provenance = result.Provenance{Kind: result.Predicted, Tool: "llmsweep-sim", Version: "1"}
			}
			if c.cfg.Framework == "tgi" && c.cfg.Hardware == "gpu-a-x1" {
				if err := st.AppendRecords(ctx, id, c.cfg.Fingerprint, 1, records(ttft, 40)); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.PutResult(ctx, res); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.FinishRun(ctx, id, started.Add(40*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
}

func openStore(t testing.TB, url string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func sqliteURL(t testing.TB) string { return storetest.SQLiteURL(t) }

// pgSchemaURL is a schema of the test's own in the machine's PostgreSQL (see storetest).
func pgSchemaURL(t testing.TB) string { return storetest.PostgresURL(t) }
