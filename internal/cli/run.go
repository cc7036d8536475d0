package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	neturl "net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/accuracy"
	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/plugins"
	"github.com/llmsweep/llmsweep/internal/runlog"
	"github.com/llmsweep/llmsweep/internal/runner"
	"github.com/llmsweep/llmsweep/internal/store"
)

// exitInterrupted is the exit code of a run stopped by SIGTERM (the spot warning)
// after its checkpoint: EX_TEMPFAIL, "try again", which resumes it.
const exitInterrupted = 75

// runFlags are the flags run and exec share.
type runFlags struct {
	results  string
	store    string
	parallel int
	new      bool
	force    bool
	runID    string // the run to record under; empty: a new one
	verbose  bool
	retry    runner.Retry
	metrics  string // --metrics-addr
}

func (f *runFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.results, "results", ".llmsweep/runs", "the `directory` runs are recorded in (one folder per campaign and run)")
	cmd.Flags().StringVar(&f.store, "store", os.Getenv("LLMSWEEP_STORE"), "the results store `URL` (sqlite://FILE or postgres://…; default $LLMSWEEP_STORE, else the campaign's store.url)")
	cmd.Flags().BoolVar(&f.new, "new", false, "start a new run instead of resuming the last unfinished one")
	cmd.Flags().BoolVar(&f.force, "force", false, "run configs again that already have results in the store")
	cmd.Flags().BoolVarP(&f.verbose, "verbose", "v", false, "log every step")
	cmd.Flags().StringVar(&f.metrics, "metrics-addr", "", "serve the run's Prometheus metrics on this `address` (host:port) at /metrics")
	f.retry = runner.DefaultRetry
	cmd.Flags().IntVar(&f.retry.Retries, "retries", f.retry.Retries, "retries of a failed config")
	cmd.Flags().DurationVar(&f.retry.Base, "retry-backoff", f.retry.Base, "the first retry's backoff; it doubles up to --retry-max")
	cmd.Flags().DurationVar(&f.retry.Cap, "retry-max", f.retry.Cap, "the longest backoff between retries")
	cmd.Flags().DurationVar(&f.retry.BreakerOpen, "breaker-open", f.retry.BreakerOpen, "how long an endpoint's circuit breaker stays open")
}

