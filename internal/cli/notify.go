package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/notify"
)

// latestHTMLReport is where llmsweep report writes the latest HTML report.
const latestHTMLReport = ".llmsweep/reports/latest.html"

// tailFlags are what the pipeline's tail steps (notify, archive, aggregate,
// refresh-views, invalidate-cache) share: which campaign, from a bundle (in a
// pod) or from CUE files (locally), which run, and the store.
type tailFlags struct {
	inv invocation
	run string
}

func (f *tailFlags) add(cmd *cobra.Command) {
	f.inv.addBundle(cmd)
	f.inv.addCampaign(cmd, false)
	f.inv.addStore(cmd)
	f.inv.addCatalog(cmd)
	cmd.Flags().StringVar(&f.run, "run", "", "the run `ID` (Argo's workflow.uid in the pipeline)")
}

func newNotify() *cobra.Command {
	var f tailFlags
	var status, failures, reportURL, model string
	var onExit bool
	retry := notify.DefaultRetry
	timeout := notify.DefaultTimeout
	cmd := &cobra.Command{
		Use:   "notify [campaign files...] --run ID --status success|failure",
		Short: "Announce a run's outcome on the campaign's Slack, email, webhook and PagerDuty targets",
		Long: `notify sends the campaign's notifications for a run: a Slack incoming webhook
(Block Kit), email through SMTP (STARTTLS or implicit TLS, with authentication),
a generic JSON webhook, or a PagerDuty alert (Events API v2). Each notification's
on: list says whether it wants successes, failures or both.

PagerDuty hears both: a failed run, or configs that failed every retry, trigger
an alert with the dedup key llmsweep/CAMPAIGN (llmsweep/CAMPAIGN/MODEL with
--model, as each pipeline Workflow passes it); the next clean run resolves it.

On success the message summarizes the run from the store: configs done and
failed, the top recommendation under the campaign's policy, and a link to the
report (--report-url, else .llmsweep/reports/latest.html when it exists). On
failure (the pipeline's onExit handler passes Argo's {{workflow.status}} and
{{workflow.failures}}) it names each failed step and its reason.

Secrets come from the environment only: the variable the campaign names
(webhook_env, url_env, smtp_env, routing_key_env), or a file at $NAME_FILE. An SMTP URL reads
smtp://USER:PASSWORD@HOST:587?from=ADDRESS (STARTTLS) or smtps://…:465.

Each target is retried with exponential backoff. A target that fails every
attempt is reported by name and the command exits 1; the stored results are
never touched.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.run == "" || status == "" {
				return errors.New("notify needs --run and --status")
			}
			set, c, err := f.inv.campaign(cmd, args)
			if err != nil {
				return err
			}
			m := notify.Message{Campaign: c.Name, Run: f.run, Model: model, Status: status, Success: notify.IsSuccess(status)}
			if m.Failures, err = notify.ParseArgoFailures(failures); err != nil {
				return err
			}
			done := notified{Campaign: c.Name, Run: f.run, Success: m.Success, Targets: []string{}}
			if onExit && m.Success {
				// The pipeline's own notify step announced the success.
				done.Note = fmt.Sprintf("run %s succeeded: announced by the pipeline's notify step", f.run)
				return done.write(cmd, f.inv.output)
			}
			targets, err := notify.Targets(c.Notifications, m.Success, os.Getenv)
			if err != nil {
				return fmt.Errorf("campaign %s: %w", c.Name, err)
			}
			if len(targets) == 0 {
				done.Note = fmt.Sprintf("campaign %s has no notification for a %s", c.Name, outcomeWord(m.Success))
				return done.write(cmd, f.inv.output)
			}
			// A store that cannot be read still gets the run announced: the
			// notification says so instead of staying silent.
			if err := summarize(cmd.Context(), &f.inv, set, c, &m); err != nil {
				m.Failures = append(m.Failures, notify.Failure{Step: "results store", Reason: err.Error()})
			}
			m.ReportURL = reportURL
			if m.ReportURL == "" {
				if abs, err := filepath.Abs(latestHTMLReport); err == nil && isRegularFile(abs) {
					m.ReportURL = "file://" + abs
				}
			}
			for _, t := range targets {
				switch t := t.(type) {
				case *notify.Slack:
					t.Client = &http.Client{Timeout: timeout}
				case *notify.Webhook:
					t.Client = &http.Client{Timeout: timeout}
				case *notify.PagerDuty:
					t.Client = &http.Client{Timeout: timeout}
				}
			}
			for _, t := range targets {
				done.Targets = append(done.Targets, t.Name())
			}
			if err := notify.Send(cmd.Context(), targets, m, retry); err != nil {
				fmt.Fprintf(diag(cmd, slog.LevelWarn), "%v\nthe results stored for run %s are unaffected\n", err, f.run)
				if f.inv.output == "json" {
					done.Error = err.Error()
					if err := writeJSON(cmd.OutOrStdout(), done); err != nil {
						return err
					}
				}
				return exitError{exitFail}
			}
			return done.write(cmd, f.inv.output)
		},
	}
	f.add(cmd)
	f.inv.addOutput(cmd, "table", "json")
	cmd.Flags().StringVar(&status, "status", "", "the run's outcome: success, failure, or Argo's workflow.status (Succeeded, Failed, Error)")
	cmd.Flags().StringVar(&failures, "failures", "", "Argo's {{workflow.failures}}: a JSON array of the failed steps")
	cmd.Flags().StringVar(&model, "model", "", "the model the run covered (one pipeline Workflow): scopes PagerDuty's dedup key")
	cmd.Flags().BoolVar(&onExit, "on-exit", false, "called by the workflow's onExit handler: announce failures only, as the pipeline's notify step announced a success")
	cmd.Flags().StringVar(&reportURL, "report-url", os.Getenv("LLMSWEEP_REPORT_URL"), "the report's `URL` to link (default $LLMSWEEP_REPORT_URL, else the local report)")
	cmd.Flags().IntVar(&retry.Tries, "tries", retry.Tries, "attempts per target")
	cmd.Flags().DurationVar(&retry.Base, "retry-backoff", retry.Base, "the first retry's backoff; it doubles up to --retry-max")
	cmd.Flags().DurationVar(&retry.Cap, "retry-max", retry.Cap, "the longest backoff between attempts")
	cmd.Flags().DurationVar(&timeout, "timeout", timeout, "how long one attempt may take")
	return cmd
}

// notified is what notify did: -o json writes it whole; the table names each
// target notified, or says why there was none.
type notified struct {
	Campaign string `json:"campaign"`
	Run      string `json:"run"`
	Success  bool   `json:"success"`
	// Targets are the notifications sent (or tried, with Error).
	Targets []string `json:"targets"`
	// Note says why nothing was sent.
	Note  string `json:"note,omitempty"`
	Error string `json:"error,omitempty"`
}

func (n notified) write(cmd *cobra.Command, output string) error {
	if output == "json" {
		return writeJSON(cmd.OutOrStdout(), n)
	}
	if n.Note != "" {
		fmt.Fprintln(diag(cmd, slog.LevelInfo), n.Note)
	}
	for _, t := range n.Targets {
		fmt.Fprintf(cmd.OutOrStdout(), "notified %s\n", t)
	}
	return nil
}

func outcomeWord(success bool) string {
	if success {
		return "success"
	}
	return "failure"
}

func isRegularFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// summarize fills the message from the store, within 30 s.
func summarize(ctx context.Context, inv *invocation, set *campaign.Set, c campaign.Campaign, m *notify.Message) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, _, err := inv.readStore(ctx, &c)
	if err != nil {
		return err
	}
	defer st.Close()
	if set.Policies, err = policies(set); err != nil {
		return err
	}
	return notify.Summarize(ctx, st, set, c, m)
}
