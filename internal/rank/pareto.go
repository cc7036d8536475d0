package rank

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
)

// Dominates reports whether p Pareto-dominates q when every objective is
// minimized: p ≤ q in all objectives and p < q in at least one. Equal points
// do not dominate each other.
func Dominates(p, q []float64) bool {
	strict := false
	for k := range p {
		if p[k] > q[k] {
			return false
		}
		if p[k] < q[k] {
			strict = true
		}
	}
	return strict
}

// NonDominatedSort returns the non-dominated front of each point (0 = not
// dominated by any point, 1 = dominated only by points of front 0, …), all
// objectives minimized. Points equal in every objective share a front. All
// points must have the same number of objectives (it panics otherwise); NaN
// is treated as +Inf.
//
// Algorithms, after a lexicographic sort (so a point can only be dominated by
// points before it) and merging of duplicates:
//
//   - M = 1: dense rank of the distinct values.
//   - M = 2: sweep with a binary search over the fronts' tails, O(N log N)
//     (Jensen 2003; the 2-D case of efficient non-dominated sort).
//   - M = 3: the same sweep, with each front keeping the 2-D staircase of its
//     members' (f2, f3) projections; whether front k dominates a point is
//     monotone in k, so a binary search over fronts finds its front with
//     O(log F) staircase queries, O(log S) each.
//   - M ≥ 4: ENS-SS, efficient non-dominated sort with sequential search
//     (Zhang, Tian, Cheng & Jin, IEEE TEVC 2015), O(M·N²) worst case.
func NonDominatedSort(points [][]float64) ([]int, error) {
	n := len(points)
	front := make([]int, n)
	if n == 0 {
		return front, nil
	}
	m := len(points[0])
	flat := make([]float64, n*m)
	for i, p := range points {
		if len(p) != m {
			return nil, fmt.Errorf("rank: point %d has %d objectives, point 0 has %d", i, len(p), m)
		}
		for k, x := range p {
			if math.IsNaN(x) {
				x = math.Inf(1)
			}
			flat[i*m+k] = x
		}
	}
	if m == 0 {
		return front, nil // all equal
	}
	order, first := lexOrder(flat, n, m)
	switch {
	case m == 1:
		f := 0
		for r, i := range order {
			if r > 0 && first[r] != first[r-1] {
				f++
			}
			front[i] = f
		}
		return front, nil
	case m == 2:
		sweep2(flat, order, first, front)
	case m == 3:
		sweep3(flat, order, first, front)
	default:
		ensSS(flat, m, order, first, front)
	}
	return front, nil
}

// lexOrder sorts the indices 0..n-1 lexicographically by the rows of flat
// (ties by index, for determinism) and returns them with first[r], the
// position in the order of the first row equal to row order[r].
func lexOrder(flat []float64, n, m int) (order, first []int) {
	// Sorting compact (first objective, index) records keeps most comparisons
	// in cache; only ties on the first objective look at the rest.
	type rec struct {
		k float64
		i int
	}
	recs := make([]rec, n)
	for i := range recs {
		recs[i] = rec{flat[i*m], i}
	}
	less := func(x, y rec) int {
		if x.k < y.k {
			return -1
		}
		if x.k > y.k {
			return 1
		}
		px, py := flat[x.i*m:x.i*m+m], flat[y.i*m:y.i*m+m]
		for k := 1; k < m; k++ {
			if c := cmp.Compare(px[k], py[k]); c != 0 {
				return c
			}
		}
		return cmp.Compare(x.i, y.i)
	}
	// Large inputs sort their halves on two cores, then merge: the order is
	// total (ties by index), so the result is the same as one sort.
	if n < 1<<16 {
		slices.SortFunc(recs, less)
	} else {
		a, b := recs[:n/2], recs[n/2:]
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); slices.SortFunc(a, less) }()
		slices.SortFunc(b, less)
		wg.Wait()
		merged := make([]rec, 0, n)
		for len(a) > 0 && len(b) > 0 {
			if less(a[0], b[0]) <= 0 {
				merged, a = append(merged, a[0]), a[1:]
			} else {
				merged, b = append(merged, b[0]), b[1:]
			}
		}
		recs = append(append(merged, a...), b...)
	}
	order = make([]int, n)
	for r := range recs {
		order[r] = recs[r].i
	}
	first = make([]int, n)
	for r := 1; r < n; r++ {
		if recs[r].k == recs[r-1].k && slices.Equal(flat[order[r]*m:order[r]*m+m], flat[order[r-1]*m:order[r-1]*m+m]) {
			first[r] = first[r-1]
		} else {
			first[r] = r
		}
	}
	return order, first
}

