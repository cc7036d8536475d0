package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/pipeline"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
	"github.com/llmsweep/llmsweep/internal/store/storetest"
)

func TestResults(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, url string) {
		ctx := context.Background()
		st, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		run, err := st.CreateRun(ctx, result.Run{ID: "run1", Campaign: "quickstart", MatrixHash: "h", Configs: 2, Started: time.Unix(1e9, 0)})
		if err != nil {
			t.Fatal(err)
		}
		for i, fw := range []string{"vllm", "tgi"} {
			cfg := matrix.Config{Fingerprint: fw + strings.Repeat("0", 60), Model: "m", Hardware: "h100-sxm-x1",
				Framework: fw, Version: "1", Quantization: "bf16", Workload: "chat", Concurrency: 4}
			sum := metrics.Summary{Requests: 100, Succeeded: 100, TTFT: metrics.Stats{N: 100, P50: metrics.Of(float64(10 + i))}, OutputThroughput: metrics.Of(500)}
			if err := st.PutResult(ctx, result.Result{Run: run.ID, Fingerprint: cfg.Fingerprint, Attempts: 1, Config: cfg, Summary: sum,
				Provenance: result.Provenance{Kind: result.Measured}, Finished: time.Unix(1e9+int64(i), 0)}); err != nil {
				t.Fatal(err)
			}
		}
		st.Close()

		var out, errb bytes.Buffer
		if code := Run([]string{"results", "--store", url, "--framework", "tgi"}, &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		if !strings.Contains(out.String(), "tgi 1") || strings.Contains(out.String(), "vllm") || !strings.Contains(out.String(), "11.0") {
			t.Errorf("table:\n%s", out.String())
		}
		// What was not measured (TPOT here) is "–", never 0.
		if !strings.Contains(out.String(), "–") {
			t.Errorf("unmeasured TPOT is not \"–\":\n%s", out.String())
		}
		out.Reset()
		Run([]string{"results", "--store", url, "-o", "json"}, &out, &errb)
		var rows []result.Result
		if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) != 2 || rows[0].Summary.OutputThroughput != metrics.Of(500) ||
			rows[0].Provenance.Kind != result.Measured || strings.Contains(out.String(), `"tpot_ms": {"n": 0, "p50"`) {
			t.Errorf("json: %v %s", err, out.String())
		}
		out.Reset()
		Run([]string{"results", "--store", url, "-o", "csv", "--campaign", "quickstart"}, &out, &errb)
		if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "run,fingerprint,model") {
			t.Errorf("csv:\n%s", out.String())
		}
		errb.Reset()
		if code := Run([]string{"results", "--store", "mysql://x"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `URL scheme "mysql" is not supported`) {
			t.Errorf("bad store URL: exit %d, %s", code, errb.String())
		}
	})
}

func TestResultsImportExport(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, url string) {
		files := []string{"../benchfmt/testdata/real/vllm/sweep_run0.json", "../benchfmt/testdata/real/genai-perf/issue298_streaming.json"}
		var out, errb bytes.Buffer
		for range 2 { // importing again stores nothing new
			out.Reset()
			if code := Run(append([]string{"results", "import", "--store", url, "--framework", "vllm"}, files...), &out, &errb); code != 0 {
				t.Fatalf("import: exit %d: %s", code, errb.String())
			}
		}
		if !strings.Contains(out.String(), "sweep_run0.json: vllm-bench-serve result stored as run import-") ||
			!strings.Contains(out.String(), "note: TTFT: vLLM stops the clock") {
			t.Errorf("import said:\n%s", out.String())
		}
		out.Reset()
		Run([]string{"results", "--store", url, "--campaign", "imported", "-o", "json"}, &out, &errb)
		var rows []result.Result
		if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) != 2 {
			t.Fatalf("%d imported rows (%v):\n%s", len(rows), err, out.String())
		}
		for _, r := range rows {
			if r.Provenance.Kind != result.Imported || r.Config.Framework != "vllm" || r.Import == nil {
				t.Errorf("an import's provenance %v, framework %q", r.Provenance, r.Config.Framework)
			}
			for _, format := range []string{"vllm", "aiperf"} {
				out.Reset()
				if code := Run([]string{"results", "export", "--store", url, "--format", format, "--run", r.Run, "--config", r.Fingerprint[:12]}, &out, &errb); code != 0 {
					t.Fatalf("export: exit %d: %s", code, errb.String())
				}
				if !strings.Contains(out.String(), r.Import.Labels["model_id"]) {
					t.Errorf("export:\n%.300s", out.String())
				}
				// GenAI-Perf's file has no duration: an export leaves it out.
				if r.Import.Format == "genai-perf" && (strings.Contains(out.String(), `"duration"`) || strings.Contains(out.String(), "benchmark_duration")) {
					t.Errorf("an absent duration exported:\n%s", out.String())
				}
			}
		}
		errb.Reset()
		if code := Run([]string{"results", "import", "--store", url, "results_test.go"}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "results_test.go") {
			t.Errorf("importing a Go file: exit %d, %s", code, errb.String())
		}
	})
}

// diff --results says what a run on the cluster would measure, and why,
// under the campaign's reuse policy.
func TestDiffResults(t *testing.T) {
	set := campaigntest.Repo(t)
	m, err := pipeline.Compile(set, set.Campaigns["quickstart"], "")
	if err != nil {
		t.Fatal(err)
	}
	configs := m.Configs
	storetest.Backends(t, func(t *testing.T, url string) {
		ctx := context.Background()
		st, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		st.CreateRun(ctx, result.Run{ID: "r", Campaign: "quickstart", MatrixHash: "h", Configs: 2, Started: time.Unix(1e9, 0)})
		if err := st.PutResult(ctx, result.Result{Run: "r", Fingerprint: configs[0].Fingerprint, Attempts: 1, Config: configs[0],
			Provenance: result.Provenance{Kind: result.Measured}, Finished: time.Now()}); err != nil {
			t.Fatal(err)
		}
		st.Close()
		var out, errb bytes.Buffer
		code := Run([]string{"diff", "../../campaigns", "--generated", "../../generated", "--campaign", "quickstart", "--results", "--store", url}, &out, &errb)
		want := "quickstart: of 2 configs, a run on the cluster would have 1 measured (1 no result stored); 1 reused (1 stored result stands in (reuse scope any)) (results in " + url + ")"
		if code != 0 || !strings.Contains(out.String(), want) {
			t.Errorf("exit %d:\n%s%s\nwant %s", code, out.String(), errb.String(), want)
		}
	})
}
