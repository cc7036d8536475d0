package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// DefaultTimeout bounds one attempt at a webhook, so that a slow endpoint is
// retried instead of holding the pipeline.
const DefaultTimeout = 10 * time.Second

// Slack posts to a Slack incoming webhook, as Block Kit.
type Slack struct {
	URL    string
	Client *http.Client // nil: one with DefaultTimeout
}

// Name is the webhook's host only: the path of a Slack webhook is its secret.
func (s *Slack) Name() string { return "slack webhook " + hostOf(s.URL) }

// Send posts the message once.
func (s *Slack) Send(ctx context.Context, m Message) error {
	return postJSON(ctx, s.Client, s.URL, SlackPayload(m))
}

// SlackPayload is the message as a Slack incoming-webhook body: text for
// notifications and clients without blocks, and Block Kit blocks.
func SlackPayload(m Message) map[string]any {
	type text struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	section := func(s string) map[string]any {
		return map[string]any{"type": "section", "text": text{"mrkdwn", s}}
	}
	blocks := []any{
		map[string]any{"type": "header", "text": text{"plain_text", truncate(m.Title(), 150)}},
		section(fmt.Sprintf("*%d configs*: %d done, %d failed", m.Configs, m.Done, m.Failed)),
	}
	if m.Top != nil {
		blocks = append(blocks, section(fmt.Sprintf("*Top recommendation* (%s)\n%s", m.Top.basis(), m.Top.Summary)))
	}
	if len(m.Failures) > 0 {
		var b strings.Builder
		for i, f := range m.Failures {
			if i == 10 {
				fmt.Fprintf(&b, "… and %d more\n", len(m.Failures)-10)
				break
			}
			fmt.Fprintf(&b, "• *%s*: %s\n", f.Step, f.Reason)
		}
		blocks = append(blocks, section("*Failed*\n"+truncate(b.String(), 2900)))
	}
	if m.Review != "" {
		blocks = append(blocks, section("*Review* the failures: `"+m.Review+"`"))
	}
	if m.ReportURL != "" {
		if u, err := url.Parse(m.ReportURL); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			blocks = append(blocks, section(fmt.Sprintf("<%s|Open the report>", m.ReportURL)))
		} else {
			blocks = append(blocks, section("Report: `"+m.ReportURL+"`"))
		}
	}
	return map[string]any{"text": m.Title(), "blocks": blocks}
}

// Webhook posts the Message as JSON to any URL.
type Webhook struct {
	URL    string
	Client *http.Client
}

// Name is the webhook's host: its path or query may hold a token.
func (w *Webhook) Name() string { return "webhook " + hostOf(w.URL) }

// Send posts the message once.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	return postJSON(ctx, w.Client, w.URL, WebhookPayload(m))
}

// WebhookPayload is the generic webhook body: the Message with a title and
// a format version.
func WebhookPayload(m Message) map[string]any {
	return map[string]any{"version": 1, "title": m.Title(), "message": m}
}

func postJSON(ctx context.Context, c *http.Client, u string, body any) error {
	code, reply, err := post(ctx, c, u, body, 512)
	if err != nil || code/100 == 2 {
		return err
	}
	err = fmt.Errorf("HTTP %d %s: %s", code, http.StatusText(code), strings.TrimSpace(string(reply)))
	switch {
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		return err
	default:
		return backoff.Permanent(err) // a 4xx will not change on retry
	}
}

// post sends body as JSON, once, and returns the answer's status code and
// up to limit bytes of its body. An error it returns is final where wrapped
// by backoff.Permanent (a body that cannot be encoded, a bad URL).
func post(ctx context.Context, c *http.Client, u string, body any, limit int64) (int, []byte, error) {
	if c == nil {
		c = &http.Client{Timeout: DefaultTimeout}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // Slack's <url|text> links stay readable
	if err := enc.Encode(body); err != nil {
		return 0, nil, backoff.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, &b)
	if err != nil {
		return 0, nil, backoff.Permanent(fmt.Errorf("bad URL: %v", redactURL(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "llmsweep")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, redactURL(err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, limit))
	return resp.StatusCode, reply, nil
}

// redactURL drops the URL from a net/http error: webhook URLs are secrets.
func redactURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return fmt.Errorf("%s %s: %w", ue.Op, hostOf(ue.URL), ue.Err)
	}
	return err
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