func newRun() *cobra.Command {
	var f runFlags
	var opt campaign.Options
	var name, engineURL, engineModel, enginePlugin, workDir string
	var enginePid int
	cmd := &cobra.Command{
		Use:   "run [files or directories...]",
		Short: "Run a campaign on this machine and print its results",
		Long: `run executes a campaign in-process, as the Argo pipeline does on a cluster:
for each server group it starts (or attaches to) the server through the
framework's plugin, waits until it is ready, warms it up, measures every config
and records each request as it completes.

It resumes: a rerun of the same campaign goes on where the last one stopped, and
no completed config runs again. SIGTERM or Ctrl-C checkpoints and exits with
code 75; a config that fails every retry is recorded with its reason, and the
run goes on (exit code 1 at the end).

A campaign's engine (or --engine-url) sends every config to one running
OpenAI-compatible server instead of launching frameworks. The engine
{plugin: "sim"} emulates each config's server instead, with the latencies a
performance model predicts for its model, GPUs, framework and quantization: it
needs no GPU and no server, and its results are labelled predicted.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := notifyContext(cmd)
			defer stop()
			var names []string
			if name != "" {
				names = []string{name}
			}
			set, cs, err := loadCampaigns(cmd, args, opt, names)
			if err != nil {
				return err
			}
			if len(cs) != 1 {
				return fmt.Errorf("%d campaigns are loaded (%s): name one with --campaign", len(cs), campaignNames(cs))
			}
			c := cs[0]
			var engine *runner.Engine
			if c.Engine != nil {
				engine = &runner.Engine{Plugin: c.Engine.Plugin, URL: c.Engine.URL, Model: c.Engine.Model}
			}
			if engineURL != "" {
				// A URL attaches to a running server; the sim engine runs its own.
				if engine == nil || engine.Plugin == runner.SimEngine {
					engine = &runner.Engine{Plugin: "openai"}
				}
				engine.URL = engineURL
			}
			if engine != nil && engineModel != "" {
				engine.Model = engineModel
			}
			if engine == nil && enginePlugin == runner.SimEngine {
				engine = &runner.Engine{}
			}
			if engine != nil && enginePlugin != "" {
				engine.Plugin = enginePlugin
			}
			if engine.Predicted() {
				if engineURL != "" {
					return errors.New("--engine-plugin sim emulates each config's server: it takes no --engine-url")
				}
				engine.URL, engine.Model = "", ""
			}
			if engine != nil {
				engine.Pid = enginePid
			}
			if engine != nil && engine.URL != "" && engine.Model == "" {
				return errors.New("--engine-url needs --engine-model, the name the engine serves its model under")
			}
			configs, hash, err := compileConfigs(set, c)
			if err != nil {
				return err
			}
			return execute(ctx, cmd, f, set, c, configs, hash, runner.Options{Engine: engine, WorkDir: workDir})
		},
	}
	f.add(cmd)
	cmd.Flags().IntVar(&f.parallel, "parallel", 1, "server groups to run at once")
	cmd.Flags().StringVar(&name, "campaign", "", "the campaign to run, when the files hold several")
	cmd.Flags().StringVar(&engineURL, "engine-url", "", "send every config to this running OpenAI-compatible server")
	cmd.Flags().StringVar(&engineModel, "engine-model", "", "the model name the engine serves")
	cmd.Flags().StringVar(&enginePlugin, "engine-plugin", "", "the plugin that talks to the engine (default openai; sim emulates each config's server)")
	cmd.Flags().IntVar(&enginePid, "engine-pid", 0, "the engine's process id, to sample its CPU and memory where there is no GPU")
	cmd.Flags().StringVar(&workDir, "work-dir", ".llmsweep/servers", "where launched servers write their logs")
	cmd.Flags().StringVar(&opt.Catalog, "catalog", "", "catalog `directory` (default: ./catalog, or the built-in one)")
	return cmd
}

func newExec() *cobra.Command {
	var f runFlags
	var bundle, batch, server string
	cmd := &cobra.Command{
		Use:   "exec --bundle FILE --batch ID --server URL",
		Short: "Run one batch against its server: the entrypoint of a batch pod",
		Long: `exec is what each Argo batch pod runs. It re-derives the campaign's matrix from
the bundle, takes the configs of its batch, and measures them against the
batch's server (the pod's sidecar) through the framework's plugin, with the
same checkpoints, retries and resume as run. On SIGTERM (the spot warning) it
checkpoints within the grace period and exits with code 75.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := notifyContext(cmd)
			defer stop()
			if bundle == "" || batch == "" || server == "" {
				return errors.New("exec needs --bundle, --batch and --server")
			}
			if f.runID != "" && !runIDPattern.MatchString(f.runID) {
				return fmt.Errorf("--run %q: a run id is letters, digits, '.', '_' and '-', starting with a letter or digit", f.runID)
			}
			b, err := os.ReadFile(bundle)
			if err != nil {
				return err
			}
			set, c, err := campaign.ReadBundle(b)
			if err != nil {
				return fmt.Errorf("%s: %w", bundle, err)
			}
			configs, hash, err := compileConfigs(set, c)
			if err != nil {
				return err
			}
			var mine []matrix.Config
			for _, cfg := range configs {
				if cfg.Batch == batch {
					mine = append(mine, cfg)
				}
			}
			if len(mine) == 0 {
				return fmt.Errorf("campaign %s has no batch %q (matrix %s): the bundle and the workflow disagree", c.Name, batch, hash[:12])
			}
			return execute(ctx, cmd, f, set, c, mine, hash, runner.Options{Server: server})
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&bundle, "bundle", "", "the campaign bundle `file` (from the campaign ConfigMap)")
	cmd.Flags().StringVar(&batch, "batch", "", "the batch `id` to run")
	cmd.Flags().StringVar(&server, "server", "", "the `URL` of the batch's server")
	cmd.Flags().StringVar(&f.runID, "run", "", "the run `id` the batch belongs to (the workflow's uid): every batch of a workflow records into one run")
	return cmd
}

func campaignNames(cs []campaign.Campaign) string {
	var n []string
	for _, c := range cs {
		n = append(n, c.Name)
	}
	return strings.Join(n, ", ")
}

