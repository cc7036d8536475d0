package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

var fastRetry = Retry{Tries: 3, Base: time.Millisecond, Cap: 5 * time.Millisecond}

func sample() Message {
	return Message{Campaign: "nightly", Run: "run-1", Success: true, Status: "success", Configs: 12, Done: 11, Failed: 1,
		Top:       &Recommendation{Policy: "balanced", Config: "abc123", Score: 0.91, Summary: "llama-3-8b on h100-sxm-x1, vllm 0.6, c=16: 4210 tok/s"},
		ReportURL: "https://reports.example.com/nightly/run-1.html"}
}

func TestSlackBlockKit(t *testing.T) {
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("body: %v", err)
		}
		got = append(got, body)
		io.WriteString(w, "ok")
	}))
	defer srv.Close()

	err := Send(context.Background(), []Target{&Slack{URL: srv.URL + "/services/T000/B000/XXXX"}}, sample(), fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d posts, want 1", len(got))
	}
	blocks, _ := got[0]["blocks"].([]any)
	if len(blocks) < 3 {
		t.Fatalf("blocks: %v", got[0])
	}
	if h := blocks[0].(map[string]any); h["type"] != "header" {
		t.Errorf("first block %v, want a header", h)
	}
	var all strings.Builder
	enc := json.NewEncoder(&all)
	enc.SetEscapeHTML(false)
	enc.Encode(got[0])
	for _, want := range []string{"campaign nightly finished", "11 done, 1 failed", "Top recommendation", "4210 tok/s",
		"<https://reports.example.com/nightly/run-1.html|Open the report>"} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("Slack payload lacks %q:\n%s", want, all.String())
		}
	}
}

func TestWebhookRetriesUntilUp(t *testing.T) {
	var n atomic.Int32
	var body map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			http.Error(w, "busy", http.StatusInternalServerError)
			return
		}
		json.NewDecoder(r.Body).Decode(&body)
	}))
	defer srv.Close()
	m := sample()
	m.Success, m.Status = false, "Failed"
	m.Failures = []Failure{{Step: "batch-0003", Reason: "OOMKilled (exit code 137)"}}
	if err := Send(context.Background(), []Target{&Webhook{URL: srv.URL}}, m, fastRetry); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 3 {
		t.Errorf("%d attempts, want 3", n.Load())
	}
	msg := body["message"].(map[string]any)
	if msg["success"] != false || msg["status"] != "Failed" {
		t.Errorf("message %v", msg)
	}
	fs := msg["failures"].([]any)
	if f := fs[0].(map[string]any); f["step"] != "batch-0003" || f["reason"] != "OOMKilled (exit code 137)" {
		t.Errorf("failures %v", fs)
	}
}

func TestWebhookFailures(t *testing.T) {
	var n500, n404 atomic.Int32
	always500 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n500.Add(1)
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
	}))
	defer always500.Close()
	notFound := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n404.Add(1)
		http.Error(w, "no such hook", http.StatusNotFound)
	}))
	defer notFound.Close()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // nothing listens at this address any more

	targets := []Target{
		&Webhook{URL: always500.URL + "/hook?token=SECRET"},
		&Webhook{URL: notFound.URL},
		&Webhook{URL: slow.URL, Client: &http.Client{Timeout: 50 * time.Millisecond}},
		&Slack{URL: closed.URL + "/services/SECRET"},
	}
	err := Send(context.Background(), targets, sample(), fastRetry)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		"notify webhook " + always500.URL + ": failed after 3 attempts: HTTP 500 Internal Server Error: down for maintenance",
		"notify webhook " + notFound.URL + ": failed after 1 attempt: HTTP 404 Not Found",
		"notify webhook " + slow.URL + ": failed after 3 attempts",
		"notify slack webhook " + closed.URL + ": failed after 3 attempts",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "SECRET") {
		t.Errorf("error reveals a secret URL:\n%s", msg)
	}
	if n500.Load() != 3 || n404.Load() != 1 {
		t.Errorf("attempts: 500 got %d (want 3), 404 got %d (want 1)", n500.Load(), n404.Load())
	}
}

func TestParseArgoFailures(t *testing.T) {
	fs, err := ParseArgoFailures(`[{"displayName":"batch-0001","message":"Error (exit code 1)","templateName":"serve-h100","phase":"Failed","podName":"wf-123","finishedAt":"2026-11-27T10:00:00Z"},{"displayName":"","message":"","templateName":"report","phase":"Error","podName":"wf-9","finishedAt":null}]`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Failure{{Step: "batch-0001", Reason: "Error (exit code 1)"}, {Step: "report", Reason: "Error (no message)"}}
	if len(fs) != 2 || fs[0] != want[0] || fs[1] != want[1] {
		t.Errorf("got %v, want %v", fs, want)
	}
	if fs, err := ParseArgoFailures(""); err != nil || fs != nil {
		t.Errorf("empty: %v %v", fs, err)
	}
	if _, err := ParseArgoFailures("{not json"); err == nil || !strings.Contains(err.Error(), "workflow.failures") {
		t.Errorf("bad JSON: %v", err)
	}
}

func TestTargetsFromCampaign(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/smtp-url"
	if err := writeFile(file, "smtps://bot:pw@mail.example.com?from=bot@example.com\n"); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SLACK": "https://hooks.slack.com/services/x", "SMTP_FILE": file}
	getenv := func(k string) string { return env[k] }
	ns := []campaign.Notification{
		{Kind: "slack", WebhookEnv: "SLACK", On: []string{"failure"}},
		{Kind: "email", SMTPEnv: "SMTP", To: []string{"team@example.com"}, On: []string{"success", "failure"}},
	}
	ts, err := Targets(ns, true, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].Name() != "email via mail.example.com:465 to team@example.com" {
		t.Errorf("success targets: %v", names(ts))
	}
	ts, err = Targets(ns, false, getenv)
	if err != nil || len(ts) != 2 {
		t.Fatalf("failure targets: %v %v", names(ts), err)
	}
	_, err = Targets([]campaign.Notification{{Kind: "webhook", URLEnv: "HOOK"}}, true, getenv)
	if err == nil || err.Error() != "notifications[0] (webhook): URL: neither $HOOK nor $HOOK_FILE is set" {
		t.Errorf("missing secret: %v", err)
	}
	env["HOOK"] = "ftp://x"
	_, err = Targets([]campaign.Notification{{Kind: "webhook", URLEnv: "HOOK"}}, true, getenv)
	if err == nil || !strings.Contains(err.Error(), "not an http(s) URL") {
		t.Errorf("bad URL: %v", err)
	}
}

func TestParseSMTPURL(t *testing.T) {
	s, err := ParseSMTPURL("smtp://u%40x:p%3Aw@127.0.0.1:2525?from=llmsweep@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if *s != (SMTPServer{Host: "127.0.0.1", Port: 2525, User: "u@x", Password: "p:w", From: "llmsweep@example.com"}) {
		t.Errorf("%+v", *s)
	}
	for raw, want := range map[string]string{
		"http://x?from=a@b":               `scheme "http"`,
		"smtp://u:hunter2@x":              "needs ?from=",
		"smtp://x:99999?from=a@b":         "bad port",
		"smtp://x?from=a@b&insecure=true": `unknown parameter "insecure"`,
	} {
		_, err := ParseSMTPURL(raw)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: %v, want %q", raw, err, want)
		}
	}
}

func names(ts []Target) []string {
	var n []string
	for _, t := range ts {
		n = append(n, t.Name())
	}
	return n
}
