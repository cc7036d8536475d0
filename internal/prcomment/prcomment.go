// Package prcomment writes the body of the comment that CI posts on a pull
// request (GitHub) or merge request (GitLab): the outcome of each step, a
// summary table per campaign (configs added, removed and changed, GPU-hours and
// dollars at spot and on-demand prices, budget), the semantic diff and the
// manifest diff, folded. It reads what `llmsweep diff -o json` and
// `llmsweep plan -o json` print, so that the comment shows nothing those
// outputs do not carry.
package prcomment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/llmsweep/llmsweep/internal/diff"
	"github.com/llmsweep/llmsweep/internal/sim"
)

// Marker is the hidden line that the posting scripts look for to update the
// comment in place instead of adding another.
const Marker = "<!-- llmsweep:ci -->"

// blockLimit caps each folded block: GitHub refuses comments over 65,536
// characters, and a catalog-wide manifest diff is far longer.
const blockLimit = 12000

// commentLimit is where Write leaves the manifest diffs out, to stay under
// GitHub's 65,536 characters when many campaigns change.
const commentLimit = 60000

// Step is one CI step and how it ended.
type Step struct {
	Name string
	// Code is the exit code; Skipped marks a step that did not run.
	Code    int
	Skipped bool
	// Output is what the step printed on failure, shown unfolded.
	Output string
}

// Input is everything the comment shows.
type Input struct {
	Marker string // Marker when empty
	Base   string // the revision the diff compares with, as the reader knows it
	Steps  []Step
	Diffs  []diff.Report
	Plans  []*sim.Plan
	// Live is the output of `diff --live`, when it ran.
	Live    string
	LiveRan bool
	// BudgetAllowed says that a label lets an over-budget plan through.
	BudgetAllowed bool
}

// ReadDiff decodes the output of `llmsweep diff -o json`.
func ReadDiff(path string) ([]diff.Report, error) {
	// The file adds each report's summary line, which Summary() derives.
	var raw []struct {
		diff.Report
		Summary string `json:"summary"`
	}
	if err := decodeFile(path, &raw); err != nil {
		return nil, err
	}
	out := make([]diff.Report, len(raw))
	for i, r := range raw {
		out[i] = r.Report
	}
	return out, nil
}

// ReadPlan decodes the output of `llmsweep plan -o json`.
func ReadPlan(path string) ([]*sim.Plan, error) {
	var plans []*sim.Plan
	if err := decodeFile(path, &plans); err != nil {
		return nil, err
	}
	return plans, nil
}

func decodeFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Changed returns the names of the campaigns whose report is not empty, in
// the reports' order; with planned, only those that still exist, which plan
// can predict.
func Changed(reports []diff.Report, planned bool) []string {
	var names []string
	for i := range reports {
		if !reports[i].Empty() && !(planned && reports[i].Status == diff.StatusRemoved) {
			names = append(names, reports[i].Campaign)
		}
	}
	return names
}

// Failed reports whether a step failed: it ran and exited other than 0, or
// other than 0 and 1 for the steps whose 1 means "found changes" or "over
// budget" (diff, plan, live), which Write shows but does not call failures.
func (s Step) Failed() bool {
	if s.Skipped {
		return false
	}
	switch s.Name {
	case "diff", "plan", "live":
		return s.Code >= 2
	}
	return s.Code != 0
}

// Write writes the comment body in GitHub-flavoured Markdown, which GitLab
// renders the same way.
func Write(w io.Writer, in Input) error {
	body, err := render(in, true)
	if err == nil && len(body) > commentLimit {
		body, err = render(in, false)
	}
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, body)
	return err
}

// render builds the comment, with the manifest diffs or, when they would make
// it too long, a line that says where they are.
func render(in Input, manifests bool) (string, error) {
	var b strings.Builder
	marker := in.Marker
	if marker == "" {
		marker = Marker
	}
	b.WriteString(marker + "\n")
	changed := Changed(in.Diffs, false)
	over := overBudget(in.Plans)
	failed := false
	for _, s := range in.Steps {
		failed = failed || s.Failed()
	}
	verdict := "passed"
	switch {
	case failed:
		verdict = "failed"
	case len(over) > 0 && !in.BudgetAllowed:
		verdict = "over budget"
	case len(over) > 0:
		verdict = "over budget, allowed by label"
	}
	fmt.Fprintf(&b, "### llmsweep: %s\n\n", verdict)
	switch {
	case in.Diffs == nil:
		b.WriteString("No diff: an earlier step failed.\n\n")
	case len(changed) == 0:
		fmt.Fprintf(&b, "No campaign changes against %s (%d compared).\n\n", code(in.Base), len(in.Diffs))
	default:
		fmt.Fprintf(&b, "%d of %d campaigns change against %s.\n\n", len(changed), len(in.Diffs), code(in.Base))
	}

	if len(in.Steps) > 0 {
		b.WriteString("| step | result |\n|---|---|\n")
		for _, s := range in.Steps {
			fmt.Fprintf(&b, "| %s | %s |\n", s.Name, outcome(s))
		}
		b.WriteString("\n")
		for _, s := range in.Steps {
			if s.Failed() && strings.TrimSpace(s.Output) != "" {
				fmt.Fprintf(&b, "**%s** (exit %d):\n\n", s.Name, s.Code)
				fence(&b, "text", s.Output)
			}
		}
	}

	if len(changed) > 0 {
		writeTable(&b, in)
	}
	for i := range in.Diffs {
		r := &in.Diffs[i]
		if r.Empty() {
			continue
		}
		semantic := *r
		semantic.Manifests = nil
		var t bytes.Buffer
		if err := semantic.WriteText(&t, 50); err != nil {
			return "", err
		}
		fold(&b, fmt.Sprintf("%s: semantic diff (%s)", r.Campaign, strings.TrimPrefix(r.Summary(), r.Campaign+": ")), "text", t.String())
		if len(r.Manifests) > 0 && !manifests {
			what := fmt.Sprintf("%d manifests changed; their diffs are", len(r.Manifests))
			if len(r.Manifests) == 1 {
				what = "1 manifest changed; its diff is"
			}
			fmt.Fprintf(&b, "%s: %s left out of this comment for length: see the job's log or `llmsweep diff`.\n\n", r.Campaign, what)
		}
		if len(r.Manifests) > 0 && manifests {
			var m strings.Builder
			names := make([]string, len(r.Manifests))
			for j, f := range r.Manifests {
				names[j] = f.Name
				m.WriteString(f.Unified)
				if !strings.HasSuffix(f.Unified, "\n") {
					m.WriteString("\n")
				}
			}
			fold(&b, fmt.Sprintf("%s: manifest diff (%s)", r.Campaign, strings.Join(names, ", ")), "diff", m.String())
		}
	}
	if in.LiveRan {
		fold(&b, "diff --live: against the cluster", "diff", in.Live)
	}
	return b.String(), nil
}

