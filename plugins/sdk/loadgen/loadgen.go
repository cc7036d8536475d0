// Package loadgen sends a benchmark's requests to a server and times them. It runs
// inside the plugin process (DESIGN 7), so the timing has no RPC in it.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	pluginpb "github.com/llmsweep/llmsweep/plugins/sdk/proto"
	"github.com/llmsweep/llmsweep/plugins/sdk/stream"
)

// Defaults for a spec that leaves them out.
const (
	DefaultConcurrency    = 1
	DefaultRequests       = 100
	DefaultRequestTimeout = 10 * time.Minute
	DefaultIdleTimeout    = 60 * time.Second
)

// clock turns monotonic readings into wall-clock nanoseconds from one base, so
// that every timestamp of a run is on one clock that never steps.
type clock struct {
	base time.Time
	wall int64
}

func newClock() clock {
	now := time.Now()
	return clock{base: now, wall: now.UnixNano()}
}

func (c clock) ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return c.wall + int64(t.Sub(c.base))
}

type job struct {
	index     int
	warmup    bool
	scheduled time.Time // zero in a closed loop
	prompt    *Prompt   // made ahead of time in an open loop
}

// Run sends spec's requests through client, using protocol api, and calls send
// with each record from one goroutine. Warmup requests go first, one at a time per
// worker, and are flagged. Indices in spec.Done are skipped, so that a resumed run
// sends exactly the requests that are missing. When ctx is cancelled, requests in
// flight are abandoned (they have no record, so a resume sends them again) and Run
// returns ctx's error.
func Run(ctx context.Context, client *stream.Client, api stream.API, spec *pluginpb.BenchmarkSpec, send func(*pluginpb.Record) error) (*pluginpb.Summary, error) {
	if err := check(spec); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	clk := newClock()
	prompts := Prompts{spec: spec}
	done := make(map[int]bool, len(spec.GetDone()))
	for _, i := range spec.GetDone() {
		done[int(i)] = true
	}
	sum := &pluginpb.Summary{Skipped: int32(len(done))}

	results := make(chan *pluginpb.Record, 256)
	var sendErr error
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for r := range results {
			if sendErr != nil {
				continue
			}
			tally(sum, r)
			if err := send(r); err != nil {
				sendErr = err
				cancel()
			}
		}
	}()

	do := func(j job) {
		if j.prompt == nil {
			p := prompts.At(j.index)
			j.prompt = &p
		}
		r := measure(ctx, client, api, spec, *j.prompt, j, clk)
		if r != nil {
			results <- r
		}
	}

	// Warmup: concurrency requests at a time, not measured.
	warm := make(chan job)
	var wg sync.WaitGroup
	for range workers(spec) {
		wg.Go(func() {
			for j := range warm {
				do(j)
			}
		})
	}
	for k := range int(spec.GetWarmup()) {
		if !feed(ctx, warm, job{index: -1 - k, warmup: true}) {
			break
		}
	}
	close(warm)
	wg.Wait()

	// Measured requests.
	var deadline time.Time
	if d := spec.GetDurationSeconds(); d > 0 {
		deadline = time.Now().Add(time.Duration(d * float64(time.Second)))
	}
	n := int(spec.GetRequests())
	if n == 0 && deadline.IsZero() {
		n = DefaultRequests
	}
	next := func(i int) (int, bool) { // the next index to send, skipping done ones
		for ; n == 0 || i < n; i++ {
			if !deadline.IsZero() && time.Now().After(deadline) {
				return 0, false
			}
			if !done[i] {
				return i, true
			}
		}
		return 0, false
	}
	if openLoop(spec) {
		// The dispatcher keeps its own thread, so that its precise sleeps
		// (waitUntil) do not hold up the goroutines that measure.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		gaps := arrivals(spec)
		at := time.Now()
		limit := make(chan struct{}, max(int(spec.GetConcurrency()), 1<<20))
		for i, ok := next(0); ok; i, ok = next(i + 1) {
			at = at.Add(gaps())
			p := prompts.At(i) // before the wait: the send is due at once
			if !waitUntil(ctx, at) {
				break
			}
			select {
			case limit <- struct{}{}:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				break
			}
			sched := at
			wg.Go(func() {
				defer func() { <-limit }()
				do(job{index: i, scheduled: sched, prompt: &p})
			})
			// Let the request go out on this P now: the dispatcher's next sleep
			// blocks its thread, and the P with it, until the runtime notices.
			runtime.Gosched()
		}
	} else {
		jobs := make(chan job)
		for range workers(spec) {
			wg.Go(func() {
				for j := range jobs {
					do(j)
				}
			})
		}
		for i, ok := next(0); ok; i, ok = next(i + 1) {
			if !feed(ctx, jobs, job{index: i}) {
				break
			}
		}
		close(jobs)
	}
	wg.Wait()
	close(results)
	<-collected
	if sendErr != nil {
		return nil, sendErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return sum, nil
}

