package notify

import (
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// Secret reads the secret a campaign names by environment variable: the
// variable's value, or else the content of the file that NAME_FILE points to
// (how Kubernetes and Docker mount secrets). Campaigns never hold secrets.
func Secret(env string, getenv func(string) string) (string, error) {
	if v := strings.TrimSpace(getenv(env)); v != "" {
		return v, nil
	}
	if path := getenv(env + "_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("$%s_FILE: %v", env, err)
		}
		if v := strings.TrimSpace(string(b)); v != "" {
			return v, nil
		}
		return "", fmt.Errorf("$%s_FILE: %s is empty", env, path)
	}
	return "", fmt.Errorf("neither $%s nor $%s_FILE is set", env, env)
}

// Targets builds the campaign's notification targets that want this outcome
// (each notification's on: list), reading their secrets through getenv.
func Targets(ns []campaign.Notification, success bool, getenv func(string) string) ([]Target, error) {
	want := "failure"
	if success {
		want = "success"
	}
	var out []Target
	for i, n := range ns {
		// PagerDuty hears both outcomes: a failure triggers, a success resolves.
		if n.Kind != "pagerduty" && !wants(n.On, want) {
			continue
		}
		where := fmt.Sprintf("notifications[%d] (%s)", i, n.Kind)
		switch n.Kind {
		case "slack":
			u, err := Secret(n.WebhookEnv, getenv)
			if err == nil {
				err = checkHTTP(u)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: webhook URL: %w", where, err)
			}
			out = append(out, &Slack{URL: u})
		case "webhook":
			u, err := Secret(n.URLEnv, getenv)
			if err == nil {
				err = checkHTTP(u)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: URL: %w", where, err)
			}
			out = append(out, &Webhook{URL: u})
		case "email":
			env := n.SMTPEnv
			if env == "" {
				env = "LLMSWEEP_SMTP_URL"
			}
			raw, err := Secret(env, getenv)
			if err != nil {
				return nil, fmt.Errorf("%s: SMTP URL: %w", where, err)
			}
			s, err := ParseSMTPURL(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: SMTP URL in $%s: %w", where, env, err)
			}
			out = append(out, &Email{Server: s, To: n.To})
		case "pagerduty":
			env := n.RoutingKeyEnv
			if env == "" {
				env = "LLMSWEEP_PAGERDUTY_ROUTING_KEY"
			}
			key, err := Secret(env, getenv)
			if err != nil {
				return nil, fmt.Errorf("%s: routing key: %w", where, err)
			}
			u := n.EventsURL
			if u != "" {
				if err := checkHTTP(u); err != nil {
					return nil, fmt.Errorf("%s: events_url %q: %w", where, u, err)
				}
			}
			if n.Severity != "" && !slices.Contains(Severities, n.Severity) {
				return nil, fmt.Errorf("%s: severity %q: want one of %s", where, n.Severity, strings.Join(Severities, ", "))
			}
			out = append(out, &PagerDuty{RoutingKey: key, URL: u, Severity: n.Severity})
		default:
			return nil, fmt.Errorf("%s: unknown kind", where)
		}
	}
	return out, nil
}

func wants(on []string, outcome string) bool {
	if len(on) == 0 {
		return true
	}
	for _, o := range on {
		if o == outcome {
			return true
		}
	}
	return false
}

func checkHTTP(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("not an http(s) URL")
	}
	return nil
}
