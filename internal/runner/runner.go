// Package runner runs a campaign's configs: it starts or attaches to each server
// group's server through the framework's plugin, waits until it is ready, has the
// plugin measure every config, and stores the records as they stream back, with
// checkpoints, retries and a circuit breaker per endpoint. It is both the pod
// entrypoint (llmsweep exec) and the local executor (llmsweep run) (DESIGN 6).
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/sony/gobreaker/v2"

	"github.com/llmsweep/llmsweep/internal/accuracy"
	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/logging"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/plugins"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/runlog"
	"github.com/llmsweep/llmsweep/internal/sim"
	"github.com/llmsweep/llmsweep/internal/store"
	"github.com/llmsweep/llmsweep/internal/taskdata"
	"github.com/llmsweep/llmsweep/internal/telemetry"
	"github.com/llmsweep/llmsweep/plugins/sdk"
	"github.com/llmsweep/llmsweep/plugins/sdk/stream"
)

// ErrInterrupted is returned when the run was stopped (SIGTERM, the spot
// warning) after checkpointing: running again resumes it.
var ErrInterrupted = errors.New("interrupted: the run is checkpointed; run it again to resume")

// Retry is the retry policy of a config: at most Retries retries, with
// exponential backoff and jitter between attempts.
type Retry struct {
	Retries      int
	Base, Cap    time.Duration
	Factor       float64
	Breaker      int           // consecutive failures that open an endpoint's breaker
	BreakerOpen  time.Duration // how long it stays open before half-open
	HalfOpenCall uint32        // calls allowed when half-open
}

// DefaultRetry is 3 retries from 1 s, doubling, capped at 60 s; the breaker opens
// after 5 failures, recovers after 30 s, and lets 3 calls through half-open.
var DefaultRetry = Retry{Retries: 3, Base: time.Second, Cap: time.Minute, Factor: 2, Breaker: 5, BreakerOpen: 30 * time.Second, HalfOpenCall: 3}

// Engine sends every config to one running server instead of launching
// frameworks (a local run against a local engine). An engine without a URL
// starts its own server for each server group from the group's config, as a
// framework launch would: the sim engine, which emulates that server.
type Engine struct {
	Plugin string
	URL    string
	Model  string
	// Pid, when known, is the engine's process: its CPU and memory are sampled
	// where there is no GPU.
	Pid int
}

// SimEngine is the plugin of the emulated engine: what it serves is predicted
// by a performance model, not measured.
const SimEngine = "sim"

// Predicted reports whether the engine's results are predictions.
func (e *Engine) Predicted() bool { return e != nil && e.Plugin == SimEngine }

// ID names the engine in a result's identity (result.Identity): "sim", or the
// plugin and the model it serves ("openai:tiny"); "" when there is no engine
// and each config's own server measures it. The URL is left out: a local
// engine's port changes from run to run, what it serves does not.
func (e *Engine) ID() string {
	switch {
	case e == nil:
		return ""
	case e.Predicted():
		return SimEngine
	}
	return e.Plugin + ":" + e.Model
}

// Provenance is what the engine's results are: predictions by the
// performance model for the sim engine, measurements otherwise.
func (e *Engine) Provenance() result.Provenance {
	if e.Predicted() {
		return result.Provenance{Kind: result.Predicted, Tool: "llmsweep-sim", Version: sim.ModelVersion}
	}
	return result.Provenance{Kind: result.Measured}
}

// Identity is the fingerprint a config's result is kept under in this run's
// log and store (result.Identity).
func (o *Options) Identity(cfg *matrix.Config) string {
	return result.Identity(cfg.Fingerprint, o.Engine.ID())
}

// Options configure a run.
type Options struct {
	Host *plugins.Host
	Log  *runlog.Log
	// Store, when set, receives each config once it is done (the run log is the
	// spool); a store that is down is retried, and the run stays unfinished
	// until everything is stored.
	Store store.Store
	// Parallel is how many server groups run at once (default 1).
	Parallel int
	// Engine, when set, serves every config.
	Engine *Engine
	// Server, when set, is the URL of the batch's server (the pod's sidecar):
	// each config's own plugin attaches to it.
	Server string
	// WorkDir is where launched servers write their logs.
	WorkDir string
	Retry   Retry
	// Ready bounds the wait for a server to become ready.
	Ready time.Duration
	// IdleTimeout ends a request whose stream is silent this long (0: the
	// SDK's default, 60 s).
	IdleTimeout time.Duration
	// SampleEvery is the utilization sampling interval (default 1 s).
	SampleEvery time.Duration
	// Tasks reads the data sets of accuracy tasks (GSM8K, MMLU) from the Hub;
	// nil fails a config whose workload names one.
	Tasks    *taskdata.Loader
	Logger   *slog.Logger
	Progress Progress
}

