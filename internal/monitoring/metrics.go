// Package monitoring holds the pipeline's Prometheus metrics (the names the
// design fixes), serves them on /metrics for llmsweep run and exec, and builds
// the Grafana dashboard and the PrometheusRule alerts that llmsweep compile
// writes beside the manifests.
package monitoring

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/result"
)

// The pipeline's metrics, as named in the design.
const (
	CompletionRate = "benchmark_completion_rate"
	Duration       = "average_benchmark_duration"
	Interruptions  = "spot_instance_interruptions"
	// CacheHitRatio is the catalog service's (llmsweep serve) Redis hit ratio.
	CacheHitRatio = "cache_hit_ratio"
	// ReuseRatio is what cache_hit_ratio meant before the catalog service
	// read through Redis: the configs a stored result stood in for.
	ReuseRatio = "result_reuse_ratio"
	// The catalog service's cache reads, whose rates the alert compares.
	CacheHits              = "llmsweep_serve_cache_hits_total"
	CacheMisses            = "llmsweep_serve_cache_misses_total"
	CacheFailures          = "llmsweep_serve_cache_failures_total"
	RecommendationAccuracy = "recommendation_accuracy"
	// Utilization over each config's measurement, from its result's summary.
	GPUUtilization = "benchmark_gpu_utilization_percent"
	GPUMemoryPeak  = "benchmark_gpu_memory_peak_bytes"
	CPUUtilization = "benchmark_cpu_utilization_percent"
	RSSPeak        = "benchmark_rss_peak_bytes"
)

// ConfigLabels label the per-config metrics.
var ConfigLabels = []string{"model", "hardware", "framework", "quantization", "workload", "load"}

// Help texts say how each metric is computed.
var help = map[string]string{
	CompletionRate: "Configs of the run that have a result, already stored ones included, divided by the configs planned " +
		"(0 to 1); failed configs do not count as completed.",
	Duration: "Wall time of each benchmarked config in seconds, from the plugin starting it to its result being stored " +
		"(retries included); the average is rate(_sum)/rate(_count).",
	Interruptions: "Spot interruption warnings (SIGTERM) this process received: each one checkpoints the run and exits 75 " +
		"to be resumed.",
	CacheHitRatio: "Reads of the catalog service (llmsweep serve --cache) that Redis answered, divided by all its reads " +
		"since the server started (0 to 1); a read Redis failed or the circuit breaker skipped counts as a miss.",
	ReuseRatio: "Configs whose results were already stored under their fingerprint, so they were not measured again, " +
		"divided by the configs planned (0 to 1).",
	CacheHits:     "Reads of the catalog service that the Redis cache answered.",
	CacheMisses:   "Reads of the catalog service that the Redis cache did not hold, answered from the store.",
	CacheFailures: "Reads of the catalog service that Redis failed or the circuit breaker skipped, answered from the store.",
	RecommendationAccuracy: "Share (0 to 1) of the configs the campaign's policy ranks in its top N on predicted metrics " +
		"(what plan recommends before measuring) that stay in the top N on this run's measured metrics, over the configs " +
		"with both; unset when none has both.",
	GPUUtilization: "GPU utilization of each config's measurement in percent (NVML: time a kernel ran), by stat: the mean " +
		"and the P95 over its devices and samples; absent where the config ran without NVML.",
	GPUMemoryPeak: "Largest device memory in use during each config's measurement, summed over its GPUs, in bytes.",
	CPUUtilization: "CPU use of the server's process tree during each config's measurement (100 = one core), by stat: " +
		"mean and P95; set where there is no GPU to sample.",
	RSSPeak: "Largest resident memory of the server's process tree during each config's measurement, in bytes.",
}

// Help returns the help text of one of the metrics above.
func Help(name string) string { return help[name] }

// DurationBuckets are the histogram's bounds in seconds: a config takes from
// seconds (smoke traffic) to hours (long sweeps at low load).
var DurationBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200}

// Metrics are one process's pipeline metrics, in their own registry.
type Metrics struct {
	Registry *prometheus.Registry

	completion    prometheus.Gauge
	duration      prometheus.Histogram
	interruptions prometheus.Counter
	reuse         prometheus.Gauge
	accuracy      prometheus.Gauge
	gpuUtil       *prometheus.GaugeVec
	gpuMem        *prometheus.GaugeVec
	cpuUtil       *prometheus.GaugeVec
	rss           *prometheus.GaugeVec

	mu                     sync.Mutex
	planned, done, skipped int
	stored                 int // configs dropped before the run for having results already
	started                map[string]time.Time
	now                    func() time.Time
}

