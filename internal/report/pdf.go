package report

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"

	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/result"

	"github.com/go-pdf/fpdf"
)

// WritePDF writes the report as a PDF in pure Go (no browser): the sections of
// the HTML report, with the plots as PNG images.
func WritePDF(w io.Writer, r *Report, top int) error {
	v, err := newView(r, top)
	if err != nil {
		return err
	}
	pdf := fpdf.New("L", "mm", "A4", "")
	pdf.SetCreationDate(r.Run.Started)
	pdf.SetModificationDate(r.Run.Started)
	pdf.SetTitle("llmsweep report: "+r.Campaign+" "+r.Run.ID, true)
	pdf.SetCreator("llmsweep", true)
	pdf.SetMargins(12, 12, 12)
	pdf.SetAutoPageBreak(true, 14)
	pdf.AliasNbPages("")
	tr := pdf.UnicodeTranslatorFromDescriptor("") // cp1252, the core fonts' encoding
	pdf.SetFooterFunc(func() {
		pdf.SetY(-10)
		pdf.SetFont("Helvetica", "I", 8)
		pdf.CellFormat(0, 5, tr(fmt.Sprintf("llmsweep report %s %s, page %d of {nb}", r.Campaign, r.Run.ID, pdf.PageNo())), "", 0, "C", false, 0, "")
	})
	d := &doc{pdf: pdf, tr: tr}
	pdf.AddPage()

	pdf.SetFont("Helvetica", "B", 18)
	pdf.CellFormat(0, 10, tr("llmsweep report: "+r.Campaign), "", 1, "L", false, 0, "")
	finished := "unfinished"
	if !r.Run.Finished.IsZero() {
		finished = "finished " + r.Run.Finished.UTC().Format("2006-01-02 15:04:05 MST")
	}
	d.para(fmt.Sprintf("Run %s, matrix %s, started %s, %s. Schema %s.", r.Run.ID, r.Run.MatrixHash,
		r.Run.Started.UTC().Format("2006-01-02 15:04:05 MST"), finished, r.Schema))
	if r.Summary.Predicted > 0 {
		pdf.SetFillColor(253, 230, 138)
		pdf.SetTextColor(124, 45, 18)
		pdf.SetFont("Helvetica", "B", 12)
		pdf.MultiCell(0, 7, tr(fmt.Sprintf("PREDICTED, NOT MEASURED: %d of %d results come from the emulated engine (sim). Their rows are marked [predicted].",
			r.Summary.Predicted, r.Summary.Run)), "1", "L", true)
		pdf.SetTextColor(0, 0, 0)
		pdf.Ln(2)
	}

	d.section(0)
	rows := [][]string{
		{"configs planned", strconv.Itoa(r.Summary.Planned)},
		{"run", strconv.Itoa(r.Summary.Run)},
		{"not run (skipped or pending)", strconv.Itoa(r.Summary.NotRun)},
		{"failed", strconv.Itoa(r.Summary.Failed)},
	}
	for _, k := range slices.Sorted(maps.Keys(r.Summary.Pruned)) {
		rows = append(rows, []string{"pruned by the compiler: " + k, strconv.Itoa(r.Summary.Pruned[k])})
	}
	rows = append(rows,
		[]string{"wall time", fmt.Sprintf("%.0f s", r.Run.WallS)},
		[]string{"GPU-hours", fmt.Sprintf("%.2f", r.Summary.GPUHours)},
		[]string{"cost at spot prices", fmt.Sprintf("$%.2f", r.Summary.CostSpotUSD)},
		[]string{"cost at on-demand prices", fmt.Sprintf("$%.2f", r.Summary.CostOnDemandUSD)})
	d.table([]string{"", ""}, []float64{80, 40}, rows)
	for _, n := range r.Notes {
		d.para(n)
	}

	d.section(1)
	if len(r.Policies) == 0 {
		d.para("No policies were loaded.")
	}
	for _, p := range r.Policies {
		pdf.SetFont("Helvetica", "B", 11)
		pdf.CellFormat(0, 7, tr(p.Name+" ("+p.Method+")"), "", 1, "L", false, 0, "")
		d.para(fmt.Sprintf("%s %d configs considered.", p.Description, p.Considered))
		if p.Error != "" {
			d.para("Not ranked: " + p.Error)
		}
		for _, x := range p.Dropped {
			d.para("Left out: " + x + ".")
		}
		for _, x := range p.WithinNoise {
			d.para("Within noise: " + x + ".")
		}
		var rows [][]string
		for i, x := range p.Top {
			if i >= top {
				break
			}
			rows = append(rows, []string{strconv.Itoa(x.Rank), fmt.Sprintf("%.4f", x.Score), tag(x.Config, x.Provenance), x.Explanation})
		}
		if len(rows) > 0 {
			d.table([]string{"rank", "score", "config", "why"}, []float64{12, 18, 100, 143}, rows)
		}
		if len(p.Removed) > 0 {
			s := "Removed before ranking:"
			for _, k := range slices.Sorted(maps.Keys(p.Removed)) {
				s += fmt.Sprintf(" %d x %s;", p.Removed[k], k)
			}
			d.para(s)
		}
	}

	d.section(2)
	d.para(fmt.Sprintf("Non-dominated configs over %v (latency and cost minimized, throughput maximized): %d configs.", r.Pareto.Objectives, len(r.Pareto.Front)))
	figs := v.Figures
	if len(figs) > 0 && figs[0].ID == "fig-pareto" {
		if err := d.figure(figs[0]); err != nil {
			return err
		}
		figs = figs[1:]
	}
	if len(v.Front) > 0 {
		rows = nil
		for _, pt := range v.Front {
			row := []string{tag(pt.Config, pt.Provenance)}
			for _, o := range r.Pareto.Objectives {
				row = append(row, metrics.Num(pt.Values[o]))
			}
			rows = append(rows, row)
		}
		d.table(append([]string{"config"}, r.Pareto.Objectives...), append([]float64{110}, repeat(55, len(r.Pareto.Objectives))...), rows)
	}
	d.more(len(r.Pareto.Front)-len(v.Front), "more on the front")

	d.section(3)
	d.para("One line per framework and quantization over its load points.")
	for _, f := range figs {
		if err := d.figure(f); err != nil {
			return err
		}
	}
	d.more(len(r.Curves)-top, "more model and hardware pairs")

	d.section(4)
	rows = nil
	for _, c := range v.Configs {
		rows = append(rows, []string{tag(c.Config, c.Provenance.Kind), c.TTFT.P50.Num(), c.TTFT.P90.Num(), c.TTFT.P99.Num(),
			c.TPOT.P50.Num(), c.TPOT.P90.Num(), c.TPOT.P99.Num(), c.OutputThroughput.Num(), c.Utilization.String()})
	}
	d.table([]string{"config", "TTFT P50", "TTFT P90", "TTFT P99", "TPOT P50", "TPOT P90", "TPOT P99", "out tok/s", "utilization"},
		[]float64{92, 18, 18, 18, 18, 18, 18, 20, 53}, rows)
	d.para(fmt.Sprintf("Milliseconds; the %d configs with the highest output throughput; \"–\" where a metric was not measured. Utilization is the mean (and P95) over the measurement, peak memory and mean power on GPUs, or the server process's CPU and peak RSS.", len(v.Configs)))
	d.more(len(r.Configs)-len(v.Configs), "more configs")

	d.section(5)
	if reg := r.Regressions; reg.PriorRun == "" {
		d.para("No prior run of this campaign to compare with.")
	} else {
		d.para(fmt.Sprintf("Against run %s: %d configs in both runs; a metric regresses when it worsens by more than %.0f%%. %d found.",
			reg.PriorRun, reg.Shared, 100*reg.Threshold, len(reg.Found)))
		rows = nil
		for _, x := range v.Regressions {
			rows = append(rows, []string{x.Config, x.Metric, metrics.Num(x.A), metrics.Num(x.B), fmt.Sprintf("%+.1f%%", 100*x.Change), x.P})
		}
		if len(rows) > 0 {
			d.table([]string{"config", "metric", "before", "now", "change", "p"}, []float64{130, 40, 25, 25, 25, 28}, rows)
		}
		d.more(len(reg.Found)-len(v.Regressions), "more regressions")
	}

	d.section(6)
	if len(r.Failures) == 0 {
		d.para("No config failed.")
	} else {
		rows = nil
		for _, f := range v.Failures {
			rows = append(rows, []string{f.Config, strconv.Itoa(f.Attempts), f.Reason})
		}
		d.table([]string{"config", "attempts", "reason"}, []float64{120, 18, 135}, rows)
		d.more(len(r.Failures)-len(v.Failures), "more failures")
	}
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("report: pdf: %w", err)
	}
	return pdf.Output(w)
}