// Report is what a run did. Failed counts the configs of the run that are
// failed when it ends, resumed ones included: a config that failed for good
// and then succeeded on a resume is not failed.
type Report struct {
	Configs, Done, Skipped, Failed int
}

// Run runs configs (in matrix order) of campaign c.
func Run(ctx context.Context, set *campaign.Set, c campaign.Campaign, configs []matrix.Config, opt Options) (Report, error) {
	r := &run{set: set, c: c, opt: opt, breakers: map[string]*gobreaker.CircuitBreaker[struct{}]{}}
	if r.opt.Parallel < 1 {
		r.opt.Parallel = 1
	}
	if r.opt.Retry == (Retry{}) {
		r.opt.Retry = DefaultRetry
	}
	if r.opt.Ready == 0 {
		r.opt.Ready = 30 * time.Minute
	}
	if r.opt.Logger == nil {
		r.opt.Logger = slog.New(slog.DiscardHandler)
	}
	if r.opt.Progress == nil {
		r.opt.Progress = nopProgress{}
	}
	groups := group(configs)
	r.report.Configs = len(configs)
	for _, g := range groups {
		for i := range g {
			if opt.Log.Done(opt.Identity(&g[i])) {
				r.report.Skipped++
			}
		}
	}
	r.opt.Progress.Start(len(configs), r.report.Skipped)
	if opt.Store != nil {
		f, err := newFlusher(ctx, opt.Store, opt.Log)
		if err != nil {
			return r.report, err
		}
		r.flusher = f
		r.flushNow(ctx)
	}

	work := make(chan []matrix.Config)
	var wg sync.WaitGroup
	for range r.opt.Parallel {
		wg.Go(func() {
			for g := range work {
				r.group(ctx, g)
			}
		})
	}
	for _, g := range groups {
		select {
		case work <- g:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
	r.opt.Progress.Finish()
	// Failed is what is failed now: a resumed run retried the configs that
	// had failed for good, and any that failed again are here once.
	fails, err := opt.Log.Failures()
	if err != nil {
		return r.report, err
	}
	r.report.Failed = len(fails)
	cp := runlog.Checkpoint{Done: r.report.Done + r.report.Skipped, Failed: r.report.Failed, Time: time.Now(), Interrupted: ctx.Err() != nil}
	if err := opt.Log.Checkpoint(cp); err != nil {
		return r.report, err
	}
	if ctx.Err() != nil {
		return r.report, ErrInterrupted
	}
	if r.err != nil {
		return r.report, r.err
	}
	if r.flusher != nil {
		if err := r.flusher.finish(ctx, fails); err != nil {
			return r.report, fmt.Errorf("%w: the results are kept in %s; run the campaign again to store them: %v", ErrStoreBehind, opt.Log.Dir, err)
		}
		if err := opt.Store.FinishRun(ctx, opt.Log.Run.ID, time.Now()); err != nil {
			return r.report, fmt.Errorf("%w: %v", ErrStoreBehind, err)
		}
	}
	return r.report, opt.Log.Finish(time.Now())
}

// ErrStoreBehind is returned when the results store could not take everything:
// the run log keeps it, and running again stores it.
var ErrStoreBehind = errors.New("the results store is behind")

// flushNow hands finished configs to the store; when it is down, they wait.
func (r *run) flushNow(ctx context.Context) {
	if r.flusher == nil {
		return
	}
	if err := r.flusher.flush(ctx); err != nil {
		r.opt.Logger.Warn("results store unavailable; results stay spooled in the run log", "error", err)
	}
}

type run struct {
	set *campaign.Set
	c   campaign.Campaign
	opt Options

	flusher  *flusher
	mu       sync.Mutex
	report   Report
	err      error // a store error: the run cannot go on
	breakers map[string]*gobreaker.CircuitBreaker[struct{}]
}

// group splits configs into server groups (a batch's ID is its group's ID, a
// dash, and its index), keeping matrix order.
func group(configs []matrix.Config) [][]matrix.Config {
	var out [][]matrix.Config
	index := map[string]int{}
	for _, cfg := range configs {
		key := cfg.Batch
		if i := strings.LastIndexByte(key, '-'); i > 0 {
			key = key[:i]
		}
		if key == "" {
			key = cfg.ServerDigest
		}
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], cfg)
	}
	return out
}

