package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/candidates"
	"github.com/llmsweep/llmsweep/internal/logging"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/monitoring"
	"github.com/llmsweep/llmsweep/internal/plugins"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/runlog"
	"github.com/llmsweep/llmsweep/internal/runner"
	"github.com/llmsweep/llmsweep/internal/store"
	"github.com/llmsweep/llmsweep/internal/taskdata"
)

// Options configure Execute.
type Options struct {
	// RunsDir is where run logs are kept, one folder per campaign and run.
	RunsDir string
	// Store is the results store, opened by the caller; StoreURL names it in
	// messages.
	Store    store.Store
	StoreURL string
	// RunID is the run to record into (a workflow's uid); empty: a new one,
	// or the campaign's unfinished run when there is one and New is false.
	RunID string
	New   bool
	// Force measures every config, whatever is stored.
	Force    bool
	Parallel int
	Retry    runner.Retry
	Verbose  bool
	// Engine serves every config when set (a local run).
	Engine *runner.Engine
	// Server is the batch's server (a pod's sidecar).
	Server  string
	WorkDir string
	// Metrics receives the run's Prometheus metrics; nil for none.
	Metrics *monitoring.Metrics
	// Tasks reads accuracy tasks' data sets from the Hub.
	Tasks *taskdata.Loader
	// Stderr shows the progress bar when it is a terminal.
	Stderr io.Writer
	// Logger gets diagnostics and progress (without a terminal); the caller
	// attaches the campaign, Execute the run. Below a warning only with Verbose.
	Logger *slog.Logger
}

// Outcome is what Execute did.
type Outcome struct {
	Report runner.Report
	Run    result.Run
	// LogDir is the run log's folder.
	LogDir string
	// Resumed is true when an unfinished run went on.
	Resumed bool
	// Reuse is the reuse decision for a new run; nil for a resumed one, whose
	// configs are those it began with.
	Reuse *Reuse
	// Results and Failures are the run's, as the run log holds them.
	Results  []result.Result
	Failures []result.Failure
}

// ErrNothingToRun is returned when a stored result stands in for every config.
var ErrNothingToRun = errors.New("nothing to run: a stored result stands in for every config of the campaign")

// Execute runs configs of campaign c (matrix hash hash) with a run log as the
// spool in front of the store: it resumes the campaign's unfinished run, or
// starts a new one with the configs the reuse policy does not skip, and runs
// them through internal/runner. runner.ErrInterrupted and
// runner.ErrStoreBehind come back wrapped, with the outcome so far.
func Execute(ctx context.Context, set *campaign.Set, c campaign.Campaign, configs []matrix.Config, hash string, opt Options) (*Outcome, error) {
	stderr := opt.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	logger := opt.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if !opt.Verbose {
		logger = logging.AtLeast(logger, slog.LevelWarn)
	}
	host, err := plugins.NewHost(logger, os.Getenv("LLMSWEEP_PLUGIN_LOCK"))
	if err != nil {
		return nil, err
	}
	// A misspelt engine fails here, not once per config.
	if err := checkEngine(opt.Engine, func(name string) error { _, err := host.Find(name); return err }); err != nil {
		return nil, err
	}
	if opt.WorkDir != "" {
		if err := os.MkdirAll(opt.WorkDir, 0o755); err != nil {
			return nil, err
		}
	}
	out := &Outcome{}
	dir := ""
	if !opt.New {
		if dir, err = runlog.Latest(opt.RunsDir, c.Name, hash); err != nil {
			return nil, err
		}
	}
	var log *runlog.Log
	if dir != "" {
		// A resumed run goes on with the configs it began with.
		log, err = runlog.Open(dir)
		out.Resumed = true
	} else {
		run := result.Run{ID: opt.RunID, Campaign: c.Name, MatrixHash: hash, Configs: len(configs), Started: time.Now(),
			Engine: opt.Engine.ID()}
		out.Reuse, err = Decide(ctx, opt.Store, configs, ReuseOptions{Policy: c.Reuse, Run: opt.RunID, Engine: opt.Engine.ID(),
			Kind: opt.Engine.Provenance().Kind, Force: opt.Force})
		if err != nil {
			return nil, err
		}
		opt.Metrics.AlreadyStored(len(configs) - len(out.Reuse.Measure))
		if configs = out.Reuse.Measure; len(configs) == 0 {
			return out, ErrNothingToRun
		}
		log, err = runlog.Create(opt.RunsDir, run)
	}
	if err != nil {
		return nil, err
	}
	defer log.Close()
	out.Run, out.LogDir = log.Run, log.Dir
	logger = logger.With(logging.Run, log.Run.ID)
	progress := runner.NewProgress(stderr, logger)
	if opt.Metrics != nil {
		progress = opt.Metrics.Progress(progress)
	}
	rep, err := runner.Run(ctx, set, c, configs, runner.Options{Host: host, Log: log, Store: opt.Store, Parallel: opt.Parallel,
		Engine: opt.Engine, Server: opt.Server, WorkDir: opt.WorkDir, Retry: opt.Retry, Tasks: opt.Tasks, Logger: logger, Progress: progress})
	out.Report, out.Run = rep, log.Run
	if errors.Is(err, runner.ErrInterrupted) {
		opt.Metrics.Interrupted()
	}
	if err != nil {
		return out, err
	}
	if out.Results, err = log.Results(); err == nil {
		out.Failures, err = log.Failures()
	}
	if err != nil {
		return out, fmt.Errorf("reading back run %s: %w", log.Dir, err)
	}
	opt.Metrics.ObserveResults(out.Results)
	if opt.Metrics != nil && opt.Store != nil {
		recommendationAccuracy(ctx, set, c, out.Results, opt)
	}
	return out, nil
}

// recommendationAccuracy sets recommendation_accuracy where a measured run
// meets stored predictions of the same configs (plan's, or the sim engine's):
// the share of the campaign policy's predicted top N still in the measured
// top N. A run of predictions, or one with nothing predicted, leaves it unset.
func recommendationAccuracy(ctx context.Context, set *campaign.Set, c campaign.Campaign, results []result.Result, opt Options) {
	p, ok := set.Policies[c.Policy]
	if !ok || len(results) == 0 || results[0].Provenance.Kind != result.Measured {
		return
	}
	predicted, err := opt.Store.Results(ctx, store.Filter{Campaign: c.Name, Provenance: result.Predicted, Newest: true})
	if err != nil || len(predicted) == 0 {
		return
	}
	rows := func(rs []result.Result) []candidates.Row {
		out := candidates.FromResults(rs, func(string) string { return c.Name })
		for i := range out {
			candidates.Derive(&out[i], set)
			// Matched by config: a prediction is kept under the sim engine's
			// identity, a measurement under the config's own.
			out[i].Fingerprint = rs[i].Config.Fingerprint
		}
		return out
	}
	if share, _, ok, err := candidates.Agreement(rows(predicted), rows(results), p, p.TopN); err == nil && ok {
		opt.Metrics.SetRecommendationAccuracy(share)
	}
}