type doc struct {
	pdf  *fpdf.Fpdf
	tr   func(string) string
	imgs int
}

func (d *doc) section(i int) {
	d.pdf.Ln(3)
	d.pdf.SetFont("Helvetica", "B", 14)
	d.pdf.CellFormat(0, 9, d.tr(title(i)), "B", 1, "L", false, 0, "")
	d.pdf.Ln(2)
}

func (d *doc) para(s string) {
	d.pdf.SetFont("Helvetica", "", 9)
	d.pdf.MultiCell(0, 4.5, d.tr(s), "", "L", false)
	d.pdf.Ln(1)
}

func (d *doc) more(n int, what string) {
	if n > 0 {
		d.para(fmt.Sprintf("%d %s in the JSON report.", n, what))
	}
}

// table draws rows with one line per cell, cutting text that does not fit.
func (d *doc) table(head []string, widths []float64, rows [][]string) {
	p := d.pdf
	const h = 5
	if head[0] != "" {
		p.SetFont("Helvetica", "B", 8)
		p.SetFillColor(238, 238, 255)
		for i, s := range head {
			p.CellFormat(widths[i], h, d.fit(s, widths[i]), "1", 0, "L", true, 0, "")
		}
		p.Ln(-1)
	}
	p.SetFont("Helvetica", "", 8)
	for _, row := range rows {
		for i, s := range row {
			p.CellFormat(widths[i], h, d.fit(s, widths[i]), "1", 0, "L", false, 0, "")
		}
		p.Ln(-1)
	}
	p.Ln(2)
}