func (r *run) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

func (r *run) breaker(endpoint string) *gobreaker.CircuitBreaker[struct{}] {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.breakers[endpoint]
	if b == nil {
		rt := r.opt.Retry
		b = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
			Name: endpoint, MaxRequests: rt.HalfOpenCall, Timeout: rt.BreakerOpen,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= uint32(rt.Breaker) },
			// An interrupted run is not the endpoint's failure.
			IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
			OnStateChange: func(name string, from, to gobreaker.State) {
				r.opt.Logger.Warn("circuit breaker", "endpoint", name, "from", from.String(), "to", to.String())
			},
		})
		r.breakers[endpoint] = b
	}
	return b
}

// session is a plugin and the server it serves a group with.
type session struct {
	name   string
	plugin *plugins.Plugin
	server *sdk.Server
	// scored keeps each accuracy task's result on this server: the configs
	// of a group differ in load, not in what the server answers (greedy
	// decoding, same prompts), so the task runs once per server.
	scored map[string]*accuracy.Result
}

func (s *session) close() {
	if s.plugin == nil {
		return
	}
	if s.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = s.plugin.Stop(ctx, s.server.GetId())
		cancel()
	}
	s.plugin.Close()
	s.plugin, s.server, s.scored = nil, nil, nil
}

// start opens the group's plugin and starts or attaches to its server, then
// waits until the server is ready.
func (r *run) start(ctx context.Context, s *session, cfg *matrix.Config) error {
	if s.plugin == nil {
		p, err := r.opt.Host.Open(s.name)
		if err != nil {
			return err
		}
		s.plugin = p
	}
	req := &sdk.StartRequest{WorkDir: r.opt.WorkDir}
	switch {
	case r.opt.Engine != nil && r.opt.Engine.URL != "":
		req.AttachUrl, req.ServedModel = r.opt.Engine.URL, r.opt.Engine.Model
	case r.opt.Server != "":
		req.AttachUrl, req.ServedModel = r.opt.Server, cfg.Repo
	default:
		sc, err := plugins.ServerConfig(r.set, r.c, cfg)
		if err != nil {
			return err
		}
		req.Config = sc
	}
	srv, err := s.plugin.Start(ctx, req)
	if err != nil {
		return err
	}
	s.server = srv
	deadline := time.Now().Add(r.opt.Ready)
	for {
		h, err := s.plugin.Health(ctx, &sdk.HealthRequest{Id: srv.GetId()})
		if err != nil {
			return err
		}
		if h.GetReady() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server %s not ready after %v: %s", srv.GetBaseUrl(), r.opt.Ready, h.GetDetail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (r *run) group(ctx context.Context, configs []matrix.Config) {
	name := configs[0].Framework
	if r.opt.Engine != nil {
		name = r.opt.Engine.Plugin
	}
	s := &session{name: name}
	defer s.close()
	var cannot error // the group's server cannot start: its other configs fail at once
	for i := range configs {
		cfg := &configs[i]
		if ctx.Err() != nil {
			return
		}
		if r.opt.Log.Done(r.opt.Identity(cfg)) {
			continue
		}
		r.opt.Progress.Current(cfg)
		if cannot != nil {
			r.failConfig(cfg, r.opt.Log.Attempts(r.opt.Identity(cfg)), cannot)
			continue
		}
		cannot = r.config(ctx, s, cfg)
	}
}

// permanent reports whether a failure is one that retrying cannot mend: the
// plugin or the server's executable is missing, or the request is invalid.
func permanent(err error) bool {
	return errors.Is(err, plugins.ErrNoPlugin) || errors.Is(err, sdk.ErrNotInstalled) || errors.Is(err, sdk.ErrInvalid)
}

// Hint says what to do when a server cannot start on this machine.
const Hint = "measure a running server with --engine-url URL --engine-model NAME, or emulate the frameworks with --engine-plugin sim"

// config runs one config with retries, and stores its result or its failure.
// It returns the failure when the config's server cannot start for good (a
// missing plugin or executable): the group's other configs would fail the same.
func (r *run) config(ctx context.Context, s *session, cfg *matrix.Config) error {
	id := r.opt.Identity(cfg)
	log := r.opt.Logger.With(ConfigAttrs(cfg)...)
	rt := r.opt.Retry
	bo := &backoff.ExponentialBackOff{InitialInterval: rt.Base, RandomizationFactor: 0.5, Multiplier: rt.Factor, MaxInterval: rt.Cap}
	bo.Reset()
	var last error
	// A resumed config goes on from its next attempt: failed ones keep
	// counting. One that failed for good gets a new round of the retry
	// budget: a resume never counts it done.
	prior := r.opt.Log.Attempts(id)
	first, final := prior+1, rt.Retries+1
	if r.opt.Log.Failed(id) {
		final = prior + rt.Retries + 1
	}
	attempt := first
	for ; attempt <= final; attempt++ {
		if attempt > first {
			wait := bo.NextBackOff()
			log.Info("retrying", logging.Attempt, attempt, "after", wait.Round(time.Millisecond).String(), "reason", last)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
		}
		err := r.attempt(ctx, s, cfg, id, attempt)
		if err == nil {
			r.count(func(rep *Report) { rep.Done++ })
			r.opt.Progress.Done(cfg, true)
			return nil
		}
		if ctx.Err() != nil {
			return nil // interrupted: the checkpoint has it
		}
		last = err
		if errors.Is(err, errStore) {
			r.fail(err)
			return nil
		}
		if permanent(err) {
			if s.server == nil && r.opt.Engine == nil && r.opt.Server == "" {
				err = fmt.Errorf("%w; %s", err, Hint)
			}
			log.Error("config failed for good: retrying cannot help", logging.Attempt, attempt, logging.ErrorClass, ErrorClass(err), logging.Error, err)
			r.failConfig(cfg, attempt, err)
			return err
		}
		log.Warn("attempt failed", logging.Attempt, attempt, logging.ErrorClass, ErrorClass(err), logging.Error, err)
		if err := r.opt.Log.PutFailure(result.Failure{Run: r.opt.Log.Run.ID, Fingerprint: id, Attempt: attempt, Reason: err.Error(), Time: time.Now()}); err != nil {
			r.fail(err)
			return nil
		}
		if errors.Is(err, sdk.ErrPluginGone) || s.server == nil {
			s.close() // start afresh: a new plugin process and server
		}
	}
	if last == nil {
		last = errors.New("no attempts left")
	}
	log.Error("config failed", logging.Attempt, attempt-1, logging.ErrorClass, ErrorClass(last), logging.Error, last)
	r.failConfig(cfg, attempt-1, last)
	return nil
}

// failConfig records a config's failure for good, after attempt.
func (r *run) failConfig(cfg *matrix.Config, attempt int, reason error) {
	id := r.opt.Identity(cfg)
	if err := r.opt.Log.PutFailure(result.Failure{Run: r.opt.Log.Run.ID, Fingerprint: id, Attempt: attempt, Final: true,
		Reason: reason.Error(), Time: time.Now(), Config: cfg}); err != nil {
		r.fail(err)
	}
	r.opt.Progress.Done(cfg, false)
	r.checkpoint(id)
}

var errStore = errors.New("store")

func (r *run) count(f func(*Report)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.report)
}

