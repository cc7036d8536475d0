package main

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// linear is a closed-form Timing: prefill costs perToken a token, and a decode
// step costs base plus perSeq a sequence in the batch.
type linear struct {
	perToken, base, perSeq float64

	mu    sync.Mutex
	steps []step // every decode step, in order
}

type step struct{ batch, kv, prefill int }

func (l *linear) PrefillSeconds(tokens int) float64 {
	l.mu.Lock()
	l.steps = append(l.steps, step{prefill: tokens})
	l.mu.Unlock()
	return l.perToken * float64(tokens)
}

func (l *linear) DecodeStepSeconds(batch, kv int) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.steps = append(l.steps, step{batch: batch, kv: kv})
	return l.base + l.perSeq*float64(batch)
}

// decodes are the decode steps the scheduler asked the model for.
func (l *linear) decodes() []step {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []step
	for _, s := range l.steps {
		if s.prefill == 0 {
			out = append(out, s)
		}
	}
	return out
}

// testTiming is the brief's example: prefill 0.1 ms a token, decode 5 ms plus
// 0.05 ms a sequence.
func testTiming() *linear { return &linear{perToken: 0.0001, base: 0.005, perSeq: 0.00005} }

// drain waits for q to finish and returns when each of its tokens came.
func drain(t *testing.T, q *Seq) []time.Time {
	t.Helper()
	var times []time.Time
	timeout := time.After(30 * time.Second)
	for {
		select {
		case <-q.Notify():
		case <-timeout:
			t.Fatalf("sequence not done after 30 s: %d of %d tokens", len(times), q.MaxTokens)
		}
		n, done := q.Progress()
		for len(times) < n {
			times = append(times, time.Now())
		}
		if done {
			return times
		}
	}
}

func TestMaxTokensHonoured(t *testing.T) {
	s := NewScheduler(testTiming(), Limits{})
	defer s.Close()
	for _, n := range []int{1, 2, 17} {
		q := NewSeq(10, n)
		s.Submit(q)
		if got := len(drain(t, q)); got != n {
			t.Errorf("max %d tokens: got %d", n, got)
		}
		if got, done := q.Progress(); got != n || !done {
			t.Errorf("after the end: %d tokens, done %v; want %d, true", got, done, n)
		}
	}
}

// Sequences that arrive together are decoded together: every decode step's
// batch holds them all, and the context grows by one token a sequence a step.
func TestBatching(t *testing.T) {
	tm := testTiming()
	s := NewScheduler(tm, Limits{MaxBatch: 64})
	const n, tokens, prompt = 8, 12, 30
	qs := make([]*Seq, n)
	for i := range qs {
		qs[i] = NewSeq(prompt, tokens)
	}
	// Hold the scheduler in a long first step so that all n queue behind it.
	first := NewSeq(1, 1)
	tm.mu.Lock()
	tm.base = 0.05
	tm.mu.Unlock()
	s.Submit(first)
	time.Sleep(10 * time.Millisecond)
	tm.mu.Lock()
	tm.base = 0.005
	tm.mu.Unlock()
	for _, q := range qs {
		s.Submit(q)
	}
	var wg sync.WaitGroup
	for _, q := range qs {
		wg.Go(func() { drain(t, q) })
	}
	wg.Wait()
	s.Close()
	steps := tm.decodes()[1:] // after the holding step
	if len(steps) != tokens {
		t.Fatalf("%d decode steps for %d sequences of %d tokens arriving together, want %d: %v", len(steps), n, tokens, tokens, steps)
	}
	for i, st := range steps {
		if want := n * (prompt + i); st.batch != n || st.kv != want {
			t.Errorf("step %d: batch %d, %d KV tokens; want %d, %d", i, st.batch, st.kv, n, want)
		}
	}
}

