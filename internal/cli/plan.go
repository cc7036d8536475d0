package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/pipeline"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/sim"
	"github.com/llmsweep/llmsweep/internal/store"
)

// defaultPoints is the published measurements file --validate reads.
const defaultPoints = "testdata/published/points.csv"

func newPlan() *cobra.Command {
	var inv invocation
	var all, asJSON, calibrate bool
	var top int
	var validate, scoreFile, fitFile string
	var simOpt sim.Options
	cmd := &cobra.Command{
		Use:   "plan [paths...]",
		Short: "Predict each config's latency, throughput, benchmark time and cost, like terraform plan",
		Long: `plan predicts, without a GPU, what every config of a campaign will measure (TTFT
P50/P99, TPOT, output throughput, memory headroom) and how long its benchmark takes
(server start, warmup and requests), then adds up GPU-hours and dollars at spot and
on-demand prices per batch and per campaign, flags configs predicted to miss their
workload's SLOs, and compares the campaign's makespan under the compiler's count
cut with a cut balanced by predicted duration.

The model is a roofline of each engine iteration with efficiency factors per
framework and GPU architecture (catalog/efficiency.cue) under a simulation of
continuous batching; see internal/sim.

Each predicted TTFT, TPOT and throughput carries an interval: the 10th to 90th
percentile of measured/predicted in the model's leave-one-source-out
cross-validation on the published points, per framework and metric.

--calibrate fits the efficiency factors to the results in --store first.

Scoring a published points file (see testdata/published/README.md) prints the
median (MdAPE) and 90th-percentile absolute percentage error per metric and per
framework, or --json:
  --score FILE              plan's factors (the published fit), no further fitting
  --fit FILE --score FILE2  factors fitted to FILE, scored on FILE2
  --validate[=FILE]         leave-one-source-out cross-validation: each source
                            document predicted by a fit to all the others
                            (default FILE: ` + defaultPoints + `)`,
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			switch {
			case fitFile != "" && scoreFile == "":
				return errors.New("--fit names the points to fit to; --score names the points to score (plan --fit FILE --score FILE2)")
			case validate != "" && scoreFile != "":
				return errors.New("--validate and --score are two ways to score; give one")
			case validate != "" || scoreFile != "":
				return runScore(cmd, w, args, campaign.Options{Catalog: inv.catalog}, scoreArgs{validate: validate, score: scoreFile, fit: fitFile, json: asJSON})
			}
			set, cs, err := inv.campaigns(cmd, args)
			if err != nil {
				return err
			}
			tab, pub, err := sim.Fitted(set)
			if err != nil {
				return err
			}
			if calibrate {
				if tab, err = runCalibrate(cmd.Context(), w, set, tab, inv.storeURL(nil), asJSON); err != nil {
					return err
				}
			}
			simOpt.Table = tab
			simOpt.Intervals = &pub
			var plans []*sim.Plan
			for _, c := range cs {
				p, err := sim.Build(set, c, simOpt)
				if err != nil {
					return fmt.Errorf("campaign %s: %w", c.Name, err)
				}
				plans = append(plans, p)
			}
			if asJSON {
				if !all {
					for _, p := range plans {
						p.Configs = p.Configs[:min(top, len(p.Configs))]
					}
				}
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(plans)
			}
			for i, p := range plans {
				if i > 0 {
					fmt.Fprintln(w)
				}
				printPlan(w, p, cs[i], set, all, top)
			}
			return planReuse(cmd, &inv, cs, plans)
		},
	}
	f := cmd.Flags()
	inv.addCampaign(cmd, true)
	f.BoolVar(&all, "all", false, "list every config and batch, not only the longest")
	f.IntVar(&top, "top", 10, "configs to list without --all")
	f.BoolVar(&asJSON, "json", false, "print JSON (configs limited to --top unless --all)")
	f.BoolVar(&calibrate, "calibrate", false, "fit the efficiency factors to the results in --store before planning")
	inv.addStore(cmd)
	f.StringVar(&validate, "validate", "", "leave-one-source-out cross-validation on a published points `file`")
	f.Lookup("validate").NoOptDefVal = defaultPoints
	f.StringVar(&scoreFile, "score", "", "score a published points `file`: median and P90 error per metric and framework")
	f.StringVar(&fitFile, "fit", "", "fit the efficiency factors to a published points `file` before --score")
	f.Float64Var(&simOpt.LoadGBps, "load-gbps", sim.DefaultLoadGBps, "rate at which a server reads its checkpoint, GB/s")
	f.Float64Var(&simOpt.StartupS, "startup", sim.DefaultStartupS, "server start without the weights, seconds")
	inv.addCatalog(cmd)
	return cmd
}

