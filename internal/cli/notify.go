package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/candidates"
	"github.com/llmsweep/llmsweep/internal/notify"
	"github.com/llmsweep/llmsweep/internal/store"
)

// latestHTMLReport is where llmsweep report writes the latest HTML report.
const latestHTMLReport = ".llmsweep/reports/latest.html"

// tailFlags are what the pipeline's tail steps (notify, archive) share: which
// campaign, from a bundle (in a pod) or from CUE files (locally), and which run.
type tailFlags struct {
	bundle string
	name   string
	run    string
	store  string
	opt    campaign.Options
}

func (f *tailFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.bundle, "bundle", "", "the campaign bundle `file` (in a pipeline pod); else the campaign comes from the CUE files given")
	cmd.Flags().StringVar(&f.name, "campaign", "", "the campaign, when the files hold several")
	cmd.Flags().StringVar(&f.run, "run", "", "the run `ID` (Argo's workflow.uid in the pipeline)")
	cmd.Flags().StringVar(&f.store, "store", os.Getenv("LLMSWEEP_STORE"), "the results store `URL` (default $LLMSWEEP_STORE, else the campaign's store.url)")
	cmd.Flags().StringVar(&f.opt.Catalog, "catalog", "", "catalog `directory` (default: ./catalog, or the built-in one)")
}

// campaign loads the one campaign the step is about.
func (f *tailFlags) campaign(cmd *cobra.Command, args []string) (*campaign.Set, campaign.Campaign, error) {
	if f.bundle != "" {
		if len(args) > 0 {
			return nil, campaign.Campaign{}, errors.New("give --bundle or campaign files, not both")
		}
		b, err := os.ReadFile(f.bundle)
		if err != nil {
			return nil, campaign.Campaign{}, err
		}
		set, c, err := campaign.ReadBundle(b)
		if err != nil {
			return nil, campaign.Campaign{}, fmt.Errorf("%s: %w", f.bundle, err)
		}
		return set, c, nil
	}
	var names []string
	if f.name != "" {
		names = []string{f.name}
	}
	set, cs, err := loadCampaigns(cmd, args, f.opt, names)
	if err != nil {
		return nil, campaign.Campaign{}, err
	}
	if len(cs) != 1 {
		return nil, campaign.Campaign{}, fmt.Errorf("%d campaigns are loaded (%s): name one with --campaign", len(cs), campaignNames(cs))
	}
	return set, cs[0], nil
}

// storeURL is --store, else $LLMSWEEP_STORE (the flag's default), else the campaign's.
func (f *tailFlags) storeURL(c campaign.Campaign) string {
	if f.store != "" {
		return f.store
	}
	return c.Store.URL
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
			set, c, err := f.campaign(cmd, args)
			if err != nil {
				return err
			}
			m := notify.Message{Campaign: c.Name, Run: f.run, Model: model, Status: status, Success: notify.IsSuccess(status)}
			if m.Failures, err = notify.ParseArgoFailures(failures); err != nil {
				return err
			}
			if onExit && m.Success {
				// The pipeline's own notify step announced the success.
				fmt.Fprintf(cmd.ErrOrStderr(), "run %s succeeded: announced by the pipeline's notify step\n", f.run)
				return nil
			}
			targets, err := notify.Targets(c.Notifications, m.Success, os.Getenv)
			if err != nil {
				return fmt.Errorf("campaign %s: %w", c.Name, err)
			}
			if len(targets) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "campaign %s has no notification for a %s\n", c.Name, outcomeWord(m.Success))
				return nil
			}
			// A store that cannot be read still gets the run announced: the
			// notification says so instead of staying silent.
			if err := summarize(cmd.Context(), f.storeURL(c), set, c, &m); err != nil {
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
			if err := notify.Send(cmd.Context(), targets, m, retry); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "%v\nthe results stored for run %s are unaffected\n", err, f.run)
				return exitError{exitFail}
			}
			for _, t := range targets {
				fmt.Fprintf(cmd.OutOrStdout(), "notified %s\n", t.Name())
			}
			return nil
		},
	}
	f.add(cmd)
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

// summarize fills the message's counts, config failures and top recommendation
// from the store.
func summarize(ctx context.Context, url string, set *campaign.Set, c campaign.Campaign, m *notify.Message) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, url)
	if err != nil {
		return err
	}
	defer st.Close()
	run, err := st.Run(ctx, m.Run)
	if err != nil {
		return err
	}
	if run != nil {
		m.Configs = run.Configs
	}
	results, err := st.Results(ctx, store.Filter{RunID: m.Run})
	if err != nil {
		return err
	}
	m.Done = len(results)
	fails, err := st.Failures(ctx, m.Run)
	if err != nil {
		return err
	}
	m.Failed = len(fails)
	for i, fl := range fails {
		if i == 20 {
			m.Failures = append(m.Failures, notify.Failure{Step: "configs", Reason: fmt.Sprintf("%d more failed", len(fails)-20)})
			break
		}
		m.Failures = append(m.Failures, notify.Failure{Step: "config " + fl.Fingerprint[:min(12, len(fl.Fingerprint))], Reason: fl.Reason})
	}
	if len(results) > 0 {
		m.Top = recommend(set, c, results)
	}
	return nil
}

// recommend ranks a run's results under the campaign's policy, when it is
// loaded (a bundle carries no policies), else by goodput.
func recommend(set *campaign.Set, c campaign.Campaign, results []store.Result) *notify.Recommendation {
	rows, _, err := candidates.FromStore(c.Name, results)
	if err != nil || len(rows) == 0 {
		return nil
	}
	byID := map[string]int{}
	for i := range rows {
		candidates.Derive(&rows[i], set)
		byID[rows[i].ID] = i
	}
	describe := func(id, policy string, score float64) *notify.Recommendation {
		i := byID[id]
		m := rows[i].Metrics
		return &notify.Recommendation{Policy: policy, Config: results[i].Fingerprint, Score: score,
			Summary: fmt.Sprintf("%s: %.1f output tok/s, TTFT p99 %.1f ms, TPOT p50 %.2f ms, goodput %.2f req/s",
				id, m["output_throughput"], m["ttft_p99_ms"], m["tpot_p50_ms"], m["goodput"])}
	}
	if p, ok := set.Policies[c.Policy]; ok {
		res, err := candidates.Rank(rows, p)
		if err != nil || len(res.Ranked) == 0 {
			return nil // every config failed the policy's constraints: nothing to recommend
		}
		return describe(res.Ranked[0].ID, p.Name, res.Ranked[0].Score)
	}
	best := 0
	for i, r := range rows {
		a, b := r.Metrics, rows[best].Metrics
		if a["goodput"] > b["goodput"] || a["goodput"] == b["goodput"] && a["output_throughput"] > b["output_throughput"] {
			best = i
		}
	}
	return describe(rows[best].ID, "", rows[best].Metrics["goodput"])
}
