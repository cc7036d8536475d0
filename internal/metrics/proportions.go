package metrics

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// TwoProportions is the two-sided p-value of a two-proportion z-test (pooled
// variance) of the shares goodA/nA and goodB/nB; 1 when it cannot be computed.
func TwoProportions(goodA, nA, goodB, nB int) float64 {
	if nA == 0 || nB == 0 {
		return 1
	}
	pa, pb := float64(goodA)/float64(nA), float64(goodB)/float64(nB)
	pool := float64(goodA+goodB) / float64(nA+nB)
	se := math.Sqrt(pool * (1 - pool) * (1/float64(nA) + 1/float64(nB)))
	if se == 0 {
		if pa == pb {
			return 1
		}
		return 0
	}
	return 2 * distuv.UnitNormal.Survival(math.Abs(pa-pb)/se)
}