func (r *run) checkpoint(id string) {
	r.mu.Lock()
	cp := runlog.Checkpoint{Done: r.report.Done + r.report.Skipped, Current: id, Time: time.Now()}
	r.mu.Unlock()
	if err := r.opt.Log.Checkpoint(cp); err != nil {
		r.fail(err)
	}
}

// attempt measures a config once, through the endpoint's circuit breaker.
func (r *run) attempt(ctx context.Context, s *session, cfg *matrix.Config, id string, attempt int) error {
	if s.server == nil {
		if err := r.start(ctx, s, cfg); err != nil {
			s.server = nil
			return fmt.Errorf("starting the %s server: %w", s.name, err)
		}
	}
	_, err := r.breaker(s.server.GetBaseUrl()).Execute(func() (struct{}, error) {
		return struct{}{}, r.measure(ctx, s, cfg, id, attempt)
	})
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return fmt.Errorf("endpoint %s: circuit breaker open after %d consecutive failures: %w", s.server.GetBaseUrl(), r.opt.Retry.Breaker, err)
	}
	return err
}

func (r *run) measure(ctx context.Context, s *session, cfg *matrix.Config, id string, attempt int) error {
	w, ok := r.set.Workloads[cfg.Workload]
	if !ok {
		return fmt.Errorf("workload %q is not in the catalog", cfg.Workload)
	}
	spec, err := benchmarkSpec(w, cfg, s.server)
	if err != nil {
		return err
	}
	spec.Done = r.opt.Log.Recorded(id)
	spec.IdleTimeoutSeconds = r.opt.IdleTimeout.Seconds()
	var records []*sdk.Record
	if len(spec.Done) > 0 { // resuming a config: its earlier records count
		if records, err = r.opt.Log.Records(id); err != nil {
			return fmt.Errorf("%w: %v", errStore, err)
		}
	}
	samples := r.sample(ctx, s, id)
	var storeErr error
	_, err = s.plugin.Run(ctx, spec, func(rec *sdk.Record) error {
		if err := r.opt.Log.AppendRecord(id, attempt, rec); err != nil {
			storeErr = fmt.Errorf("%w: %v", errStore, err)
			return storeErr
		}
		if !rec.GetWarmup() {
			records = append(records, rec)
		}
		return nil
	})
	taken := samples.stop()
	if storeErr != nil {
		return storeErr
	}
	if err != nil {
		return err
	}
	m := metrics.Summarize(records, slo(w))
	if m.Succeeded == 0 {
		return requestsFailed{summary: errorSummary(records), class: commonClass(records)}
	}
	res := result.Result{Run: r.opt.Log.Run.ID, Fingerprint: id, Config: *cfg, Engine: r.opt.Engine.ID(),
		Provenance: r.opt.Engine.Provenance(), Attempts: attempt, Summary: m, Utilization: telemetry.Summarize(taken),
		ServedBy: fmt.Sprintf("%s at %s (model %s)", s.name, s.server.GetBaseUrl(), s.server.GetServedModel()), Finished: time.Now()}
	if r.opt.Engine.Predicted() {
		res.ServedBy = SimEngine
	}
	// An emulated engine's answers are placeholder text: it predicts speed, not
	// accuracy, so it has none to record.
	if w.Accuracy != nil && !r.opt.Engine.Predicted() {
		acc, err := r.accuracy(ctx, s, spec, w)
		if err != nil {
			return fmt.Errorf("accuracy task %s: %w", w.Accuracy.Task, err)
		}
		res.Accuracy = acc
	}
	if err := r.opt.Log.PutResult(res); err != nil {
		return fmt.Errorf("%w: %v", errStore, err)
	}
	r.checkpoint(id)
	if r.flusher != nil {
		r.flusher.add(res, records, taken)
		r.flushNow(ctx)
	}
	return nil
}

