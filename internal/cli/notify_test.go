package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/notify/notifytest"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
)

// TestNotifyCommand runs llmsweep notify against a Slack-style and a generic
// webhook on loopback, with a stored run to summarize.
func TestNotifyCommand(t *testing.T) {
	dir := t.TempDir()
	url := "sqlite://" + filepath.Join(dir, "results.db")
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRun(ctx, result.Run{ID: "run1", Campaign: "demo", MatrixHash: "h", Configs: 3, Started: time.Unix(1e9, 0)}); err != nil {
		t.Fatal(err)
	}
	for i, c := range []int{4, 16} {
		fp := strings.Repeat(string(rune('a'+i)), 64)
		cfg := matrix.Config{Fingerprint: fp, Model: "llama-3.2-1b-instruct", Hardware: "l4-x1",
			Framework: "vllm", Version: "1", Quantization: "bf16", Workload: "chat", Concurrency: c}
		sum := metrics.Summary{Requests: 100, Succeeded: 100, TTFT: metrics.Stats{N: 100, P99: metrics.Of(float64(100 * (i + 1)))},
			OutputThroughput: metrics.Of(float64(400 * (i + 1))), Goodput: metrics.Of(float64(2 * (i + 1)))}
		if err := st.PutResult(ctx, result.Result{Run: "run1", Fingerprint: fp, Attempts: 1, Config: cfg, Summary: sum,
			Provenance: result.Provenance{Kind: result.Measured}, Finished: time.Unix(1e9, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutFailure(ctx, result.Failure{Run: "run1", Fingerprint: strings.Repeat("c", 64), Attempt: 3, Final: true,
		Reason: "server exited: CUDA out of memory", Time: time.Unix(1e9, 0)}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	var slackN, hookN atomic.Int32
	var slackBody, hookBody []byte
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slackN.Add(1) == 1 {
			http.Error(w, "try later", http.StatusServiceUnavailable) // one retry
			return
		}
		slackBody = readAll(r)
	}))
	defer slack.Close()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hookN.Add(1)
		hookBody = readAll(r)
	}))
	defer hook.Close()
	t.Setenv("T_SLACK", slack.URL+"/services/T/B/X")
	t.Setenv("T_HOOK", hook.URL+"/hook")

	camp := filepath.Join(dir, "demo.cue")
	os.WriteFile(camp, []byte(`campaigns: demo: {
	description: "notify demo"
	models: ["llama-3.2-1b-instruct"]
	select: {hardware: ["l4-x1"], frameworks: ["vllm"], quantizations: ["bf16"], workloads: ["chat"]}
	grid: concurrency: [1]
	notifications: [{kind: "slack", webhook_env: "T_SLACK"}, {kind: "webhook", url_env: "T_HOOK", on: ["failure"]}]
}
`), 0o644)

	var out, errb bytes.Buffer
	args := []string{"notify", camp, "--store", url, "--run", "run1", "--status", "success",
		"--report-url", "https://reports.example.com/demo/run1.html", "--retry-backoff", "1ms"}
	if code := Run(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if slackN.Load() != 2 || hookN.Load() != 0 {
		t.Errorf("slack got %d posts (want 2: one 503, one retry), webhook %d (wants failures only)", slackN.Load(), hookN.Load())
	}
	if !strings.Contains(out.String(), "notified slack webhook "+slack.URL) {
		t.Errorf("stdout: %s", out.String())
	}
	for _, want := range []string{"campaign demo finished (run run1)", "3 configs*: 2 done, 1 failed",
		// The campaign's policy (balanced by default) is a shipped one.
		"Top recommendation* (policy balanced, score 0.500)", "llama-3.2-1b-instruct/l4-x1/vllm-1/bf16/chat/c=4",
		"TPOT p50 – ms", // not measured, so not 0
		"server exited: CUDA out of memory", "<https://reports.example.com/demo/run1.html|Open the report>"} {
		if !bytes.Contains(slackBody, []byte(want)) {
			t.Errorf("Slack body lacks %q:\n%s", want, slackBody)
		}
	}

	// The onExit handler: Argo's status and failures; both targets want it.
	out.Reset()
	args = []string{"notify", camp, "--store", url, "--run", "run1", "--status", "Failed",
		"--failures", `[{"displayName":"aggregate","message":"exit code 2","templateName":"aggregate","phase":"Failed","podName":"p","finishedAt":"2026-11-27T10:00:00Z"}]`}
	if code := Run(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got struct {
		Message struct {
			Success  bool
			Status   string
			Failures []struct{ Step, Reason string }
		}
	}
	if err := json.Unmarshal(hookBody, &got); err != nil {
		t.Fatalf("%v: %s", err, hookBody)
	}
	if got.Message.Success || got.Message.Status != "Failed" || len(got.Message.Failures) != 2 ||
		got.Message.Failures[0].Step != "aggregate" || got.Message.Failures[0].Reason != "exit code 2" {
		t.Errorf("webhook got %+v", got.Message)
	}
}

func readAll(r *http.Request) []byte {
	var b bytes.Buffer
	b.ReadFrom(r.Body)
	return b.Bytes()
}

// TestNotifyPagerDuty runs the pipeline's notify steps against a local Events
// API v2 endpoint: the onExit handler of a failed Workflow triggers the
// campaign's and model's alert (429 retried), the next clean run's notify step
// resolves it.
func TestNotifyPagerDuty(t *testing.T) {
	dir := t.TempDir()
	url := "sqlite://" + filepath.Join(dir, "results.db")
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range []string{"run1", "run2"} {
		if _, err := st.CreateRun(ctx, result.Run{ID: run, Campaign: "demo", MatrixHash: "h", Configs: 2, Started: time.Unix(1e9, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutFailure(ctx, result.Failure{Run: "run1", Fingerprint: strings.Repeat("c", 64), Attempt: 3, Final: true,
		Reason: "server exited: CUDA out of memory", Time: time.Unix(1e9, 0)}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	pd := notifytest.NewPagerDuty()
	defer pd.Close()
	key := filepath.Join(dir, "routing-key")
	os.WriteFile(key, []byte("R0UT1NGK3Y0123456789abcdef012345\n"), 0o600)
	t.Setenv("LLMSWEEP_PAGERDUTY_ROUTING_KEY_FILE", key) // as a mounted Secret
	camp := filepath.Join(dir, "demo.cue")
	os.WriteFile(camp, []byte(`campaigns: demo: {
	description: "paging demo"
	models: ["llama-3.2-1b-instruct"]
	select: {hardware: ["l4-x1"], frameworks: ["vllm"], quantizations: ["bf16"], workloads: ["chat"]}
	grid: concurrency: [1]
	notifications: [{kind: "pagerduty", severity: "critical", events_url: "`+pd.URL+`"}]
}
`), 0o644)

	pd.Throttle(1)
	var out, errb bytes.Buffer
	args := []string{"notify", camp, "--store", url, "--run", "run1", "--model", "llama-3.2-1b-instruct", "--status", "Failed", "--on-exit",
		"--failures", `[{"displayName":"batch-b1","message":"OOMKilled","templateName":"serve","phase":"Failed","podName":"p","finishedAt":null}]`,
		"--report-url", "https://reports.example.com/demo/run1.html", "--retry-backoff", "1ms"}
	if code := Run(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	dedup := "llmsweep/demo/llama-3.2-1b-instruct"
	if a := pd.Alert(dedup); !a.Open || a.Triggers != 1 || pd.Requests() != 2 {
		t.Fatalf("alert %+v after %d requests (one throttled)", a, pd.Requests())
	}
	e := pd.Events()[0]
	for _, want := range []string{"campaign demo FAILED (run run1, Failed)", "batch-b1: OOMKilled",
		"config cccccccccccc: server exited: CUDA out of memory", "report https://reports.example.com/demo/run1.html"} {
		if !strings.Contains(e.Payload.Summary, want) {
			t.Errorf("summary lacks %q: %s", want, e.Payload.Summary)
		}
	}
	if e.Payload.Severity != "critical" || !strings.Contains(out.String(), "notified pagerduty "+pd.Server.URL) {
		t.Errorf("severity %q, stdout %s", e.Payload.Severity, out.String())
	}

	// The next Workflow of the campaign and model succeeds: resolved.
	args = []string{"notify", camp, "--store", url, "--run", "run2", "--model", "llama-3.2-1b-instruct", "--status", "success", "--retry-backoff", "1ms"}
	if code := Run(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if a := pd.Alert(dedup); a.Open || a.Resolves != 1 {
		t.Errorf("after the clean run: %+v", a)
	}
}
