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
		run, err := st.CreateRun(ctx, store.Run{ID: "run1", Campaign: "quickstart", MatrixHash: "h", Configs: 2, Started: time.Unix(1e9, 0)})
		if err != nil {
			t.Fatal(err)
		}
		for i, fw := range []string{"vllm", "tgi"} {
			cfg, _ := json.Marshal(matrix.Config{Fingerprint: fw + strings.Repeat("0", 60), Model: "m", Hardware: "h100-sxm-x1",
				Framework: fw, Version: "1", Quantization: "bf16", Workload: "chat", Concurrency: 4})
			sum, _ := json.Marshal(metrics.Summary{Requests: 100, Succeeded: 100, TTFT: metrics.Stats{P50: float64(10 + i)}, OutputThroughput: 500})
			if err := st.PutResult(ctx, store.Result{RunID: run.ID, Fingerprint: fw + strings.Repeat("0", 60), Attempts: 1,
				Config: cfg, Summary: sum, Finished: time.Unix(1e9, 0)}); err != nil {
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
		out.Reset()
		Run([]string{"results", "--store", url, "-o", "json"}, &out, &errb)
		var rows []resultRowOut
		if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) != 2 || rows[0].OutputTPS != 500 {
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
		files := []string{"../benchfmt/testdata/vllm_serve.json", "../benchfmt/testdata/genai_perf.json"}
		var out, errb bytes.Buffer
		for range 2 { // importing again stores nothing new
			out.Reset()
			if code := Run(append([]string{"results", "import", "--store", url}, files...), &out, &errb); code != 0 {
				t.Fatalf("import: exit %d: %s", code, errb.String())
			}
		}
		if !strings.Contains(out.String(), "vllm-bench-serve result of Qwen/Qwen2.5-7B-Instruct stored as run import-") ||
			!strings.Contains(out.String(), "note: TTFT: vLLM stops the clock") {
			t.Errorf("import said:\n%s", out.String())
		}
		out.Reset()
		Run([]string{"results", "--store", url, "--campaign", "imported", "-o", "json"}, &out, &errb)
		var rows []resultRowOut
		if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) != 2 {
			t.Fatalf("%d imported rows (%v):\n%s", len(rows), err, out.String())
		}
		for _, r := range rows {
			if r.Framework != "openai" {
				continue
			}
			out.Reset()
			if code := Run([]string{"results", "export", "--store", url, "--run", r.Run, "--config", r.Fingerprint[:12]}, &out, &errb); code != 0 {
				t.Fatalf("export: exit %d: %s", code, errb.String())
			}
			if !strings.Contains(out.String(), `"model_id": "`+r.Model+`"`) {
				t.Errorf("export:\n%.300s", out.String())
			}
		}
		errb.Reset()
		if code := Run([]string{"results", "import", "--store", url, "results_test.go"}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "results_test.go") {
			t.Errorf("importing a Go file: exit %d, %s", code, errb.String())
		}
	})
}

func TestDiffResults(t *testing.T) {
	set := campaigntest.Repo(t)
	configs, _, err := compileConfigs(set, set.Campaigns["quickstart"])
	if err != nil {
		t.Fatal(err)
	}
	storetest.Backends(t, func(t *testing.T, url string) {
		ctx := context.Background()
		st, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		st.CreateRun(ctx, store.Run{ID: "r", Campaign: "quickstart", MatrixHash: "h", Configs: 2, Started: time.Unix(1e9, 0)})
		cfg, _ := json.Marshal(configs[0])
		if err := st.PutResult(ctx, store.Result{RunID: "r", Fingerprint: configs[0].Fingerprint, Attempts: 1, Config: cfg,
			Summary: []byte(`{}`), Finished: time.Unix(1e9, 0)}); err != nil {
			t.Fatal(err)
		}
		st.Close()
		var out, errb bytes.Buffer
		code := Run([]string{"diff", "../../campaigns", "--generated", "../../generated", "--campaign", "quickstart", "--results", url}, &out, &errb)
		if code != 0 || !strings.Contains(out.String(), "quickstart: 1 of 2 configs already have results in "+url+"; 1 have none") {
			t.Errorf("exit %d:\n%s%s", code, out.String(), errb.String())
		}
	})
}
