package rank

import (
	"fmt"
	"math"
)

// TOPSISMatrix scores n alternatives on m criteria with TOPSIS (Hwang & Yoon,
// 1981) and vector normalization: data is the row-major n×m decision matrix,
// weights the criteria weights and benefit[j] whether larger is better on
// criterion j. It returns each alternative's closeness coefficient
// C = d⁻/(d⁺+d⁻) in [0, 1]; where d⁺+d⁻ = 0 (every alternative identical on
// every weighted criterion) C is 1. data must be finite; data is not modified.
// Shapes that disagree are an error.
func TOPSISMatrix(data []float64, n, m int, weights []float64, benefit []bool) ([]float64, error) {
	return ScoreMatrix(data, n, m, weights, benefit, MethodTOPSIS, NormVector, nil)
}

// ScoreMatrix scores a row-major n×m decision matrix with method "topsis" or
// "weighted_sum" under normalization norm (see NormalizeMatrix). If contrib is
// not nil it must have n×m entries and receives each alternative's
// per-criterion contributions:
//
//   - topsis: with v the weighted benefit-oriented normalized value, v⁺ and v⁻
//     the ideal and anti-ideal, d⁺_j = v⁺_j − v_j and d⁻_j = v_j − v⁻_j,
//     contribution_j = (d⁻_j² − d⁺_j²) / (2(d⁺+d⁻)²). These sum exactly to
//     C − ½, since C − ½ = (d⁻² − d⁺²)/(2(d⁺+d⁻)²): a criterion pushes the
//     alternative above the neutral ½ when it is nearer the ideal than the
//     anti-ideal on it. All are 0 in the all-identical case (C = 1).
//   - weighted_sum: contribution_j = w_j × normalized value; they sum to the
//     score.
func ScoreMatrix(data []float64, n, m int, weights []float64, benefit []bool, method, norm string, contrib []float64) ([]float64, error) {
	if err := checkShape(data, n, m, weights, benefit); err != nil {
		return nil, err
	}
	if contrib != nil && len(contrib) != n*m {
		return nil, fmt.Errorf("contributions need %d entries, have %d", n*m, len(contrib))
	}
	a, b, err := affine(data, n, m, weights, benefit, norm)
	if err != nil {
		return nil, err
	}
	scores := make([]float64, n)
	switch method {
	case MethodWeightedSum:
		for i := 0; i < n; i++ {
			row := data[i*m : i*m+m]
			var s float64
			for j, x := range row {
				v := a[j]*x + b[j]
				s += v
				if contrib != nil {
					contrib[i*m+j] = v
				}
			}
			scores[i] = s
		}
		return scores, nil
	case MethodTOPSIS:
	default:
		return nil, fmt.Errorf("method %q has no per-alternative score matrix (want topsis or weighted_sum)", method)
	}
	if n == 0 {
		return scores, nil
	}
	// The ideal and anti-ideal of an affine column sit at its extremes.
	lo, hi := columnRange(data, n, m)
	ideal := make([]float64, m)
	anti := make([]float64, m)
	for j := 0; j < m; j++ {
		vl, vh := a[j]*lo[j]+b[j], a[j]*hi[j]+b[j]
		ideal[j], anti[j] = math.Max(vl, vh), math.Min(vl, vh)
	}
	for i := 0; i < n; i++ {
		row := data[i*m : i*m+m]
		var dp, dm float64
		for j, x := range row {
			v := a[j]*x + b[j]
			p, q := ideal[j]-v, v-anti[j]
			dp += p * p
			dm += q * q
		}
		sp, sm := math.Sqrt(dp), math.Sqrt(dm)
		t := sp + sm
		if t == 0 {
			scores[i] = 1
			if contrib != nil {
				clear(contrib[i*m : i*m+m])
			}
			continue
		}
		scores[i] = sm / t
		if contrib != nil {
			den := 2 * t * t
			for j, x := range row {
				v := a[j]*x + b[j]
				p, q := ideal[j]-v, v-anti[j]
				contrib[i*m+j] = (q*q - p*p) / den
			}
		}
	}
	return scores, nil
}
