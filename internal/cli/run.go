package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	neturl "net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/logging"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/monitoring"
	"github.com/llmsweep/llmsweep/internal/pipeline"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/runner"
	"github.com/llmsweep/llmsweep/internal/taskdata"
)

// exitInterrupted is the exit code of a run stopped by SIGTERM (the spot warning)
// after its checkpoint: EX_TEMPFAIL, "try again", which resumes it.
const exitInterrupted = 75

// runFlags are the flags run and exec share.
type runFlags struct {
	inv     invocation
	opt     pipeline.Options
	metrics string // --metrics-addr
	hub     hubFlags
}

func (f *runFlags) add(cmd *cobra.Command) {
	f.inv.addStore(cmd)
	f.inv.addOutput(cmd, "table", "json", "csv")
	f.inv.addCampaign(cmd, false)
	fl := cmd.Flags()
	fl.StringVar(&f.opt.RunsDir, "log-dir", ".llmsweep/runs", "the `directory` run logs are kept in (one folder per campaign and run)")
	// --results was this flag's first name; on diff it is a store.
	fl.StringVar(&f.opt.RunsDir, "results", ".llmsweep/runs", "")
	fl.MarkDeprecated("results", "use --log-dir")
	fl.BoolVar(&f.opt.New, "new", false, "start a new run instead of resuming the last unfinished one")
	fl.BoolVar(&f.opt.Force, "force", false, "measure every config again, whatever the campaign's reuse policy lets stored results stand in for")
	fl.BoolVarP(&f.opt.Verbose, "verbose", "v", false, "log every step")
	fl.StringVar(&f.metrics, "metrics-addr", "", "serve the run's Prometheus metrics on this `address` (host:port) at /metrics")
	f.opt.Retry = runner.DefaultRetry
	fl.IntVar(&f.opt.Retry.Retries, "retries", f.opt.Retry.Retries, "retries of a failed config")
	checkFlags(cmd, func() error { return atLeast("retries", f.opt.Retry.Retries, 0) })
	fl.DurationVar(&f.opt.Retry.Base, "retry-backoff", f.opt.Retry.Base, "the first retry's backoff; it doubles up to --retry-max")
	fl.DurationVar(&f.opt.Retry.Cap, "retry-max", f.opt.Retry.Cap, "the longest backoff between retries")
	fl.DurationVar(&f.opt.Retry.BreakerOpen, "breaker-open", f.opt.Retry.BreakerOpen, "how long an endpoint's circuit breaker stays open")
	// Accuracy tasks read their data sets (GSM8K, MMLU) from the Hub.
	f.hub.register(cmd)
}

