// Package notify announces the end of a pipeline run: a Slack incoming webhook
// (Block Kit), email through SMTP with STARTTLS and authentication, a generic
// JSON webhook, or a PagerDuty alert (Events API v2) that a later clean run
// resolves. Every target is retried with exponential backoff; a target that
// stays down fails with an error that names it, and nothing here ever touches
// the stored results.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Message is what a notification says about a run.
type Message struct {
	Campaign string `json:"campaign"`
	Run      string `json:"run"`
	// Model is the model the run covered, where it covered one (the pipeline
	// runs one Workflow per campaign and model).
	Model string `json:"model,omitempty"`
	// Success is true for a run that finished; Status is the status as given
	// (success, or Argo's workflow.status: Succeeded, Failed, Error).
	Success bool   `json:"success"`
	Status  string `json:"status"`
	// Configs counts the run's configs: planned, measured and failed for good.
	Configs int `json:"configs"`
	Done    int `json:"done"`
	Failed  int `json:"failed"`
	// Top is the best config under the campaign's policy, when the store has
	// results to rank.
	Top *Recommendation `json:"top,omitempty"`
	// ReportURL links to the run's report.
	ReportURL string `json:"report_url,omitempty"`
	// Review is where the configs that failed every retry wait for a person:
	// the command that lists the run's entries in the review queue.
	Review string `json:"review,omitempty"`
	// Failures are the steps that failed (from Argo's workflow.failures) and
	// the configs that failed every retry.
	Failures []Failure `json:"failures,omitempty"`
}

// Recommendation is a ranked config.
type Recommendation struct {
	// Policy ranked it; empty when no policy was loaded (a bundle carries
	// none) and the config with the highest goodput is named instead.
	Policy string  `json:"policy,omitempty"`
	Config string  `json:"config"`
	Score  float64 `json:"score"`
	// Summary is a one-line description: model, hardware, framework, load and
	// the main metrics.
	Summary string `json:"summary"`
}

// basis says how the recommendation was chosen.
func (r *Recommendation) basis() string {
	if r.Policy == "" {
		return "highest goodput; no ranking policy loaded"
	}
	return fmt.Sprintf("policy %s, score %.3f", r.Policy, r.Score)
}

// Failure is a failed step or config and why.
type Failure struct {
	Step   string `json:"step"`
	Reason string `json:"reason"`
}

// ArgoFailure is one element of Argo's {{workflow.failures}}.
type ArgoFailure struct {
	DisplayName  string `json:"displayName"`
	Message      string `json:"message"`
	TemplateName string `json:"templateName"`
	Phase        string `json:"phase"`
	PodName      string `json:"podName"`
	FinishedAt   string `json:"finishedAt"`
}

// ParseArgoFailures reads Argo's {{workflow.failures}}, a JSON array; an empty
// string (Argo gives none when nothing failed) is no failures.
func ParseArgoFailures(s string) ([]Failure, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "null" || s == "{{workflow.failures}}" {
		return nil, nil
	}
	var fs []ArgoFailure
	if err := json.Unmarshal([]byte(s), &fs); err != nil {
		return nil, fmt.Errorf("--failures is not the JSON array Argo's workflow.failures gives: %v", err)
	}
	out := make([]Failure, 0, len(fs))
	for _, f := range fs {
		step := f.DisplayName
		if step == "" {
			step = f.TemplateName
		}
		reason := f.Message
		if reason == "" {
			reason = f.Phase + " (no message)"
		}
		out = append(out, Failure{Step: step, Reason: reason})
	}
	return out, nil
}

// IsSuccess tells a success status from a failure: "success" and Argo's
// "Succeeded" are successes, anything else is a failure.
func IsSuccess(status string) bool {
	return strings.EqualFold(status, "success") || strings.EqualFold(status, "succeeded")
}

// Title is the message's one-line headline.
func (m Message) Title() string {
	if m.Success {
		return fmt.Sprintf("llmsweep: campaign %s finished (run %s)", m.Campaign, m.Run)
	}
	return fmt.Sprintf("llmsweep: campaign %s FAILED (run %s, %s)", m.Campaign, m.Run, m.Status)
}

// Lines is the message body as plain text lines, shared by every target.
func (m Message) Lines() []string {
	var l []string
	l = append(l, fmt.Sprintf("%d configs: %d done, %d failed", m.Configs, m.Done, m.Failed))
	if m.Top != nil {
		l = append(l, fmt.Sprintf("Top recommendation (%s): %s", m.Top.basis(), m.Top.Summary))
	} else if m.Success {
		l = append(l, "No results stored for this run to recommend from.")
	}
	for _, f := range m.Failures {
		l = append(l, fmt.Sprintf("Failed: %s: %s", f.Step, f.Reason))
	}
	if m.Review != "" {
		l = append(l, "Review: "+m.Review)
	}
	if m.ReportURL != "" {
		l = append(l, "Report: "+m.ReportURL)
	}
	return l
}

// Target is somewhere a message goes.
type Target interface {
	// Name identifies the target in errors without revealing its secret
	// (a webhook URL is a credential).
	Name() string
	// Send makes one attempt. An error wrapped by backoff.Permanent is not
	// retried (a 4xx answer other than 408 and 429, a bad address).
	Send(ctx context.Context, m Message) error
}

// Retry is how often and how patiently a target is retried.
type Retry struct {
	Tries int           // attempts in all, at least 1
	Base  time.Duration // the first backoff; it doubles
	Cap   time.Duration // the longest backoff
}

// DefaultRetry tries five times over about a minute.
var DefaultRetry = Retry{Tries: 5, Base: 2 * time.Second, Cap: 30 * time.Second}

// Send delivers m to every target, each with retries, and returns one error
// per target that failed every attempt (joined), each naming its target.
func Send(ctx context.Context, targets []Target, m Message, r Retry) error {
	var errs []error
	for _, t := range targets {
		if err := send(ctx, t, m, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func send(ctx context.Context, t Target, m Message, r Retry) error {
	if r.Tries < 1 {
		r.Tries = 1
	}
	bo := &backoff.ExponentialBackOff{InitialInterval: r.Base, RandomizationFactor: 0.2, Multiplier: 2, MaxInterval: r.Cap}
	bo.Reset()
	tries := 0
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		tries++
		return struct{}{}, t.Send(ctx, m)
	}, backoff.WithBackOff(bo), backoff.WithMaxTries(uint(r.Tries)), backoff.WithMaxElapsedTime(0))
	if err != nil {
		return fmt.Errorf("notify %s: failed after %d attempt%s: %w", t.Name(), tries, plural(tries), err)
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
