package sim

import (
	"cmp"
	"math"
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
func schedule(jobs []job, parallelism int) float64 {
	if parallelism <= 0 {
		parallelism = 1
	}
	type run struct {
		job
		end float64
	}
	pending := slices.Clone(jobs)
	var running []run
	byModel, byGPU := map[string]int{}, map[string]int{}
	now, last := 0.0, 0.0
	for len(pending) > 0 || len(running) > 0 {
		kept := pending[:0]
		for _, j := range pending {
			if byModel[j.model] < parallelism && byGPU[j.gpu] < parallelism {
				byModel[j.model]++
				byGPU[j.gpu]++
				running = append(running, run{job: j, end: now + j.seconds})
				last = max(last, now+j.seconds)
				continue
			}
			kept = append(kept, j)
		}
		pending = kept
		if len(running) == 0 {
			break
		}
		now = math.Inf(1)
		for _, r := range running {
			now = min(now, r.end)
		}
		still := running[:0]
		for _, r := range running {
			if r.end <= now {
				byModel[r.model]--
				byGPU[r.gpu]--
				continue
			}
			still = append(still, r)
		}
		running = still
	}
	return last
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