// runIDPattern keeps a run id safe as a directory name.
var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// skipStored drops the configs that already have results of the kind this run
// makes: measured ones for a real engine, predicted ones for the emulated one
// (a prediction never stands in for a measurement).
func skipStored(ctx context.Context, st store.Store, configs []matrix.Config, predicted bool) ([]matrix.Config, int, error) {
	fps := make([]string, len(configs))
	for i, cfg := range configs {
		fps[i] = cfg.Fingerprint
	}
	have, err := st.StoredResults(ctx, fps)
	if err != nil {
		return nil, 0, err
	}
	kept := configs[:0:0]
	for _, cfg := range configs {
		if k := have[cfg.Fingerprint]; (predicted && k.Predicted) || (!predicted && k.Measured) {
			continue
		}
		kept = append(kept, cfg)
	}
	return kept, len(configs) - len(kept), nil
}

// compileConfigs expands a campaign into its configs, in matrix order.
func compileConfigs(set *campaign.Set, c campaign.Campaign) ([]matrix.Config, string, error) {
	var buf bytes.Buffer
	res, err := (&matrix.Compiler{Set: set}).Compile(c, &buf)
	if err != nil {
		return nil, "", err
	}
	var configs []matrix.Config
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	for {
		var cfg matrix.Config
		if err := dec.Decode(&cfg); err == io.EOF {
			break
		} else if err != nil {
			return nil, "", err
		}
		configs = append(configs, cfg)
	}
	return configs, res.Summary.MatrixHash, nil
}

// notifyContext is cancelled by SIGTERM (the spot warning) or Ctrl-C. It is set
// up before anything else, so that a signal during loading is an interruption
// too, not a kill.
func notifyContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
}

// execute runs configs with a run log and prints the results.
func execute(ctx context.Context, cmd *cobra.Command, f runFlags, set *campaign.Set, c campaign.Campaign, configs []matrix.Config, hash string, opt runner.Options) error {
	stderr := cmd.ErrOrStderr()
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelInfo
	}
	opt.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	opt.Host = &plugins.Host{Dirs: plugins.Dirs(), StartTimeout: 10 * time.Second,
		Logger: hclog.New(&hclog.LoggerOptions{Name: "plugin", Output: stderr, Level: hclog.Warn})}
	if lock := os.Getenv("LLMSWEEP_PLUGIN_LOCK"); lock != "" {
		l, err := plugins.ReadLock(lock)
		if err != nil {
			return err
		}
		opt.Host.Lock = l
	}
	opt.Parallel, opt.Retry = f.parallel, f.retry
	if opt.WorkDir != "" {
		if err := os.MkdirAll(opt.WorkDir, 0o755); err != nil {
			return err
		}
	}

	url := f.store
	if url == "" {
		url = c.Store.URL
	}
	st, err := store.Open(ctx, url)
	if err != nil && ctx.Err() != nil { // SIGTERM while the store was opening
		fmt.Fprintln(stderr, "interrupted before any config ran: run again")
		return exitError{exitInterrupted}
	}
	if err != nil {
		return fmt.Errorf("results store: %w", err)
	}
	defer st.Close()
	opt.Store = st

	dir := ""
	if !f.new {
		if dir, err = runlog.Latest(f.results, c.Name, hash); err != nil {
			return err
		}
	}
	var skipped int            // configs whose results are stored already
	if dir == "" && !f.force { // a resumed run goes on with the configs it began with
		predicted := opt.Engine.Predicted()
		if configs, skipped, err = skipStored(ctx, st, configs, predicted); err != nil {
			if ctx.Err() != nil { // SIGTERM before any config ran
				fmt.Fprintln(stderr, "interrupted before any config ran: run again")
				return exitError{exitInterrupted}
			}
			return err
		}
		if skipped > 0 {
			fmt.Fprintf(stderr, "%d configs already have results in %s and are not run again (--force runs them)\n", skipped, redact(url))
		}
		if len(configs) == 0 {
			fmt.Fprintln(cmd.OutOrStdout(), "nothing to run: every config of the campaign has results already")
			return nil
		}
	}
	var log *runlog.Log
	if dir != "" {
		log, err = runlog.Open(dir)
		fmt.Fprintf(stderr, "resuming run %s\n", dir)
	} else {
		run := runlog.Run{ID: f.runID, Campaign: c.Name, MatrixHash: hash, Configs: len(configs), Started: time.Now()}
		switch {
		case opt.Engine != nil && opt.Engine.URL == "":
			run.Engine = opt.Engine.Plugin
		case opt.Engine != nil:
			run.Engine = opt.Engine.Plugin + " at " + opt.Engine.URL + " (model " + opt.Engine.Model + ")"
		}
		log, err = runlog.Create(f.results, run)
	}
	if err != nil {
		return err
	}
	defer log.Close()
	opt.Log = log
	opt.Progress = runner.NewProgress(stderr, opt.Logger)
	// The endpoint outlives a SIGTERM's cancellation until the checkpoint is done.
	mctx, stopMetrics := context.WithCancel(context.WithoutCancel(ctx))
	defer stopMetrics()
	mon, err := serveMetrics(mctx, f.metrics, c.Name, stderr)
	if err != nil {
		return err
	}
	if mon != nil {
		mon.AlreadyStored(skipped)
		opt.Progress = mon.Progress(opt.Progress)
	}

	rep, err := runner.Run(ctx, set, c, configs, opt)
	if errors.Is(err, runner.ErrInterrupted) {
		mon.Interrupted()
		fmt.Fprintf(stderr, "interrupted after %d of %d configs; checkpointed in %s: run again to resume\n", rep.Done+rep.Skipped, rep.Configs, log.Dir)
		return exitError{exitInterrupted}
	}
	if errors.Is(err, runner.ErrStoreBehind) {
		fmt.Fprintf(stderr, "%v\n", err)
		return exitError{exitFail}
	}
	if err != nil {
		return err
	}
	observeAccuracy(mon, log)
	if err := printResults(cmd.OutOrStdout(), log); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d configs: %d run, %d already done, %d failed; recorded in %s and %s\n",
		rep.Configs, rep.Done, rep.Skipped, rep.Failed, filepath.Clean(log.Dir), redact(url))
	if opt.Server == "" { // a pod's batch is one of many: the workflow's own steps follow it
		localTail(ctx, stderr, st, url, set, c, log.Run.ID, configs)
	}
	if rep.Failed > 0 {
		return exitError{exitFail}
	}
	return nil
}

