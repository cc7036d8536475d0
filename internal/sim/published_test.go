package sim

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
)

var update = flag.Bool("update", false, "rewrite intervals.json from the cross-validation")

const publishedPoints = "testdata/published/points.csv"

// TestPublishedCrossValidation runs the leave-one-source-out cross-validation
// on the published points and logs the held-out errors per metric, framework
// and source. It fails on a crash, on a NaN, on a point the model cannot
// predict, and when intervals.json is not the one this cross-validation
// gives (rewrite it with -update); it does not fail on the error level.
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
	cv := CrossValidate(tab, points)
	for _, m := range cv.Metrics {
		t.Logf("%-13s %-8s n=%3d MdAPE %6.1f%% P90 %6.1f%% ratio %.2f", m.Metric, m.Framework, m.Count, m.MdAPE, m.P90APE, m.Ratio)
		if math.IsNaN(m.MdAPE) || math.IsInf(m.MdAPE, 0) {
			t.Errorf("%s %s: MdAPE %v", m.Metric, m.Framework, m.MdAPE)
		}
	}
	for _, m := range cv.BySource {
		t.Logf("%-13s %-34s n=%3d MdAPE %6.1f%% P90 %6.1f%% ratio %.2f", m.Metric, m.Source, m.Count, m.MdAPE, m.P90APE, m.Ratio)
	}
	for _, r := range cv.Residuals {
		if r.Error != "" {
			t.Errorf("%s: %s", r.ID, r.Error)
		}
	}
	got := PublishedIntervals{Points: publishedPoints, Count: cv.Points, Sources: cv.Sources, Level: IntervalLevel, Intervals: cv.Intervals}
	if *update {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("intervals.json", append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := DefaultIntervals()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("intervals.json is stale (go test ./internal/sim -run TestPublishedCrossValidation -update) (-file +cross-validation):\n%s", d)
	}
}

func TestPublishedResiduals(t *testing.T) {
	if os.Getenv("SIM_RESIDUALS") == "" {
		t.Skip("SIM_RESIDUALS not set")
	}
	path := filepath.Join("..", "..", publishedPoints)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set := campaigntest.Repo(t)
	tab, _ := Defaults(set)
	points, _, err := ReadPoints(f, path, set)
	if err != nil {
		t.Fatal(err)
	}
	var cv Scores
	if os.Getenv("SIM_RESIDUALS") == "score" {
		cv = Score(tab, points)
	} else {
		cv = CrossValidate(tab, points)
	}
	for _, m := range cv.Metrics {
		if m.Framework == "" {
			t.Logf("%-13s n=%3d MdAPE %6.1f%% P90 %6.1f%% ratio %.2f", m.Metric, m.Count, m.MdAPE, m.P90APE, m.Ratio)
		}
	}
	for _, r := range cv.Residuals {
		t.Logf("RES %-14s %-12s %-8s %10.2f %10.2f %5.2f", r.ID, r.Metric, r.Framework, r.Value, r.Predicted, r.Predicted/r.Value)
	}
}

func TestPublishedFits(t *testing.T) {
	if os.Getenv("SIM_FITS") == "" {
		t.Skip("SIM_FITS not set")
	}
	path := filepath.Join("..", "..", publishedPoints)
	f, _ := os.Open(path)
	defer f.Close()
	set := campaigntest.Repo(t)
	tab, _ := Defaults(set)
	points, _, _ := ReadPoints(f, path, set)
	_, fits := Calibrate(tab, points)
	for _, fit := range fits {
		t.Logf("FIT %-18s n=%3d %v mfu %.3f mbu %.3f step %.2f req %.1f  MdAPE %.1f -> %.1f %s", fit.Pair, fit.Points, fit.Fitted, fit.After.MFU, fit.After.MBU, fit.After.StepMS, fit.After.RequestMS, fit.MdAPEBefore, fit.MdAPEAfter, fit.Note)
	}
}