// requestsFailed is a measurement in which every request failed; class is the
// records' most common error class.
type requestsFailed struct{ summary, class string }

func (e requestsFailed) Error() string { return "every request failed: " + e.summary }

// ErrorClass names what kind of failure err is, for logs and the review queue:
// a request error's class (stream.Class: rate_limited, connection, timeout ...),
// or what the host saw (no_plugin, not_installed, invalid, plugin_gone, store,
// interrupted); "other" for the rest.
func ErrorClass(err error) string {
	var rf requestsFailed
	switch {
	case err == nil:
		return ""
	case errors.As(err, &rf) && rf.class != "":
		return rf.class
	case stream.ClassOf(err) != "":
		return string(stream.ClassOf(err))
	case errors.Is(err, plugins.ErrNoPlugin):
		return "no_plugin"
	case errors.Is(err, sdk.ErrNotInstalled):
		return "not_installed"
	case errors.Is(err, sdk.ErrInvalid):
		return "invalid"
	case errors.Is(err, sdk.ErrPluginGone):
		return "plugin_gone"
	case errors.Is(err, errStore):
		return "store"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "interrupted"
	}
	return "other"
}

// ConfigAttrs are the log attributes that name a config: its model, batch and
// fingerprint, and what it runs.
func ConfigAttrs(cfg *matrix.Config) []any {
	return []any{logging.Model, cfg.Model, logging.Batch, cfg.Batch, logging.Fingerprint, cfg.Fingerprint,
		"framework", cfg.Framework, "workload", cfg.Workload}
}

