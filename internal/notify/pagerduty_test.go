package notify

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/notify/notifytest"
)

const routingKey = "R0UT1NGK3Y0123456789abcdef012345" // 32 characters, as PagerDuty's

func failedRun() Message {
	return Message{Campaign: "nightly", Run: "run-1", Model: "llama-3-8b", Status: "Failed", Configs: 12, Done: 9, Failed: 3,
		Failures:  []Failure{{Step: "batch-b2", Reason: "OOMKilled"}, {Step: "config 0123456789ab", Reason: "server exited: CUDA out of memory"}},
		ReportURL: "https://reports.example.com/nightly/run-1.html"}
}

func cleanRun(run string) Message {
	return Message{Campaign: "nightly", Run: run, Model: "llama-3-8b", Status: "success", Success: true, Configs: 12, Done: 12}
}

// A failing campaign triggers one alert, deduplicated across its failing
// runs; its next clean run resolves it. Another model's alert is its own.
func TestPagerDutyTriggersAndResolves(t *testing.T) {
	pd := notifytest.NewPagerDuty()
	defer pd.Close()
	target := &PagerDuty{RoutingKey: routingKey, URL: pd.URL, Severity: "critical"}
	ctx := context.Background()
	key := "llmsweep/nightly/llama-3-8b"

	if err := Send(ctx, []Target{target}, failedRun(), fastRetry); err != nil {
		t.Fatal(err)
	}
	second := failedRun()
	second.Run = "run-2"
	if err := Send(ctx, []Target{target}, second, fastRetry); err != nil {
		t.Fatal(err)
	}
	if a := pd.Alert(key); !a.Open || a.Triggers != 2 {
		t.Fatalf("after two failing runs: %+v", a)
	}
	e := pd.Events()[0]
	if e.EventAction != "trigger" || e.DedupKey != key || e.Payload.Severity != "critical" || e.Payload.Source != key ||
		e.Payload.Component != "llama-3-8b" || e.Payload.Group != "nightly" || e.Client != "llmsweep" {
		t.Errorf("trigger %+v, payload %+v", e, e.Payload)
	}
	want := "llmsweep: campaign nightly FAILED (run run-1, Failed): batch-b2: OOMKilled; config 0123456789ab: server exited: CUDA out of memory; report https://reports.example.com/nightly/run-1.html"
	if e.Payload.Summary != want {
		t.Errorf("summary\n%s\nwant\n%s", e.Payload.Summary, want)
	}
	if len(e.Links) != 1 || e.Links[0].Href != "https://reports.example.com/nightly/run-1.html" || e.ClientURL != e.Links[0].Href {
		t.Errorf("links %+v, client_url %q", e.Links, e.ClientURL)
	}
	if d := e.Payload.CustomDetails; d["failed"] != float64(3) || d["run"] != "run-1" || len(d["failures"].([]any)) != 2 {
		t.Errorf("custom_details %v", d)
	}

	// Another model of the campaign succeeds: the alert stays open.
	other := cleanRun("run-3")
	other.Model = "qwen-7b"
	if err := Send(ctx, []Target{target}, other, fastRetry); err != nil {
		t.Fatal(err)
	}
	if !pd.Alert(key).Open {
		t.Fatal("another model's success resolved the alert")
	}
	// The campaign's own model comes back clean: resolved.
	if err := Send(ctx, []Target{target}, cleanRun("run-4"), fastRetry); err != nil {
		t.Fatal(err)
	}
	if a := pd.Alert(key); a.Open || a.Resolves != 1 {
		t.Errorf("after a clean run: %+v", a)
	}
	last := pd.Events()[len(pd.Events())-1]
	if last.EventAction != "resolve" || last.DedupKey != key || last.Payload != nil {
		t.Errorf("resolve %+v", last)
	}
}

// A run that finished with configs failing every retry is a warning, and
// a local run (no model) has the campaign's key.
func TestPagerDutyConfigFailuresWarn(t *testing.T) {
	m := cleanRun("run-1")
	m.Model, m.Failed, m.Done = "", 2, 10
	m.Failures = []Failure{{Step: "config aaaaaaaaaaaa", Reason: "timeout"}, {Step: "config bbbbbbbbbbbb", Reason: "OOM"}}
	e := (&PagerDuty{RoutingKey: routingKey}).Event(m)
	if e.EventAction != "trigger" || e.Payload.Severity != "warning" || e.DedupKey != "llmsweep/nightly" {
		t.Fatalf("event %+v, payload %+v", e, e.Payload)
	}
	want := "llmsweep: campaign nightly finished (run run-1): 2 of 12 configs failed every retry: config aaaaaaaaaaaa: timeout; config bbbbbbbbbbbb: OOM"
	if e.Payload.Summary != want {
		t.Errorf("summary\n%s\nwant\n%s", e.Payload.Summary, want)
	}
	if e := (&PagerDuty{RoutingKey: routingKey}).Event(failedRun()); e.Payload.Severity != "error" {
		t.Errorf("default severity %q", e.Payload.Severity)
	}
}