func check(spec *pluginpb.BenchmarkSpec) error {
	switch {
	case spec.GetBaseUrl() == "":
		return errors.New("benchmark spec: base_url is empty")
	case spec.GetRequests() < 0, spec.GetWarmup() < 0, spec.GetConcurrency() < 0:
		return fmt.Errorf("benchmark spec: requests (%d), warmup (%d) and concurrency (%d) must not be negative",
			spec.GetRequests(), spec.GetWarmup(), spec.GetConcurrency())
	case spec.GetRequestRate() < 0 || math.IsNaN(spec.GetRequestRate()) || math.IsInf(spec.GetRequestRate(), 0):
		return fmt.Errorf("benchmark spec: request_rate %v is not a rate", spec.GetRequestRate())
	case openLoop(spec) && spec.GetRequestRate() == 0:
		return fmt.Errorf("benchmark spec: arrival %q needs a request_rate", spec.GetArrival())
	case spec.GetDurationSeconds() < 0 || math.IsNaN(spec.GetDurationSeconds()):
		return fmt.Errorf("benchmark spec: duration_seconds %v must not be negative", spec.GetDurationSeconds())
	}
	switch spec.GetArrival() {
	case "", "closed", "constant", "poisson", "gamma":
	default:
		return fmt.Errorf("benchmark spec: arrival %q is not one of closed, constant, poisson, gamma", spec.GetArrival())
	}
	return nil
}

func openLoop(spec *pluginpb.BenchmarkSpec) bool {
	a := spec.GetArrival()
	return a == "constant" || a == "poisson" || a == "gamma" || (a == "" && spec.GetRequestRate() > 0)
}

func workers(spec *pluginpb.BenchmarkSpec) int {
	return max(int(spec.GetConcurrency()), DefaultConcurrency)
}

// arrivals returns the gap before each open-loop send. Poisson arrivals have
// gamma-distributed gaps with shape burstiness (1 is exponential), as vLLM's
// benchmark defines them; the seed makes the schedule reproducible.
func arrivals(spec *pluginpb.BenchmarkSpec) func() time.Duration {
	rate := spec.GetRequestRate()
	mean := float64(time.Second) / rate
	if spec.GetArrival() == "constant" {
		return func() time.Duration { return time.Duration(mean) }
	}
	shape := spec.GetBurstiness()
	if shape <= 0 {
		shape = 1
	}
	g := distuv.Gamma{Alpha: shape, Beta: shape / mean, Src: rand.NewPCG(uint64(spec.GetSeed()), 0x5eed)}
	return func() time.Duration { return time.Duration(g.Rand()) }
}

func feed(ctx context.Context, ch chan<- job, j job) bool {
	select {
	case ch <- j:
		return true
	case <-ctx.Done():
		return false
	}
}

