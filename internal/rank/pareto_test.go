package rank

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
)

// bruteFronts is the O(M·N²) reference: a point's front is 1 + the largest
// front of the points dominating it (0 if none). A dominator has a strictly
// smaller (or, rounded, equal and lexicographically smaller) sum of
// objectives, so visiting points by sum settles dominators
// first; every earlier point is then tested with Dominates.
func bruteFronts(points [][]float64) []int {
	n := len(points)
	sum := make([]float64, n)
	order := make([]int, n)
	for i, p := range points {
		order[i] = i
		for _, x := range p {
			sum[i] += x
		}
	}
	// Rounding can make a dominator's sum equal, never larger; then it is
	// lexicographically smaller.
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(sum[a], sum[b]); c != 0 {
			return c
		}
		return slices.Compare(points[a], points[b])
	})
	front := make([]int, n)
	for r, i := range order {
		f := 0
		for _, j := range order[:r] {
			if front[j]+1 > f && Dominates(points[j], points[i]) {
				f = front[j] + 1
			}
		}
		front[i] = f
	}
	return front
}

// peelFronts is the definition: repeatedly peel off the points no remaining
// point dominates. O(F·M·N²).
func peelFronts(points [][]float64) []int {
	n := len(points)
	front := make([]int, n)
	left := make([]bool, n)
	for i := range left {
		left[i] = true
	}
	for f, remaining := 0, n; remaining > 0; f++ {
		var cur []int
		for i := range n {
			if !left[i] {
				continue
			}
			dominated := false
			for j := range n {
				if left[j] && j != i && Dominates(points[j], points[i]) {
					dominated = true
					break
				}
			}
			if !dominated {
				cur = append(cur, i)
			}
		}
		for _, i := range cur {
			front[i] = f
			left[i] = false
		}
		remaining -= len(cur)
	}
	return front
}

func randomPoints(r *rand.Rand, n, m int) [][]float64 {
	// Few distinct levels → many ties and duplicates; sometimes continuous.
	levels := []int{2, 3, 5, 10, 0}[r.IntN(5)]
	pts := make([][]float64, n)
	for i := range pts {
		if i > 0 && r.IntN(8) == 0 {
			pts[i] = slices.Clone(pts[r.IntN(i)]) // exact duplicate
			continue
		}
		p := make([]float64, m)
		for k := range p {
			if levels == 0 {
				p[k] = r.Float64()
			} else {
				p[k] = float64(r.IntN(levels))
			}
		}
		pts[i] = p
	}
	return pts
}

func TestNonDominatedSortProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, m := range []int{1, 2, 3, 4, 5} {
		for trial := range 600 {
			pts := randomPoints(r, 1+r.IntN(60), m)
			want := peelFronts(pts)
			if b := bruteFronts(pts); !slices.Equal(b, want) {
				t.Fatalf("M=%d trial %d: the two references disagree on %v", m, trial, pts)
			}
			if got := mustSort(t, pts); !slices.Equal(got, want) {
				t.Fatalf("M=%d trial %d: points %v\ngot  %v\nwant %v", m, trial, pts, got, want)
			}
			if m == 3 { // the general ENS-SS path too
				flat := make([]float64, 0, 3*len(pts))
				for _, p := range pts {
					flat = append(flat, p...)
				}
				order, first := lexOrder(flat, len(pts), 3)
				got := make([]int, len(pts))
				ensSS(flat, 3, order, first, got)
				if !slices.Equal(got, want) {
					t.Fatalf("ENS-SS M=3 trial %d: got %v want %v", trial, got, want)
				}
			}
		}
	}
}

func TestNonDominatedSortSmall(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name string
		pts  [][]float64
		want []int
	}{
		{"empty", nil, []int{}},
		{"one", [][]float64{{1, 2}}, []int{0}},
		{"duplicates", [][]float64{{1, 1}, {1, 1}, {2, 2}, {2, 2}}, []int{0, 0, 1, 1}},
		{"weak tie dominates", [][]float64{{1, 2}, {1, 1}, {2, 1}}, []int{1, 0, 1}},
		{"nan is +inf", [][]float64{{nan, 0}, {1, 0}}, []int{1, 0}},
		{"chain 3d", [][]float64{{3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 2, 0}}, []int{2, 1, 0, 0}},
		{"no objectives", [][]float64{{}, {}}, []int{0, 0}},
	} {
		if got := mustSort(t, tc.pts); !gocmp.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCrowdingDistance(t *testing.T) {
	pts := [][]float64{{1, 10}, {5, 5}, {10, 1}, {4, 6}, {7, 7}}
	got := CrowdingDistance(pts, []int{0, 1, 2, 3})
	inf := math.Inf(1)
	want := []float64{inf, 6.0/9 + 5.0/9, inf, 4.0/9 + 5.0/9}
	if !gocmp.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// Zero range in one objective contributes 0, boundaries included.
	got = CrowdingDistance([][]float64{{1, 5}, {2, 5}, {3, 5}}, []int{0, 1, 2})
	if want := []float64{inf, 1, inf}; !gocmp.Equal(got, want) {
		t.Errorf("zero range: got %v, want %v", got, want)
	}
	got = CrowdingDistance([][]float64{{5, 5}, {5, 5}}, []int{0, 1})
	if want := []float64{0, 0}; !gocmp.Equal(got, want) {
		t.Errorf("identical: got %v, want %v", got, want)
	}
}

func TestSelectNSGA2(t *testing.T) {
	pts := [][]float64{{1, 10}, {5, 5}, {10, 1}, {4, 6}, {7, 7}, {6, 6}}
	// Fronts: 0 = {0, 1, 2, 3}, 1 = {5, 4?}: (6,6) dominated by (5,5); (7,7) by (6,6).
	if got, want := mustSelect(t, pts, 3), []int{0, 2, 1}; !slices.Equal(got, want) {
		t.Errorf("n=3: got %v, want %v", got, want)
	}
	if got, want := mustSelect(t, pts, 5), []int{0, 2, 1, 3, 5}; !slices.Equal(got, want) {
		t.Errorf("n=5: got %v, want %v", got, want)
	}
	if got := mustSelect(t, pts, 100); len(got) != len(pts) {
		t.Errorf("n=100: got %v", got)
	}
	if got := mustSelect(t, pts, 0); len(got) != 0 {
		t.Errorf("n=0: got %v", got)
	}
}

func randomMatrix(n, m int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 7))
	data := make([]float64, n*m)
	for i := range data {
		data[i] = 1 + 100*r.Float64()
	}
	return data
}

