package sim

import (
	"cmp"
	"container/heap"
	"slices"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
)

// job is one batch pod.
type job struct {
	model, gpu string
	seconds    float64
	gpus       int
}

// schedule returns the time the last of jobs ends when each starts, in the
// order given, as soon as its model's workflow (Argo parallelism) and its GPU
// type's quota (the campaign's semaphore, also parallelism) have a free slot.
// Jobs that cannot start yet do not hold back later ones: Argo starts any
// ready task.
//
// Jobs wait in one queue per model and GPU type; at each end, the queues whose
// model and GPU both have a slot start their jobs in the given order. That is
// a scan of every waiting job at every end (scheduleScan in the tests), in
// time that grows with the queues rather than with the jobs: plan schedules a
// campaign of 2,000 batches seven times.
func schedule(jobs []job, parallelism int) float64 {
	if parallelism <= 0 {
		parallelism = 1
	}
	// Models and GPU types by number, each job's and each queue's.
	type pair struct{ model, gpu int }
	models, gpus := map[string]int{}, map[string]int{}
	number := func(m map[string]int, s string) int {
		n, ok := m[s]
		if !ok {
			n = len(m)
			m[s] = n
		}
		return n
	}
	of := make([]pair, len(jobs))
	var queues [][]int // indices into jobs, in order
	byPair := map[pair]int{}
	for i, j := range jobs {
		k := pair{number(models, j.model), number(gpus, j.gpu)}
		of[i] = k
		q, ok := byPair[k]
		if !ok {
			q = len(queues)
			byPair[k] = q
			queues = append(queues, nil)
		}
		queues[q] = append(queues[q], i)
	}
	byModel, byGPU := make([]int, len(models)), make([]int, len(gpus))
	free := func(i int) bool { return byModel[of[i].model] < parallelism && byGPU[of[i].gpu] < parallelism }
	var running endHeap
	ready := &headHeap{heads: queues} // shares queues' heads as they advance
	now, last := 0.0, 0.0
	for {
		// Start, in job order, the head of every queue with a free slot; a
		// start can fill a slot that another queue needed.
		ready.q = ready.q[:0]
		for q, js := range queues {
			if len(js) > 0 && free(js[0]) {
				ready.q = append(ready.q, q)
			}
		}
		heap.Init(ready)
		for ready.Len() > 0 {
			q := ready.q[0]
			i := queues[q][0]
			if !free(i) {
				heap.Pop(ready)
				continue
			}
			byModel[of[i].model]++
			byGPU[of[i].gpu]++
			heap.Push(&running, ended{i, now + jobs[i].seconds})
			last = max(last, now+jobs[i].seconds)
			queues[q] = queues[q][1:]
			if len(queues[q]) == 0 {
				heap.Pop(ready)
			} else {
				heap.Fix(ready, 0)
			}
		}
		if running.Len() == 0 {
			break
		}
		now = running[0].end
		for running.Len() > 0 && running[0].end <= now {
			i := heap.Pop(&running).(ended).job
			byModel[of[i].model]--
			byGPU[of[i].gpu]--
		}
	}
	return last
}

// ended is a running job and when it ends.
type ended struct {
	job int
	end float64
}

// endHeap orders running jobs by their end.
type endHeap []ended

func (h endHeap) Len() int           { return len(h) }
func (h endHeap) Less(i, j int) bool { return h[i].end < h[j].end }
func (h endHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *endHeap) Push(x any)        { *h = append(*h, x.(ended)) }
func (h *endHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// headHeap orders waiting queues (indices into heads) by their first job.
type headHeap struct {
	heads [][]int
	q     []int
}

func (h *headHeap) Len() int           { return len(h.q) }
func (h *headHeap) Less(i, j int) bool { return h.heads[h.q[i]][0] < h.heads[h.q[j]][0] }
func (h *headHeap) Swap(i, j int)      { h.q[i], h.q[j] = h.q[j], h.q[i] }
func (h *headHeap) Push(x any)         { h.q = append(h.q, x.(int)) }
func (h *headHeap) Pop() any {
	x := h.q[len(h.q)-1]
	h.q = h.q[:len(h.q)-1]
	return x
}

// balance cuts every group by duration at a few target batch lengths around
// total work / parallelism, schedules each longest first, and keeps the one
// with the shortest makespan (ties: fewer batches), or the count cut when
// none beats it (BalancedTargetS 0).
func balance(groups []*group, naive []job, c campaign.Campaign) Makespan {
	par := c.Parallelism
	ms := Makespan{Parallelism: par, NaiveS: schedule(naive, par), NaiveBatches: len(naive)}
	var work float64
	for _, j := range naive {
		work += j.seconds
	}
	per := work / float64(max(par, 1))
	// The count cut is a candidate too: a duration cut that does worse is
	// not taken.
	var naiveHours float64
	for _, j := range naive {
		naiveHours += j.seconds / 3600 * float64(j.gpus)
	}
	ms.BalancedS, ms.BalancedBatches, ms.BalancedGPUHours = ms.NaiveS, len(naive), naiveHours
	best := ms.NaiveS
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 1, 1.5} {
		target := f * per
		var jobs []job
		var gpuHours float64
		for _, grp := range groups {
			g := &matrix.Group{Key: grp.g.Key, Configs: slices.Clone(grp.g.Configs)}
			secs := make([]float64, len(grp.plans))
			for i, cp := range grp.plans {
				secs[i] = cp.BenchS
			}
			for _, b := range matrix.CutBalanced(g, c.BatchSize, 0, secs, grp.load, target) {
				s := grp.load
				for i := b.First; i <= b.Last; i++ {
					s += secs[i]
				}
				jobs = append(jobs, job{model: b.Model, gpu: b.GPU, seconds: s, gpus: grp.hw.Count})
				gpuHours += s / 3600 * float64(grp.hw.Count)
			}
		}
		slices.SortStableFunc(jobs, func(a, b job) int { return cmp.Compare(b.seconds, a.seconds) })
		m := schedule(jobs, par)
		if m < best-1e-9 || (m <= best+1e-9 && len(jobs) < ms.BalancedBatches) {
			best = m
			ms.BalancedS, ms.BalancedBatches, ms.BalancedTargetS, ms.BalancedGPUHours = m, len(jobs), target, gpuHours
		}
	}
	return ms
}
