package sim

import (
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// Engine defaults the simulated scheduler follows (vLLM's) where the
// efficiency entry does not set its own: at most MaxSeqs sequences run at
// once, and one iteration processes at most MaxBatchTokens tokens, prompt
// chunks included (chunked prefill).
const (
	MaxSeqs        = 256
	MaxBatchTokens = 8192
)

// Load is the traffic of one benchmark: a closed loop at Concurrency, or an
// open loop at Rate requests/s with gamma gaps of shape Burstiness (1 is
// Poisson), or evenly spaced when Constant.
type Load struct {
	Requests    int
	Warmup      int
	Concurrency int
	Rate        float64
	Burstiness  float64
	Constant    bool
	Input       campaign.Distribution
	Output      campaign.Distribution
	Seed        uint64
	// KVTokens is the KV cache capacity in tokens (Model.KVCapacityTokens);
	// 0 means unlimited, a negative value none at all.
	KVTokens int
	// Static runs the requests as static batches of Concurrency that start
	// together and end with their longest answer (see simulateStatic).
	Static bool
	// AdmitSteps, when set, overrides the engine's Efficiency.AdmitSteps
	// (vLLM's --num-scheduler-steps).
	AdmitSteps int
	// MaxSeqs and MaxBatchTokens, when set, override the efficiency entry's
	// scheduler limits: the framework version's defaults (VersionLimits).
	MaxSeqs, MaxBatchTokens int
	// StreamTokS, when set, is the most tokens per second the requests'
	// streams carry (the HTTP front end and the benchmark client handle
	// each streamed token): the streams carry the tokens in the order the
	// engine generated them, and a client sees a token (its first, its
	// last) only when they have carried it; the engine does not wait.
	StreamTokS float64
	// PrefillFirst runs prompts in iterations of their own while the
	// running sequences wait (PrefillFirst), instead of mixing prompt
	// chunks into the decode iterations.
	PrefillFirst bool
}

// scheduleAs sets what a framework version's scheduler does by default on a
// GPU model: its limits (VersionLimits) and whether it runs prompts first
// (PrefillFirst). Plan, published points and stored results all go through
// it, so the three simulate one engine alike.
func (l *Load) scheduleAs(framework, version, gpuModel string) {
	l.MaxSeqs, l.MaxBatchTokens = VersionLimits(framework, version, gpuModel)
	l.PrefillFirst = PrefillFirst(framework, version)
}

// LoadFor is the load of a workload at one grid point; in and out, when set,
// fix the sequence lengths (the grid's sequence_lengths).
func LoadFor(w campaign.Workload, concurrency int, rate float64, in, out int) Load {
	l := Load{Requests: w.Requests, Warmup: w.Warmup, Concurrency: concurrency, Rate: rate,
		Input: w.InputTokens, Output: w.OutputTokens, Seed: uint64(w.Prompts.Seed)}
	if l.Requests == 0 {
		l.Requests = 200 // a duration-bound workload: its steady state is what counts
	}
	if rate > 0 {
		l.Concurrency = 0
		l.Constant = w.Arrival.Kind == "constant"
		l.Burstiness = w.Arrival.Burstiness
	}
	if in > 0 {
		l.Input = campaign.Distribution{Kind: "fixed", Value: in}
	}
	if out > 0 {
		l.Output = campaign.Distribution{Kind: "fixed", Value: out}
	}
	return l
}

// Prediction is what a benchmark is predicted to measure. Latencies are in
// milliseconds over the measured requests (warmup excluded); throughputs divide
// by the measured wall time, as the metrics package does.
type Prediction struct {
	TTFTP50 float64 `json:"ttft_p50_ms"`
	TTFTP99 float64 `json:"ttft_p99_ms"`
	TPOTP50 float64 `json:"tpot_p50_ms"`
	TPOTP99 float64 `json:"tpot_p99_ms"`
	E2EP50  float64 `json:"e2e_p50_ms"`
	E2EP99  float64 `json:"e2e_p99_ms"`
	// OutputThroughput is output tokens/s; RequestThroughput requests/s.
	OutputThroughput  float64 `json:"output_throughput"`
	RequestThroughput float64 `json:"request_throughput"`
	// MeanBatch is the time-averaged number of running sequences.
	MeanBatch float64 `json:"mean_batch"`
	// PeakKVTokens is the most KV cache reserved at once.
	PeakKVTokens int `json:"peak_kv_tokens"`
	// DurationS is the measured phase; TotalS includes the warmup.
	DurationS float64 `json:"duration_s"`
	TotalS    float64 `json:"total_s"`
	// Rejected counts requests longer than the whole KV cache.
	Rejected int `json:"rejected,omitempty"`
}

// sample draws a token count as the load generator does (plugins/sdk/loadgen):
// clamped to [min, max]; a lognormal's mean is the distribution's mean.
func sample(d campaign.Distribution, rng *rand.Rand) int {
	lo, hi := float64(max(d.Min, 1)), math.Inf(1)
	if d.Max > 0 {
		hi = float64(d.Max)
	}
	var v float64
	switch d.Kind {
	case "fixed":
		return max(d.Value, 1)
	case "uniform":
		v = lo + rng.Float64()*(hi+1-lo)
	case "normal":
		v = d.Mean + d.Stddev*rng.NormFloat64()
	case "lognormal":
		v = math.Exp(math.Log(d.Mean) - d.Sigma*d.Sigma/2 + d.Sigma*rng.NormFloat64())
	default:
		return 128
	}
	return int(math.Min(math.Max(math.Floor(v), lo), hi))
}

type seq struct {
	idx         int
	arrive      float64
	first       float64
	in, out     int
	prefillDone int // prompt tokens prefilled; −1 for a rejected request
	reserve     int
	startStep   int64 // decode step at which its context was in+1
	finishStep  int64
	end         float64 // static rounds: when its answer ended
}

// finishHeap is a min-heap of decoding sequences (indices into reqs) by the
// step they finish at; typed, so that pushes do not allocate.
type finishHeap struct {
	idx  []int32
	reqs []seq
}

func (h *finishHeap) less(i, j int) bool {
	return h.reqs[h.idx[i]].finishStep < h.reqs[h.idx[j]].finishStep
}

func (h *finishHeap) push(i int32) {
	h.idx = append(h.idx, i)
	for j := len(h.idx) - 1; j > 0; {
		p := (j - 1) / 2
		if !h.less(j, p) {
			break
		}
		h.idx[j], h.idx[p] = h.idx[p], h.idx[j]
		j = p
	}
}

func (h *finishHeap) pop() int32 {
	top := h.idx[0]
	n := len(h.idx) - 1
	h.idx[0] = h.idx[n]
	h.idx = h.idx[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && h.less(l, m) {
			m = l
		}
		if l+1 < n && h.less(l+1, m) {
			m = l + 1
		}
		if m == i {
			break
		}
		h.idx[i], h.idx[m] = h.idx[m], h.idx[i]
		i = m
	}
	return top
}

// Simulate runs a deterministic discrete-event simulation of a continuous-
// batching engine under load l: requests wait for a slot and for KV memory
// (each reserves its prompt plus its answer), prompts are prefilled in chunks
// mixed into the decode iterations, and each iteration's time comes from the
// model. Between events (an arrival, a prefill, a completion) the batch is
// fixed, so runs of decode steps are jumped over in one go, their time taken at
// the run's mean context; that keeps a config to a few hundred events.
func (x *Model) Simulate(l Load) Prediction {
	var sc scratch
	return x.simulate(l, &sc)
}

// scratch is the memory of one simulation, reused by the next on the same
// goroutine.
type scratch struct {
	reqs            []seq
	heap            finishHeap
	ttft, tpot, e2e []float64
	round           []int
	drawn           map[drawKey]*drawing
}

// drawKey is what a load's request lengths depend on: configs that differ
// only in their model or their load level draw the same lengths.
type drawKey struct {
	in, out campaign.Distribution
	seed    uint64
	n       int
}

// drawing is the lengths drawn for a drawKey and the generator's state after
// them, from which the arrivals go on.
type drawing struct {
	in, out []int
	after   rand.PCG
}

// maxDrawings bounds a scratch's drawings (a campaign has a few workloads and
// sequence lengths).
const maxDrawings = 64

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// draw samples the lengths of every request of l into sc from src, or
// copies them, and src's state after them, from an earlier draw alike.
func draw(l Load, sc *scratch, src *rand.PCG) []seq {
	n := l.Warmup + l.Requests
	reqs := grow(sc.reqs, n)
	sc.reqs = reqs
	k := drawKey{l.Input, l.Output, l.Seed, n}
	d, ok := sc.drawn[k]
	if !ok {
		rng := rand.New(src)
		d = &drawing{in: make([]int, n), out: make([]int, n)}
		for i := range n {
			d.in[i], d.out[i] = sample(l.Input, rng), sample(l.Output, rng)
		}
		d.after = *src
		if sc.drawn == nil || len(sc.drawn) >= maxDrawings {
			sc.drawn = map[drawKey]*drawing{}
		}
		sc.drawn[k] = d
	}
	*src = d.after
	for i := range reqs {
		reqs[i] = seq{idx: i, in: d.in[i], out: d.out[i], reserve: d.in[i] + d.out[i]}
	}
	return reqs
}

// kvCapacity is l's KV capacity in tokens for the simulations.
func kvCapacity(l Load) int {
	switch {
	case l.KVTokens == 0:
		return math.MaxInt
	case l.KVTokens < 0:
		return 0 // the weights leave no room: every request is rejected
	}
	return l.KVTokens
}

func (x *Model) simulate(l Load, sc *scratch) Prediction {
	total := l.Warmup + l.Requests
	if total <= 0 {
		return Prediction{}
	}
	if l.Static {
		return x.simulateStatic(l, sc)
	}
	src := rand.NewPCG(l.Seed, 0x5eed)
	reqs := draw(l, sc, src)
	rng := rand.New(src)
	maxSeqs, maxTokens := x.engineLimits(l)
	open := l.Rate > 0
	if open {
		t := 0.0
		shape := l.Burstiness
		if shape <= 0 {
			shape = 1
		}
		gap := distuv.Gamma{Alpha: shape, Beta: shape * l.Rate, Src: rng}
		for i := range reqs {
			reqs[i].arrive = t
			if l.Constant {
				t += 1 / l.Rate
			} else if shape == 1 {
				t += rng.ExpFloat64() / l.Rate
			} else {
				t += gap.Rand()
			}
		}
	}
	conc := l.Concurrency
	if !open && conc <= 0 {
		conc = 1
	}
	capacity := kvCapacity(l)
	running := &sc.heap
	running.idx, running.reqs = running.idx[:0], reqs
	ttft, tpot, e2e := sc.ttft[:0], sc.tpot[:0], sc.e2e[:0]

	// Requests are admitted and prefilled in index order, which is arrival
	// order for both loops: [pf, adm) are prefilling, [adm, next) waiting.
	var (
		now                  float64
		step                 int64
		next, adm, pf        int
		issued               int // closed loop: requests sent so far
		reserved             int
		sumBase, sumStart    int64 // K = sumBase + b·step − sumStart
		done, rejected       int
		outTokens            int
		measureFrom, lastEnd float64 = math.Inf(1), 0
		batchTime            float64
		peak                 int
		streamed             float64 // when the streams have carried every token so far
	)
	// seen is when a token the engine generates now reaches its client:
	// the streams carry tokens in order, and the engine does not wait for them.
	seen := func() float64 { return max(now, streamed) }
	carry := func(from float64, n int) {
		if l.StreamTokS > 0 {
			streamed = max(streamed, from) + float64(n)/l.StreamTokS
		}
	}
	if !open {
		issued = min(conc, total)
	}
	complete := func(s *seq) {
		done++
		reserved -= s.reserve
		if s.idx >= l.Warmup {
			outTokens += s.out
			e2e = append(e2e, (seen()-s.arrive)*1e3+x.Eff.RequestMS)
			if s.out > 1 {
				tpot = append(tpot, (seen()-s.first)*1e3/float64(s.out-1))
			}
			lastEnd = max(lastEnd, seen())
		}
		if !open && issued < total {
			reqs[issued].arrive = now
			issued++
		}
	}
	popDone := func() {
		for len(running.idx) > 0 && reqs[running.idx[0]].finishStep <= step {
			s := &reqs[running.pop()]
			sumBase -= int64(s.in + 1)
			sumStart -= s.startStep
			complete(s)
		}
	}
	for done < total {
		if open {
			for next < total && reqs[next].arrive <= now {
				next++
			}
		} else {
			next = issued
		}
		// Admit in arrival order while there is a slot and KV memory.
		for adm < next {
			s := &reqs[adm]
			if s.reserve > capacity {
				s.prefillDone, s.reserve = -1, 0 // rejected: never prefilled
				if pf == adm {
					pf++
				}
				adm++
				rejected++
				done++
				if !open && issued < total {
					reqs[issued].arrive = now
					issued++
					next = issued
				}
				continue
			}
			if len(running.idx)+adm-pf >= maxSeqs || reserved+s.reserve > capacity {
				break
			}
			adm++
			reserved += s.reserve
			peak = max(peak, reserved)
			if s.idx >= l.Warmup {
				measureFrom = min(measureFrom, s.arrive)
			}
		}
		b := len(running.idx)
		K := int(sumBase + int64(b)*step - sumStart)
		switch {
		case adm > pf:
			// One iteration: every running sequence decodes a token and prompt
			// chunks fill the rest of the token budget, first come first served.
			budget := max(maxTokens-b, 1)
			if l.PrefillFirst {
				budget = maxTokens
			}
			chunk, sq := 0, 0.0
			last := pf
			for i := pf; i < adm && budget > 0; i++ {
				s := &reqs[i]
				if s.prefillDone < 0 {
					last = i + 1
					continue
				}
				t := min(s.in-s.prefillDone, budget)
				d0 := float64(s.prefillDone)
				sq += (d0+float64(t))*(d0+float64(t)) - d0*d0
				s.prefillDone += t
				chunk += t
				budget -= t
				if s.prefillDone == s.in {
					last = i + 1
				}
			}
			decoding := b
			if l.PrefillFirst {
				decoding = 0 // the running sequences wait for the prompts
			}
			dt := x.StepSeconds(decoding, K*min(decoding, 1), chunk, sq)
			// An engine that schedules every n decode steps makes a newcomer
			// wait half a round on average while a batch runs.
			var round float64
			if n := x.admitSteps(l); n > 1 && b > 0 {
				round = float64(n-1) / 2 * x.DecodeStepSeconds(b, K)
			}
			carry(now, decoding+last-pf)
			now += dt
			batchTime += dt * float64(b)
			if decoding > 0 {
				step++
				popDone()
			}
			for i := pf; i < last; i++ {
				s := &reqs[i]
				if s.prefillDone < 0 {
					continue
				}
				s.first = seen()
				if s.idx >= l.Warmup {
					ttft = append(ttft, (s.first-s.arrive+round)*1e3+x.Eff.RequestMS)
				}
				if s.out <= 1 {
					complete(s)
					continue
				}
				s.startStep = step
				s.finishStep = step + int64(s.out-1)
				sumBase += int64(s.in + 1)
				sumStart += step
				running.push(int32(i))
			}
			pf = last
		case b > 0:
			k := reqs[running.idx[0]].finishStep - step
			if open && next < total {
				dt := x.DecodeStepSeconds(b, K)
				if ahead := reqs[next].arrive - now; dt > 0 && ahead < float64(k)*dt {
					k = max(int64(math.Ceil(ahead/dt)), 1)
				}
			}
			mid := K + int(int64(b)*(k-1)/2)
			dt := float64(k) * x.DecodeStepSeconds(b, mid)
			carry(now, b*int(k))
			now += dt
			batchTime += dt * float64(b)
			step += k
			popDone()
		case open && next < total:
			now = max(now, reqs[next].arrive)
		default:
			// Nothing runs and nothing can arrive: only rejections are left.
			done = total
		}
	}
	sc.ttft, sc.tpot, sc.e2e = ttft, tpot, e2e
	return summarize(sc, Prediction{Rejected: rejected, TotalS: now, PeakKVTokens: peak}, measureFrom, lastEnd, outTokens, batchTime)
}

// summarize fills p from the latencies in sc and the measured phase
// [from, to] in which outTokens were generated.
func summarize(sc *scratch, p Prediction, from, to float64, outTokens int, batchTime float64) Prediction {
	if to > from {
		p.DurationS = to - from
		p.OutputThroughput = float64(outTokens) / p.DurationS
		p.RequestThroughput = float64(len(sc.e2e)) / p.DurationS
	}
	if p.TotalS > 0 {
		p.MeanBatch = batchTime / p.TotalS
	}
	p.TTFTP50, p.TTFTP99 = percentiles(sc.ttft)
	p.TPOTP50, p.TPOTP99 = percentiles(sc.tpot)
	p.E2EP50, p.E2EP99 = percentiles(sc.e2e)
	return p
}

// simulateStatic runs l as rounds of l.Concurrency requests that start
// together, as static-batch benchmarks do (TensorRT-LLM's gptSessionBenchmark,
// LMDeploy's profile_generation): one prefill of every prompt of the round,
// then decode steps until its longest answer ends, and only then the next
// round. A round holds what fits in the KV cache. Latencies count from the
// round's start, as those benchmarks measure them, and pay no RequestMS:
// the harness calls the engine in process, with no front end between;
// throughput is the output tokens over the rounds' time.
func (x *Model) simulateStatic(l Load, sc *scratch) Prediction {
	reqs := draw(l, sc, rand.NewPCG(l.Seed, 0x5eed))
	capacity := kvCapacity(l)
	size := max(l.Concurrency, 1)
	ttft, tpot, e2e := sc.ttft[:0], sc.tpot[:0], sc.e2e[:0]
	var (
		now, batchTime, measureFrom float64
		outTokens, rejected, peak   int
		measuring                   bool
		outs                        []int // the round's requests
	)
	for next := 0; next < len(reqs); {
		// Fill the round in order while its KV fits.
		round := sc.round[:0]
		reserved := 0
		for ; next < len(reqs) && len(round) < size; next++ {
			s := &reqs[next]
			if s.reserve > capacity {
				rejected++
				continue
			}
			if reserved+s.reserve > capacity {
				break
			}
			reserved += s.reserve
			round = append(round, next)
		}
		sc.round = round
		if len(round) == 0 {
			continue
		}
		peak = max(peak, reserved)
		start := now
		if !measuring && reqs[round[len(round)-1]].idx >= l.Warmup {
			measuring, measureFrom = true, start
		}
		prompt, sq := 0, 0.0
		outs = outs[:0]
		for _, i := range round {
			s := &reqs[i]
			prompt += s.in
			sq += float64(s.in) * float64(s.in)
			outs = append(outs, i)
		}
		dt := x.StepSeconds(0, 0, prompt, sq)
		now += dt
		first := now
		// Decode: between two answers' ends the batch is fixed, so each run of
		// steps is timed at its mean context.
		slices.SortFunc(outs, func(a, b int) int { return reqs[a].out - reqs[b].out })
		done := 0
		ctx := prompt // prompt tokens of the sequences still running
		step := 1     // tokens each of them has generated
		for done < len(outs) {
			for done < len(outs) && reqs[outs[done]].out <= step {
				reqs[outs[done]].end = now
				ctx -= reqs[outs[done]].in
				done++
			}
			if done == len(outs) {
				break
			}
			b := len(outs) - done
			k := reqs[outs[done]].out - step
			mid := ctx + b*step + b*(k-1)/2
			dt := float64(k) * x.DecodeStepSeconds(b, mid)
			now += dt
			batchTime += dt * float64(b)
			step += k
		}
		for _, i := range round {
			s := &reqs[i]
			if s.idx < l.Warmup {
				continue
			}
			end := s.end
			ttft = append(ttft, (first-start)*1e3)
			e2e = append(e2e, (end-start)*1e3)
			if s.out > 1 {
				tpot = append(tpot, (end-first)*1e3/float64(s.out-1))
			}
			outTokens += s.out
		}
	}
	sc.ttft, sc.tpot, sc.e2e = ttft, tpot, e2e
	return summarize(sc, Prediction{Rejected: rejected, TotalS: now, PeakKVTokens: peak}, measureFrom, now, outTokens, batchTime)
}

// percentiles returns the P50 and P99 of v, reordering it. It selects
// rather than sorts: compile predicts every batch, and sorting the samples
// was a fifth of its time.
func percentiles(v []float64) (p50, p99 float64) {
	if len(v) == 0 {
		return 0, 0
	}
	return selected(v, 0.5), selected(v, 0.99)
}

// selected is quantile by selection: the same two order statistics,
// interpolated the same way, so the result is identical.
func selected(v []float64, q float64) float64 {
	pos := q * float64(len(v)-1)
	i := int(pos)
	lo := nth(v, i)
	if i+1 >= len(v) {
		return lo
	}
	hi := slices.Min(v[i+1:]) // nth left v[i+1:] at least v[i]
	return lo + (pos-float64(i))*(hi-lo)
}

// nth reorders v so that v[k] is what it would be sorted, the values
// before it no larger and those after no smaller, and returns v[k]
// (quickselect, Hoare's partition around a median of three).
func nth(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		p := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < p {
				i++
			}
			for v[j] > p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k] // between the two parts: equal to the pivot
		}
	}
	return v[k]
}