func newRun() *cobra.Command {
	var f runFlags
	var ef pipeline.EngineFlags
	cmd := &cobra.Command{
		Use:   "run [files or directories...]",
		Short: "Run a campaign on this machine and print its results",
		Long: `run executes a campaign in-process, as the Argo pipeline does on a cluster:
for each server group it starts (or attaches to) the server through the
framework's plugin, waits until it is ready, warms it up, measures every config
and records each request as it completes. Then it refreshes the views,
invalidates the cache, writes the report and archives, as the pipeline's tail.

It resumes: a rerun of the same campaign goes on where the last unfinished one
stopped, and no config done in it runs again; a config that failed every retry
is tried again. SIGTERM or Ctrl-C checkpoints and exits with code 75. The exit
code is 1 when any config of the run is still failed at the end.

A new run measures the configs its campaign's reuse policy does not let a
stored result stand in for (reuse: scope "run" for a scheduled campaign, which
measures everything each run; scope "any", with an optional max_age, for an
ad-hoc one). --force measures everything.

A campaign's engine (or --engine-url) sends every config to one running
OpenAI-compatible server instead of launching frameworks. The engine
{plugin: "sim"} emulates each config's server instead, with the latencies a
performance model predicts: it needs no GPU and no server, and its results are
labelled predicted. Results an engine served are kept under an identity of
their own: they never stand in for, or rank as, the configs' own.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := notifyContext(cmd)
			defer stop()
			set, c, err := f.inv.campaign(cmd, args)
			if err != nil {
				return err
			}
			if f.opt.Engine, err = pipeline.Engine(c, ef); err != nil {
				return err
			}
			m, err := pipeline.Compile(set, c, "")
			if err != nil {
				return err
			}
			return execute(ctx, cmd, &f, set, c, m.Configs, m.Hash, true)
		},
	}
	f.add(cmd)
	fl := cmd.Flags()
	fl.IntVar(&f.opt.Parallel, "parallel", 1, "server groups to run at once")
	checkFlags(cmd, func() error { return atLeast("parallel", f.opt.Parallel, 1) })
	fl.StringVar(&ef.URL, "engine-url", "", "send every config to this running OpenAI-compatible server")
	fl.StringVar(&ef.Model, "engine-model", "", "the model name the engine serves")
	fl.StringVar(&ef.Plugin, "engine-plugin", "", "the plugin that talks to the engine (default openai; sim emulates each config's server)")
	fl.IntVar(&ef.Pid, "engine-pid", 0, "the engine's process id, to sample its CPU and memory where there is no GPU")
	fl.StringVar(&f.opt.WorkDir, "work-dir", ".llmsweep/servers", "where launched servers write their logs")
	f.inv.addCatalog(cmd)
	return cmd
}

func newExec() *cobra.Command {
	var f runFlags
	var model, hash, batch string
	cmd := &cobra.Command{
		Use:   "exec --bundle FILE --model NAME --matrix-hash SHA --batch ID --server URL --run ID",
		Short: "Run one batch against its server: the entrypoint of a batch pod",
		Long: `exec is what each Argo batch pod runs. It re-derives its model's matrix from
the bundle (and nothing else), checks it against --matrix-hash, takes the
configs of its batch, and measures them against the batch's server (the pod's
sidecar) through the framework's plugin, with the same checkpoints, retries,
reuse policy and resume as run. On SIGTERM (the spot warning) it checkpoints
within the grace period and exits with code 75.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := notifyContext(cmd)
			defer stop()
			if f.inv.bundle == "" || model == "" || batch == "" || f.opt.Server == "" {
				return errors.New("exec needs --bundle, --model, --batch and --server")
			}
			if f.opt.RunID != "" && !runIDPattern.MatchString(f.opt.RunID) {
				return fmt.Errorf("--run %q: a run id is letters, digits, '.', '_' and '-', starting with a letter or digit", f.opt.RunID)
			}
			set, c, err := f.inv.campaign(cmd, nil)
			if err != nil {
				return err
			}
			m, err := pipeline.Compile(set, c, model)
			if err != nil {
				return err
			}
			if hash != "" && m.Hash != hash {
				return fmt.Errorf("matrix hash mismatch for %s: the bundle compiles to %s, the workflow says %s; the llmsweep image and the compiler that wrote the manifests differ", model, m.Hash, hash)
			}
			var mine []matrix.Config
			for _, cfg := range m.Configs {
				if cfg.Batch == batch {
					mine = append(mine, cfg)
				}
			}
			if len(mine) == 0 {
				return fmt.Errorf("model %s of campaign %s has no batch %q (matrix %s): the bundle and the workflow disagree", model, c.Name, batch, m.Hash[:12])
			}
			return execute(ctx, cmd, &f, set, c, mine, m.Hash, false)
		},
	}
	f.add(cmd)
	f.inv.addBundle(cmd)
	fl := cmd.Flags()
	fl.StringVar(&model, "model", "", "the `model` whose matrix the batch belongs to")
	fl.StringVar(&hash, "matrix-hash", "", "the model's matrix `sha256`, as the workflow names it")
	fl.StringVar(&batch, "batch", "", "the batch `id` to run")
	fl.StringVar(&f.opt.Server, "server", "", "the `URL` of the batch's server")
	fl.StringVar(&f.opt.RunID, "run", "", "the run `id` the batch belongs to (the workflow's uid): every batch of a workflow records into one run")
	return cmd
}

// runIDPattern keeps a run id safe as a directory name.
var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// notifyContext is cancelled by SIGTERM (the spot warning) or Ctrl-C. It is set
// up before anything else, so that a signal during loading is an interruption
// too, not a kill.
func notifyContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
}

