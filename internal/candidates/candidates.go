// Package candidates turns benchmark results into ranking alternatives: rows of
// schema #Metric values read from a results file or from the store, with the
// cost metrics derived from the catalog's prices, and the policy constraints
// that are not metric thresholds (memory fit, budget). `llmsweep rank` and the
// report share it, so that both rank the same numbers the same way.
package candidates

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/rank"
	"github.com/llmsweep/llmsweep/internal/store"
)

// Row is a config's identity and its metrics (the names of schema #Metric). It
// is also one line of a results file for rank --input.
type Row struct {
	ID           string             `json:"id"`
	Campaign     string             `json:"campaign,omitempty"`
	Model        string             `json:"model,omitempty"`
	Hardware     string             `json:"hardware,omitempty"`
	Framework    string             `json:"framework,omitempty"`
	Quantization string             `json:"quantization,omitempty"`
	Workload     string             `json:"workload,omitempty"`
	Fits         *bool              `json:"fits,omitempty"`
	Metrics      map[string]float64 `json:"metrics"`
}

// ReadJSONL reads a results file (one Row a line) strictly, naming the line of
// any error.
func ReadJSONL(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []Row
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var r Row
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		if r.ID == "" {
			return nil, fmt.Errorf("%s:%d: a result needs an id", path, n)
		}
		if r.Metrics == nil {
			r.Metrics = map[string]float64{}
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

// Label names a config for people: model/hardware/framework-version/quantization/workload/load.
func Label(c matrix.Config) string {
	fw := c.Framework
	if c.Version != "" {
		fw += "-" + c.Version
	}
	return c.Model + "/" + c.Hardware + "/" + fw + "/" + c.Quantization + "/" + c.Workload + "/" + matrix.Load(c.Concurrency, c.RequestRate)
}

// Parsed is a stored result's resolved config and summary, decoded.
type Parsed struct {
	Config  matrix.Config
	Summary metrics.Summary
}

// FromStore turns stored results into rows, one per result, and returns the
// decoded configs and summaries along. A row's ID is its Label, with the
// fingerprint's first 12 digits added where two results share a label (rank
// needs unique IDs). The measured metrics come from the stored summary, so
// that P90s, ITL P99 and E2E P50 are there too.
func FromStore(campaignName string, results []store.Result) ([]Row, []Parsed, error) {
	rows := make([]Row, 0, len(results))
	parsed := make([]Parsed, len(results))
	seen := map[string]int{}
	for i, r := range results {
		p := &parsed[i]
		if err := json.Unmarshal(r.Config, &p.Config); err != nil {
			return nil, nil, fmt.Errorf("run %s, config %s: resolved config: %v", r.RunID, r.Fingerprint, err)
		}
		if len(r.Summary) > 0 {
			if err := json.Unmarshal(r.Summary, &p.Summary); err != nil {
				return nil, nil, fmt.Errorf("run %s, config %s: summary: %v", r.RunID, r.Fingerprint, err)
			}
		}
		cfg := p.Config
		rows = append(rows, Row{ID: Label(cfg), Campaign: campaignName, Model: cfg.Model, Hardware: cfg.Hardware,
			Framework: cfg.Framework, Quantization: cfg.Quantization, Workload: cfg.Workload, Metrics: metricsOf(r, p.Summary)})
		seen[rows[i].ID]++
	}
	for i := range rows {
		if seen[rows[i].ID] > 1 {
			rows[i].ID += "#" + results[i].Fingerprint[:min(12, len(results[i].Fingerprint))]
		}
	}
	return rows, parsed, nil
}

// metricsOf returns a stored result's measured metrics by #Metric name: from
// its summary, or from the stored columns when it has none.
func metricsOf(r store.Result, s metrics.Summary) map[string]float64 {
	m := map[string]float64{
		"ttft_p50_ms": s.TTFT.P50, "ttft_p90_ms": s.TTFT.P90, "ttft_p99_ms": s.TTFT.P99,
		"tpot_p50_ms": s.TPOT.P50, "tpot_p90_ms": s.TPOT.P90, "tpot_p99_ms": s.TPOT.P99,
		"itl_p50_ms": s.ITL.P50, "itl_p99_ms": s.ITL.P99,
		"e2e_p50_ms": s.E2E.P50, "e2e_p99_ms": s.E2E.P99,
		"request_throughput": s.RequestThroughput, "output_throughput": s.OutputThroughput,
		"total_token_throughput": s.TotalTokenThroughput, "goodput": s.Goodput,
	}
	if len(r.Summary) == 0 {
		x := r.Metrics
		m = map[string]float64{"ttft_p50_ms": x.TTFTP50, "ttft_p99_ms": x.TTFTP99, "tpot_p50_ms": x.TPOTP50,
			"tpot_p99_ms": x.TPOTP99, "itl_p50_ms": x.ITLP50, "e2e_p99_ms": x.E2EP99,
			"request_throughput": x.RequestThroughput, "output_throughput": x.OutputThroughput, "goodput": x.Goodput}
	}
	if r.Metrics.Accuracy != nil {
		m["accuracy"] = *r.Metrics.Accuracy
	}
	return m
}

// Derive adds the metrics computed from the catalog: $/hour of the hardware, and
// $ per 1M output tokens = hourly price ÷ (output tok/s × 3600) × 10⁶, at spot and
// on-demand prices.
func Derive(r *Row, s *campaign.Set) {
	h, ok := s.Hardware[r.Hardware]
	if !ok {
		return
	}
	r.Metrics["usd_per_hour_spot"] = h.Price.SpotUSDHour
	r.Metrics["usd_per_hour_on_demand"] = h.Price.OnDemandUSDHour
	if tps := r.Metrics["output_throughput"]; tps > 0 {
		r.Metrics["usd_per_1m_output_tokens_spot"] = h.Price.SpotUSDHour / (tps * 3600) * 1e6
		r.Metrics["usd_per_1m_output_tokens_on_demand"] = h.Price.OnDemandUSDHour / (tps * 3600) * 1e6
	}
}

// Constrain applies the policy's hard filters that are not metric thresholds:
// the memory fit and the budget. It returns the rows kept and the reasons.
func Constrain(rows []Row, p campaign.Policy) ([]Row, map[string]int) {
	removed := map[string]int{}
	var kept []Row
	prices := "on_demand"
	if p.Budget != nil && p.Budget.Prices != "" {
		prices = p.Budget.Prices
	}
	for _, r := range rows {
		switch {
		case p.FitsMemory && r.Fits != nil && !*r.Fits:
			removed["does not fit in GPU memory"]++
		case p.Budget != nil && p.Budget.MaxUSDPerHour > 0 && r.Metrics["usd_per_hour_"+prices] > p.Budget.MaxUSDPerHour:
			removed[fmt.Sprintf("over the budget of $%g/hour (%s)", p.Budget.MaxUSDPerHour, prices)]++
		case p.Budget != nil && p.Budget.MaxUSDPer1MOutputTokens > 0 && r.Metrics["usd_per_1m_output_tokens_"+prices] > p.Budget.MaxUSDPer1MOutputTokens:
			removed[fmt.Sprintf("over the budget of $%g per 1M output tokens (%s)", p.Budget.MaxUSDPer1MOutputTokens, prices)]++
		default:
			kept = append(kept, r)
		}
	}
	return kept, removed
}

// Rank applies p's fit and budget constraints to rows (already derived), then
// rank.Rank; Removed counts every removal, by reason.
func Rank(rows []Row, p campaign.Policy) (*rank.Result, error) {
	kept, removed := Constrain(rows, p)
	alts := make([]rank.Alternative, 0, len(kept))
	for _, r := range kept {
		alts = append(alts, rank.Alternative{ID: r.ID, Values: r.Metrics})
	}
	res, err := rank.Rank(alts, p)
	if err != nil {
		return nil, err
	}
	for k, n := range removed {
		res.Removed[k] += n
	}
	return res, nil
}
