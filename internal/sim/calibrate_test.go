package sim

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
)

// Calibrate recovers known factors from results in a real SQLite store: results
// "measured" by the model itself at MFU 0.35, MBU 0.55 and 1 ms per step are
// stored with their configs, read back, and fitted from the catalog's defaults.
func TestCalibrateFromStore(t *testing.T) {
	ctx := context.Background()
	set := catalogSet(t)
	tab, _ := Defaults(set)
	truth := Efficiency{MFU: 0.35, MBU: 0.55, StepMS: 1}
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run, err := st.CreateRun(ctx, result.Run{ID: "r1", Campaign: "nightly", MatrixHash: "h", Configs: 1})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(set, set.Campaigns["nightly"], Options{Table: tab})
	if err != nil {
		t.Fatal(err)
	}
	stored := 0
	for _, cp := range p.Configs {
		c := cp.Config
		if c.Framework != "vllm" || set.Hardware[c.Hardware].GPU.Arch != "hopper" || stored == 12 {
			continue
		}
		m, err := New(set.Models[c.Model], set.Hardware[c.Hardware], set.Quantizations[c.Quantization], truth)
		if err != nil {
			t.Fatal(err)
		}
		l := LoadFor(set.Workloads[c.Workload], c.Concurrency, c.RequestRate, c.InputTokens, c.OutputTokens)
		l.KVTokens = m.KVCapacityTokens(0.9)
		pr := m.Simulate(l)
		sum := metrics.Summary{Requests: 1, Succeeded: 1, OutputThroughput: metrics.Of(pr.OutputThroughput),
			TTFT: metrics.Stats{N: 1, P50: metrics.Of(pr.TTFTP50)}, TPOT: metrics.Stats{N: 1, P50: metrics.Of(pr.TPOTP50)}}
		if err := st.PutResult(ctx, result.Result{Run: run.ID, Fingerprint: c.Fingerprint, Attempts: 1, Config: c, Summary: sum,
			Provenance: result.Provenance{Kind: result.Measured}}); err != nil {
			t.Fatal(err)
		}
		stored++
	}
	if stored < MinPoints {
		t.Fatalf("only %d vllm/hopper configs in nightly", stored)
	}
	results, err := st.Results(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	points, skipped := StorePoints(set, results)
	if len(skipped) > 0 || len(points) != 3*stored {
		t.Fatalf("%d points from %d results, skipped %v", len(points), stored, skipped)
	}
	fitted, fits := Calibrate(tab, points)
	if len(fits) != 1 || !fits[0].Fitted {
		t.Fatalf("fits: %+v", fits)
	}
	got := fitted.For("vllm", "hopper")
	t.Logf("%d results: %+v, MdAPE %.1f%% -> %.2f%%", stored, got, fits[0].MdAPEBefore, fits[0].MdAPEAfter)
	// MBU and the per-step time trade against each other in decode, so the
	// factors come back close, not exact; the predictions do.
	if fits[0].MdAPEAfter > 5 || fits[0].MdAPEAfter >= fits[0].MdAPEBefore {
		t.Errorf("fit error %.2f%% (before %.1f%%), want under 5%%", fits[0].MdAPEAfter, fits[0].MdAPEBefore)
	}
	// Too few points: the defaults stay, and the fit says why.
	_, fits = Calibrate(tab, points[:2])
	if fits[0].Fitted || fits[0].Note != "2 points, fewer than 3: defaults kept" {
		t.Errorf("two points: %+v", fits[0])
	}
}