func randomFlatPoints(n, m int, seed uint64) [][]float64 {
	data := randomMatrix(n, m, seed)
	pts := make([][]float64, n)
	for i := range pts {
		pts[i] = data[i*m : i*m+m : i*m+m]
	}
	return pts
}

func BenchmarkTOPSIS1M(b *testing.B) {
	const n, m = 1_000_000, 5
	data := randomMatrix(n, m, 1)
	w := []float64{0.3, 0.25, 0.2, 0.15, 0.1}
	benefit := []bool{true, false, true, false, false}
	b.ResetTimer()
	for b.Loop() {
		if _, err := TOPSISMatrix(data, n, m, w, benefit); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPareto3D1M(b *testing.B) {
	pts := randomFlatPoints(1_000_000, 3, 2)
	b.ResetTimer()
	for b.Loop() {
		mustSort(b, pts)
	}
}

func BenchmarkParetoVsBruteForce20k(b *testing.B) {
	pts := randomFlatPoints(20_000, 3, 3)
	var fast, brute time.Duration
	for b.Loop() {
		t0 := time.Now()
		got := mustSort(b, pts)
		t1 := time.Now()
		want := bruteFronts(pts)
		t2 := time.Now()
		fast += t1.Sub(t0)
		brute += t2.Sub(t1)
		if !slices.Equal(got, want) {
			b.Fatal("fronts differ from the brute force")
		}
	}
	b.ReportMetric(float64(fast.Nanoseconds())/float64(b.N), "fast-ns/op")
	b.ReportMetric(float64(brute.Nanoseconds())/float64(b.N), "brute-ns/op")
	b.ReportMetric(float64(brute)/float64(fast), "x-faster")
}

// TestLexOrderParallel holds the two-core sort of large inputs to the plain one.
func TestLexOrderParallel(t *testing.T) {
	const n, m = 1<<16 + 123, 3
	r := rand.New(rand.NewPCG(7, 7))
	flat := make([]float64, n*m)
	for i := range flat {
		flat[i] = float64(r.IntN(20)) // many ties and duplicates
	}
	order, first := lexOrder(flat, n, m)
	want := make([]int, n)
	for i := range want {
		want[i] = i
	}
	slices.SortFunc(want, func(a, b int) int {
		if c := slices.Compare(flat[a*m:a*m+m], flat[b*m:b*m+m]); c != 0 {
			return c
		}
		return a - b
	})
	if !slices.Equal(order, want) {
		t.Fatal("parallel lexicographic order differs from a plain sort")
	}
	for r := 1; r < n; r++ {
		same := slices.Equal(flat[order[r]*m:order[r]*m+m], flat[order[r-1]*m:order[r-1]*m+m])
		if same != (first[r] == first[r-1]) {
			t.Fatalf("first[%d] wrong", r)
		}
	}
}

func mustSort(t testing.TB, pts [][]float64) []int {
	t.Helper()
	fr, err := NonDominatedSort(pts)
	if err != nil {
		t.Fatal(err)
	}
	return fr
}

func mustSelect(t testing.TB, pts [][]float64, n int) []int {
	t.Helper()
	sel, err := SelectNSGA2(pts, n)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

// TestRaggedPoints: points of different lengths are an error, not a panic.
func TestRaggedPoints(t *testing.T) {
	if _, err := NonDominatedSort([][]float64{{1, 2}, {1}}); err == nil || !strings.Contains(err.Error(), "point 1 has 1 objectives") {
		t.Fatalf("got %v", err)
	}
	if _, err := TOPSISMatrix([]float64{1, 2, 3}, 2, 2, []float64{1, 1}, []bool{true, true}); err == nil {
		t.Fatal("a 3-element matrix passed as 2×2")
	}
}
