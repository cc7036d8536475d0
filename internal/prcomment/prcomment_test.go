package prcomment

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmsweep/llmsweep/internal/diff"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/sim"
)

func write(t *testing.T, in Input) string {
	t.Helper()
	var b strings.Builder
	if err := Write(&b, in); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestReadDiffRoundTrip reads back what diff -o json writes (with its
// summary line), and refuses fields it does not know.
func TestReadDiffRoundTrip(t *testing.T) {
	want := []diff.Report{{
		Campaign: "a", Status: diff.StatusKept,
		Added:   []matrix.Config{{Fingerprint: "f1", Model: "m", Concurrency: 4}},
		Removed: []matrix.Config{}, Changed: []diff.Change{}, Moved: []diff.Move{},
		Manifests: []diff.FileDiff{{Name: "workflow.yaml", Unified: "-a\n+b\n"}},
	}}
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "diff.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDiff(p)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"campaign": "a", "colour": "red"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadDiff(bad); err == nil || !strings.Contains(err.Error(), `bad.json: json: unknown field "colour"`) {
		t.Errorf("ReadDiff of an unknown field: %v", err)
	}
}

// TestRemovedCampaign: a removed campaign has no plan, and Changed leaves it
// out of the campaigns to plan.
func TestRemovedCampaign(t *testing.T) {
	reports := []diff.Report{
		{Campaign: "gone", Status: diff.StatusRemoved, Removed: []matrix.Config{{Fingerprint: "f"}}},
		{Campaign: "same", Status: diff.StatusKept},
		{Campaign: "new", Status: diff.StatusAdded, Added: []matrix.Config{{Fingerprint: "g"}}},
	}
	if got := Changed(reports, false); !cmp.Equal(got, []string{"gone", "new"}) {
		t.Errorf("Changed(all) = %v", got)
	}
	if got := Changed(reports, true); !cmp.Equal(got, []string{"new"}) {
		t.Errorf("Changed(planned) = %v", got)
	}
	plan := &sim.Plan{Campaign: "new", Totals: sim.Totals{Configs: 1, GPUHours: 1.5, SpotUSD: 3, OnDemandUSD: 9.25}}
	out := write(t, Input{Base: "origin/main", Diffs: reports, Plans: []*sim.Plan{plan}})
	for _, want := range []string{
		"2 of 3 campaigns change against `origin/main`.",
		"| gone | 0 | 1 | 0 | 0 | – | – | – | – | campaign removed |",
		"| new | 1 | 0 | 0 | 0 | 1 | 1.50 | 3.00 | 9.25 | none set |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("comment lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "| same |") {
		t.Errorf("an unchanged campaign has a row:\n%s", out)
	}
}

// TestFence: a long block is cut at a line with a note, and a manifest
// holding backticks cannot close its block early.
func TestFence(t *testing.T) {
	var b strings.Builder
	fence(&b, "diff", strings.Repeat("+0123456789\n", 2000))
	out := b.String()
	if len(out) > blockLimit+200 || !strings.Contains(out, "more bytes: see the job's log") {
		t.Errorf("a %d-byte block was not cut (%d bytes out)", 24000, len(out))
	}
	b.Reset()
	fence(&b, "text", "a ``` b ```` c\n")
	if got, want := b.String(), "`````text\na ``` b ```` c\n`````\n\n"; got != want {
		t.Errorf("fence = %q, want %q", got, want)
	}
}

// TestVerdict: a failed step wins over everything; diff's and plan's exit
// code 1 (changes, over budget) are not failures.
func TestVerdict(t *testing.T) {
	over := &sim.Plan{Campaign: "c", Budget: &sim.Budget{MaxUSD: 1, Over: []string{"$2.00 at spot prices, over max_usd 1"}}}
	diffs := []diff.Report{{Campaign: "c", Status: diff.StatusKept, Added: []matrix.Config{{Fingerprint: "f"}}}}
	for _, c := range []struct {
		name    string
		in      Input
		verdict string
	}{
		{"clean", Input{Steps: []Step{{Name: "vet"}, {Name: "diff", Code: 1}}, Diffs: diffs}, "passed"},
		{"vet", Input{Steps: []Step{{Name: "vet", Code: 1, Output: "x: field not allowed"}}}, "failed"},
		{"diff error", Input{Steps: []Step{{Name: "diff", Code: 2}}}, "failed"},
		{"over", Input{Steps: []Step{{Name: "plan", Code: 1}}, Diffs: diffs, Plans: []*sim.Plan{over}}, "over budget"},
		{"allowed", Input{Steps: []Step{{Name: "plan", Code: 1}}, Diffs: diffs, Plans: []*sim.Plan{over}, BudgetAllowed: true}, "over budget, allowed by label"},
	} {
		out := write(t, c.in)
		if !strings.HasPrefix(out, Marker+"\n### llmsweep: "+c.verdict+"\n") {
			t.Errorf("%s: the comment starts\n%s", c.name, out[:min(len(out), 120)])
		}
	}
	out := write(t, Input{Steps: []Step{{Name: "vet", Code: 1, Output: "x: field not allowed"}}})
	if !strings.Contains(out, "**vet** (exit 1):\n\n```text\nx: field not allowed\n```") {
		t.Errorf("a failed step's output is not shown:\n%s", out)
	}
}

// TestLongComment: when many campaigns change, the manifest diffs are left
// out, so that GitHub takes the comment; the semantic diffs stay.
func TestLongComment(t *testing.T) {
	var diffs []diff.Report
	for i := range 10 {
		diffs = append(diffs, diff.Report{
			Campaign:  fmt.Sprintf("c%d", i),
			Status:    diff.StatusKept,
			Added:     []matrix.Config{{Fingerprint: "f", Model: "m"}},
			Manifests: []diff.FileDiff{{Name: "workflow.yaml", Unified: strings.Repeat("+x\n", 5000)}},
		})
	}
	out := write(t, Input{Diffs: diffs, LiveRan: true, Live: "no changes\n"})
	if len(out) > commentLimit {
		t.Errorf("the comment is %d bytes, over %d", len(out), commentLimit)
	}
	for _, want := range []string{"c9: semantic diff (1 added, 1 manifest changed)", "c9: 1 manifest changed; its diff is left out", "<summary>diff --live: against the cluster</summary>"} {
		if !strings.Contains(out, want) {
			t.Errorf("the comment lacks %q", want)
		}
	}
	if strings.Contains(out, "manifest diff (") {
		t.Error("a manifest diff is still there")
	}
}
