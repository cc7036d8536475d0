package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/cenkalti/backoff/v5"
)

// PagerDutyEventsURL is the Events API v2 endpoint (EU accounts use
// events.eu.pagerduty.com).
const PagerDutyEventsURL = "https://events.pagerduty.com/v2/enqueue"

// Severities are the Events API v2 severities.
var Severities = []string{"critical", "error", "warning", "info"}

// PagerDuty sends a run's outcome to PagerDuty's Events API v2: a problem
// triggers an alert whose dedup key is the campaign's (and model's), so that
// every failing run of it lands on one alert; a clean run resolves it.
//
// A problem is a failed run (Severity), or a finished run with configs that
// failed every retry, or whose store could not be read ("warning").
type PagerDuty struct {
	RoutingKey string
	URL        string // the Events API v2 endpoint; "" is PagerDutyEventsURL
	Severity   string // of a failed run; "" is "error"
	Client     *http.Client
}

// Name is the endpoint's host: the routing key is the secret.
func (p *PagerDuty) Name() string { return "pagerduty " + hostOf(p.endpoint()) }

func (p *PagerDuty) endpoint() string {
	if p.URL == "" {
		return PagerDutyEventsURL
	}
	return p.URL
}

// DedupKey is the alert a campaign's runs share: per campaign, and per model
// where the run covers one model (one Argo Workflow per campaign and model).
func DedupKey(m Message) string {
	k := "llmsweep/" + m.Campaign
	if m.Model != "" {
		k += "/" + m.Model
	}
	return truncate(k, 255)
}

// PagerDutyEvent is an Events API v2 alert event.
type PagerDutyEvent struct {
	RoutingKey  string            `json:"routing_key"`
	EventAction string            `json:"event_action"` // trigger, acknowledge or resolve
	DedupKey    string            `json:"dedup_key,omitempty"`
	Payload     *PagerDutyPayload `json:"payload,omitempty"`
	Client      string            `json:"client,omitempty"`
	ClientURL   string            `json:"client_url,omitempty"`
	Links       []PagerDutyLink   `json:"links,omitempty"`
}

// PagerDutyPayload is an alert's PD-CEF payload.
type PagerDutyPayload struct {
	Summary       string         `json:"summary"` // at most 1024 characters
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// PagerDutyLink is a link shown on the alert.
type PagerDutyLink struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// PagerDutyResponse is the Events API v2 answer: status "success" and the
// dedup key on 202; on 400, "invalid event" with what is wrong in Errors.
type PagerDutyResponse struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

// problem says whether m is something to page about, and how badly.
func (p *PagerDuty) problem(m Message) (severity string, ok bool) {
	switch {
	case !m.Success:
		if p.Severity == "" {
			return "error", true
		}
		return p.Severity, true
	case m.Failed > 0 || len(m.Failures) > 0:
		return "warning", true
	}
	return "", false
}

// Event is the event m gives: a trigger for a problem, else a resolve.
func (p *PagerDuty) Event(m Message) PagerDutyEvent {
	e := PagerDutyEvent{RoutingKey: p.RoutingKey, DedupKey: DedupKey(m)}
	severity, ok := p.problem(m)
	if !ok {
		e.EventAction = "resolve"
		return e
	}
	e.EventAction = "trigger"
	e.Client = "llmsweep"
	if isHTTP(m.ReportURL) {
		e.ClientURL = m.ReportURL
		e.Links = []PagerDutyLink{{Href: m.ReportURL, Text: "Report of run " + m.Run}}
	}
	details := map[string]any{"campaign": m.Campaign, "run": m.Run, "status": m.Status,
		"configs": m.Configs, "done": m.Done, "failed": m.Failed}
	if m.Model != "" {
		details["model"] = m.Model
	}
	if m.ReportURL != "" {
		details["report"] = m.ReportURL
	}
	if m.Review != "" {
		details["review"] = m.Review
	}
	if len(m.Failures) > 0 {
		fs := make([]string, len(m.Failures))
		for i, f := range m.Failures {
			fs[i] = f.Step + ": " + f.Reason
		}
		details["failures"] = fs
	}
	e.Payload = &PagerDutyPayload{Summary: pagerDutySummary(m), Source: DedupKey(m), Severity: severity,
		Component: m.Model, Group: m.Campaign, Class: "benchmark run", CustomDetails: details}
	return e
}

// pagerDutySummary is the alert's title: the outcome, the failed configs or
// steps (as many as fit in PagerDuty's 1024 characters) and the report.
func pagerDutySummary(m Message) string {
	var b strings.Builder
	b.WriteString(m.Title())
	if m.Success {
		fmt.Fprintf(&b, ": %d of %d configs failed every retry", m.Failed, m.Configs)
	}
	report := ""
	if m.ReportURL != "" {
		report = "; report " + m.ReportURL
	}
	for i, f := range m.Failures {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		item := sep + f.Step + ": " + f.Reason
		if len([]rune(b.String()+item+report)) > 1024-20 {
			fmt.Fprintf(&b, "; and %d more", len(m.Failures)-i)
			break
		}
		b.WriteString(item)
	}
	return truncate(b.String()+report, 1024)
}

// Send posts the event once. 202 is done; 400 is final and names what the
// API found wrong; 429 and 5xx are retried by Send's backoff.
func (p *PagerDuty) Send(ctx context.Context, m Message) error {
	code, raw, err := post(ctx, p.Client, p.endpoint(), p.Event(m), 64<<10)
	if err != nil {
		return err
	}
	return pagerDutyOutcome(code, raw)
}

// pagerDutyOutcome reads the Events API's answer: nil for an accepted event,
// an error wrapped by backoff.Permanent where retrying cannot help, else an
// error to retry.
func pagerDutyOutcome(code int, raw []byte) error {
	status := fmt.Sprintf("%d %s", code, http.StatusText(code))
	var r PagerDutyResponse
	decodeErr := json.Unmarshal(raw, &r)
	switch {
	case code == http.StatusAccepted && decodeErr == nil && r.Status == "success":
		return nil
	case code/100 == 2:
		return backoff.Permanent(fmt.Errorf("HTTP %s, not the Events API v2 acceptance: %s", status, truncate(strings.TrimSpace(string(raw)), 300)))
	}
	what := strings.TrimSpace(string(raw))
	if decodeErr == nil && (r.Status != "" || r.Message != "") {
		what = strings.TrimSuffix(r.Status+": "+r.Message, ": ")
		if len(r.Errors) > 0 {
			what += " (" + strings.Join(r.Errors, "; ") + ")"
		}
	}
	err := fmt.Errorf("HTTP %s: %s", status, truncate(what, 500))
	if code == http.StatusTooManyRequests || code >= 500 {
		return err
	}
	return backoff.Permanent(err) // 400: the event will not become valid
}

func isHTTP(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