// Beyond the max batch, requests queue: none runs before a running one
// finishes, the batch never exceeds the limit, and the time to the first token
// grows along the queue.
func TestQueueing(t *testing.T) {
	tm := testTiming()
	s := NewScheduler(tm, Limits{MaxBatch: 2})
	defer s.Close()
	const n, tokens = 6, 10
	qs := make([]*Seq, n)
	ttft := make([]time.Duration, n)
	finishedFirst := make([]int, n) // how many sequences were done at each one's first token
	var wg sync.WaitGroup
	start := time.Now()
	for i := range qs {
		qs[i] = NewSeq(20, tokens)
	}
	for i, q := range qs {
		s.Submit(q)
		wg.Go(func() {
			<-q.Notify()
			ttft[i] = time.Since(start)
			for _, o := range qs {
				if _, done := o.Progress(); done {
					finishedFirst[i]++
				}
			}
			for { // the rest
				if _, done := q.Progress(); done {
					return
				}
				<-q.Notify()
			}
		})
	}
	wg.Wait()
	for _, st := range tm.decodes() {
		if st.batch > 2 {
			t.Fatalf("a decode step of %d sequences; the max batch is 2", st.batch)
		}
	}
	if finishedFirst[0] != 0 || finishedFirst[n-1] < 2 {
		t.Errorf("sequences done when each got its first token: %v; the last pair should wait for two to finish", finishedFirst)
	}
	if !(ttft[n-1] > 2*ttft[0]) {
		t.Errorf("TTFT along the queue: %v; want the last well after the first", ttft)
	}
}

// The KV cache bounds the batch too: two sequences that do not fit together run
// one after the other.
func TestKVCapacity(t *testing.T) {
	tm := testTiming()
	s := NewScheduler(tm, Limits{MaxBatch: 8, MaxKVTokens: 150})
	defer s.Close()
	a, b := NewSeq(50, 40), NewSeq(50, 40)
	s.Submit(a)
	s.Submit(b)
	drain(t, a)
	drain(t, b)
	for _, st := range tm.decodes() {
		if st.batch != 1 {
			t.Fatalf("batch %d: 2 × 90 tokens do not fit a 150-token cache", st.batch)
		}
	}
}

// A cancelled sequence leaves the batch at the next step.
func TestCancel(t *testing.T) {
	tm := testTiming()
	s := NewScheduler(tm, Limits{})
	defer s.Close()
	q := NewSeq(10, 1_000_000)
	s.Submit(q)
	<-q.Notify()
	q.Cancel()
	time.Sleep(50 * time.Millisecond)
	before := s.Steps()
	time.Sleep(50 * time.Millisecond)
	if after := s.Steps(); after != before {
		t.Errorf("the scheduler still steps after the only sequence was cancelled: %d, then %d", before, after)
	}
}

// The gaps between tokens follow the model's decode step: a batch of 8 in a
// model whose step costs 4 ms + 1 ms a sequence (12 ms) against a batch of 1
// (5 ms). The ratio is checked loosely: this machine is shared.
func TestStepTimeFollowsBatch(t *testing.T) {
	median := func(n int) time.Duration {
		tm := &linear{perToken: 0.0001, base: 0.004, perSeq: 0.001}
		s := NewScheduler(tm, Limits{})
		defer s.Close()
		qs := make([]*Seq, n)
		for i := range qs {
			qs[i] = NewSeq(10, 40)
		}
		for _, q := range qs {
			s.Submit(q)
		}
		var mu sync.Mutex
		var gaps []time.Duration
		var wg sync.WaitGroup
		for _, q := range qs {
			wg.Go(func() {
				ts := drain(t, q)
				mu.Lock()
				for i := 1; i < len(ts); i++ {
					gaps = append(gaps, ts[i].Sub(ts[i-1]))
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		slices.Sort(gaps)
		return gaps[len(gaps)/2]
	}
	one, eight := median(1), median(8)
	if r := float64(eight) / float64(one); r < 1.6 || r > 4 {
		t.Errorf("median gap %v at batch 1, %v at batch 8: ratio %.2f, want about 2.4", one, eight, r)
	}
}

// mixed is a Stepper: steps that admit prompts are costed as one mixed step.
type mixed struct {
	linear
	calls [][4]float64 // batch, kv, prefill, prefillSq
}

func (m *mixed) StepSeconds(batch, kv, prefill int, sq float64) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, [4]float64{float64(batch), float64(kv), float64(prefill), sq})
	return 0.005
}

func TestMixedStep(t *testing.T) {
	m := &mixed{linear: *testTiming()}
	s := NewScheduler(m, Limits{})
	a := NewSeq(30, 5)
	s.Submit(a)
	<-a.Notify() // a is decoding now
	b := NewSeq(40, 1)
	s.Submit(b)
	drain(t, b)
	drain(t, a)
	s.Close()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.calls) != 2 || m.calls[0] != [4]float64{0, 0, 30, 900} || m.calls[1][0] != 1 || m.calls[1][2] != 40 || m.calls[1][3] != 1600 {
		t.Errorf("mixed steps %v: want a's prefill alone, then b's beside a's decode", m.calls)
	}
}
