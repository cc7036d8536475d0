package rank

import (
	"fmt"
	"math"
	"slices"
)

// Normalization methods of a policy (schema #Policy.normalization).
const (
	NormVector = "vector"
	NormMinMax = "minmax"
	NormZScore = "zscore"
)

// Scoring methods of a policy (schema #Policy.method).
const (
	MethodTOPSIS      = "topsis"
	MethodWeightedSum = "weighted_sum"
	MethodPareto      = "pareto"
)

// Every normalization this package supports is an affine map per column,
// x ↦ a_j·x + b_j, and every one is made benefit-oriented (larger is better):
//
//   - vector: ±x/‖x‖₂ — the classic TOPSIS r_ij = x_ij/√(Σ_i x_ij²), negated
//     for cost criteria. Negating a column does not change any distance, so
//     TOPSIS over these values equals classic TOPSIS with "min for cost"
//     ideals. An all-zero column (‖x‖₂ = 0) normalizes to 0.
//   - minmax: (x−min)/(max−min) for benefit, (max−x)/(max−min) for cost; a
//     zero-range column normalizes to 1 for every alternative (nobody is worse
//     than anybody on it, so it neither separates nor penalizes).
//   - zscore: (x−mean)/std for benefit and (mean−x)/std for cost, with the
//     population standard deviation (divide by n); zero std normalizes to 0.
//
// affine returns a and b for each column, already multiplied by weights[j]
// (pass all ones for unweighted values).
func affine(data []float64, n, m int, weights []float64, benefit []bool, norm string) (a, b []float64, err error) {
	a = make([]float64, m)
	b = make([]float64, m)
	switch norm {
	case NormVector, NormMinMax, NormZScore:
	default:
		return nil, nil, fmt.Errorf("unknown normalization %q (want vector, minmax or zscore)", norm)
	}
	if n == 0 {
		return a, b, nil
	}
	lo, hi := columnRange(data, n, m)
	sum := make([]float64, m)
	sumsq := make([]float64, m)
	for i := 0; i < n; i++ {
		for j, x := range data[i*m : i*m+m] {
			sum[j] += x
			sumsq[j] += x * x
		}
	}
	for j := 0; j < m; j++ {
		w := weights[j]
		sign := 1.0
		if !benefit[j] {
			sign = -1
		}
		switch norm {
		case NormVector:
			norm2 := math.Sqrt(sumsq[j])
			if math.IsInf(norm2, 0) {
				// Scale to avoid overflow of Σx².
				s := math.Max(math.Abs(lo[j]), math.Abs(hi[j]))
				var acc float64
				for i := 0; i < n; i++ {
					y := data[i*m+j] / s
					acc += y * y
				}
				norm2 = s * math.Sqrt(acc)
			}
			if norm2 > 0 {
				a[j] = sign * w / norm2
			}
		case NormMinMax:
			r := hi[j] - lo[j]
			switch {
			case r == 0:
				b[j] = w
			case benefit[j]:
				a[j] = w / r
				b[j] = -w * lo[j] / r
			default:
				a[j] = -w / r
				b[j] = w * hi[j] / r
			}
		case NormZScore:
			mean := sum[j] / float64(n)
			var ss float64 // two-pass variance: stable where sumsq is not
			for i := 0; i < n; i++ {
				d := data[i*m+j] - mean
				ss += d * d
			}
			std := math.Sqrt(ss / float64(n))
			if std > 0 && !math.IsInf(std, 0) {
				a[j] = sign * w / std
				b[j] = -sign * w * mean / std
			}
		}
	}
	return a, b, nil
}

// NormalizeMatrix returns the benefit-oriented normalized copy of a row-major
// n×m matrix (n alternatives, m criteria), with norm one of "vector", "minmax"
// or "zscore" as documented on the package. data must be finite.
func NormalizeMatrix(data []float64, n, m int, benefit []bool, norm string) ([]float64, error) {
	if err := checkShape(data, n, m, nil, benefit); err != nil {
		return nil, err
	}
	ones := make([]float64, m)
	for j := range ones {
		ones[j] = 1
	}
	a, b, err := affine(data, n, m, ones, benefit, norm)
	if err != nil {
		return nil, err
	}
	out := make([]float64, n*m)
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			out[i*m+j] = a[j]*data[i*m+j] + b[j]
		}
	}
	return out, nil
}

func checkShape(data []float64, n, m int, weights []float64, benefit []bool) error {
	if n < 0 || m < 0 || len(data) != n*m {
		return fmt.Errorf("matrix of %d values is not %d×%d", len(data), n, m)
	}
	if weights != nil && len(weights) != m {
		return fmt.Errorf("%d weights for %d criteria", len(weights), m)
	}
	if len(benefit) != m {
		return fmt.Errorf("%d directions for %d criteria", len(benefit), m)
	}
	return nil
}

// columnRange returns the minimum and maximum of each column of a row-major
// n×m matrix with n > 0.
func columnRange(data []float64, n, m int) (lo, hi []float64) {
	lo = slices.Clone(data[:m])
	hi = slices.Clone(data[:m])
	for i := 1; i < n; i++ {
		for j, x := range data[i*m : i*m+m] {
			if x < lo[j] {
				lo[j] = x
			} else if x > hi[j] {
				hi[j] = x
			}
		}
	}
	return lo, hi
}
