package candidates

import (
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// Accuracy that differs within noise decides the order only when the policy
// does not ask for ties, and either way the ranking says so (p by hand: pooled
// 0.71, se √(0.71·0.29·2/100) = 0.0642, z = 0.312, p = 0.755); the same gap
// over many examples is significant and decides silently.
func TestWithinNoise(t *testing.T) {
	policy := func(sig float64) campaign.Policy {
		p := campaign.Policy{Name: "p", Method: "topsis", Normalization: "vector", TopN: 2, TieBreak: "name",
			Criteria: map[string]campaign.Criterion{
				"accuracy": {Metric: "accuracy", Weight: 0.8, Direction: "benefit"},
				"latency":  {Metric: "ttft_p99_ms", Weight: 0.2, Direction: "cost"},
			}}
		if sig > 0 {
			p.Accuracy = &struct {
				Significance float64 `json:"significance"`
			}{sig}
		}
		return p
	}
	rows := func(n int) []Row {
		return []Row{
			{ID: "a", AccuracyN: n, Metrics: map[string]float64{"accuracy": 0.72, "ttft_p99_ms": 155}},
			{ID: "b", AccuracyN: n, Metrics: map[string]float64{"accuracy": 0.70, "ttft_p99_ms": 150}},
			{ID: "c", AccuracyN: n, Metrics: map[string]float64{"accuracy": 0.30, "ttft_p99_ms": 100}},
			{ID: "d", Metrics: map[string]float64{"ttft_p99_ms": 100}},
		}
	}
	for _, c := range []struct {
		name  string
		n     int
		sig   float64
		order string
		noise string
	}{
		{"noise decides, said", 100, 0, "a b", "a ranks above b on measured accuracy 72.0% (n=100) against 70.0% (n=100), a difference within noise (p=0.76, significance 0.05); with accuracy: significance: 0.05 in the policy, b would rank above"},
		{"ties", 100, 0.05, "b a", "a ranks above b on measured accuracy 72.0% (n=100) against 70.0% (n=100), a difference within noise (p=0.76, significance 0.05); treated as tied, b ranks above"},
		{"significant gap", 20000, 0.05, "a b", ""},
	} {
		res, err := Rank(rows(c.n), policy(c.sig))
		if err != nil {
			t.Fatal(err)
		}
		var order []string
		for _, x := range res.Ranked {
			order = append(order, x.ID)
			if x.ID == "a" && x.Values["accuracy"] != 0.72 {
				t.Errorf("%s: a shows accuracy %v, not the measured 0.72", c.name, x.Values["accuracy"])
			}
		}
		if got := strings.Join(order, " "); got != c.order {
			t.Errorf("%s: order %q, want %q", c.name, got, c.order)
		}
		if got := strings.Join(res.WithinNoise, "\n"); got != c.noise {
			t.Errorf("%s: within noise\n got %q\nwant %q", c.name, got, c.noise)
		}
		if res.Removed["missing accuracy"] != 1 {
			t.Errorf("%s: removed %v", c.name, res.Removed)
		}
	}
}