// commonClass is the records' most common error class.
func commonClass(records []*sdk.Record) string {
	counts := map[string]int{}
	best := ""
	for _, rec := range records {
		if c := rec.GetErrorClass(); c != "" {
			counts[c]++
			if counts[c] > counts[best] || counts[c] == counts[best] && c < best {
				best = c
			}
		}
	}
	return best
}

// errorSummary names the most common error class of the records, with an example.
func errorSummary(records []*sdk.Record) string {
	counts := map[string]int{}
	example := map[string]string{}
	for _, rec := range records {
		if c := rec.GetErrorClass(); c != "" {
			counts[c]++
			example[c] = rec.GetError()
		}
	}
	if len(counts) == 0 {
		return "no records"
	}
	classes := make([]string, 0, len(counts))
	for c := range counts {
		classes = append(classes, c)
	}
	sort.Slice(classes, func(i, j int) bool { return counts[classes[i]] > counts[classes[j]] })
	c := classes[0]
	retry := ""
	switch stream.Class(c) {
	case stream.RateLimited, stream.Unavailable, stream.Connection, stream.Timeout:
		retry = " (retryable)"
	}
	return fmt.Sprintf("%d × %s%s, e.g. %s", counts[c], c, retry, example[c])
}

// sampling is the utilization sampling of one config.
type sampling struct {
	mu      sync.Mutex
	samples []telemetry.Sample
	stop_   func()
}

// stop ends the sampling and returns the samples taken.
func (s *sampling) stop() []telemetry.Sample {
	s.stop_()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples
}

// sample records utilization while a config runs, in the run log and for
// the config's result: the GPUs through NVML where there are any, else the
// CPU and memory of the server's process, when known.
func (r *run) sample(ctx context.Context, s *session, id string) *sampling {
	out := &sampling{stop_: func() {}}
	pid := int(s.server.GetPid())
	if pid == 0 && r.opt.Engine != nil {
		pid = r.opt.Engine.Pid
	}
	var sampler telemetry.Sampler
	if nv, err := telemetry.NewNVML(); err == nil {
		sampler = nv
	} else if pid > 0 {
		sampler = telemetry.NewProc(pid)
	} else {
		return out
	}
	rec := telemetry.Start(ctx, sampler, r.opt.SampleEvery, func(smp telemetry.Sample) {
		out.mu.Lock()
		out.samples = append(out.samples, smp)
		out.mu.Unlock()
		if err := r.opt.Log.AppendSample(id, smp); err != nil {
			r.opt.Logger.Warn("storing a utilization sample", "error", err)
		}
	})
	out.stop_ = func() {
		rec.Stop()
		sampler.Close()
		if err := rec.Err(); err != nil {
			r.opt.Logger.Warn("utilization sampling", "errors", rec.Errors(), "last", err)
		}
	}
	return out
}

// accuracy asks the workload's accuracy task through the same endpoint,
// after the latency measurement, and scores the answers; a server answers
// a task once (session.scored).
func (r *run) accuracy(ctx context.Context, s *session, spec *sdk.BenchmarkSpec, w campaign.Workload) (*accuracy.Result, error) {
	a, _ := accuracy.FromWorkload(w)
	key := fmt.Sprintf("%+v", a)
	if res := s.scored[key]; res != nil {
		return res, nil
	}
	if a.NeedsData() && r.opt.Tasks == nil {
		return nil, fmt.Errorf("its data set is read from the Hugging Face Hub, and this run has no Hub client")
	}
	set, err := accuracy.Prepare(ctx, a, r.opt.Tasks)
	if err != nil {
		return nil, err
	}
	task := &sdk.BenchmarkSpec{
		BaseUrl: spec.GetBaseUrl(), ServedModel: spec.GetServedModel(), Fingerprint: spec.GetFingerprint(),
		Concurrency: min(max(spec.GetConcurrency(), 1), 4), Requests: int32(len(set.Prompts)), Prompts: set.Prompts,
		KeepOutput: true, Seed: spec.GetSeed(), IdleTimeoutSeconds: spec.GetIdleTimeoutSeconds(),
	}
	var records []*sdk.Record
	if _, err := s.plugin.Run(ctx, task, func(rec *sdk.Record) error {
		records = append(records, rec)
		return nil
	}); err != nil {
		return nil, err
	}
	res := set.Score(records)
	if s.scored == nil {
		s.scored = map[string]*accuracy.Result{}
	}
	s.scored[key] = &res
	return &res, nil
}
