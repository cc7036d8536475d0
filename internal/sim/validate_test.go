package sim

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
)

// TestValidatePublished runs the validation on the published points when the
// file is there. It fails on a crash or a NaN, not on the error level, which it
// prints.
func TestValidatePublished(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "published", "points.csv")
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		t.Skip("no testdata/published/points.csv")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set := campaigntest.Repo(t)
	tab, err := Defaults(set)
	if err != nil {
		t.Fatal(err)
	}
	points, skipped, err := ReadPoints(f, path, set)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range skipped {
		t.Logf("skipped %s (line %d): %s", s.ID, s.Line, s.Reason)
	}
	v := Validate(tab, points)
	for _, m := range v.Metrics {
		t.Logf("%-13s train %2d test %2d  held-out MdAPE %6.1f%% (defaults %6.1f%%, train %6.1f%%) worst %s %.0f%%",
			m.Metric, m.Train, m.Test, m.TestMdAPE, m.DefaultsMdAPE, m.TrainMdAPE, m.WorstID, m.WorstErrorPerc)
		if m.Test > 0 && (math.IsNaN(m.TestMdAPE) || math.IsInf(m.TestMdAPE, 0)) {
			t.Errorf("%s: MdAPE is %v", m.Metric, m.TestMdAPE)
		}
	}
	for _, fit := range v.Fits {
		t.Logf("fit %-22s %2d points fitted=%v %+v -> %+v  MdAPE %.1f%% -> %.1f%% %s", fit.Pair, fit.Points, fit.Fitted,
			fit.Before, fit.After, fit.MdAPEBefore, fit.MdAPEAfter, fit.Note)
	}
}
