// Package e2e runs the quickstart campaign against a real engine: ollama, built
// from the Go module proxy, serving the project's own tiny GGUF model. make e2e
// runs it (LLMSWEEP_E2E=1); plain go test skips it.
package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/internal/cli"
	"github.com/llmsweep/llmsweep/internal/gguf"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/ollama"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/runlog"
	"github.com/llmsweep/llmsweep/internal/store"
	"github.com/llmsweep/llmsweep/internal/testing/hubtest"
	"github.com/llmsweep/llmsweep/internal/testing/taskfiles"
	"github.com/llmsweep/llmsweep/plugins/sdk"
	"github.com/llmsweep/llmsweep/plugins/sdk/loadgen"
	"github.com/llmsweep/llmsweep/plugins/sdk/stream"
)

const model = "llmsweep-tiny"

func root(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// engine starts ollama with the tiny model created in it.
func engine(t *testing.T) *ollama.Server { return engineWith(t, gguf.DefaultLlama()) }

func engineWith(t *testing.T, m gguf.Llama) *ollama.Server {
	bin, cached := ollama.Cached()
	if os.Getenv("LLMSWEEP_E2E") == "" {
		t.Skip("the real-engine tests run under make e2e (LLMSWEEP_E2E=1), which builds ollama")
	}
	if !cached {
		var err error
		if bin, err = ollama.Binary(); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := ollama.Start(ctx, ollama.Options{Binary: bin, Dir: dir, NumParallel: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	path := filepath.Join(dir, "tiny.gguf")
	if err := m.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if err := srv.Create(ctx, model, path); err != nil {
		t.Fatal(err)
	}
	if err := srv.Load(ctx, model); err != nil {
		t.Fatal(err)
	}
	return srv
}

// plugins builds the openai plugin for the run to find.
func plugins(t *testing.T) string {
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "llmsweep-plugin-openai"), "./plugins/openai")
	cmd.Dir = root(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return dir
}

// outputTokens is the answer length the quickstart's grid fixes.
const outputTokens = 16

// The quickstart runs on the emulated engine by default; --engine-url and
// --engine-model send it to a real one instead.
func TestQuickstartOnOllama(t *testing.T) {
	srv := engine(t)
	t.Setenv("LLMSWEEP_PLUGIN_PATH", plugins(t))
	results := t.TempDir()
	campaignFile := filepath.Join(root(t), "campaigns", "quickstart.cue")
	t.Chdir(results) // the run's reports go to ./.llmsweep/reports
	var stdout, stderr bytes.Buffer
	code := cli.Run([]string{"run", campaignFile,
		"--engine-url", srv.URL(), "--engine-model", model, "--engine-pid", strconv.Itoa(srv.Pid()), "--results", results, "--store", "sqlite://" + filepath.Join(results, "results.db"), "--work-dir", t.TempDir()}, &stdout, &stderr)
	t.Logf("llmsweep run:\n%s%s", stdout.String(), stderr.String())
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(stdout.String(), "TTFT P50") || !strings.Contains(stdout.String(), "measured @openai:"+model) {
		t.Error("no results table naming the engine")
	}

	// The results are stored: one per config, with every request recorded.
	dirs, _ := filepath.Glob(filepath.Join(results, "quickstart", "*"))
	if len(dirs) != 1 {
		t.Fatalf("run directories: %v", dirs)
	}
	log, err := runlog.Open(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	res, err := log.Results()
	if err != nil || len(res) != 2 {
		t.Fatalf("%d results (%v), want 2", len(res), err)
	}
	for _, r := range res {
		recs, err := log.Records(r.Fingerprint)
		if err != nil || len(recs) != 100 {
			t.Fatalf("config %s: %d records (%v), want 100", r.Fingerprint[:12], len(recs), err)
		}
		for _, rec := range recs {
			if rec.GetErrorClass() != "" || rec.GetOutputTokens() != outputTokens || rec.GetClientOutputTokens() != outputTokens {
				t.Fatalf("request %d: %s %s, %d tokens by the server, %d chunks", rec.GetIndex(), rec.GetErrorClass(), rec.GetError(), rec.GetOutputTokens(), rec.GetClientOutputTokens())
			}
		}
	}

	// The results store has them too.
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(results, "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored, err := st.Results(context.Background(), store.Filter{Campaign: "quickstart"})
	if err != nil || len(stored) != 2 || stored[0].Summary.Succeeded != 100 {
		t.Fatalf("stored results: %d (%v)", len(stored), err)
	}
	// Measured, but by ollama, not by the L4 and vLLM the configs name: kept
	// under an identity of their own, with the engine's utilization.
	for _, r := range stored {
		if r.Provenance.Kind != result.Measured || r.Engine != "openai:"+model || r.Fingerprint == r.Config.Fingerprint {
			t.Errorf("result %s: provenance %v, engine %q, fingerprint %s of config %s", r.Label(), r.Provenance, r.Engine, r.Fingerprint[:12], r.Config.Fingerprint[:12])
		}
		if u := r.Utilization; u == nil || u.Source != "proc" || !u.CPUMeanPct.OK() || !u.RSSPeakBytes.OK() || u.Samples == 0 {
			t.Errorf("result %s: utilization %+v", r.Label(), u)
		}
	}
	var jsonOut, jsonErr bytes.Buffer
	if code := cli.Run([]string{"results", "--store", "sqlite://" + filepath.Join(results, "results.db"), "-o", "json"}, &jsonOut, &jsonErr); code != 0 ||
		strings.Count(jsonOut.String(), `"utilization": {`) != 2 || strings.Count(jsonOut.String(), `"cpu_mean_pct"`) != 2 {
		t.Errorf("results -o json: exit %d, %s\n%.2000s", code, jsonErr.String(), jsonOut.String())
	}
	rep, err := os.ReadFile(filepath.Join(results, ".llmsweep", "reports", "latest.json"))
	if err != nil || strings.Count(string(rep), `"utilization": {`) != 2 || !strings.Contains(string(rep), `"rss_peak_bytes"`) {
		t.Errorf("the report's utilization: %v\n%.2000s", err, rep)
	}

	// The engine's CPU and memory were sampled while it served.
	samples, err := os.ReadFile(filepath.Join(dirs[0], "samples.jsonl"))
	if err != nil || !strings.Contains(string(samples), `"source":"proc"`) || !strings.Contains(string(samples), `"rss_bytes"`) {
		t.Errorf("utilization samples: %v\n%.300s", err, samples)
	}
	for _, r := range res {
		if r.Accuracy == nil || r.Accuracy.Task != "arithmetic-exact-match" || r.Accuracy.Samples != 20 {
			t.Errorf("accuracy of %s: %+v", r.Fingerprint[:12], r.Accuracy)
		}
	}

	if !strings.Contains(stdout.String(), "0% of 20") && !strings.Contains(stdout.String(), "% of 20") {
		t.Error("no accuracy column")
	}
}

// Client-measured TPOT agrees within 10% with ollama's own decode timing
// (native /api/generate: eval_duration / eval_count) on the same prompts. The
// model is larger than the quickstart's, so that decoding, not the per-token
// cost of streaming, dominates a token's time (2-3 ms here), and the two
// kinds of request alternate, one at a time, so that both see the same load.
func TestTPOTAgreesWithOllama(t *testing.T) {
	m := gguf.DefaultLlama()
	m.Layers, m.Embd, m.Heads, m.KVHeads, m.FF, m.Std = 3, 256, 4, 2, 768, 0.005
	srv := engineWith(t, m)
	client := stream.NewClient(srv.URL())
	defer client.CloseIdleConnections()
	prompts := loadgen.NewPrompts(&sdk.BenchmarkSpec{Seed: 7,
		InputTokens:  &sdk.Distribution{Kind: "uniform", Min: 32, Max: 256},
		OutputTokens: &sdk.Distribution{Kind: "fixed", Value: 64}})
	ctx := context.Background()
	const n = 30
	var measured, reported []float64
	for i := range n {
		p := prompts.At(i)
		res, err := client.Do(ctx, stream.Request{API: stream.OpenAICompletions, Model: model, Prompt: p.Text, MaxTokens: p.OutputTokens})
		if err != nil {
			t.Fatal(err)
		}
		if res.CompletionTokens != 64 {
			t.Fatalf("prompt %d: %d tokens streamed, want 64", i, res.CompletionTokens)
		}
		measured = append(measured, float64(res.End.Sub(res.FirstToken))/float64(res.CompletionTokens-1)/1e6)
		g, err := srv.Generate(ctx, model, p.Text, p.OutputTokens)
		if err != nil {
			t.Fatal(err)
		}
		if g.EvalCount != 64 {
			t.Fatalf("prompt %d: ollama generated %d tokens, want 64", i, g.EvalCount)
		}
		reported = append(reported, float64(g.EvalDuration)/float64(g.EvalCount)/1e6)
	}
	// Each prompt's two requests ran back to back, so their ratio cancels most of
	// the drift in the machine's load; the median ratio is the agreement.
	ratios := make([]float64, n)
	for i := range ratios {
		ratios[i] = measured[i] / reported[i]
	}
	c, s, r := metrics.Describe(measured), metrics.Describe(reported), metrics.Describe(ratios)
	ratio := r.Median.Or(0)
	t.Logf("TPOT over %d prompts: client median %.3f ms (P90 %.3f), ollama median %.3f ms (P90 %.3f): median ratio %.3f (P10 %.3f, P90 %.3f)",
		n, c.Median, c.P90, s.Median, s.P90, ratio, metrics.Quantile(ratios, 0.1), r.P90)
	if ratio < 0.9 || ratio > 1.1 {
		t.Errorf("client TPOT is %.1f%% of ollama's own figure; want within 10%%", 100*ratio)
	}
}

// A small GSM8K check against ollama, with the data set read from a local
// fake Hub (our own rows in GSM8K's schema): the tiny model scores about 0,
// and what is checked is that the pipeline stores the accuracy with its
// interval, n and per-example outcomes.
func TestGSM8KOnOllama(t *testing.T) {
	srv := engine(t)
	t.Setenv("LLMSWEEP_PLUGIN_PATH", plugins(t))
	h := hubtest.New(t)
	taskfiles.Serve(h, false)
	dir := t.TempDir()
	campaignFile := filepath.Join(dir, "gsm8k.cue")
	if err := os.WriteFile(campaignFile, []byte(`package campaigns

campaigns: "e2e-gsm8k": {
	description: "GSM8K through the fake Hub on ollama."
	models: ["llama-3.2-1b-instruct"]
	select: {
		hardware: ["l4-x1"]
		frameworks: ["vllm"]
		quantizations: ["bf16"]
		workloads: ["smoke-gsm8k"]
	}
	grid: {
		concurrency: [4]
		sequence_lengths: [{input_tokens: 64, output_tokens: 16}]
	}
	store: url: "sqlite://.llmsweep/results.db"
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	db := "sqlite://" + filepath.Join(dir, "results.db")
	var stdout, stderr bytes.Buffer
	code := cli.Run([]string{"run", campaignFile, "--engine-url", srv.URL(), "--engine-model", model,
		"--results", dir, "--store", db, "--work-dir", t.TempDir(), "--hub", h.URL, "--hub-cache", filepath.Join(dir, "hub")}, &stdout, &stderr)
	t.Logf("llmsweep run:\n%s%s", stdout.String(), stderr.String())
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored, err := st.Results(context.Background(), store.Filter{Campaign: "e2e-gsm8k"})
	if err != nil || len(stored) != 1 {
		t.Fatalf("stored results: %d (%v)", len(stored), err)
	}
	a := stored[0].Accuracy
	if a == nil || a.Task != "gsm8k" || a.Metric != "strict-match" || a.Shots != 1 || a.Samples != 8 || len(a.Examples) != 8 || len(a.Variants) != 2 {
		t.Fatalf("accuracy: %+v", a)
	}
	lo, okLo := a.Low.Get()
	hi, okHi := a.High.Get()
	if !okLo || !okHi || lo > a.Accuracy || hi < a.Accuracy || hi <= lo {
		t.Errorf("interval [%v, %v] around %v", a.Low, a.High, a.Accuracy)
	}
	if len(a.Data) == 0 || a.Data[0].Repo != "openai/gsm8k" {
		t.Errorf("data: %+v", a.Data)
	}
	t.Logf("tiny model on GSM8K: %d/%d, 95%% CI [%.3f, %.3f]; answers %+v", a.Correct, a.Samples, lo, hi, a.Examples)
}
