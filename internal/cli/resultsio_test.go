package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
	"github.com/llmsweep/llmsweep/internal/store/storetest"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// fixtures are benchfmt's real files (internal/benchfmt/testdata/README.md).
const fixtures = "../benchfmt/testdata/real"

var runLine = regexp.MustCompile(`stored as run (import-[0-9a-f]+-\d+)`)

// TestImportedAgainstMeasured is issue 18's second bar: a run of each of the
// five tools, matched to a config llmsweep measured, is compared and ranked
// against that measurement, and both say where the tool's definitions differ.
func TestImportedAgainstMeasured(t *testing.T) {
	tools := []struct {
		tool  string
		files []string
	}{
		{"vllm bench serve", []string{"vllm/bench_serve_v0.25.1.json"}},
		{"genai-perf", []string{"genai-perf/issue298_streaming.json"}},
		{"aiperf", []string{"aiperf/llama32_3b_c1_profile_export_aiperf.json", "aiperf/llama32_3b_c1_profile_export.jsonl"}},
		{"guidellm", []string{"guidellm/codellama_prefill_cut.json"}},
		{"inference-perf", []string{"inference-perf/eagle_stage_0_lifecycle_metrics.json"}},
	}
	storetest.Backends(t, func(t *testing.T, url string) {
		ctx := context.Background()
		st, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		cfg := measure(t, st, "measured")
		st.Close()
		for _, tc := range tools {
			t.Run(tc.tool, func(t *testing.T) {
				args := []string{"results", "import", "--store", url, "--config", cfg.Fingerprint}
				for _, f := range tc.files {
					args = append(args, filepath.Join(fixtures, f))
				}
				var out, errb bytes.Buffer
				if code := Run(args, &out, &errb); code != 0 {
					t.Fatalf("import: exit %d\n%s%s", code, out.String(), errb.String())
				}
				m := runLine.FindStringSubmatch(out.String())
				if m == nil || !strings.Contains(out.String(), "config "+cfg.Fingerprint[:12]+" (given)") {
					t.Fatalf("import output:\n%s", out.String())
				}
				run := m[1]

				out.Reset()
				errb.Reset()
				code := Run([]string{"compare", "--store", url, "measured", run}, &out, &errb)
				if code > 1 || !strings.Contains(out.String(), "1 configs compared (0 only in measured, 0 only in "+run+")") ||
					!strings.Contains(out.String(), "imported from "+tc.tool+": its metric definitions differ from llmsweep's:") {
					t.Errorf("compare: exit %d\n%s%s", code, out.String(), errb.String())
				}

				out.Reset()
				errb.Reset()
				if code := Run([]string{"rank", "--store", url, "--policy", "balanced", "--run", "measured", "--run", run}, &out, &errb); code != 0 ||
					!strings.Contains(out.String(), "2 configs considered") || !strings.Contains(out.String(), "[measured]") ||
					!strings.Contains(out.String(), "[imported from "+tc.tool) {
					t.Errorf("rank: exit %d\n%s%s", code, out.String(), errb.String())
				}
			})
		}
	})
}

// measure stores a measured run of one config, with per-request records:
// what `llmsweep run` stores for a config.
func measure(t *testing.T, st store.Store, id string) matrix.Config {
	ctx := context.Background()
	cfg := matrix.Config{Model: "llama-3.2-1b-instruct", Repo: "meta-llama/Llama-3.2-1B-Instruct", Hardware: "h100-sxm-x1",
		GPU: "h100-sxm", GPUs: 1, Framework: "vllm", Version: "0.25.1", Quantization: "bf16", TP: 1, Workload: "chat",
		Concurrency: 2, MaxModelLen: 8192}
	cfg.Fingerprint = strings.Repeat("ab", 32)
	if _, err := st.CreateRun(ctx, result.Run{ID: id, Campaign: "c", MatrixHash: "h", Configs: 1, Started: time.Unix(1.7e9, 0)}); err != nil {
		t.Fatal(err)
	}
	var recs []*sdk.Record
	for i := range 50 {
		start := int64(1.7e18) + int64(i)*int64(300*time.Millisecond)
		ttft := int64((80 + float64(i%9)) * 1e6)
		recs = append(recs, &sdk.Record{Index: int32(i), ScheduledNs: start, StartNs: start, FirstTokenNs: start + ttft,
			EndNs: start + ttft + 31*int64(10*time.Millisecond), ItlNs: []int64{10e6, 10e6, 11e6},
			OutputTokens: 32, ClientOutputTokens: 32, PromptTokens: 100})
	}
	if err := st.AppendRecords(ctx, id, cfg.Fingerprint, 1, recs); err != nil {
		t.Fatal(err)
	}
	if err := st.PutResult(ctx, result.Result{Run: id, Fingerprint: cfg.Fingerprint, Attempts: 1, Config: cfg,
		Summary: metrics.Summarize(recs, metrics.SLO{}), Provenance: result.Provenance{Kind: result.Measured},
		Finished: time.Unix(1.7e9+60, 0)}); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishRun(ctx, id, time.Unix(1.7e9+60, 0)); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestImportExitsNonZero: every file is tried, each bad one named, exit 1.
func TestImportExitsNonZero(t *testing.T) {
	url := "sqlite://" + filepath.Join(t.TempDir(), "r.db")
	var out, errb bytes.Buffer
	code := Run([]string{"results", "import", "--store", url, "nonesuch.json", filepath.Join(fixtures, "vllm", "bench_serve_v0.25.1.json"),
		filepath.Join(fixtures, "vllm", "bench_serve_all_requests_failed_v0.25.1.json")}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "nonesuch.json: open nonesuch.json") ||
		!strings.Contains(errb.String(), "1 of 3 files not imported") ||
		!strings.Contains(out.String(), "bench_serve_v0.25.1.json: vllm-bench-serve result stored as run") ||
		!strings.Contains(out.String(), "FAILED: all 8 requests failed") {
		t.Errorf("exit %d\n%s%s", code, out.String(), errb.String())
	}
}
