package candidates

import (
	"testing"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

func TestAgreement(t *testing.T) {
	p := campaign.Policy{Name: "fast", Method: "topsis", Normalization: "vector", TopN: 10,
		Criteria: map[string]campaign.Criterion{"t": {Metric: "output_throughput", Weight: 1, Direction: "benefit"}}}
	row := func(fp string, tput float64) Row {
		return Row{ID: "x" + fp, Fingerprint: fp, Metrics: map[string]float64{"output_throughput": tput}}
	}
	// Predicted order a > b > c > d; measured a > c > d > b; e is only predicted.
	pred := []Row{row("a", 400), row("b", 300), row("c", 200), row("d", 100), row("e", 999)}
	meas := []Row{row("a", 410), row("b", 90), row("c", 250), row("d", 120)}
	share, k, ok, err := Agreement(pred, meas, p, 2)
	if err != nil || !ok || k != 2 || share != 0.5 {
		t.Errorf("top 2: share %v of %d (%v, %v), want 0.5 of 2", share, k, ok, err)
	}
	if share, k, _, _ := Agreement(pred, meas, p, 10); k != 4 || share != 1 {
		t.Errorf("top 10 of 4 shared: share %v of %d, want 1 of 4", share, k)
	}
	if _, _, ok, _ := Agreement(pred, []Row{row("z", 1)}, p, 3); ok {
		t.Error("no shared config, yet a share")
	}
}
