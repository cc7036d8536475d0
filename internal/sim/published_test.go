package sim

import (
	stdcmp "cmp"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
)

var update = flag.Bool("update", false, "rewrite published.json from the fit and the cross-validation")

const publishedPoints = "testdata/published/points.csv"

// TestPublishedCrossValidation runs the leave-one-source-out cross-validation
// on the published points and logs the held-out errors per metric, framework
// and source, and the worst points. It fails on a skipped row, a NaN, a point
// the model cannot predict, and when published.json is not the fit and the
// intervals these points give (rewrite it with -update); it does not fail on
// the error level, which the README reports.
func TestPublishedCrossValidation(t *testing.T) {
	if testing.Short() {
		t.Skip("the cross-validation fits every source's complement (-short)")
	}
	path := filepath.Join("..", "..", publishedPoints)
	f, err := os.Open(path)
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
		t.Errorf("skipped %s (line %d): %s", s.ID, s.Line, s.Reason)
	}
	got, cv := Publish(tab, points, publishedPoints)
	for _, m := range cv.Metrics {
		t.Logf("%-13s %-8s n=%3d MdAPE %6.1f%% P90 %6.1f%% predicted/measured %.2f", m.Metric, m.Framework, m.Count, m.MdAPE, m.P90APE, m.Ratio)
		if math.IsNaN(m.MdAPE) || math.IsInf(m.MdAPE, 0) {
			t.Errorf("%s %s: MdAPE %v", m.Metric, m.Framework, m.MdAPE)
		}
	}
	for _, m := range cv.BySource {
		t.Logf("%-13s %-34s n=%3d MdAPE %6.1f%% P90 %6.1f%% predicted/measured %.2f", m.Metric, m.Source, m.Count, m.MdAPE, m.P90APE, m.Ratio)
	}
	worst := slices.Clone(cv.Residuals)
	slices.SortFunc(worst, func(a, b Residual) int { return stdcmp.Compare(b.APE(), a.APE()) })
	for _, r := range worst[:min(20, len(worst))] {
		t.Logf("worst: %-12s %-12s %-8s measured %10.2f predicted %10.2f (%.0f%%)", r.ID, r.Metric, r.Framework, r.Value, r.Predicted, r.APE())
	}
	for _, r := range cv.Residuals {
		if r.Error != "" {
			t.Errorf("%s: %s", r.ID, r.Error)
		}
	}
	if *update {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("published.json", append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := LoadPublished()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("published.json is stale (go test ./internal/sim -run TestPublishedCrossValidation -update) (-file +these points):\n%s", d)
	}
}