// New makes the metrics, labelled with the campaign.
func New(campaign string) *Metrics {
	l := prometheus.Labels{"campaign": campaign}
	m := &Metrics{
		Registry:      prometheus.NewRegistry(),
		completion:    prometheus.NewGauge(prometheus.GaugeOpts{Name: CompletionRate, Help: help[CompletionRate], ConstLabels: l}),
		duration:      prometheus.NewHistogram(prometheus.HistogramOpts{Name: Duration, Help: help[Duration], ConstLabels: l, Buckets: DurationBuckets}),
		interruptions: prometheus.NewCounter(prometheus.CounterOpts{Name: Interruptions, Help: help[Interruptions], ConstLabels: l}),
		reuse:         prometheus.NewGauge(prometheus.GaugeOpts{Name: ReuseRatio, Help: help[ReuseRatio], ConstLabels: l}),
		accuracy:      prometheus.NewGauge(prometheus.GaugeOpts{Name: RecommendationAccuracy, Help: help[RecommendationAccuracy], ConstLabels: l}),
		gpuUtil:       prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: GPUUtilization, Help: help[GPUUtilization], ConstLabels: l}, append(ConfigLabels, "stat")),
		gpuMem:        prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: GPUMemoryPeak, Help: help[GPUMemoryPeak], ConstLabels: l}, ConfigLabels),
		cpuUtil:       prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: CPUUtilization, Help: help[CPUUtilization], ConstLabels: l}, append(ConfigLabels, "stat")),
		rss:           prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: RSSPeak, Help: help[RSSPeak], ConstLabels: l}, ConfigLabels),
		started:       map[string]time.Time{},
		now:           time.Now,
	}
	m.Registry.MustRegister(m.completion, m.duration, m.interruptions, m.reuse, m.gpuUtil, m.gpuMem, m.cpuUtil, m.rss)
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Interrupted counts a spot interruption warning. Nil metrics (no
// --metrics-addr) ignore it, as they ignore SetRecommendationAccuracy.
func (m *Metrics) Interrupted() {
	if m != nil {
		m.interruptions.Inc()
	}
}

// SetRecommendationAccuracy sets recommendation_accuracy to share, the
// agreement of the predicted top N with the measured one
// (candidates.Agreement). It is set only where both exist: a run without
// predictions leaves it absent rather than a misleading 0.
func (m *Metrics) SetRecommendationAccuracy(share float64) {
	if m == nil {
		return
	}
	m.accuracy.Set(share)
	_ = m.Registry.Register(m.accuracy) // AlreadyRegistered on a second call is fine
}

// ObserveResults sets what a run's results say: each config's utilization.
func (m *Metrics) ObserveResults(results []result.Result) {
	if m == nil {
		return
	}
	for _, r := range results {
		u := r.Utilization
		if u == nil {
			continue
		}
		c := r.Config
		l := []string{c.Model, c.Hardware, c.Framework, c.Quantization, c.Workload, matrix.Load(c.Concurrency, c.RequestRate)}
		set := func(g *prometheus.GaugeVec, v metrics.Value, extra ...string) {
			if x, ok := v.Get(); ok {
				g.WithLabelValues(append(slices.Clone(l), extra...)...).Set(x)
			}
		}
		set(m.gpuUtil, u.GPUUtilMean, "mean")
		set(m.gpuUtil, u.GPUUtilP95, "p95")
		set(m.gpuMem, u.MemUsedPeakBytes)
		set(m.cpuUtil, u.CPUMeanPct, "mean")
		set(m.cpuUtil, u.CPUP95Pct, "p95")
		set(m.rss, u.RSSPeakBytes)
	}
}

// AlreadyStored counts configs that a run leaves out because the store has
// their results (they never reach the runner): they are planned, and hits.
func (m *Metrics) AlreadyStored(n int) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.stored = n
	m.mu.Unlock()
}

// Progress is runner.Progress (declared again so that this package, which
// llmsweep compile also uses, does not pull in the runner).
type Progress interface {
	Start(total, skipped int)
	Current(cfg *matrix.Config)
	Done(cfg *matrix.Config, ok bool)
	Finish()
}

// Progress returns a runner.Progress that updates the metrics and passes every
// call on to next (the progress bar or log lines).
func (m *Metrics) Progress(next Progress) Progress { return &progress{m: m, next: next} }

type progress struct {
	m    *Metrics
	next Progress
}

func (p *progress) Start(total, skipped int) {
	m := p.m
	m.mu.Lock()
	m.planned, m.skipped, m.done = total+m.stored, skipped+m.stored, 0
	m.update()
	m.mu.Unlock()
	p.next.Start(total, skipped)
}

func (p *progress) Current(cfg *matrix.Config) {
	m := p.m
	m.mu.Lock()
	m.started[cfg.Fingerprint] = m.now()
	m.mu.Unlock()
	p.next.Current(cfg)
}

func (p *progress) Done(cfg *matrix.Config, ok bool) {
	m := p.m
	m.mu.Lock()
	if t, found := m.started[cfg.Fingerprint]; found {
		delete(m.started, cfg.Fingerprint)
		if ok {
			m.duration.Observe(m.now().Sub(t).Seconds())
		}
	}
	if ok {
		m.done++
	}
	m.update()
	m.mu.Unlock()
	p.next.Done(cfg, ok)
}

func (p *progress) Finish() { p.next.Finish() }

// update sets the ratios; m.mu is held.
func (m *Metrics) update() {
	if m.planned == 0 {
		return
	}
	m.completion.Set(float64(m.done+m.skipped) / float64(m.planned))
	m.reuse.Set(float64(m.skipped) / float64(m.planned))
}

// Serve exposes the metrics on http://addr/metrics until ctx ends. It returns
// once the listener is bound (so that a bad address is an error at once),
// with the address bound (":0" picks a port).
func Serve(ctx context.Context, addr string, m *Metrics) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the run goes on without its metrics endpoint
		}
	}()
	return ln.Addr(), nil
}
