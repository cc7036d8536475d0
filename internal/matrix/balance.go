package matrix

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// Balance makes the compiler cut groups into batches of similar predicted
// duration (CutBalanced) instead of similar config counts (Cut).
type Balance struct {
	// Estimate predicts the seconds each of a group's configs runs, in the
	// group's order, and the seconds its server takes to start.
	Estimate func(g *Group) (configs []float64, load float64)
	// Target is the batch duration to aim for, server start included; 0 keeps
	// the fewest batches that batch_size allows and only balances them.
	Target float64
}

// CutBalanced splits a group into batches of at most size configs whose
// predicted durations are close, and stamps each config with its batch. The
// number of batches is the least that respects size and keeps each batch
// near target (load plus its configs' seconds); configs go to batches longest
// first, each to the batch with the least work so far that has room (LPT, a
// 4/3-approximation of the best makespan). The group's configs are then
// reordered so that each batch is contiguous, in matrix order within it, and
// secs is permuted alongside: First and Last keep their meaning. IDs are those
// Cut would give.
func CutBalanced(g *Group, size, first int, secs []float64, load, target float64) []Batch {
	n := len(g.Configs)
	k := (n + size - 1) / size
	if target > load {
		var sum float64
		for _, s := range secs {
			sum += s
		}
		k = max(k, int(math.Ceil(sum/(target-load))))
	}
	k = min(max(k, 1), n)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(secs[b], secs[a]) })
	work := make([]float64, k)
	count := make([]int, k)
	bin := make([]int, n)
	for _, i := range order {
		best := -1
		for j := range k {
			if count[j] < size && (best < 0 || work[j] < work[best]) {
				best = j
			}
		}
		bin[i] = best
		work[best] += secs[i]
		count[best]++
	}
	// Batches in the order of their first config, so that batch 0 holds the
	// group's first config as with Cut.
	rank := make([]int, k)
	for j := range rank {
		rank[j] = -1
	}
	next := 0
	for i := range n {
		if rank[bin[i]] < 0 {
			rank[bin[i]] = next
			next++
		}
	}
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	slices.SortStableFunc(perm, func(a, b int) int { return cmp.Compare(rank[bin[a]], rank[bin[b]]) })
	configs := make([]Config, n)
	sorted := make([]float64, n)
	for to, from := range perm {
		configs[to] = g.Configs[from]
		sorted[to] = secs[from]
	}
	copy(g.Configs, configs)
	copy(secs, sorted)

	id := "b" + digest(g.Key)[:10]
	var out []Batch
	start := 0
	for r := 0; r < next; r++ {
		end := start
		for end < n && rank[bin[perm[end]]] == r {
			end++
		}
		out = append(out, makeBatch(g, fmt.Sprintf("%s-%d", id, r), start, end, first))
		start = end
	}
	return out
}

// Expand is Model for callers outside this package: prune gets the reason of
// each config that cannot run.
func (x *Compiler) Expand(c campaign.Campaign, model string, keep func(*Group), prune func(reason string)) {
	x.Model(c, model, keep, func(p pruned) { prune(p.reason) })
}