// Many failures: the summary keeps to PagerDuty's 1024 characters, says how
// many it left out, and keeps the report link; the details keep them all.
func TestPagerDutySummaryFits(t *testing.T) {
	m := failedRun()
	m.Failures = nil
	for i := range 200 {
		m.Failures = append(m.Failures, Failure{Step: fmt.Sprintf("config %012d", i), Reason: strings.Repeat("x", 30)})
	}
	e := (&PagerDuty{RoutingKey: routingKey}).Event(m)
	s := e.Payload.Summary
	if n := utf8.RuneCountInString(s); n > 1024 {
		t.Errorf("summary of %d characters", n)
	}
	if !strings.Contains(s, " more; report https://reports.example.com/") || !strings.Contains(s, "config 000000000000") {
		t.Errorf("summary %s", s)
	}
	if n := len(e.Payload.CustomDetails["failures"].([]string)); n != 200 {
		t.Errorf("%d failures in the details", n)
	}
	pd := notifytest.NewPagerDuty()
	defer pd.Close()
	if err := (&PagerDuty{RoutingKey: routingKey, URL: pd.URL}).Send(context.Background(), m); err != nil {
		t.Errorf("the endpoint refused it: %v", err)
	}
}

// 429 is retried until accepted; 400 is final at once and says what the API
// found wrong; neither error shows the routing key.
func TestPagerDutyErrors(t *testing.T) {
	pd := notifytest.NewPagerDuty()
	defer pd.Close()
	ctx := context.Background()
	target := &PagerDuty{RoutingKey: routingKey, URL: pd.URL}

	pd.Throttle(2)
	if err := Send(ctx, []Target{target}, failedRun(), fastRetry); err != nil {
		t.Fatalf("throttled twice, three tries: %v", err)
	}
	if pd.Requests() != 3 || !pd.Alert("llmsweep/nightly/llama-3-8b").Open {
		t.Errorf("%d requests, alert %+v", pd.Requests(), pd.Alert("llmsweep/nightly/llama-3-8b"))
	}

	pd.Throttle(5)
	err := Send(ctx, []Target{target}, failedRun(), fastRetry)
	if err == nil || !strings.Contains(err.Error(), "notify pagerduty "+pd.Server.URL+": failed after 3 attempts: HTTP 429 Too Many Requests: throttle event") {
		t.Errorf("throttled throughout: %v", err)
	}
	pd.Throttle(0)

	before := pd.Requests()
	bad := &PagerDuty{RoutingKey: "short-key", URL: pd.URL}
	err = Send(ctx, []Target{bad}, failedRun(), fastRetry)
	if err == nil || !strings.Contains(err.Error(), "failed after 1 attempt: HTTP 400 Bad Request: invalid event: Event object is invalid (routing_key: the length is incorrect") {
		t.Errorf("invalid event: %v", err)
	}
	if pd.Requests() != before+1 {
		t.Errorf("a 400 was retried: %d requests", pd.Requests()-before)
	}
	if strings.Contains(fmt.Sprint(err), "short-key") {
		t.Error("the routing key is in the error")
	}

	// Nothing listens: retried, then an error naming the host only.
	down := &PagerDuty{RoutingKey: routingKey, URL: "http://127.0.0.1:9/v2/enqueue"}
	if err := Send(ctx, []Target{down}, failedRun(), fastRetry); err == nil || !strings.Contains(err.Error(), "notify pagerduty http://127.0.0.1:9: failed after 3 attempts") {
		t.Errorf("down: %v", err)
	}
}

// The campaign's pagerduty notification: its key from the variable or its
// _FILE, the default variable, both outcomes whatever on: says, and clear
// errors for a missing key, a bad severity or URL.
func TestPagerDutyTargets(t *testing.T) {
	dir := t.TempDir()
	if err := writeFile(dir+"/key", routingKey+"\n"); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"LLMSWEEP_PAGERDUTY_ROUTING_KEY_FILE": dir + "/key"}
	getenv := func(k string) string { return env[k] }
	ns := []campaign.Notification{{Kind: "pagerduty", Severity: "critical", EventsURL: "https://events.eu.pagerduty.com/v2/enqueue"}}
	for _, success := range []bool{true, false} {
		ts, err := Targets(ns, success, getenv)
		if err != nil || len(ts) != 1 {
			t.Fatalf("success=%v: %v %v", success, names(ts), err)
		}
		p := ts[0].(*PagerDuty)
		if p.RoutingKey != routingKey || p.Severity != "critical" || p.Name() != "pagerduty https://events.eu.pagerduty.com" {
			t.Errorf("target %+v named %s", p, p.Name())
		}
	}
	env["PD_KEY"] = routingKey
	if ts, err := Targets([]campaign.Notification{{Kind: "pagerduty", RoutingKeyEnv: "PD_KEY"}}, false, getenv); err != nil ||
		ts[0].Name() != "pagerduty https://events.pagerduty.com" {
		t.Errorf("default endpoint: %v %v", names(ts), err)
	}
	for _, c := range []struct {
		n    campaign.Notification
		want string
	}{
		{campaign.Notification{Kind: "pagerduty", RoutingKeyEnv: "NONE"}, "notifications[0] (pagerduty): routing key: neither $NONE nor $NONE_FILE is set"},
		{campaign.Notification{Kind: "pagerduty", RoutingKeyEnv: "PD_KEY", Severity: "fatal"}, `severity "fatal": want one of critical, error, warning, info`},
		{campaign.Notification{Kind: "pagerduty", RoutingKeyEnv: "PD_KEY", EventsURL: "events.pagerduty.com"}, "not an http(s) URL"},
	} {
		if _, err := Targets([]campaign.Notification{c.n}, false, getenv); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.n, err, c.want)
		}
	}
}