// printResults writes the run's results table, then its failures.
func printResults(w io.Writer, log *runlog.Log) error {
	results, err := log.Results()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MODEL\tHARDWARE\tFRAMEWORK\tQUANT\tWORKLOAD\tLOAD\tOK\tFAIL\tTTFT P50 ms\tTTFT P99 ms\tTPOT P50 ms\tITL P50 ms\tE2E P99 ms\tOUT tok/s\treq/s\tGOODPUT\tACCURACY\t")
	for _, r := range results {
		var cfg matrix.Config
		var s metrics.Summary
		if err := json.Unmarshal(r.Config, &cfg); err != nil {
			return err
		}
		if err := json.Unmarshal(r.Summary, &s); err != nil {
			return err
		}
		acc := "-"
		if len(r.Accuracy) > 0 {
			var a accuracy.Result
			if err := json.Unmarshal(r.Accuracy, &a); err != nil {
				return err
			}
			acc = fmt.Sprintf("%.0f%% of %d", 100*a.Accuracy, a.Samples)
		}
		load := matrix.Load(cfg.Concurrency, cfg.RequestRate)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%.1f\t%.1f\t%.2f\t%.2f\t%.1f\t%.1f\t%.2f\t%.2f\t%s\t\n",
			cfg.Model, cfg.Hardware, cfg.Framework+" "+cfg.Version, cfg.Quantization, cfg.Workload, load,
			s.Succeeded, s.Failed, s.TTFT.P50, s.TTFT.P99, s.TPOT.P50, s.ITL.P50, s.E2E.P99,
			s.OutputThroughput, s.RequestThroughput, s.Goodput, acc)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case len(results) > 0 && log.Run.Engine == runner.SimEngine:
		fmt.Fprintln(w, predictedNote)
	case len(results) > 0 && log.Run.Engine != "":
		fmt.Fprintf(w, "served by %s, not by the frameworks and GPUs named above\n", log.Run.Engine)
	}
	failures, err := log.Failures()
	if err != nil {
		return err
	}
	for _, f := range failures {
		fmt.Fprintf(w, "FAILED %s after %d attempts: %s\n", f.Fingerprint[:12], f.Attempt, f.Reason)
	}
	return nil
}

// predictedNote labels results that the sim engine emulated.
const predictedNote = "PREDICTED, not measured: the sim engine emulated the frameworks and GPUs named above from a performance model"

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