// sweep2: in lexicographic order (f1, f2) a front's most recent member has
// its smallest f2, and front k dominates point p iff that tail t has
// (t.f2, t.f1) < (p.f2, p.f1) lexicographically. Tails increase strictly in
// that order with k, so the first front not dominating p is a binary search.
func sweep2(flat []float64, order, first, front []int) {
	var t1, t2 []float64 // tails per front
	for r, i := range order {
		if first[r] != r {
			front[i] = front[order[first[r]]]
			continue
		}
		p1, p2 := flat[2*i], flat[2*i+1]
		k := sort.Search(len(t1), func(k int) bool {
			return !(t2[k] < p2 || (t2[k] == p2 && t1[k] < p1))
		})
		if k == len(t1) {
			t1 = append(t1, p1)
			t2 = append(t2, p2)
		} else {
			t1[k], t2[k] = p1, p2
		}
		front[i] = k
	}
}

// staircase is the set of 2-D minimal (y, z) points, by y ascending and z
// strictly descending, kept as two slices so the binary search over y stays
// dense in cache.
type staircase struct{ y, z []float64 }

// covers reports whether some point of s is ≤ (y, z) in both coordinates.
func (s *staircase) covers(y, z float64) bool {
	ys := s.y
	lo, hi := 0, len(ys) // first index with ys[i] > y
	for lo < hi {
		h := int(uint(lo+hi) >> 1)
		if ys[h] > y {
			hi = h
		} else {
			lo = h + 1
		}
	}
	return lo > 0 && s.z[lo-1] <= z
}

// add inserts (y, z), which no point of s covers, dropping the points it covers.
func (s *staircase) add(y, z float64) {
	lo := sort.SearchFloat64s(s.y, y) // first index with s.y[i] >= y
	hi := lo
	for hi < len(s.z) && s.z[hi] >= z {
		hi++
	}
	s.y = slices.Replace(s.y, lo, hi, y)
	s.z = slices.Replace(s.z, lo, hi, z)
}

// sweep3: points come in lexicographic order, so an earlier distinct point q
// dominates p iff q.f2 ≤ p.f2 and q.f3 ≤ p.f3; front k dominates p iff its
// staircase covers (p.f2, p.f3). If front k+1 dominates p so does front k
// (every member of front k+1 is dominated by one of front k), hence the
// binary search.
func sweep3(flat []float64, order, first, front []int) {
	// Gather (f2, f3) in sweep order so the sweep reads memory sequentially.
	yz := make([]float64, 2*len(order))
	for r, i := range order {
		yz[2*r], yz[2*r+1] = flat[3*i+1], flat[3*i+2]
	}
	var fronts []*staircase
	for r, i := range order {
		if first[r] != r {
			front[i] = front[order[first[r]]]
			continue
		}
		y, z := yz[2*r], yz[2*r+1]
		k, hi := 0, len(fronts) // first front not covering (y, z)
		for k < hi {
			h := int(uint(k+hi) >> 1)
			if fronts[h].covers(y, z) {
				k = h + 1
			} else {
				hi = h
			}
		}
		if k == len(fronts) {
			fronts = append(fronts, &staircase{})
		}
		fronts[k].add(y, z)
		front[i] = k
	}
}

