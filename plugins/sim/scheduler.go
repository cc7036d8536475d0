package main

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/llmsweep/llmsweep/plugins/sdk/loadgen"
)

// Timing is the performance model the scheduler follows: how long a prefill of
// some prompt tokens takes, and how long one decode step of a batch takes, with
// kvTokens tokens of context in the KV cache across the batch. internal/sim
// predicts them from the catalog's model, hardware, framework and quantization.
type Timing interface {
	PrefillSeconds(tokens int) float64
	DecodeStepSeconds(batch, kvTokens int) float64
}

// Stepper is a Timing that can also cost one mixed step, as engines with chunked
// prefill run them: batch sequences decoding with kvTokens of context, and
// prefill prompt tokens whose causal attention covers prefillSq = Σ L² over
// the prompts. When the Timing is one, a step that admits prompts costs this
// instead of a prefill of all of them plus a decode step.
type Stepper interface {
	StepSeconds(batch, kvTokens, prefill int, prefillSq float64) float64
}

// Limits bound what the emulated server runs at once.
type Limits struct {
	// MaxBatch is how many sequences are decoded together (vLLM's max_num_seqs).
	MaxBatch int
	// MaxKVTokens is the KV cache's capacity in tokens; 0 means unbounded.
	MaxKVTokens int
	// MaxModelLen bounds prompt plus output tokens of one request; 0: unbounded.
	MaxModelLen int
}

// DefaultMaxBatch is vLLM's default max_num_seqs.
const DefaultMaxBatch = 256

// Seq is one request's sequence in the scheduler. The scheduler advances
// Emitted and closes the sequence; the HTTP handler reads them after each
// Notify and writes the tokens out.
type Seq struct {
	Prompt    int // prompt tokens
	MaxTokens int // tokens to generate (max_tokens, or the natural length)

	emitted  atomic.Int64
	finished atomic.Bool
	gone     atomic.Bool
	notify   chan struct{}

	generated int // the scheduler's own count
}

// NewSeq returns a sequence of prompt tokens that generates maxTokens tokens.
func NewSeq(prompt, maxTokens int) *Seq {
	return &Seq{Prompt: prompt, MaxTokens: max(maxTokens, 1), notify: make(chan struct{}, 1)}
}

// Notify receives after each step that gave the sequence a token.
func (q *Seq) Notify() <-chan struct{} { return q.notify }

// Progress returns the tokens emitted so far and whether the sequence is done;
// done is read first, so that a done sequence's count is final.
func (q *Seq) Progress() (emitted int, done bool) {
	done = q.finished.Load()
	return int(q.emitted.Load()), done
}

// Cancel tells the scheduler the client went away: the sequence leaves the
// batch at the next step and frees its KV cache.
func (q *Seq) Cancel() { q.gone.Store(true) }

func (q *Seq) kvReserved() int { return q.Prompt + q.MaxTokens }

// Scheduler is a continuous-batching scheduler in the manner of vLLM's: each
// step it admits waiting sequences in arrival order while the batch and the KV
// cache have room (prefilling their prompts), then runs one decode step of every
// running sequence, which gives each of them one token. A step lasts what the
// Timing predicts, in real time, so that clients measure the predicted
// latencies, queueing included. Admission reserves a sequence's whole KV need
// (prompt plus output), so nothing is ever preempted.
type Scheduler struct {
	timing Timing
	lim    Limits
	submit chan *Seq
	quit   chan struct{}
	done   chan struct{}
	steps  atomic.Int64
}

