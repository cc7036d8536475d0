package telemetry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultInterval is used when Start is given a non-positive interval.
const DefaultInterval = time.Second

// Recorder samples on a ticker in one goroutine and hands each sample to a
// sink. It does not close its Sampler; the caller does, after Stop.
type Recorder struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	samples int
	errs    int
	last    error
}

// Start samples once at once, then every interval, until ctx ends or Stop is
// called. sink runs on the recorder's goroutine, in order; a slow sink delays
// sampling (the ticker drops ticks rather than queueing them). Errors and
// panics from the sampler or the sink are counted, never propagated.
func Start(ctx context.Context, s Sampler, interval time.Duration, sink func(Sample)) *Recorder {
	if ctx == nil {
		ctx = context.Background()
	}
	if interval <= 0 {
		interval = DefaultInterval
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &Recorder{cancel: cancel, done: make(chan struct{})}
	go r.loop(ctx, s, interval, sink)
	return r
}

func (r *Recorder) loop(ctx context.Context, s Sampler, interval time.Duration, sink func(Sample)) {
	defer close(r.done)
	if s == nil {
		r.fail(errors.New("telemetry: recorder has no sampler"))
		return
	}
	r.sampleOnce(s, time.Now(), sink)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if ctx.Err() != nil {
				return
			}
			r.sampleOnce(s, now, sink)
		}
	}
}

func (r *Recorder) sampleOnce(s Sampler, now time.Time, sink func(Sample)) {
	// Telemetry is auxiliary: losing it must not lose the benchmark run.
	defer func() {
		if p := recover(); p != nil {
			r.fail(fmt.Errorf("telemetry: panic while sampling: %v", p))
		}
	}()
	samples, err := s.Sample(now)
	if err != nil {
		r.fail(err)
	}
	for _, smp := range samples {
		if sink != nil {
			sink(smp)
		}
		r.mu.Lock()
		r.samples++
		r.mu.Unlock()
	}
}

func (r *Recorder) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs++
	r.last = err
}

// Stop ends sampling and waits for the goroutine to return. It is safe to
// call more than once, after ctx ended, and on a nil Recorder.
func (r *Recorder) Stop() {
	if r == nil {
		return
	}
	r.cancel()
	<-r.done
}

// Done is closed when the recorder's goroutine has returned.
func (r *Recorder) Done() <-chan struct{} { return r.done }

// Err returns the last error from sampling, or nil.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// Errors returns how many samplings failed.
func (r *Recorder) Errors() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errs
}

// Samples returns how many samples reached the sink.
func (r *Recorder) Samples() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.samples
}