// planReuse says, when the store exists, how many of each campaign's configs a
// run on the cluster would measure and why under its reuse policy, and how
// many stored results would stand in.
func planReuse(cmd *cobra.Command, inv *invocation, cs []campaign.Campaign, plans []*sim.Plan) error {
	for i, c := range cs {
		st, url, err := inv.openExisting(cmd.Context(), &c)
		if err != nil || st == nil {
			return err // plan never creates a store
		}
		configs := make([]matrix.Config, len(plans[i].Configs))
		for j, cp := range plans[i].Configs {
			configs[j] = cp.Config
		}
		r, err := pipeline.Decide(cmd.Context(), st, configs, pipeline.ReuseOptions{Policy: c.Reuse, Kind: result.Measured})
		st.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "\n%s on the cluster, with the results in %s: %s\n", c.Name, redact(url), r)
	}
	return nil
}

func hours(s float64) string {
	if s < 3600 {
		return fmt.Sprintf("%.0f min", s/60)
	}
	return fmt.Sprintf("%.1f h", s/3600)
}

func plurales(n int) string {
	if n == 1 {
		return ""
	}
	return "es"
}

func usd(v float64) string { return fmt.Sprintf("$%.0f", v) }

// ranged prints a prediction with its interval, "10.7 (8.9–12.6)", at prec
// decimals.
func ranged(v float64, r *sim.Range, prec int) string {
	if r == nil {
		return fmt.Sprintf("%.*f", prec, v)
	}
	return fmt.Sprintf("%.*f (%.*f–%.*f)", prec, v, prec, r.Lo, prec, r.Hi)
}

func printPlan(w io.Writer, p *sim.Plan, c campaign.Campaign, set *campaign.Set, all bool, top int) {
	t := p.Totals
	fmt.Fprintf(w, "campaign %s: %d config%s in %d batch%s", p.Campaign, t.Configs, plural(t.Configs), t.Batches, plurales(t.Batches))
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
		hours(m.NaiveS), m.Parallelism, m.NaiveBatches, plurales(m.NaiveBatches), hours(m.BalancedS), m.BalancedBatches, plurales(m.BalancedBatches), gain)
	if t.SLOMisses > 0 && !c.SkipPredictedSLOMiss {
		fmt.Fprintf(w, "  SLO:       %d config%s predicted to miss the workload's SLO (set skip_predicted_slo_miss to skip them)\n", t.SLOMisses, plural(t.SLOMisses))
	}
	if b := c.Budget; b != nil {
		if b.MaxGPUHours > 0 && t.GPUHours > b.MaxGPUHours {
			fmt.Fprintf(w, "  budget:    %.0f GPU-hours predicted, over max_gpu_hours %g\n", t.GPUHours, b.MaxGPUHours)
		}
		if b.MaxUSD > 0 && t.SpotUSD > b.MaxUSD {
			fmt.Fprintf(w, "  budget:    %s at spot prices, over max_usd %g\n", usd(t.SpotUSD), b.MaxUSD)
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
}

// runCalibrate fits the efficiency table to the results in the store and
// prints the fit; it returns the table to plan with.
func runCalibrate(ctx context.Context, w io.Writer, set *campaign.Set, tab sim.Table, url string, asJSON bool) (sim.Table, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	results, err := st.Results(ctx, store.Filter{})
	if err != nil {
		return nil, err
	}
	points, skipped := sim.StorePoints(set, results)
	fitted, fits := sim.Calibrate(tab, points)
	out := w
	if asJSON {
		out = os.Stderr
	}
	fmt.Fprintf(out, "calibration: %d results in %s, %d points used, %d skipped\n", len(results), url, len(points), len(skipped))
	for _, s := range skipped {
		fmt.Fprintf(out, "  skipped %s: %s\n", s.ID, s.Reason)
	}
	printFits(out, fits)
	if len(points) == 0 {
		fmt.Fprintln(out, "  no points to fit: the catalog's defaults stay")
	}
	return fitted, nil
}

func printFits(w io.Writer, fits []sim.Fit) {
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
