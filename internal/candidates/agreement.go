package candidates

import (
	"fmt"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// Agreement measures a recommendation: of the configs the policy ranks in its
// top n on predicted metrics (what plan recommends before measuring), the
// share that are still in the top n on measured metrics. Only configs with
// both a prediction and a measurement take part, matched by config
// fingerprint (Row.Fingerprint, which callers set to the config's); k is the size of the top compared (n, or fewer when fewer
// configs have both). ok is false when no config has both.
func Agreement(predicted, measured []Row, p campaign.Policy, n int) (share float64, k int, ok bool, err error) {
	byFP := func(rows []Row) map[string]Row {
		m := make(map[string]Row, len(rows))
		for _, r := range rows {
			m[r.Fingerprint] = r
		}
		return m
	}
	pm, mm := byFP(predicted), byFP(measured)
	var pr, mr []Row
	for fp, r := range pm {
		if m, ok := mm[fp]; ok && fp != "" {
			r.ID, m.ID = fp, fp // both rankings name configs alike
			pr, mr = append(pr, r), append(mr, m)
		}
	}
	if len(pr) == 0 {
		return 0, 0, false, nil
	}
	p.TopN = 0 // rank everything, then cut at n
	top := func(rows []Row) ([]string, error) {
		rk, err := Rank(rows, p)
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, r := range rk.Ranked {
			ids = append(ids, r.ID)
		}
		return ids, nil
	}
	pt, err := top(pr)
	if err != nil {
		return 0, 0, false, fmt.Errorf("ranking the predictions: %w", err)
	}
	mt, err := top(mr)
	if err != nil {
		return 0, 0, false, fmt.Errorf("ranking the measurements: %w", err)
	}
	k = min(n, len(pt), len(mt))
	if k == 0 {
		return 0, 0, false, nil
	}
	inMeasured := map[string]bool{}
	for _, id := range mt[:k] {
		inMeasured[id] = true
	}
	hits := 0
	for _, id := range pt[:k] {
		if inMeasured[id] {
			hits++
		}
	}
	return float64(hits) / float64(k), k, true, nil
}