// waitUntil waits until t, or returns false when ctx ends. Go's timers wake up to
// a millisecond late when the process is idle, which would make every open-loop
// send late: the last stretch is a precise sleep of this thread (PreciseSleep).
func waitUntil(ctx context.Context, t time.Time) bool {
	const precise = 2 * time.Millisecond
	if d := time.Until(t); d > precise && !sleepUntil(ctx, t.Add(-precise)) {
		return false
	}
	if d := time.Until(t); d > 0 {
		PreciseSleep(d)
	}
	return ctx.Err() == nil
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// measure sends one request and returns its record, or nil when the run was
// cancelled before the request finished.
func measure(ctx context.Context, client *stream.Client, api stream.API, spec *pluginpb.BenchmarkSpec, p Prompt, j job, clk clock) *pluginpb.Record {
	timeout := DefaultRequestTimeout
	if t := spec.GetRequestTimeoutSeconds(); t > 0 {
		timeout = time.Duration(t * float64(time.Second))
	}
	idle := DefaultIdleTimeout
	if t := spec.GetIdleTimeoutSeconds(); t > 0 {
		idle = time.Duration(t * float64(time.Second))
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req := stream.Request{
		API: api, Model: spec.GetServedModel(), Prompt: p.Text, MaxTokens: p.OutputTokens,
		IgnoreEOS: spec.GetIgnoreEos(), Temperature: spec.GetTemperature(), Headers: spec.GetHeaders(),
		IdleTimeout: idle,
	}
	if spec.GetSeed() != 0 {
		seed := spec.GetSeed() + int64(j.index)
		req.Seed = &seed
	}
	res, err := client.Do(rctx, req)
	if ctx.Err() != nil {
		return nil // the run is over; this request was not measured to the end
	}
	r := &pluginpb.Record{
		Index: int32(j.index), Warmup: j.warmup,
		StartNs: clk.ns(res.Start), FirstTokenNs: clk.ns(res.FirstToken), EndNs: clk.ns(res.End),
		PromptTokens: int32(res.PromptTokens), OutputTokens: int32(res.CompletionTokens),
		ClientPromptTokens: int32(p.Words), ClientOutputTokens: int32(res.ClientTokens),
		Status: int32(res.Status), FinishReason: res.FinishReason, Expected: p.Expected,
	}
	r.ScheduledNs = r.StartNs
	if !j.scheduled.IsZero() {
		r.ScheduledNs = clk.ns(j.scheduled)
	}
	if len(res.ChunkTimes) > 1 {
		r.ItlNs = make([]int64, len(res.ChunkTimes)-1)
		for k := 1; k < len(res.ChunkTimes); k++ {
			r.ItlNs[k-1] = int64(res.ChunkTimes[k].Sub(res.ChunkTimes[k-1]))
		}
	}
	if spec.GetKeepOutput() {
		r.Output = res.Text
	}
	if err != nil {
		r.ErrorClass, r.Error = classify(err)
		if r.StartNs == 0 {
			r.StartNs = r.ScheduledNs
		}
		if r.EndNs == 0 {
			r.EndNs = clk.ns(time.Now())
		}
	}
	return r
}

func classify(err error) (string, string) {
	var se *stream.Error
	if errors.As(err, &se) {
		return se.Class.String(), se.Error()
	}
	return "error", err.Error()
}

func tally(s *pluginpb.Summary, r *pluginpb.Record) {
	if r.Warmup {
		s.Warmup++
		return
	}
	s.Requests++
	if r.ErrorClass != "" {
		s.Failed++
	} else {
		s.Succeeded++
		s.PromptTokens += int64(max(r.PromptTokens, 0))
		s.OutputTokens += int64(max(r.OutputTokens, 0))
	}
	if s.StartNs == 0 || r.ScheduledNs < s.StartNs {
		s.StartNs = r.ScheduledNs
	}
	s.EndNs = max(s.EndNs, r.EndNs)
}
