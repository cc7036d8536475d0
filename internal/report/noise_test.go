package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/candidates"
)

// The report says where a policy's ranking flips within accuracy noise, in
// its JSON and in its HTML.
func TestWithinNoise(t *testing.T) {
	set := &campaign.Set{Policies: map[string]campaign.Policy{"quality": {Name: "quality", Method: "topsis", Normalization: "vector", TopN: 5, TieBreak: "name",
		Criteria: map[string]campaign.Criterion{
			"accuracy": {Metric: "accuracy", Weight: 0.8, Direction: "benefit"},
			"latency":  {Metric: "ttft_p99_ms", Weight: 0.2, Direction: "cost"},
		}}}}
	rows := []candidates.Row{
		{ID: "fp8", AccuracyN: 50, Metrics: map[string]float64{"accuracy": 0.74, "ttft_p99_ms": 155}},
		{ID: "int4", AccuracyN: 50, Metrics: map[string]float64{"accuracy": 0.70, "ttft_p99_ms": 150}},
	}
	pols := rankPolicies(set, rows)
	if len(pols) != 1 || len(pols[0].WithinNoise) != 1 || !strings.HasPrefix(pols[0].WithinNoise[0], "fp8 ranks above int4 on measured accuracy 74.0% (n=50)") {
		t.Fatalf("within noise: %+v", pols)
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, &Report{Schema: Schema, Policies: pols}, 5); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Within noise: fp8 ranks above int4") {
		t.Errorf("the HTML does not say the ranking flips within noise")
	}
}
