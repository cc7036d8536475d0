package diff

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/llmsweep/llmsweep/internal/matrix"
)

// Summary says in one line what differs, as
// "nightly: 12 added, 3 removed, 5 changed, 40 moved between batches, 2 manifests changed"
// (naming only the kinds that occur), or "nightly: no changes".
func (r *Report) Summary() string {
	var parts []string
	count := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	count(len(r.Added), "added")
	count(len(r.Removed), "removed")
	count(len(r.Changed), "changed")
	count(len(r.Moved), "moved between batches")
	if len(r.Manifests) == 1 {
		count(1, "manifest changed")
	} else {
		count(len(r.Manifests), "manifests changed")
	}
	if len(parts) == 0 {
		return r.Campaign + ": no changes"
	}
	return r.Campaign + ": " + strings.Join(parts, ", ")
}

// WriteText writes the report for a reader: a section per kind of difference,
// each config named by its benchmark point, at most max entries a section (all
// of them if max <= 0), then the manifest diffs, then the Summary line.
func (r *Report) WriteText(w io.Writer, max int) error {
	bw := bufio.NewWriter(w)
	section := func(title string, n int, entry func(i int)) {
		if n == 0 {
			return
		}
		fmt.Fprintf(bw, "%s (%d):\n", title, n)
		shown := n
		if max > 0 && max < n {
			shown = max
		}
		for i := range shown {
			entry(i)
		}
		if shown < n {
			fmt.Fprintf(bw, "  … and %d more\n", n-shown)
		}
		bw.WriteByte('\n')
	}
	section("Added", len(r.Added), func(i int) {
		fmt.Fprintf(bw, "  + %s\n", Describe(&r.Added[i]))
	})
	section("Removed", len(r.Removed), func(i int) {
		fmt.Fprintf(bw, "  - %s\n", Describe(&r.Removed[i]))
	})
	section("Changed", len(r.Changed), func(i int) {
		c := &r.Changed[i]
		fmt.Fprintf(bw, "  ~ %s\n", Describe(&c.Old))
		for _, f := range c.Fields {
			fmt.Fprintf(bw, "      %s: %s → %s\n", f.Name, value(f.Old), value(f.New))
		}
	})
	section("Moved between batches", len(r.Moved), func(i int) {
		m := &r.Moved[i]
		fmt.Fprintf(bw, "  > %s: %s → %s\n", Describe(&m.Config), m.OldBatch, m.NewBatch)
	})
	section("Manifests changed", len(r.Manifests), func(i int) {
		f := &r.Manifests[i]
		// A whole new or removed file is in the pull request already; its
		// diff would bury the rest.
		switch added, removed, lines := wholeFile(f.Unified); {
		case added:
			fmt.Fprintf(bw, "  %s: new file, %d lines\n", f.Name, lines)
		case removed:
			fmt.Fprintf(bw, "  %s: removed, %d lines\n", f.Name, lines)
		default:
			bw.WriteString(f.Unified)
			if !strings.HasSuffix(f.Unified, "\n") {
				bw.WriteByte('\n')
			}
		}
	})
	fmt.Fprintln(bw, r.Summary())
	return bw.Flush()
}

// wholeFile reports whether a unified diff adds or removes a whole file, and
// how many lines that file has.
func wholeFile(unified string) (added, removed bool, lines int) {
	_, hunk, ok := strings.Cut(unified, "\n@@ ")
	if !ok {
		return false, false, 0
	}
	hunk, _, _ = strings.Cut(hunk, " @@")
	o, n, _ := strings.Cut(hunk, " ")
	size := func(r string) int {
		_, s, ok := strings.Cut(r, ",")
		if !ok {
			return 1
		}
		v, _ := strconv.Atoi(s)
		return v
	}
	switch {
	case o == "-0,0":
		return true, false, size(n)
	case n == "+0,0":
		return false, true, size(o)
	}
	return false, false, 0
}

func value(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Describe names the benchmark point of c, as
// "llama-3.1-8b-instruct on h100-sxm-x1, vllm 0.11.2, bf16, chat, concurrency 16".
func Describe(c *matrix.Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s on %s, %s %s, %s, %s", c.Model, c.Hardware, c.Framework, c.Version, c.Quantization, c.Workload)
	if c.Concurrency != 0 {
		fmt.Fprintf(&b, ", concurrency %d", c.Concurrency)
	}
	if c.RequestRate != 0 {
		fmt.Fprintf(&b, ", %s requests/s", strconv.FormatFloat(c.RequestRate, 'f', -1, 64))
	}
	if c.InputTokens != 0 || c.OutputTokens != 0 {
		fmt.Fprintf(&b, ", %d input / %d output tokens", c.InputTokens, c.OutputTokens)
	}
	return b.String()
}

// MarshalJSON writes the report with its Summary line, and empty sections as
// [] rather than null: the `--output json` form.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report // without this method
	p := plain(r)
	p.Added = orEmpty(p.Added)
	p.Removed = orEmpty(p.Removed)
	p.Changed = orEmpty(p.Changed)
	p.Moved = orEmpty(p.Moved)
	p.Manifests = orEmpty(p.Manifests)
	return json.Marshal(struct {
		plain
		Summary string `json:"summary"`
	}{p, r.Summary()})
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