// NewScheduler starts a scheduler; Close stops it.
func NewScheduler(t Timing, lim Limits) *Scheduler {
	if lim.MaxBatch <= 0 {
		lim.MaxBatch = DefaultMaxBatch
	}
	s := &Scheduler{timing: t, lim: lim, submit: make(chan *Seq, 1024), quit: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

// Submit queues a sequence. It reports false when the scheduler is closed.
func (s *Scheduler) Submit(q *Seq) bool {
	select {
	case s.submit <- q:
		return true
	case <-s.quit:
		return false
	}
}

// Steps is how many steps the scheduler has run.
func (s *Scheduler) Steps() int64 { return s.steps.Load() }

// Close stops the scheduler; sequences still queued or running end where they are.
func (s *Scheduler) Close() {
	select {
	case <-s.quit:
	default:
		close(s.quit)
	}
	<-s.done
}

// lateReset is how late a step may end before the schedule restarts from now
// instead of catching up: a stall (a GC pause, a busy machine) is not made up
// for by a burst of short steps.
const lateReset = 2 * time.Millisecond

func (s *Scheduler) loop() {
	defer close(s.done)
	// The precise sleep blocks this thread; keep it to this goroutine.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var waiting, running []*Seq
	kv := 0 // KV tokens reserved by running sequences
	var next time.Time
	for {
		if len(waiting) == 0 && len(running) == 0 {
			select {
			case q := <-s.submit:
				waiting = append(waiting, q)
			case <-s.quit:
				return
			}
		}
	drain:
		for {
			select {
			case q := <-s.submit:
				waiting = append(waiting, q)
			default:
				break drain
			}
		}
		// Sequences whose clients left go away.
		waiting = keep(waiting, func(q *Seq) bool { return !q.gone.Load() })
		running = keep(running, func(q *Seq) bool {
			if q.gone.Load() {
				kv -= q.kvReserved()
				return false
			}
			return true
		})
		// Admit in arrival order while the batch and the cache have room; a
		// sequence larger than the whole cache still runs, alone.
		decoding, decodingKV := len(running), 0 // before admission
		for _, q := range running {
			decodingKV += q.Prompt + q.generated
		}
		prefill, prefillSq := 0, 0.0
		for len(waiting) > 0 && len(running) < s.lim.MaxBatch {
			q := waiting[0]
			if s.lim.MaxKVTokens > 0 && kv+q.kvReserved() > s.lim.MaxKVTokens && len(running) > 0 {
				break
			}
			waiting = waiting[1:]
			running = append(running, q)
			kv += q.kvReserved()
			prefill += q.Prompt
			prefillSq += float64(q.Prompt) * float64(q.Prompt)
		}
		if len(running) == 0 {
			continue
		}
		cost := 0.0
		if st, ok := s.timing.(Stepper); ok && prefill > 0 {
			// One mixed step: the prefill gives the new sequences their first
			// token while the others decode one.
			cost = st.StepSeconds(decoding, decodingKV, prefill, prefillSq)
		} else {
			if prefill > 0 {
				cost += s.timing.PrefillSeconds(prefill)
			}
			ctxTokens := 0
			for _, q := range running {
				ctxTokens += q.Prompt + q.generated
			}
			cost += s.timing.DecodeStepSeconds(len(running), ctxTokens)
		}
		now := time.Now()
		if next.IsZero() || now.Sub(next) > lateReset {
			next = now
		}
		next = next.Add(seconds(cost))
		if !s.sleepUntil(next) {
			return
		}
		s.steps.Add(1)
		running = keep(running, func(q *Seq) bool {
			q.generated++
			q.emitted.Store(int64(q.generated))
			last := q.generated >= q.MaxTokens
			if last {
				q.finished.Store(true)
				kv -= q.kvReserved()
			}
			select {
			case q.notify <- struct{}{}:
			default:
			}
			return !last
		})
	}
}

// seconds converts a model's seconds to a duration; nonsense counts as none.
func seconds(x float64) time.Duration {
	if !(x > 0) || x > 3600 {
		return 0
	}
	return time.Duration(x * float64(time.Second))
}

// sleepUntil waits until t; it returns false when the scheduler is closed.
// Timers may wake a millisecond late when the process is idle, which would be a
// large error on a step of a few milliseconds: the last stretch is a precise
// sleep of this thread.
func (s *Scheduler) sleepUntil(t time.Time) bool {
	const precise = 2 * time.Millisecond
	if d := time.Until(t) - precise; d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-s.quit:
			timer.Stop()
			return false
		}
	}
	if d := time.Until(t); d > 0 {
		loadgen.PreciseSleep(d)
	}
	select {
	case <-s.quit:
		return false
	default:
		return true
	}
}

func keep(qs []*Seq, f func(*Seq) bool) []*Seq {
	out := qs[:0]
	for _, q := range qs {
		if f(q) {
			out = append(out, q)
		}
	}
	clear(qs[len(out):])
	return out
}
