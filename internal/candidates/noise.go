package candidates

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/rank"
)

// defaultSignificance is the level at which WithinNoise is judged when the
// policy does not set accuracy.significance.
const defaultSignificance = 0.05

// rankWithinNoise ranks alts under p twice when accuracy is a criterion: with
// the measured accuracies, and with accuracies banded into ties, where a
// config whose accuracy does not differ significantly (two-proportion z-test)
// from the best of its band takes that best's value. The ranking returned is
// the banded one if p.Accuracy asks for ties, else the measured one; either
// way out.WithinNoise names the pairs of top configs whose order the two
// rankings disagree on, so a reader sees where accuracy noise decided.
func rankWithinNoise(rows []Row, alts []rank.Alternative, p campaign.Policy, out *Ranking) (*rank.Result, error) {
	accurate := false
	for _, c := range p.Criteria {
		accurate = accurate || c.Metric == "accuracy"
	}
	alpha, ties := defaultSignificance, false
	if p.Accuracy != nil && p.Accuracy.Significance > 0 {
		alpha, ties = p.Accuracy.Significance, true
	}
	banded, leader := bands(rows, alpha)
	if !accurate || len(banded) == 0 {
		return rank.Rank(alts, p)
	}
	all := p
	all.TopN = 0
	measured, err := rank.Rank(alts, all)
	if err != nil {
		return nil, err
	}
	tied := make([]rank.Alternative, len(alts))
	for i, a := range alts {
		tied[i] = a
		if v, ok := banded[a.ID]; ok {
			tied[i].Values = maps.Clone(a.Values)
			tied[i].Values["accuracy"] = v
		}
	}
	noisy, err := rank.Rank(tied, all)
	if err != nil {
		return nil, err
	}
	byID := map[string]Row{}
	for _, r := range rows {
		byID[r.ID] = r
	}
	// Show the measured accuracy, whichever ranking is kept.
	for i := range noisy.Ranked {
		noisy.Ranked[i].Values["accuracy"] = byID[noisy.Ranked[i].ID].Metrics["accuracy"]
	}
	top := cmp.Or(p.TopN, len(alts))
	out.WithinNoise = flips(measured.Ranked, noisy.Ranked, top, leader, byID, alpha, ties)
	res := measured
	if ties {
		res = noisy
	}
	if len(res.Ranked) > top {
		res.Ranked = res.Ranked[:top]
	}
	return res, nil
}

// bands sorts the rows that measured accuracy on a known number of examples
// by accuracy and groups them: a band starts at its best row and holds every
// following row whose accuracy does not differ from the best's at level
// alpha. It returns each banded row's tied value (its band's best accuracy)
// and its band's best row.
func bands(rows []Row, alpha float64) (map[string]float64, map[string]string) {
	var rs []Row
	for _, r := range rows {
		if _, ok := r.Metrics["accuracy"]; ok && r.AccuracyN > 0 {
			rs = append(rs, r)
		}
	}
	slices.SortStableFunc(rs, func(a, b Row) int {
		return cmp.Or(cmp.Compare(b.Metrics["accuracy"], a.Metrics["accuracy"]), cmp.Compare(a.ID, b.ID))
	})
	value, leader := map[string]float64{}, map[string]string{}
	var best Row
	for i, r := range rs {
		if i == 0 || metrics.TwoProportions(correct(best), best.AccuracyN, correct(r), r.AccuracyN) < alpha {
			best = r
		}
		value[r.ID], leader[r.ID] = best.Metrics["accuracy"], best.ID
	}
	return value, leader
}

func correct(r Row) int {
	return int(r.Metrics["accuracy"]*float64(r.AccuracyN) + 0.5)
}

// maxWithinNoise bounds the pairs WithinNoise names; a count says the rest.
const maxWithinNoise = 10

// flips lists the pairs that share an accuracy band, at least one of them in
// the top of either ranking, and whose order the measured and banded rankings
// disagree on, in the measured ranking's order.
func flips(measured, banded []rank.Ranked, top int, leader map[string]string, rows map[string]Row, alpha float64, ties bool) []string {
	mpos, bpos := map[string]int{}, map[string]int{}
	inTop := map[string]bool{}
	for i, x := range measured {
		mpos[x.ID] = i
		inTop[x.ID] = inTop[x.ID] || i < top
	}
	for i, x := range banded {
		bpos[x.ID] = i
		inTop[x.ID] = inTop[x.ID] || i < top
	}
	band := map[string][]string{}
	for _, x := range measured {
		if l, ok := leader[x.ID]; ok {
			band[l] = append(band[l], x.ID)
		}
	}
	type pair struct{ a, b string }
	var found []pair
	for _, x := range measured {
		if !inTop[x.ID] {
			continue
		}
		for _, y := range band[leader[x.ID]] {
			a, b := x.ID, y
			if mpos[b] < mpos[a] {
				a, b = b, a
			}
			// Count a pair of two top configs once, from its first.
			if a == b || (inTop[a] && inTop[b] && a != x.ID) || bpos[a] < bpos[b] {
				continue
			}
			found = append(found, pair{a, b})
		}
	}
	slices.SortFunc(found, func(p, q pair) int {
		return cmp.Or(cmp.Compare(mpos[p.a], mpos[q.a]), cmp.Compare(mpos[p.b], mpos[q.b]))
	})
	var out []string
	for k, f := range found {
		if k == maxWithinNoise {
			out = append(out, fmt.Sprintf("and %d more pairs", len(found)-k))
			break
		}
		ra, rb := rows[f.a], rows[f.b]
		p := metrics.TwoProportions(correct(ra), ra.AccuracyN, correct(rb), rb.AccuracyN)
		s := fmt.Sprintf("%s ranks above %s on measured accuracy %.1f%% (n=%d) against %.1f%% (n=%d), a difference within noise (p=%.2f, significance %g)",
			f.a, f.b, 100*ra.Metrics["accuracy"], ra.AccuracyN, 100*rb.Metrics["accuracy"], rb.AccuracyN, p, alpha)
		if ties {
			s += "; treated as tied, " + f.b + " ranks above"
		} else {
			s += fmt.Sprintf("; with accuracy: significance: %g in the policy, %s would rank above", alpha, f.b)
		}
		out = append(out, s)
	}
	return out
}