// fit encodes s for the core fonts and cuts it, marked with "~", to fit w mm
// in the current font.
func (d *doc) fit(s string, w float64) string {
	s = d.tr(s)
	for len(s) > 1 && d.pdf.GetStringWidth(s) > w-2 {
		s = s[:len(s)-2] + "~"
	}
	return s
}

// figure draws a plot as a PNG, 125 mm wide (two to a page), with its caption under it.
func (d *doc) figure(f figure) error {
	b, err := f.png()
	if err != nil {
		return fmt.Errorf("report: %s: %w", f.ID, err)
	}
	d.imgs++
	name := fmt.Sprintf("%s-%d", f.ID, d.imgs)
	opt := fpdf.ImageOptions{ImageType: "PNG", ReadDpi: false}
	d.pdf.RegisterImageOptionsReader(name, opt, bytes.NewReader(b))
	const w = 125.0
	h := w * figH.Points() / figW.Points()
	_, pageH := d.pdf.GetPageSize()
	if d.pdf.GetY()+h+10 > pageH-14 {
		d.pdf.AddPage()
	}
	left, _, _, _ := d.pdf.GetMargins()
	d.pdf.ImageOptions(name, left, d.pdf.GetY(), w, h, true, opt, 0, "")
	d.pdf.SetFont("Helvetica", "I", 9)
	d.pdf.MultiCell(0, 4.5, d.tr(f.Caption), "", "L", false)
	d.pdf.Ln(2)
	return nil
}

func tag(s string, k result.Kind) string {
	if m := mark(k); m != "" {
		return "[" + m + "] " + s
	}
	return s
}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}
