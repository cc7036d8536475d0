package accuracy

import (
	"gonum.org/v1/gonum/stat/distuv"
)

// Paired is the comparison of two runs of one task on the examples both
// asked: how many each got right where the other did not, and the exact
// McNemar test of whether they differ.
type Paired struct {
	Shared int `json:"shared"` // examples both runs asked
	// OnlyA and OnlyB are the discordant pairs: right in A only, in B only.
	OnlyA int     `json:"only_a"`
	OnlyB int     `json:"only_b"`
	P     float64 `json:"p"`
}

// McNemar pairs a and b by example ID and tests them with the exact
// (binomial) McNemar test: under no difference, each discordant pair is
// right in A or in B with probability 1/2, and p is the two-sided binomial
// tail. It is exact at any size, where the chi-square form needs many
// discordant pairs. ok is false when the two do not score the same task
// and metric, or share no example.
func McNemar(a, b *Result) (Paired, bool) {
	if a == nil || b == nil || a.Task != b.Task || a.Metric != b.Metric || len(a.Examples) == 0 || len(b.Examples) == 0 {
		return Paired{}, false
	}
	inA := make(map[string]bool, len(a.Examples))
	for _, e := range a.Examples {
		inA[e.ID] = e.Correct
	}
	var p Paired
	for _, e := range b.Examples {
		ca, ok := inA[e.ID]
		if !ok {
			continue
		}
		p.Shared++
		switch {
		case ca && !e.Correct:
			p.OnlyA++
		case e.Correct && !ca:
			p.OnlyB++
		}
	}
	if p.Shared == 0 {
		return Paired{}, false
	}
	p.P = ExactMcNemar(p.OnlyA, p.OnlyB)
	return p, true
}

// ExactMcNemar is the two-sided exact McNemar p-value of b and c discordant
// pairs: min(1, 2 P(X <= min(b, c))) for X ~ Binomial(b+c, 1/2).
func ExactMcNemar(b, c int) float64 {
	n := b + c
	if n == 0 {
		return 1
	}
	tail := distuv.Binomial{N: float64(n), P: 0.5}.CDF(float64(min(b, c)))
	return min(1, 2*tail)
}
