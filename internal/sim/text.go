package sim

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
)

func hours(s float64) string {
	if s < 3600 {
		return fmt.Sprintf("%.0f min", s/60)
	}
	return fmt.Sprintf("%.1f h", s/3600)
}

func plural(n int, suffix string) string {
	if n == 1 {
		return ""
	}
	return suffix
}

func usd(v float64) string { return fmt.Sprintf("$%.0f", v) }

// ranged prints a prediction with its interval, "10.7 (8.9–12.6)", at prec
// decimals.
func ranged(v float64, r *Range, prec int) string {
	if r == nil {
		return fmt.Sprintf("%.*f", prec, v)
	}
	return fmt.Sprintf("%.*f (%.*f–%.*f)", prec, v, prec, r.Lo, prec, r.Hi)
}

// WriteText writes the plan for people, as llmsweep plan prints it: totals,
// per hardware, the batches with all, and the longest benchmarks (top, or
// every config with all), then the assumptions.
func (p *Plan) WriteText(w io.Writer, c campaign.Campaign, all bool, top int) error {
	t := p.Totals
	fmt.Fprintf(w, "campaign %s: %d config%s in %d batch%s", p.Campaign, t.Configs, plural(t.Configs, "s"), t.Batches, plural(t.Batches, "es"))
	if t.Skipped > 0 {
		fmt.Fprintf(w, ", %d skipped as predicted SLO misses (skip_predicted_slo_miss)", t.Skipped)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  GPU time:  %s of node time, %.1f GPU-hours\n", hours(t.WallS), t.GPUHours)
	pct := 0.0
	if t.OnDemandUSD > 0 {
		pct = 100 * t.SavingsUSD / t.OnDemandUSD
	}
	fmt.Fprintf(w, "  cost:      %s spot, %s on-demand (spot saves %s, %.0f%%)\n", usd(t.SpotUSD), usd(t.OnDemandUSD), usd(t.SavingsUSD), pct)
	m := p.Makespan
	gain := 0.0
	if m.NaiveS > 0 {
		gain = 100 * (m.NaiveS - m.BalancedS) / m.NaiveS
	}
	fmt.Fprintf(w, "  makespan:  %s at parallelism %d with the count cut (%d batch%s); %s balanced by duration (%d batch%s, %.1f%% shorter)\n",
		hours(m.NaiveS), m.Parallelism, m.NaiveBatches, plural(m.NaiveBatches, "es"), hours(m.BalancedS), m.BalancedBatches, plural(m.BalancedBatches, "es"), gain)
	if t.SLOMisses > 0 && !c.SkipPredictedSLOMiss {
		fmt.Fprintf(w, "  SLO:       %d config%s predicted to miss the workload's SLO (set skip_predicted_slo_miss to skip them)\n", t.SLOMisses, plural(t.SLOMisses, "s"))
	}
	if p.Budget != nil {
		for _, o := range p.Budget.Over {
			fmt.Fprintf(w, "  budget:    %s\n", o)
		}
		if len(p.Budget.Over) == 0 {
			fmt.Fprintln(w, "  budget:    within the campaign's budget")
		}
	}
	if len(p.Pruned) > 0 {
		var rs []string
		for _, r := range matrix.Reasons {
			if n := p.Pruned[r]; n > 0 {
				rs = append(rs, fmt.Sprintf("%d %s", n, r))
			}
		}
		fmt.Fprintf(w, "  pruned:    %s\n", strings.Join(rs, ", "))
	}

	// Per hardware: the batches of the count cut, added up.
	type sum struct {
		batches, configs, misses int
		wall, gpuh, spot, od     float64
	}
	byHW := map[string]*sum{}
	for _, b := range p.Batches {
		s := byHW[b.Hardware]
		if s == nil {
			s = &sum{}
			byHW[b.Hardware] = s
		}
		s.batches++
		s.configs += b.Configs
		s.wall += b.WallS
		s.gpuh += b.GPUHours
		s.spot += b.SpotUSD
		s.od += b.OnDemandUSD
	}
	for _, cp := range p.Configs {
		if s := byHW[cp.Config.Hardware]; s != nil && len(cp.SLOMiss) > 0 && !cp.Skipped {
			s.misses++
		}
	}
	hws := make([]string, 0, len(byHW))
	for h := range byHW {
		hws = append(hws, h)
	}
	sort.Strings(hws)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "hardware\tbatches\tconfigs\tSLO misses\tnode time\tGPU-hours\tspot\ton-demand\t")
	for _, h := range hws {
		s := byHW[h]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%.1f\t%s\t%s\t\n", h, s.batches, s.configs, s.misses, hours(s.wall), s.gpuh, usd(s.spot), usd(s.od))
	}
	tw.Flush()

	if all {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "batch\thardware\tconfigs\tserver start\twall\tGPU-hours\tspot\ton-demand\t")
		for _, b := range p.Batches {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f s\t%s\t%.2f\t$%.2f\t$%.2f\t\n", b.ID, b.Hardware, b.Configs, b.LoadS, hours(b.WallS), b.GPUHours, b.SpotUSD, b.OnDemandUSD)
		}
		tw.Flush()
	}

	n := len(p.Configs)
	if !all {
		n = min(n, top)
	}
	if n > 0 {
		fmt.Fprintln(w)
		if all {
			fmt.Fprintf(w, "every config, longest benchmark first:\n")
		} else {
			fmt.Fprintf(w, "the %d longest benchmarks (--all for every config):\n", n)
		}
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "hardware\tframework\tquant\tworkload\tload\tTTFT p50 ms\tp99\tTPOT ms\tout tok/s\theadroom GiB\tbench\tSLO")
		for _, cp := range p.Configs[:n] {
			c := cp.Config
			slo := "ok"
			if len(cp.SLOMiss) > 0 {
				slo = "miss: " + strings.Join(cp.SLOMiss, ", ")
				if cp.Skipped {
					slo = "skipped, " + slo
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%s\t%s\t%.1f\t%s\t%s\n", c.Hardware, c.Framework, c.Quantization, c.Workload,
				matrix.Load(c.Concurrency, c.RequestRate), ranged(cp.TTFTP50, cp.TTFTRange, 0), cp.TTFTP99, ranged(cp.TPOTP50, cp.TPOTRange, 1),
				ranged(cp.OutputThroughput, cp.ThroughputRange, 0), cp.HeadroomGiB, hours(cp.BenchS), slo)
		}
		tw.Flush()
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "assumptions:")
	for _, a := range p.Assumptions {
		fmt.Fprintf(w, "  - %s\n", a)
	}
	return nil
}

