package pipeline

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
)

// TestDecide covers the reuse policy: a run's own results always stand in
// (resume); scope run measures everything else again; scope any reuses what
// is younger than max_age; a prediction or an import stands in for a
// measurement only when accepted; --force measures everything.
func TestDecide(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	cfg := func(fp string) matrix.Config { return matrix.Config{Fingerprint: fp, Model: "m"} }
	put := func(run, fp string, kind result.Kind, age time.Duration) {
		t.Helper()
		if _, err := st.CreateRun(ctx, result.Run{ID: run, Campaign: "c", MatrixHash: "h", Started: now.Add(-age)}); err != nil {
			t.Fatal(err)
		}
		if err := st.PutResult(ctx, result.Result{Run: run, Fingerprint: fp, Config: cfg(fp), Provenance: result.Provenance{Kind: kind},
			Finished: now.Add(-age)}); err != nil {
			t.Fatal(err)
		}
	}
	put("old", "stale", result.Measured, 10*24*time.Hour)
	put("recent", "fresh", result.Measured, time.Hour)
	put("recent", "predicted", result.Predicted, time.Hour)
	put("recent", "imported", result.Imported, time.Hour)
	put("this", "resumed", result.Measured, time.Minute)
	configs := []matrix.Config{cfg("new"), cfg("stale"), cfg("fresh"), cfg("predicted"), cfg("imported"), cfg("resumed")}
	measured := func(r *Reuse) []string {
		var out []string
		for _, c := range r.Measure {
			out = append(out, c.Fingerprint)
		}
		return out
	}
	for _, c := range []struct {
		name   string
		policy campaign.Reuse
		force  bool
		want   []string
		why    map[string]int
	}{
		{"scheduled", campaign.Reuse{Scope: "run"}, false, []string{"new", "stale", "fresh", "predicted", "imported"},
			map[string]int{WhyNew: 1, WhyEveryRun: 2, WhyOtherKind: 2}},
		{"ad hoc", campaign.Reuse{Scope: "any"}, false, []string{"new", "predicted", "imported"},
			map[string]int{WhyNew: 1, WhyOtherKind: 2}},
		{"max age", campaign.Reuse{Scope: "any", MaxAge: "7d"}, false, []string{"new", "stale", "predicted", "imported"},
			map[string]int{WhyNew: 1, WhyStale: 1, WhyOtherKind: 2}},
		{"imports accepted", campaign.Reuse{Scope: "any", Accept: []string{"imported"}}, false, []string{"new", "predicted"},
			map[string]int{WhyNew: 1, WhyOtherKind: 1}},
		{"forced", campaign.Reuse{Scope: "any"}, true, []string{"new", "stale", "fresh", "predicted", "imported", "resumed"},
			map[string]int{WhyForced: 6}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := Decide(ctx, st, configs, ReuseOptions{Policy: c.policy, Run: "this", Kind: result.Measured, Force: c.force, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(c.want, measured(r)); d != "" {
				t.Errorf("measured (-want +got):\n%s", d)
			}
			if d := cmp.Diff(c.why, r.Measured); d != "" {
				t.Errorf("why (-want +got):\n%s", d)
			}
			if !c.force && r.Reused[WhyInRun] != 1 {
				t.Errorf("the run's own result did not stand in: %v", r.Reused)
			}
		})
	}
	// The sim engine's predictions are looked up under its identity: they
	// stand in for predictions, never for the configs' own measurements.
	put("sim", result.Identity("x", "sim"), result.Predicted, time.Hour)
	r, err := Decide(ctx, st, []matrix.Config{cfg("x")}, ReuseOptions{Policy: campaign.Reuse{Scope: "any"}, Engine: "sim", Kind: result.Predicted, Now: now})
	if err != nil || len(r.Measure) != 0 {
		t.Errorf("a sim run with its prediction stored: %v, %v", r, err)
	}
	r, _ = Decide(ctx, st, []matrix.Config{cfg("x")}, ReuseOptions{Policy: campaign.Reuse{Scope: "any"}, Kind: result.Measured, Now: now})
	if len(r.Measure) != 1 || r.Measured[WhyNew] != 1 {
		t.Errorf("a prediction stood in for a measurement: %v", r)
	}
	// A config a person queued for retry (llmsweep failures retry) is
	// measured even where a stored result would stand in for it.
	if _, err := st.CreateRun(ctx, result.Run{ID: "failed", Campaign: "c", MatrixHash: "h", Started: now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutFailure(ctx, result.Failure{Run: "failed", Fingerprint: "fresh", Attempt: 3, Final: true, Reason: "oom", Time: now}); err != nil {
		t.Fatal(err)
	}
	adHoc := ReuseOptions{Policy: campaign.Reuse{Scope: "any"}, Run: "next", Kind: result.Measured, Now: now}
	if r, _ := Decide(ctx, st, []matrix.Config{cfg("fresh")}, adHoc); len(r.Measure) != 0 {
		t.Errorf("a failure in a later run kept a stored result from standing in: %v", r)
	}
	if err := st.SetReview(ctx, "failed", "fresh", store.ReviewRetry, ""); err != nil {
		t.Fatal(err)
	}
	r, err = Decide(ctx, st, []matrix.Config{cfg("fresh"), cfg("stale")}, adHoc)
	if err != nil || !cmp.Equal(measured(r), []string{"fresh"}) || r.Measured[WhyRetry] != 1 {
		t.Errorf("a config queued for retry: %+v, %v", r, err)
	}
	if _, err := Decide(ctx, st, configs, ReuseOptions{Policy: campaign.Reuse{Scope: "any", MaxAge: "seven days"}}); err == nil {
		t.Error("a bad max_age was accepted")
	}
}