// execute runs configs through pipeline.Execute and prints what happened; a
// local run (tail) also runs the pipeline's tail.
func execute(ctx context.Context, cmd *cobra.Command, f *runFlags, set *campaign.Set, c campaign.Campaign, configs []matrix.Config, hash string, tail bool) error {
	stderr := cmd.ErrOrStderr()
	log := logger(cmd).With(logging.Campaign, c.Name)
	st, url, err := f.inv.openStore(ctx, &c)
	if err != nil && ctx.Err() != nil { // SIGTERM while the store was opening
		log.Warn("interrupted before any config ran: run again")
		return exitError{exitInterrupted}
	}
	if err != nil {
		return err
	}
	defer st.Close()
	f.opt.Store, f.opt.StoreURL, f.opt.Stderr, f.opt.Logger = st, url, stderr, log
	f.opt.Tasks = &taskdata.Loader{Hub: f.hub.client()}
	// The endpoint outlives a SIGTERM's cancellation until the checkpoint is done.
	mctx, stopMetrics := context.WithCancel(context.WithoutCancel(ctx))
	defer stopMetrics()
	if f.opt.Metrics, err = serveMetrics(mctx, f.metrics, c.Name, log); err != nil {
		return err
	}
	out, err := pipeline.Execute(ctx, set, c, configs, hash, f.opt)
	if out != nil && out.Run.ID != "" {
		log = log.With(logging.Run, out.Run.ID)
	}
	if out != nil && out.Resumed {
		log.Info(fmt.Sprintf("resuming run %s", out.LogDir))
	}
	if out != nil && out.Reuse != nil {
		log.Info(fmt.Sprintf("%d configs: %s", len(configs), out.Reuse))
	}
	switch {
	case errors.Is(err, pipeline.ErrNothingToRun):
		if f.inv.output == "json" {
			o := runOutcome{Campaign: c.Name, Configs: len(configs), NothingToRun: true,
				Results: []result.Result{}, Failures: []result.Failure{}}
			o.reasons(out)
			return writeJSON(cmd.OutOrStdout(), o)
		}
		fmt.Fprintln(cmd.OutOrStdout(), err)
		return nil
	case errors.Is(err, runner.ErrInterrupted), err != nil && ctx.Err() != nil:
		if out == nil || out.LogDir == "" {
			log.Warn("interrupted before any config ran: run again")
		} else {
			log.Warn(fmt.Sprintf("interrupted after %d of %d configs; checkpointed in %s: run again to resume",
				out.Report.Done+out.Report.Skipped, out.Report.Configs, out.LogDir))
		}
		return exitError{exitInterrupted}
	case errors.Is(err, runner.ErrStoreBehind):
		log.Error(err.Error(), logging.ErrorClass, "store")
		return exitError{exitFail}
	case err != nil:
		return err
	}
	rep := out.Report
	switch f.inv.output {
	case "json":
		o := runOutcome{Campaign: c.Name, Run: &out.Run, LogDir: filepath.Clean(out.LogDir), Store: redact(url), Resumed: out.Resumed,
			Configs: rep.Configs, Done: rep.Done, Skipped: rep.Skipped, Failed: rep.Failed, Results: out.Results, Failures: out.Failures}
		o.reasons(out)
		if o.Results == nil {
			o.Results = []result.Result{}
		}
		if o.Failures == nil {
			o.Failures = []result.Failure{}
		}
		if err := writeJSON(cmd.OutOrStdout(), o); err != nil {
			return err
		}
	case "csv":
		// CSV holds results; the failures go to the log, one line each.
		if err := result.WriteCSV(cmd.OutOrStdout(), out.Results); err != nil {
			return err
		}
		printFailures(diag(cmd, slog.LevelWarn), out.Failures)
	default:
		printResults(cmd.OutOrStdout(), out.Results, out.Failures)
	}
	log.Info(fmt.Sprintf("%d configs: %d run, %d already done, %d failed; recorded in %s and %s",
		rep.Configs, rep.Done, rep.Skipped, rep.Failed, filepath.Clean(out.LogDir), redact(url)))
	if tail {
		pipeline.Tail(ctx, log, st, set, c, out.Run.ID, configs, pipeline.TailOptions{})
	}
	if rep.Failed > 0 {
		return exitError{exitFail}
	}
	return nil
}

// runOutcome is what run and exec write with -o json: the run, what became
// of its configs, and its results and failures.
type runOutcome struct {
	Campaign string      `json:"campaign"`
	Run      *result.Run `json:"run,omitempty"`
	LogDir   string      `json:"log_dir,omitempty"`
	Store    string      `json:"store,omitempty"`
	Resumed  bool        `json:"resumed"`
	// NothingToRun: stored results stand in for every config.
	NothingToRun bool `json:"nothing_to_run"`
	Configs      int  `json:"configs"`
	Done         int  `json:"done"`
	Skipped      int  `json:"skipped"`
	Failed       int  `json:"failed"`
	// Measured and Reused count a new run's configs by why they are
	// measured, or why a stored result stands in for them.
	Measured map[string]int   `json:"measured,omitempty"`
	Reused   map[string]int   `json:"reused,omitempty"`
	Results  []result.Result  `json:"results"`
	Failures []result.Failure `json:"failures"`
}

func (o *runOutcome) reasons(out *pipeline.Outcome) {
	if out != nil && out.Reuse != nil {
		o.Measured, o.Reused = out.Reuse.Measured, out.Reuse.Reused
	}
}

// printResults writes a run's results table, then its failures.
func printResults(w io.Writer, results []result.Result, failures []result.Failure) {
	result.WriteTable(w, results)
	printFailures(w, failures)
}

func printFailures(w io.Writer, failures []result.Failure) {
	for _, f := range failures {
		tried := fmt.Sprintf("after %d attempts", f.Attempt)
		if f.Attempt == 0 {
			tried = "without an attempt"
		}
		fmt.Fprintf(w, "FAILED %s %s: %s\n", f.Fingerprint[:min(12, len(f.Fingerprint))], tried, f.Reason)
	}
}

// serveMetrics starts the --metrics-addr endpoint of run and exec; it stops
// with ctx. An empty addr serves nothing and returns nil metrics, which are
// safe to use.
func serveMetrics(ctx context.Context, addr, campaign string, log *slog.Logger) (*monitoring.Metrics, error) {
	if addr == "" {
		return nil, nil
	}
	m := monitoring.New(campaign)
	bound, err := monitoring.Serve(ctx, addr, m)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	log.Info(fmt.Sprintf("metrics on http://%s/metrics", bound))
	return m, nil
}

// redact drops a password from a store URL before it is printed.
func redact(u string) string {
	p, err := neturl.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	if _, ok := p.User.Password(); ok {
		p.User = neturl.UserPassword(p.User.Username(), "xxxxx")
	}
	return p.String()
}
