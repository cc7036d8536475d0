package serve

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Charts are SVG drawn on the server: they need no script and no chart
// library, and each point's <title> is the tooltip that names its config.

// chartPoint is a point in data units, with the text its tooltip shows.
type chartPoint struct {
	X, Y  float64
	Label string
	// Mark is "predicted" or "imported" for results that were not measured.
	Mark string
}

type chartSeries struct {
	Name   string
	Points []chartPoint
}

// Chart is a chart laid out in pixels, for the template.
type Chart struct {
	ID, Title, XLabel, YLabel string
	Width, Height             int
	Left, Top, Right, Bottom  float64
	// Derived positions, so that the template does no arithmetic.
	PlotW, PlotH, AxisY, AxisX2, TickY, TickX, LabelY float64
	Series                                            []drawnSeries
	XTicks, YTicks                                    []tick
	Empty                                             bool
}

type drawnSeries struct {
	Name, Color, Path string
	Points            []drawnPoint
}

type drawnPoint struct {
	X, Y        float64
	Label, Mark string
}

type tick struct {
	Pos  float64
	Text string
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"}

// layout scales series into a width × height chart with linear axes from 0.
func layout(id, title, xlabel, ylabel string, series []chartSeries) Chart {
	c := Chart{ID: id, Title: title, XLabel: xlabel, YLabel: ylabel, Width: 560, Height: 340, Left: 64, Top: 16, Right: 16, Bottom: 48}
	var xmax, ymax float64
	n := 0
	for _, s := range series {
		for _, p := range s.Points {
			xmax, ymax = math.Max(xmax, p.X), math.Max(ymax, p.Y)
			n++
		}
	}
	if n == 0 {
		c.Empty = true
		return c
	}
	xmax, ymax = nice(xmax), nice(ymax)
	w := float64(c.Width) - c.Left - c.Right
	h := float64(c.Height) - c.Top - c.Bottom
	c.PlotW, c.PlotH, c.AxisY, c.AxisX2 = w, h, c.Top+h, c.Left+w
	c.TickY, c.TickX, c.LabelY = c.Top+h+16, c.Left-6, float64(c.Height)-8
	sx := func(x float64) float64 { return c.Left + x/xmax*w }
	sy := func(y float64) float64 { return c.Top + h - y/ymax*h }
	for i := 0; i <= 4; i++ {
		c.XTicks = append(c.XTicks, tick{sx(xmax * float64(i) / 4), short(xmax * float64(i) / 4)})
		c.YTicks = append(c.YTicks, tick{sy(ymax * float64(i) / 4), short(ymax * float64(i) / 4)})
	}
	for i, s := range series {
		pts := slices.Clone(s.Points)
		slices.SortFunc(pts, func(a, b chartPoint) int { return cmp.Compare(a.X, b.X) })
		d := drawnSeries{Name: s.Name, Color: palette[i%len(palette)]}
		for j, p := range pts {
			x, y := sx(p.X), sy(p.Y)
			d.Points = append(d.Points, drawnPoint{X: x, Y: y, Label: p.Label, Mark: p.Mark})
			op := "L"
			if j == 0 {
				op = "M"
			}
			d.Path += fmt.Sprintf("%s%.1f %.1f ", op, x, y)
		}
		c.Series = append(c.Series, d)
	}
	return c
}

// nice rounds v up to 1, 2 or 5 times a power of ten.
func nice(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*e {
			return m * e
		}
	}
	return 10 * e
}

func short(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', 3, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
