package sim

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
)

// Options control a plan. Zero fields take the defaults below.
type Options struct {
	Table Table
	// LoadGBps is the rate at which a server reads its checkpoint: a node-local
	// NVMe cache or a network volume in the same zone, about 2 GB/s. A cold
	// download from the Hub is slower.
	LoadGBps float64
	// StartupS is a server launch without the weights: container start, CUDA
	// context, memory profiling and CUDA-graph capture.
	StartupS float64
	// ConfigOverheadS is the time between two configs of a batch: health check,
	// spec, storing the result.
	ConfigOverheadS float64
	// Workers predicts configs in parallel; GOMAXPROCS when 0.
	Workers int
	// Intervals, when set, gives every prediction its interval
	// (LoadPublished).
	Intervals *Published
	// BatchesOnly leaves out the makespan, the configs' order and the
	// assumptions: compile needs each batch's wall time and the budget.
	BatchesOnly bool
}

// Defaults of Options.
const (
	DefaultLoadGBps        = 2.0
	DefaultStartupS        = 60.0
	DefaultConfigOverheadS = 5.0
)

func (o *Options) fill() {
	if o.LoadGBps <= 0 {
		o.LoadGBps = DefaultLoadGBps
	}
	if o.StartupS <= 0 {
		o.StartupS = DefaultStartupS
	}
	if o.ConfigOverheadS <= 0 {
		o.ConfigOverheadS = DefaultConfigOverheadS
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
}

// Range is a prediction's interval.
type Range struct {
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
}

// ConfigPlan is one config's prediction.
type ConfigPlan struct {
	Config matrix.Config `json:"config"`
	Prediction
	// TTFTRange, TPOTRange and ThroughputRange are the intervals of the
	// median TTFT and TPOT and of the output throughput (Options.Intervals).
	TTFTRange       *Range  `json:"ttft_p50_range_ms,omitempty"`
	TPOTRange       *Range  `json:"tpot_p50_range_ms,omitempty"`
	ThroughputRange *Range  `json:"output_throughput_range,omitempty"`
	WeightsGiB      float64 `json:"weights_gib"`
	KVGiB           float64 `json:"kv_gib"`
	HeadroomGiB     float64 `json:"headroom_gib"`
	Fits            bool    `json:"fits"`
	// BenchS is the predicted benchmark time: warmup, requests and the
	// overhead between configs; the server's start is the batch's.
	BenchS float64 `json:"bench_s"`
	// SLOMiss says which SLOs the median request is predicted to miss.
	SLOMiss []string `json:"slo_miss,omitempty"`
	// Skipped is set when the campaign skips predicted SLO misses.
	Skipped bool `json:"skipped,omitempty"`
}

// BatchPlan is one batch of the count cut (what compile writes).
type BatchPlan struct {
	ID          string  `json:"id"`
	Hardware    string  `json:"hardware"`
	Configs     int     `json:"configs"`
	LoadS       float64 `json:"load_s"`
	WallS       float64 `json:"wall_s"`
	GPUHours    float64 `json:"gpu_hours"`
	SpotUSD     float64 `json:"spot_usd"`
	OnDemandUSD float64 `json:"on_demand_usd"`
}

// Totals add up batches.
type Totals struct {
	Configs     int     `json:"configs"`
	Batches     int     `json:"batches"`
	SLOMisses   int     `json:"slo_misses"`
	Skipped     int     `json:"skipped"`
	WallS       float64 `json:"wall_s"` // sum over batches: GPU-node time
	GPUHours    float64 `json:"gpu_hours"`
	SpotUSD     float64 `json:"spot_usd"`
	OnDemandUSD float64 `json:"on_demand_usd"`
	SavingsUSD  float64 `json:"spot_savings_usd"`
}

// Makespan compares the campaign's elapsed time under the two cuts at its
// parallelism.
type Makespan struct {
	Parallelism int `json:"parallelism"`
	// Naive is the count cut (Cut), batches started in matrix order as slots
	// free up; Balanced the duration cut (CutBalanced), longest batch first.
	NaiveS          float64 `json:"naive_s"`
	NaiveBatches    int     `json:"naive_batches"`
	BalancedS       float64 `json:"balanced_s"`
	BalancedBatches int     `json:"balanced_batches"`
	// BalancedTargetS is the batch duration the balanced cut aimed at; 0 when
	// it aimed at none, as when no duration cut beat the count cut and the
	// count cut was kept.
	BalancedTargetS float64 `json:"balanced_target_s"`
	// BalancedGPUHours differ from the naive ones by the extra server starts.
	BalancedGPUHours float64 `json:"balanced_gpu_hours"`
}

// Plan is the prediction for a whole campaign.
type Plan struct {
	Campaign    string         `json:"campaign"`
	Configs     []ConfigPlan   `json:"configs"`
	Batches     []BatchPlan    `json:"batches"`
	Totals      Totals         `json:"totals"`
	Makespan    Makespan       `json:"makespan"`
	Budget      *Budget        `json:"budget,omitempty"`
	Pruned      map[string]int `json:"pruned"`
	Assumptions []string       `json:"assumptions"`
}

// Budget is the campaign's budget against the plan's totals: GPU-hours, and
// dollars at spot prices (what a spot campaign pays).
type Budget struct {
	MaxGPUHours float64 `json:"max_gpu_hours,omitempty"`
	MaxUSD      float64 `json:"max_usd,omitempty"`
	// Over says how the plan goes over, one line a limit; empty within budget.
	Over []string `json:"over"`
}

// OverBudget reports whether the plan goes over its campaign's budget.
func (p *Plan) OverBudget() bool { return p.Budget != nil && len(p.Budget.Over) > 0 }

// checkBudget compares a campaign's budget with the plan's totals.
func checkBudget(c campaign.Campaign, t Totals) *Budget {
	if c.Budget == nil {
		return nil
	}
	b := &Budget{MaxGPUHours: c.Budget.MaxGPUHours, MaxUSD: c.Budget.MaxUSD, Over: []string{}}
	if b.MaxGPUHours > 0 && t.GPUHours > b.MaxGPUHours {
		b.Over = append(b.Over, fmt.Sprintf("%.2f GPU-hours predicted, over max_gpu_hours %g", t.GPUHours, b.MaxGPUHours))
	}
	if b.MaxUSD > 0 && t.SpotUSD > b.MaxUSD {
		b.Over = append(b.Over, fmt.Sprintf("$%.2f at spot prices, over max_usd %g", t.SpotUSD, b.MaxUSD))
	}
	return b
}

// group is a server group with its model and predictions.
type group struct {
	g     *matrix.Group
	model *Model
	hw    campaign.Hardware
	load  float64
	plans []ConfigPlan
}

// Build predicts every config of campaign c and its batches.
func Build(set *campaign.Set, c campaign.Campaign, opt Options) (*Plan, error) {
	opt.fill()
	p := &Plan{Campaign: c.Name, Pruned: map[string]int{}}
	x := &matrix.Compiler{Set: set}
	var groups []*group
	var err error
	for _, name := range set.Select(c).Models {
		x.Expand(c, name, func(g *matrix.Group) {
			if err != nil {
				return
			}
			cfg := &g.Configs[0]
			m, e := FromConfig(set, opt.Table, cfg.Model, cfg.Hardware, cfg.Framework, cfg.Quantization)
			if e != nil {
				err = fmt.Errorf("%s: %w", g.Key, e)
				return
			}
			grp := &group{g: g, model: m, hw: set.Hardware[cfg.Hardware]}
			grp.load = opt.StartupS + checkpointBytes(m, set.Quantizations[cfg.Quantization])/(opt.LoadGBps*1e9)
			groups = append(groups, grp)
		}, func(reason string) { p.Pruned[reason]++ })
	}
	if err != nil {
		return nil, err
	}
	predict(set, c, groups, opt)

	// Skip predicted misses before cutting, as the compiler would.
	for _, grp := range groups {
		if !c.SkipPredictedSLOMiss {
			continue
		}
		keep := grp.g.Configs[:0]
		plans := grp.plans[:0]
		for i, cp := range grp.plans {
			if len(cp.SLOMiss) > 0 {
				cp.Skipped = true
				p.Configs = append(p.Configs, cp)
				p.Pruned[matrix.ReasonSLO]++
				continue
			}
			keep = append(keep, grp.g.Configs[i])
			plans = append(plans, cp)
		}
		grp.g.Configs, grp.plans = keep, plans
	}
	groups = slices.DeleteFunc(groups, func(g *group) bool { return len(g.g.Configs) == 0 })

	// The count cut: what compile writes today.
	var naive []job
	first := 0
	for _, grp := range groups {
		bs := matrix.Cut(grp.g, c.BatchSize, first)
		for _, b := range bs {
			bp := BatchPlan{ID: b.ID, Hardware: b.Hardware, Configs: b.Configs, LoadS: grp.load, WallS: grp.load}
			for i := b.First - first; i <= b.Last-first; i++ {
				bp.WallS += grp.plans[i].BenchS
			}
			h := bp.WallS / 3600
			bp.GPUHours = h * float64(grp.hw.Count)
			bp.SpotUSD = h * grp.hw.Price.SpotUSDHour
			bp.OnDemandUSD = h * grp.hw.Price.OnDemandUSDHour
			p.Batches = append(p.Batches, bp)
			naive = append(naive, job{model: b.Model, gpu: b.GPU, seconds: bp.WallS, gpus: grp.hw.Count})
			t := &p.Totals
			t.Batches++
			t.WallS += bp.WallS
			t.GPUHours += bp.GPUHours
			t.SpotUSD += bp.SpotUSD
			t.OnDemandUSD += bp.OnDemandUSD
		}
		for i := range grp.plans {
			grp.plans[i].Config.Batch = grp.g.Configs[i].Batch
		}
		p.Configs = append(p.Configs, grp.plans...)
		first += len(grp.g.Configs)
	}
	t := &p.Totals
	t.SavingsUSD = t.OnDemandUSD - t.SpotUSD
	for _, cp := range p.Configs {
		if cp.Skipped {
			t.Skipped++
			continue
		}
		t.Configs++
		if len(cp.SLOMiss) > 0 {
			t.SLOMisses++
		}
	}
	p.Budget = checkBudget(c, p.Totals)
	if opt.BatchesOnly {
		return p, nil
	}
	slices.SortStableFunc(p.Configs, func(a, b ConfigPlan) int { return cmp.Compare(b.BenchS, a.BenchS) })
	p.Makespan = balance(groups, naive, c)
	p.Assumptions = []string{
		fmt.Sprintf("server start = %.0f s + checkpoint bytes / %.1f GB/s (node-local cache or same-zone volume; a cold Hub download is slower)", opt.StartupS, opt.LoadGBps),
		fmt.Sprintf("%.0f s between configs of a batch", opt.ConfigOverheadS),
		fmt.Sprintf("engine: continuous batching, at most %d sequences and %d tokens per iteration (vLLM defaults, unless the framework's efficiency entry sets its own), KV reserved for prompt + answer", MaxSeqs, MaxBatchTokens),
		"SLO miss: the predicted median request misses the workload's ttft_ms, tpot_ms or e2e_ms",
		"GPU-hours and $ count every GPU of the node shape for the batch's whole wall time",
	}
	// Say which predictions rest on modelling no published point has checked.
	type unchecked struct{ model, what string }
	var order []unchecked
	archs := map[unchecked][]string{}
	for _, grp := range groups {
		k := unchecked{grp.model.Name, grp.model.Uncalibrated}
		if k.what == "" || slices.Contains(archs[k], grp.hw.GPU.Arch) {
			continue
		}
		if archs[k] == nil {
			order = append(order, k)
		}
		archs[k] = append(archs[k], grp.hw.GPU.Arch)
	}
	for _, k := range order {
		p.Assumptions = append(p.Assumptions, fmt.Sprintf("uncalibrated: %s on %s: %s, from the catalog's efficiency priors; no published measurement checks them",
			k.model, strings.Join(archs[k], ", "), k.what))
	}
	if pi := opt.Intervals; pi != nil {
		p.Assumptions = append(p.Assumptions,
			fmt.Sprintf("efficiency: fitted to %d published points from %d sources (%s; a pair without points takes its prior moved halfway to its architecture's pooled fit, an architecture without any the catalog's priors)", pi.Count, pi.Sources, pi.Points),
			fmt.Sprintf("intervals: %.0f%% of the measured/predicted ratios per framework and metric when each source is predicted by a fit to the others (leave-one-source-out)", 100*pi.Level))
	}
	return p, nil
}

// checkpointBytes is what a server reads at start: a 16-bit checkpoint for
// online quantizations, the quantized weights otherwise.
func checkpointBytes(m *Model, q campaign.Quantization) float64 {
	if q.Online && q.WeightBits < 16 {
		return m.Params * 2
	}
	return m.WeightBytes
}

// predict fills each group's plans, groups spread over workers. Groups whose
// models are equal (fp16 and bf16, say) share their simulations.
func predict(set *campaign.Set, c campaign.Campaign, groups []*group, opt Options) {
	type key struct {
		m        Model
		workload string
		conc     int
		rate     float64
		in, out  int
	}
	var mu sync.Mutex
	memo := map[key]Prediction{}
	var wg sync.WaitGroup
	work := make(chan *group)
	for range opt.Workers {
		wg.Go(func() {
			var sc scratch
			for grp := range work {
				grp.plans = make([]ConfigPlan, len(grp.g.Configs))
				for i := range grp.g.Configs {
					cfg := &grp.g.Configs[i]
					k := key{*grp.model, cfg.Workload, cfg.Concurrency, cfg.RequestRate, cfg.InputTokens, cfg.OutputTokens}
					mu.Lock()
					pr, ok := memo[k]
					mu.Unlock()
					var known *Prediction
					if ok {
						known = &pr
					}
					grp.plans[i] = predictConfig(set, c, grp.model, cfg, opt, known, &sc)
					if !ok {
						mu.Lock()
						memo[k] = grp.plans[i].Prediction
						mu.Unlock()
					}
				}
			}
		})
	}
	for _, g := range groups {
		work <- g
	}
	close(work)
	wg.Wait()
}

// PredictConfig predicts one compiled config with its model.
func PredictConfig(set *campaign.Set, c campaign.Campaign, m *Model, cfg *matrix.Config, opt Options) ConfigPlan {
	opt.fill()
	var sc scratch
	return predictConfig(set, c, m, cfg, opt, nil, &sc)
}

func predictConfig(set *campaign.Set, c campaign.Campaign, m *Model, cfg *matrix.Config, opt Options, known *Prediction, sc *scratch) ConfigPlan {
	w := set.Workloads[cfg.Workload]
	l := LoadFor(w, cfg.Concurrency, cfg.RequestRate, cfg.InputTokens, cfg.OutputTokens)
	l.scheduleAs(cfg.Framework, cfg.Version, set.Hardware[cfg.Hardware].GPU.Model)
	util := c.Grid.GPUMemoryUtilization
	if util <= 0 {
		util = 0.9
	}
	l.KVTokens = m.KVCapacityTokens(util)
	cp := ConfigPlan{Config: *cfg}
	if known != nil {
		cp.Prediction = *known
	} else {
		cp.Prediction = m.simulate(l, sc)
	}
	if opt.Intervals != nil {
		iv := opt.Intervals.Intervals
		cp.TTFTRange = iv.Range(cfg.Framework, MetricTTFT, cp.TTFTP50)
		cp.TPOTRange = iv.Range(cfg.Framework, MetricTPOT, cp.TPOTP50)
		cp.ThroughputRange = iv.Range(cfg.Framework, MetricThroughput, cp.OutputThroughput)
	}
	const gib = 1 << 30
	cp.WeightsGiB = m.WeightBytes / gib
	cp.KVGiB = float64(cp.PeakKVTokens) * m.KVBytesToken / gib
	cp.HeadroomGiB = (m.MemoryBytes*util-m.WeightBytes-m.OverheadBytes*float64(m.TP))/gib - cp.KVGiB
	cp.Fits = l.KVTokens > 0 && cp.Rejected == 0
	cp.BenchS = cp.TotalS + opt.ConfigOverheadS
	if w.Duration != "" {
		if d, err := time.ParseDuration(w.Duration); err == nil {
			// The measured phase lasts the duration; the warmup is its share.
			warm := 0.0
			if l.Requests+l.Warmup > 0 {
				warm = cp.TotalS * float64(l.Warmup) / float64(l.Requests+l.Warmup)
			}
			cp.BenchS = warm + d.Seconds() + opt.ConfigOverheadS
		}
	}
	slo := w.SLO
	if slo.TTFTms > 0 && cp.TTFTP50 > slo.TTFTms {
		cp.SLOMiss = append(cp.SLOMiss, fmt.Sprintf("ttft %.0f ms > %g", cp.TTFTP50, slo.TTFTms))
	}
	if slo.TPOTms > 0 && cp.TPOTP50 > slo.TPOTms {
		cp.SLOMiss = append(cp.SLOMiss, fmt.Sprintf("tpot %.1f ms > %g", cp.TPOTP50, slo.TPOTms))
	}
	if slo.E2Ems > 0 && cp.E2EP50 > slo.E2Ems {
		cp.SLOMiss = append(cp.SLOMiss, fmt.Sprintf("e2e %.0f ms > %g", cp.E2EP50, slo.E2Ems))
	}
	if !cp.Fits {
		cp.SLOMiss = append(cp.SLOMiss, "does not fit")
	}
	return cp
}

// SLOMiss returns a matrix.Compiler.SLOMiss hook that predicts each config.
func SLOMiss(set *campaign.Set, c campaign.Campaign, t Table) func(*matrix.Config) string {
	var mu sync.Mutex
	models := map[string]*Model{}
	return func(cfg *matrix.Config) string {
		key := cfg.Model + "\x00" + cfg.Hardware + "\x00" + cfg.Framework + "\x00" + cfg.Quantization
		mu.Lock()
		m, ok := models[key]
		if !ok {
			m, _ = FromConfig(set, t, cfg.Model, cfg.Hardware, cfg.Framework, cfg.Quantization)
			models[key] = m
		}
		mu.Unlock()
		if m == nil {
			return ""
		}
		cp := PredictConfig(set, c, m, cfg, Options{})
		if len(cp.SLOMiss) == 0 {
			return ""
		}
		return fmt.Sprintf("predicted to miss: %v", cp.SLOMiss)
	}
}