// WriteFits writes calibration fits, one row per framework and architecture pair.
func WriteFits(w io.Writer, fits []Fit) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  pair\tpoints\tmfu\tmbu\tstep ms\trequest ms\tMdAPE before\tMdAPE after\tnote")
	for _, f := range fits {
		note := f.Note
		if f.Fitted {
			note = fmt.Sprintf("fitted (was mfu %.3g, mbu %.3g, step %.2g ms, request %.3g ms)", f.Before.MFU, f.Before.MBU, f.Before.StepMS, f.Before.RequestMS)
		}
		fmt.Fprintf(tw, "  %s\t%d\t%.3f\t%.3f\t%.2f\t%.1f\t%.1f%%\t%.1f%%\t%s\n", f.Pair, f.Points, f.After.MFU, f.After.MBU, f.After.StepMS, f.After.RequestMS, f.MdAPEBefore, f.MdAPEAfter, note)
	}
	tw.Flush()
}

// WriteSummaries writes one row per summary; group names the column that
// tells the groups apart ("all" for the metric's row over every group).
func WriteSummaries(w io.Writer, group string, ms []Summary, name func(Summary) string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  metric\t%s\tcount\tMdAPE\tP90 APE\tpredicted/measured (median)\n", group)
	for _, m := range ms {
		n := name(m)
		if n == "" {
			n = "all"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%.1f%%\t%.1f%%\t%.2f\n", m.Metric, n, m.Count, m.MdAPE, m.P90APE, m.Ratio)
	}
	tw.Flush()
}

// WriteIntervals writes the intervals a cross-validation gives.
func WriteIntervals(w io.Writer, iv Intervals) {
	fmt.Fprintf(w, "prediction intervals (%.0f%% of held-out measured/predicted ratios):\n", 100*IntervalLevel)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  metric\tframework\tcount\tlow\thigh")
	for _, m := range Metrics {
		fws := append([]string{AllFrameworks}, iv.Frameworks()...)
		for _, fw := range fws {
			if i, ok := iv[m][fw]; ok {
				fmt.Fprintf(tw, "  %s\t%s\t%d\t×%.2f\t×%.2f\n", m, fw, i.Count, i.Lo, i.Hi)
			}
		}
	}
	tw.Flush()
}
