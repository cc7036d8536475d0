package notify

import (
	"context"
	"fmt"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/candidates"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
)

// maxListed bounds the failed configs a message names one by one.
const maxListed = 20

// Summarize fills the message's counts, config failures and top
// recommendation from the run in st.
func Summarize(ctx context.Context, st store.Store, set *campaign.Set, c campaign.Campaign, m *Message) error {
	run, err := st.Run(ctx, m.Run)
	if err != nil {
		return err
	}
	if run != nil {
		m.Configs = run.Configs
	}
	results, err := st.Results(ctx, store.Filter{RunID: m.Run})
	if err != nil {
		return err
	}
	m.Done = len(results)
	fails, err := st.Failures(ctx, m.Run)
	if err != nil {
		return err
	}
	m.Failed = len(fails)
	if m.Failed > 0 {
		m.Review = ReviewCommand(m.Run)
	}
	for i, fl := range fails {
		if i == maxListed {
			m.Failures = append(m.Failures, Failure{Step: "configs", Reason: fmt.Sprintf("%d more failed", len(fails)-maxListed)})
			break
		}
		m.Failures = append(m.Failures, Failure{Step: "config " + fl.Fingerprint[:min(12, len(fl.Fingerprint))], Reason: fl.Reason})
	}
	if len(results) > 0 {
		m.Top = Recommend(set, c, results)
	}
	return nil
}

// ReviewCommand is the command that lists a run's configs in the review queue.
func ReviewCommand(run string) string { return "llmsweep failures list --run " + run }

// Recommend ranks a run's results under the campaign's policy, as llmsweep rank
// does, when the set has it; else it names the config with the highest goodput.
func Recommend(set *campaign.Set, c campaign.Campaign, results []result.Result) *Recommendation {
	rows := candidates.FromResults(results, nil)
	if len(rows) == 0 {
		return nil
	}
	byID := map[string]int{}
	for i := range rows {
		candidates.Derive(&rows[i], set)
		byID[rows[i].ID] = i
	}
	describe := func(id, policy string, score float64) *Recommendation {
		i := byID[id]
		s := &results[i].Summary
		return &Recommendation{Policy: policy, Config: results[i].Fingerprint, Score: score,
			Summary: fmt.Sprintf("%s: %.1f output tok/s, TTFT p99 %.1f ms, TPOT p50 %.2f ms, goodput %.2f req/s",
				id, s.OutputThroughput, s.TTFT.P99, s.TPOT.P50, s.Goodput)}
	}
	if p, ok := set.Policies[c.Policy]; ok {
		res, err := candidates.Rank(rows, p)
		if err != nil || len(res.Ranked) == 0 {
			return nil // nothing measured that the policy ranks on, or every config failed its constraints
		}
		return describe(res.Ranked[0].ID, p.Name, res.Ranked[0].Score)
	}
	best := -1
	for i, r := range rows {
		g, ok := r.Metrics["goodput"]
		if !ok {
			continue
		}
		if b := rows[max(best, 0)].Metrics; best < 0 || g > b["goodput"] || g == b["goodput"] && r.Metrics["output_throughput"] > b["output_throughput"] {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	return describe(rows[best].ID, "", rows[best].Metrics["goodput"])
}
