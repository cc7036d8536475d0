package report

import (
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/telemetry"
)

//go:embed report.html.tmpl
var templates embed.FS

var page = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"num": func(v any) string {
		switch v := v.(type) {
		case metrics.Value:
			return v.Num()
		case float64:
			return metrics.Num(v)
		}
		return fmt.Sprint(v)
	},
	"util": (*telemetry.Summary).String,
	"mark": mark,
	"pct":  func(v float64) string { return fmt.Sprintf("%+.1f%%", 100*v) },
	"usd":  func(v float64) string { return fmt.Sprintf("$%.2f", v) },
	"hrs":  func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"keys": func(m map[string]float64) []string { return slices.Sorted(maps.Keys(m)) },
	"byCount": func(m map[string]int) []string {
		ks := slices.Sorted(maps.Keys(m))
		slices.SortStableFunc(ks, func(a, b string) int { return cmp.Compare(m[b], m[a]) })
		return ks
	},
	"more":   func(total, shown int) int { return max(0, total-shown) },
	"title":  title,
	"mul100": func(v float64) float64 { return 100 * v },
}).ParseFS(templates, "report.html.tmpl"))

// view is what the HTML template and the PDF draw: the report cut to the top
// entries of each long section.
type view struct {
	*Report
	Top         int
	Configs     []Config // the fastest configs by output throughput
	Front       []Point
	Regressions []regressionRow
	Failures    []FailureInfo
	Figures     []figure
	SVG         map[string]template.HTML
}

type regressionRow struct {
	Config, Metric string
	A, B, Change   float64
	P              string
}

func newView(r *Report, top int) (*view, error) {
	v := &view{Report: r, Top: top}
	byTPS := slices.Clone(r.Configs)
	slices.SortStableFunc(byTPS, func(a, b Config) int {
		return cmp.Compare(b.OutputThroughput.Or(-1), a.OutputThroughput.Or(-1))
	})
	v.Configs = byTPS[:min(len(byTPS), 5*top)]
	v.Front = r.Pareto.Front[:min(len(r.Pareto.Front), 2*top)]
	for _, d := range r.Regressions.Found[:min(len(r.Regressions.Found), 2*top)] {
		p := "-"
		if d.Tested {
			p = fmt.Sprintf("%.3g", d.P)
		}
		v.Regressions = append(v.Regressions, regressionRow{Config: d.What, Metric: d.Metric, A: d.A, B: d.B, Change: d.Change, P: p})
	}
	v.Failures = r.Failures[:min(len(r.Failures), 2*top)]
	var err error
	v.Figures, err = r.figures(top)
	return v, err
}

// WriteHTML writes the report as one self-contained HTML page: inline CSS and
// inline SVG plots, no scripts and nothing fetched.
func WriteHTML(w io.Writer, r *Report, top int) error {
	v, err := newView(r, top)
	if err != nil {
		return err
	}
	v.SVG = map[string]template.HTML{}
	for _, f := range v.Figures {
		s, err := f.svg()
		if err != nil {
			return fmt.Errorf("report: %s: %w", f.ID, err)
		}
		v.SVG[f.ID] = template.HTML(s) // gonum's own SVG, with every label escaped by its svg writer
	}
	return page.Execute(w, v)
}

// sectionTitles are the report's sections, in order, as HTML and PDF title them.
var sectionTitles = []string{
	"Campaign summary",
	"Top recommendations by policy",
	"Pareto front",
	"Latency against throughput",
	"TTFT and TPOT percentiles",
	"Regressions against the prior run",
	"Failures",
}

func title(i int) string { return fmt.Sprintf("%d. %s", i+1, sectionTitles[i]) }

func joinNonEmpty(sep string, s ...string) string {
	var out []string
	for _, x := range s {
		if x != "" {
			out = append(out, x)
		}
	}
	return strings.Join(out, sep)
}

// mark is how pages tag a result that was not measured by llmsweep itself:
// "predicted" or "imported"; measured results carry none.
func mark(k result.Kind) string {
	if k == result.Measured {
		return ""
	}
	return string(k)
}
