package telemetry

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSampler fails every third call and panics on the fifth.
type fakeSampler struct {
	mu    sync.Mutex
	calls int
}

func (f *fakeSampler) Sample(now time.Time) ([]Sample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	switch {
	case f.calls == 5:
		panic("boom")
	case f.calls%3 == 0:
		return nil, errors.New("flaky")
	}
	return []Sample{{TimeNs: now.UnixNano(), Source: "fake"}}, nil
}

func (f *fakeSampler) Close() error { return nil }

func (f *fakeSampler) n() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// recorderGoroutines counts live Recorder loops, to catch leaks.
func recorderGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "telemetry.(*Recorder).loop")
}

func waitNoRecorderGoroutines(t *testing.T) {
	t.Helper()
	// Done closes in the loop's last defer, a moment before the goroutine is gone.
	for deadline := time.Now().Add(2 * time.Second); recorderGoroutines() > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("recorder goroutine still running")
		}
	}
}

func TestRecorderStartStop(t *testing.T) {
	f := &fakeSampler{}
	var (
		mu  sync.Mutex
		got []Sample
	)
	r := Start(context.Background(), f, 2*time.Millisecond, func(s Sample) {
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
	})
	for f.n() < 8 {
		time.Sleep(time.Millisecond)
	}
	r.Stop()
	r.Stop() // idempotent
	calls := f.n()
	time.Sleep(20 * time.Millisecond)
	if f.n() != calls {
		t.Errorf("sampled after Stop: %d calls, then %d", calls, f.n())
	}
	waitNoRecorderGoroutines(t)

	mu.Lock()
	defer mu.Unlock()
	if r.Samples() != len(got) {
		t.Errorf("Samples() = %d, sink saw %d", r.Samples(), len(got))
	}
	// Calls 3 and 6 failed and 5 panicked; the rest delivered one sample each.
	failures := calls/3 + 1
	if r.Errors() != failures || len(got) != calls-failures {
		t.Errorf("calls %d: errors %d, samples %d", calls, r.Errors(), len(got))
	}
	if r.Err() == nil {
		t.Error("Err() = nil after failures")
	}
	for i := 1; i < len(got); i++ {
		if got[i].TimeNs < got[i-1].TimeNs {
			t.Errorf("samples out of order at %d", i)
		}
	}
}

func TestRecorderContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := Start(ctx, &fakeSampler{}, time.Hour, nil)
	cancel()
	select {
	case <-r.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("recorder kept running after its context ended")
	}
	r.Stop()
	waitNoRecorderGoroutines(t)
	// The first sample is taken at once, not after an interval.
	if r.Samples() != 1 || r.Err() != nil {
		t.Errorf("samples %d, err %v", r.Samples(), r.Err())
	}
}

func TestRecorderBadInput(t *testing.T) {
	r := Start(context.Background(), nil, 0, nil)
	<-r.Done()
	if r.Err() == nil || r.Errors() != 1 {
		t.Errorf("nil sampler: errors %d, err %v", r.Errors(), r.Err())
	}
	r.Stop()

	for name, r := range map[string]*Recorder{
		"sampler": Start(context.Background(), &fakeSampler{calls: 4}, -1, nil), // next call panics
		"sink":    Start(context.Background(), &fakeSampler{}, -1, func(Sample) { panic("sink") }),
	} {
		r.Stop()
		if r.Err() == nil || !strings.Contains(r.Err().Error(), "panic") {
			t.Errorf("panicking %s: err %v", name, r.Err())
		}
	}

	var nilRecorder *Recorder
	nilRecorder.Stop()
	waitNoRecorderGoroutines(t)
}
