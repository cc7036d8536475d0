package report

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
)

// largeSet prices the synthetic hardware.
func largeSet() *campaign.Set {
	s := testSet()
	for h := range 6 {
		name := fmt.Sprintf("hw%d-x%d", h, 1<<(h%3))
		s.Hardware[name] = campaign.Hardware{Name: name, Count: 1 << (h % 3), Price: campaign.Price{SpotUSDHour: 1 + float64(h), OnDemandUSDHour: 3 + 2*float64(h)}}
	}
	return s
}

// seedLarge stores two runs of a 9,000-config campaign (5 models × 6 hardware
// shapes × 3 frameworks × 2 quantizations × 5 workloads × 10 load points);
// the second run is 20% slower to its first token on one framework. The first
// run measured model-0 only (1,800 configs), which keeps seeding to a minute.
func seedLarge(t testing.TB, st store.Store) {
	t.Helper()
	ctx := context.Background()
	const n = 9000
	for ri, id := range []string{"big-1", "big-2"} {
		started := t0.Add(time.Duration(ri) * 24 * time.Hour)
		if _, err := st.CreateRun(ctx, result.Run{ID: id, Campaign: "big", MatrixHash: "hash-big", Configs: n, Started: started}); err != nil {
			t.Fatal(err)
		}
		i := 0
		for m := range 5 {
			if ri == 0 && m > 0 {
				break
			}
			for h := range 6 {
				for f, fw := range []string{"vllm", "tgi", "lmdeploy"} {
					for q, quant := range []string{"bf16", "fp8"} {
						for w := range 5 {
							for l := range 10 {
								c := 1 << l
								cfg := matrix.Config{Model: fmt.Sprintf("model-%d", m), Hardware: fmt.Sprintf("hw%d-x%d", h, 1<<(h%3)), GPUs: 1 << (h % 3),
									Framework: fw, Version: "1.0", Quantization: quant, Workload: fmt.Sprintf("wl%d", w), Concurrency: c}
								key, _ := json.Marshal(cfg)
								sum := sha256.Sum256(key)
								cfg.Fingerprint = hex.EncodeToString(sum[:])
								ttft := 20 * (1 + float64(l)*0.5) * (1 + 0.2*float64(f)) * (1 + 0.1*float64(m)) / (1 + 0.3*float64(q))
								if ri == 1 && f == 1 {
									ttft *= 1.2
								}
								tps := 100 * float64(c) / (1 + 0.1*float64(c)) * (1 + 0.4*float64(h)) * (1 + 0.05*float64(w))
								if err := st.PutResult(ctx, result.Result{Run: id, Fingerprint: cfg.Fingerprint, Attempts: 1, Config: cfg,
									Summary: summary(ttft, 10+float64(f+q), tps, 100), Provenance: result.Provenance{Kind: result.Measured},
									ServedBy: fw, Finished: started.Add(time.Duration(i) * time.Second)}); err != nil {
									t.Fatal(err)
								}
								i++
							}
						}
					}
				}
			}
		}
		if err := st.FinishRun(ctx, id, started.Add(n*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLargeCampaign: a 9,000-config run keeps HTML and PDF to the top entries
// and puts everything in the JSON.
func TestLargeCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 10,800 results")
	}
	st := openStore(t, sqliteURL(t))
	seedLarge(t, st)
	out := filepath.Join(t.TempDir(), "out")
	p, err := Write(context.Background(), st, Options{Campaign: "big", Set: largeSet(), Out: out, SampleTests: true})
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	b, _ := os.ReadFile(p.Files["json"])
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Configs) != 9000 || len(r.Curves) != 30 || r.Regressions.PriorRun != "big-1" || r.Regressions.Shared != 1800 {
		t.Errorf("configs %d, curves %d, prior %q, shared %d", len(r.Configs), len(r.Curves), r.Regressions.PriorRun, r.Regressions.Shared)
	}
	if len(r.Regressions.Found) != 600 {
		t.Errorf("%d regressions, want the 600 shared TGI configs' TTFT P50", len(r.Regressions.Found))
	}
	html, _ := os.ReadFile(p.Files["html"])
	pdf, _ := os.ReadFile(p.Files["pdf"])
	t.Logf("json %d KB, html %d KB, pdf %d KB", len(b)>>10, len(html)>>10, len(pdf)>>10)
	if len(html) > 4<<20 || len(pdf) > 8<<20 {
		t.Errorf("html %d bytes, pdf %d bytes: too big to read", len(html), len(pdf))
	}
	if n := bytes.Count(html, []byte("<figure")); n != 1+2*10 {
		t.Errorf("%d figures in the HTML, want the Pareto plot and 10 model/hardware pairs × 2", n)
	}
	for _, s := range []string{"8950 more configs in the JSON report", "20 more model and hardware pairs in the JSON report", "580 more regressions in the JSON report"} {
		if !strings.Contains(string(html), s) {
			t.Errorf("the HTML lacks %q", s)
		}
	}
}

// BenchmarkReport9000 builds and renders (JSON, HTML, PDF) the report of a
// 9,000-config run with a 1,800-config prior run, from SQLite.
func BenchmarkReport9000(b *testing.B) {
	st := openStore(b, sqliteURL(b))
	seedLarge(b, st)
	out := b.TempDir()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Write(context.Background(), st, Options{Campaign: "big", Set: largeSet(), Out: out, SampleTests: true}); err != nil {
			b.Fatal(err)
		}
	}
}
