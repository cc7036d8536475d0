package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
)

// TestRankShippedPolicies ranks the example results under every policy the
// repository ships.
func TestRankShippedPolicies(t *testing.T) {
	t.Chdir("../..")
	files, _ := filepath.Glob("campaigns/policies/*.cue")
	n := 0
	for _, f := range files {
		if filepath.Base(f) == "policies.cue" {
			continue
		}
		n++
		code, out, errs := run(t, "rank", "--policy", f, "--input", "testdata/rank/results.jsonl", "--top", "3")
		if code != 0 || !strings.Contains(out, "the top 3:") || !strings.Contains(out, "Pareto front") {
			t.Errorf("%s: exit %d\n%s\n%s", f, code, out, errs)
		}
	}
	if n < 3 {
		t.Fatalf("%d shipped policies, want at least 3", n)
	}
}

// A shipped policy by name ranks each config's newest result in the store;
// a criterion nothing measured is left out with a note, not a reason to
// rank nothing.
func TestRankStoreByName(t *testing.T) {
	url := "sqlite://" + filepath.Join(t.TempDir(), "r.db")
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for r, id := range []string{"old", "new"} {
		if _, err := st.CreateRun(ctx, result.Run{ID: id, Campaign: "demo", MatrixHash: "h", Configs: 2, Started: time.Unix(int64(1e9+r), 0)}); err != nil {
			t.Fatal(err)
		}
		for i, c := range []int{4, 16} {
			fp := strings.Repeat(string(rune('a'+i)), 64)
			cfg := matrix.Config{Fingerprint: fp, Model: "llama-3.2-1b-instruct", Hardware: "l4-x1", GPUs: 1,
				Framework: "vllm", Version: "1", Quantization: "bf16", Workload: "chat", Concurrency: c}
			v := metrics.Of
			sum := metrics.Summary{Requests: 100, Succeeded: 100, TTFT: metrics.Stats{N: 100, P99: v(float64(100*(i+1) + r))},
				TPOT: metrics.Stats{N: 100, P99: v(20)}, OutputThroughput: v(float64(400 * (i + 1))), Goodput: v(float64(2 * (i + 1)))}
			if err := st.PutResult(ctx, result.Result{Run: id, Fingerprint: fp, Attempts: 1, Config: cfg, Summary: sum,
				Provenance: result.Provenance{Kind: result.Measured}, Finished: time.Unix(int64(1e9+10*r), 0)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	st.Close()
	code, out, errs := run(t, "rank", "--policy", "balanced", "--store", url)
	if code != 0 || !strings.Contains(out, "2 configs considered") || !strings.Contains(out, "left out: criterion accuracy (accuracy not measured)") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = run(t, "rank", "--policy", "balanced", "--store", url, "-o", "json")
	if code != 0 || !strings.Contains(out, `"considered": 2`) {
		t.Errorf("json: exit %d\n%s\n%s", code, out, errs)
	}
	code, _, errs = run(t, "rank", "--policy", "balancd", "--store", url)
	if code != 2 || !strings.Contains(errs, `did you mean "balanced"`) {
		t.Errorf("a misspelt policy: exit %d %s", code, errs)
	}
	code, _, errs = run(t, "rank", "--policy", "balanced", "--store", url, "--model", "nosuch")
	if code != 2 || !strings.Contains(errs, "no results that match") {
		t.Errorf("no results: exit %d %s", code, errs)
	}
}