// ensSS is efficient non-dominated sort with sequential search: each point,
// in lexicographic order, joins the first front none of whose members
// dominates it, members checked newest first.
func ensSS(flat []float64, m int, order, first, front []int) {
	var fronts [][]int
	for r, i := range order {
		if first[r] != r {
			front[i] = front[order[first[r]]]
			continue
		}
		p := flat[i*m : i*m+m]
		k := 0
		for ; k < len(fronts); k++ {
			dominated := false
			mem := fronts[k]
			for t := len(mem) - 1; t >= 0; t-- {
				q := flat[mem[t]*m : mem[t]*m+m]
				// q precedes p lexicographically and differs from it, so
				// q ≤ p everywhere means q dominates p; q[0] ≤ p[0] holds.
				le := true
				for c := 1; c < m; c++ {
					if q[c] > p[c] {
						le = false
						break
					}
				}
				if le {
					dominated = true
					break
				}
			}
			if !dominated {
				break
			}
		}
		if k == len(fronts) {
			fronts = append(fronts, nil)
		}
		fronts[k] = append(fronts[k], i)
		front[i] = k
	}
}

// CrowdingDistance returns the NSGA-II crowding distance (Deb et al. 2002) of
// the points idx (typically one front), in the order of idx: for each
// objective, the members are sorted by it (ties by index), the two boundary
// members get +Inf, and each inner member adds (next − previous)/(max − min).
// An objective with zero range over idx adds 0 to every member, boundaries
// included. NaN is treated as +Inf.
func CrowdingDistance(points [][]float64, idx []int) []float64 {
	d := make([]float64, len(idx))
	if len(idx) == 0 {
		return d
	}
	m := len(points[idx[0]])
	pos := make([]int, len(idx)) // positions into idx
	val := func(r, k int) float64 {
		x := points[idx[r]][k]
		if math.IsNaN(x) {
			return math.Inf(1)
		}
		return x
	}
	for k := 0; k < m; k++ {
		for r := range pos {
			pos[r] = r
		}
		slices.SortFunc(pos, func(a, b int) int {
			if c := cmp.Compare(val(a, k), val(b, k)); c != 0 {
				return c
			}
			return cmp.Compare(idx[a], idx[b])
		})
		lo, hi := val(pos[0], k), val(pos[len(pos)-1], k)
		span := hi - lo
		if span == 0 || math.IsNaN(span) {
			continue
		}
		d[pos[0]] = math.Inf(1)
		d[pos[len(pos)-1]] = math.Inf(1)
		if math.IsInf(span, 0) {
			continue // an infinite objective separates only its extremes
		}
		for r := 1; r < len(pos)-1; r++ {
			d[pos[r]] += (val(pos[r+1], k) - val(pos[r-1], k)) / span
		}
	}
	return d
}

// SelectNSGA2 picks n diverse good points, NSGA-II style: whole fronts in
// order while they fit, then the members of the last front with the largest
// crowding distance. It returns their indices ordered by front, then crowding
// distance descending, then index. n ≥ len(points) selects every point.
func SelectNSGA2(points [][]float64, n int) ([]int, error) {
	if n <= 0 || len(points) == 0 {
		return nil, nil
	}
	fr, err := NonDominatedSort(points)
	if err != nil {
		return nil, err
	}
	nf := slices.Max(fr) + 1
	byFront := make([][]int, nf)
	for i, f := range fr {
		byFront[f] = append(byFront[f], i)
	}
	out := make([]int, 0, min(n, len(points)))
	for _, mem := range byFront {
		if len(out) >= n {
			break
		}
		cd := CrowdingDistance(points, mem)
		r := make([]int, len(mem))
		for t := range r {
			r[t] = t
		}
		slices.SortFunc(r, func(a, b int) int {
			if c := cmp.Compare(cd[b], cd[a]); c != 0 {
				return c
			}
			return cmp.Compare(mem[a], mem[b])
		})
		for _, t := range r {
			if len(out) == n {
				break
			}
			out = append(out, mem[t])
		}
	}
	return out, nil
}
