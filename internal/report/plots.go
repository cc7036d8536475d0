package report

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// figure is a plot with its caption; HTML draws it as SVG, the PDF as PNG.
type figure struct {
	ID      string
	Caption string
	plot    *plot.Plot
}

const figW, figH = 6 * vg.Inch, 3.6 * vg.Inch

// maxSeries caps the lines of a latency plot: past eight, colours repeat and
// the legend hides the plot. The lines kept are those reaching the highest
// throughput; the JSON has them all.
const maxSeries = 8

// maxScatter caps the background points of the Pareto plot, so that a
// 9,000-config report stays small; the front is always drawn whole.
const maxScatter = 1500

// figures builds the report's plots: the Pareto front, then latency against
// throughput for the first top (model, hardware) pairs.
func (r *Report) figures(top int) ([]figure, error) {
	var figs []figure
	if len(r.Configs) > 0 {
		p, err := r.paretoPlot()
		if err != nil {
			return nil, err
		}
		figs = append(figs, figure{ID: "fig-pareto", Caption: fmt.Sprintf("Figure %d: TTFT P99 against output throughput, every config (grey) and the Pareto front (red)", len(figs)+1), plot: p})
	}
	for i, c := range r.Curves {
		if i >= top {
			break
		}
		for _, m := range []struct{ name, label string }{{"ttft", "TTFT P99 (ms)"}, {"tpot", "TPOT P50 (ms)"}} {
			p, err := curvePlot(c, m.name, m.label)
			if err != nil {
				return nil, err
			}
			figs = append(figs, figure{ID: fmt.Sprintf("fig-%d-%s", i, m.name),
				Caption: fmt.Sprintf("Figure %d: %s against output throughput, %s on %s", len(figs)+1, m.label, c.Model, c.Hardware), plot: p})
		}
	}
	return figs, nil
}

func curvePlot(c Curve, metric, ylabel string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = c.Model + " on " + c.Hardware
	p.X.Label.Text = "output throughput (tok/s)"
	p.Y.Label.Text = ylabel
	p.Legend.Top, p.Legend.Left = true, true
	series := c.Series
	if len(series) > maxSeries {
		series = slices.Clone(series)
		peak := func(s Series) float64 {
			m := 0.0
			for _, p := range s.Points {
				m = max(m, p.OutputThroughput.Or(0))
			}
			return m
		}
		slices.SortStableFunc(series, func(a, b Series) int { return cmp.Compare(peak(b), peak(a)) })
		series = series[:maxSeries]
		p.Title.Text += fmt.Sprintf(" (the %d of %d lines reaching the highest throughput)", maxSeries, len(c.Series))
	}
	for i, s := range series {
		var xys plotter.XYs
		for _, pt := range s.Points {
			y := pt.TTFTP99
			if metric == "tpot" {
				y = pt.TPOTP50
			}
			// A point lacking either coordinate was not measured: not drawn.
			if x, ok := pt.OutputThroughput.Get(); ok && y.OK() {
				xys = append(xys, plotter.XY{X: x, Y: y.Or(0)})
			}
		}
		if len(xys) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("plot %s/%s %s: %w", c.Model, c.Hardware, s.Label, err)
		}
		l.Color, l.Width, l.Dashes = plotutil.Color(i), vg.Points(1.6), plotutil.Dashes(i)
		pts.Color, pts.Shape = plotutil.Color(i), plotutil.Shape(i)
		p.Add(l, pts)
		label := s.Label
		if s.Predicted {
			label += " (predicted)"
		}
		p.Legend.Add(label, l, pts)
	}
	// Headroom above the data for the legend, which sits in the top left.
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	p.Y.Max += (p.Y.Max - p.Y.Min) * 0.08 * float64(len(series))
	return p, nil
}

func (r *Report) paretoPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Pareto front: latency against throughput"
	p.X.Label.Text = "output throughput (tok/s)"
	p.Y.Label.Text = "TTFT P99 (ms)"
	p.Legend.Top, p.Legend.Left = true, true
	stride := max(1, len(r.Configs)/maxScatter)
	var all plotter.XYs
	for i := 0; i < len(r.Configs); i += stride {
		c := r.Configs[i]
		if x, ok := c.OutputThroughput.Get(); ok && c.TTFT.P99.OK() {
			all = append(all, plotter.XY{X: x, Y: c.TTFT.P99.Or(0)})
		}
	}
	bg, err := plotter.NewScatter(all)
	if err != nil {
		return nil, err
	}
	bg.GlyphStyle.Color = color.Gray{Y: 110}
	bg.GlyphStyle.Radius = vg.Points(2)
	p.Add(bg)
	p.Legend.Add(fmt.Sprintf("configs (%d)", len(r.Configs)), bg)
	var front plotter.XYs
	for _, pt := range r.Pareto.Front {
		front = append(front, plotter.XY{X: pt.Values["output_throughput"], Y: pt.Values["ttft_p99_ms"]})
	}
	if len(front) > 0 {
		fs, err := plotter.NewScatter(front)
		if err != nil {
			return nil, err
		}
		fs.GlyphStyle.Color = color.RGBA{R: 220, A: 255}
		fs.GlyphStyle.Radius = vg.Points(3.5)
		fs.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(fs)
		p.Legend.Add(fmt.Sprintf("Pareto front (%d)", len(front)), fs)
	}
	return p, nil
}

// svg renders a figure for inline HTML: the <svg> element without the XML prolog.
func (f figure) svg() (string, error) {
	c := vgsvg.New(figW, figH)
	f.plot.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	s := b.String()
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	return s, nil
}

// png renders a figure at 120 dpi for the PDF.
func (f figure) png() ([]byte, error) {
	c := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(figW, figH), vgimg.UseDPI(120))}
	f.plot.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