func outcome(s Step) string {
	switch {
	case s.Skipped:
		return "skipped"
	case s.Failed():
		return fmt.Sprintf("**failed** (exit %d)", s.Code)
	case s.Name == "diff" && s.Code == 1, s.Name == "live" && s.Code == 1:
		return "changes"
	case s.Name == "diff", s.Name == "live":
		return "no changes"
	case s.Name == "plan" && s.Code == 1:
		return "over budget"
	}
	return "ok"
}

// writeTable writes one row per changed campaign: the diff's counts and the
// plan's totals and budget.
func writeTable(b *strings.Builder, in Input) {
	plans := map[string]*sim.Plan{}
	for _, p := range in.Plans {
		plans[p.Campaign] = p
	}
	b.WriteString("| campaign | added | removed | changed | moved | configs | GPU-hours | spot $ | on-demand $ | budget |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	for i := range in.Diffs {
		r := &in.Diffs[i]
		if r.Empty() {
			continue
		}
		fmt.Fprintf(b, "| %s | %d | %d | %d | %d |", r.Campaign, len(r.Added), len(r.Removed), len(r.Changed), len(r.Moved))
		p, ok := plans[r.Campaign]
		if r.Status == diff.StatusRemoved {
			b.WriteString(" – | – | – | – | campaign removed |\n")
			continue
		}
		if !ok {
			// A removed campaign has no plan; neither has one whose plan failed.
			b.WriteString(" – | – | – | – | no plan |\n")
			continue
		}
		t := p.Totals
		fmt.Fprintf(b, " %d | %s | %s | %s | %s |\n", t.Configs, num(t.GPUHours), num(t.SpotUSD), num(t.OnDemandUSD), budget(p, in.BudgetAllowed))
	}
	b.WriteString("\n")
}

func budget(p *sim.Plan, allowed bool) string {
	if p.Budget == nil {
		return "none set"
	}
	var limits []string
	if p.Budget.MaxGPUHours > 0 {
		limits = append(limits, num(p.Budget.MaxGPUHours)+" GPU-h")
	}
	if p.Budget.MaxUSD > 0 {
		limits = append(limits, "$"+num(p.Budget.MaxUSD))
	}
	lim := strings.Join(limits, ", ")
	if !p.OverBudget() {
		return "within " + lim
	}
	s := "**over** " + lim + ": " + strings.Join(p.Budget.Over, "; ")
	if allowed {
		s += " (allowed by label)"
	}
	return s
}

func overBudget(plans []*sim.Plan) []string {
	var over []string
	for _, p := range plans {
		if p.OverBudget() {
			over = append(over, p.Campaign)
		}
	}
	return over
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func code(s string) string {
	if s == "" {
		return "the base"
	}
	return "`" + s + "`"
}

func fold(b *strings.Builder, summary, lang, body string) {
	fmt.Fprintf(b, "<details><summary>%s</summary>\n\n", summary)
	fence(b, lang, body)
	b.WriteString("</details>\n\n")
}

// fence writes body as a code block, cut at blockLimit, with a fence longer
// than any backtick run in it so that a manifest cannot end the block early.
func fence(b *strings.Builder, lang, body string) {
	cut := ""
	if len(body) > blockLimit {
		end := strings.LastIndexByte(body[:blockLimit], '\n')
		if end < 0 {
			end = blockLimit
		}
		cut = fmt.Sprintf("… %d more bytes: see the job's log\n", len(body)-end)
		body = body[:end+1]
	}
	ticks := "```"
	for strings.Contains(body, ticks) {
		ticks += "`"
	}
	b.WriteString(ticks + lang + "\n" + body)
	if !strings.HasSuffix(body, "\n") {
		b.WriteString("\n")
	}
	b.WriteString(ticks + "\n" + cut + "\n")
}
