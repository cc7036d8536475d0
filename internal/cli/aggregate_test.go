package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/internal/cache"
	"github.com/llmsweep/llmsweep/internal/store"
	"github.com/llmsweep/llmsweep/internal/store/storetest"
)

// campaignC is a campaign named c, as storeRun's runs are.
const campaignC = `campaigns: c: {
	description: "the campaign of storeRun"
	models: ["llama-3.2-1b-instruct"]
	select: {hardware: ["h100-sxm-x1"], frameworks: ["vllm"], quantizations: ["bf16"], workloads: ["smoke"]}
	grid: concurrency: [1]
}
`

// TestPipelineTail runs the aggregate, refresh-views and invalidate-cache
// steps on both backends.
func TestPipelineTail(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, url string) {
		file := filepath.Join(t.TempDir(), "c.cue")
		if err := os.WriteFile(file, []byte(campaignC), 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := store.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		storeRun(t, st, "r1", 10)
		storeRun(t, st, "r2", 20)
		st.Close()
		run := func(want int, args ...string) string {
			t.Helper()
			var out, errb bytes.Buffer
			if code := Run(append(args, "--store", url), &out, &errb); code != want {
				t.Fatalf("%s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out.String(), errb.String())
			}
			return out.String() + errb.String()
		}

		// The newest run by default, grouped by the serving stack.
		var got struct {
			By         []string
			Aggregates []store.Aggregate
		}
		if err := json.Unmarshal([]byte(run(0, "aggregate", file, "-o", "json")), &got); err != nil {
			t.Fatal(err)
		}
		var ttft *store.Aggregate
		for i, a := range got.Aggregates {
			if a.Metric == "ttft_ms" {
				ttft = &got.Aggregates[i]
			}
		}
		// storeRun's TTFTs are 20 + i%7 ms over 200 requests: median 23.
		if len(got.Aggregates) != 3 || ttft == nil || ttft.N != 200 || ttft.Median != 23 || strings.Join(ttft.Group, "/") != "m//vllm//chat/c=0" {
			t.Fatalf("aggregates: %+v", got)
		}
		// Every run, by run.
		out := run(0, "aggregate", file, "--all", "--by", "run")
		if !strings.Contains(out, "r1   ttft_ms  200  12.970  13.000") || !strings.Contains(out, "r2   ttft_ms  200  22.970  23.000") {
			t.Errorf("--all --by run:\n%s", out)
		}
		if out := run(2, "aggregate", file, "--by", "model,nope"); !strings.Contains(out, `unknown group key "nope"`) {
			t.Errorf("bad key:\n%s", out)
		}
		if out := run(2, "aggregate", file, "--run", "r9"); !strings.Contains(out, "run r9 is not in the store") {
			t.Errorf("unknown run:\n%s", out)
		}

		if out := run(0, "refresh-views"); !strings.Contains(out, "model_rankings 1 rows, daily_stats 1 rows") {
			t.Errorf("refresh-views:\n%s", out)
		}

		// invalidate-cache drops campaign c's entries in the real Redis.
		ctx := context.Background()
		c, err := cache.Open(ctx, "redis://127.0.0.1:6379/0")
		if err != nil {
			t.Fatalf("Redis is needed (.ci/run starts it): %v", err)
		}
		defer c.Close()
		if err := c.Put(ctx, "c", "a question", 42); err != nil {
			t.Fatal(err)
		}
		if out := run(0, "invalidate-cache", file, "--cache", "redis://127.0.0.1:6379/0"); !strings.Contains(out, "cached entries of campaign c") {
			t.Errorf("invalidate-cache:\n%s", out)
		}
		var v int
		if ok, _ := c.Get(ctx, "c", "a question", &v); ok {
			t.Error("the entry survived invalidate-cache")
		}
		if out := run(0, "invalidate-cache", file); !strings.Contains(out, "campaign c has no cache: nothing to invalidate") {
			t.Errorf("no cache:\n%s", out)
		}
	})
}
