package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/result"
)

// Ranking is a row of model_rankings: one serving stack of a model under one
// workload, ranked among the model's stacks of the same provenance and engine
// by best output throughput. Figures no result measured are absent.
type Ranking struct {
	Model                string        `json:"model"`
	Workload             string        `json:"workload"`
	Hardware             string        `json:"hardware"`
	Framework            string        `json:"framework"`
	Quantization         string        `json:"quantization"`
	Provenance           result.Kind   `json:"provenance"`
	Engine               string        `json:"engine,omitempty"`
	Results              int           `json:"results"`
	BestOutputThroughput metrics.Value `json:"best_output_throughput,omitzero"`
	BestGoodput          metrics.Value `json:"best_goodput,omitzero"`
	BestTTFTP99          metrics.Value `json:"best_ttft_p99_ms,omitzero"`
	BestTPOTP50          metrics.Value `json:"best_tpot_p50_ms,omitzero"`
	MeanGPUUtilPct       metrics.Value `json:"mean_gpu_util_pct,omitzero"`
	PeakGPUMemBytes      metrics.Value `json:"peak_gpu_mem_bytes,omitzero"`
	MeanPowerW           metrics.Value `json:"mean_power_w,omitzero"`
	MeanCPUPct           metrics.Value `json:"mean_cpu_pct,omitzero"`
	PeakRSSBytes         metrics.Value `json:"peak_rss_bytes,omitzero"`
	LastFinished         time.Time     `json:"last_finished"`
	Rank                 int           `json:"rank"`
}

// DailyStat is a row of daily_stats: one UTC day of one serving stack.
type DailyStat struct {
	Day                  string        `json:"day"` // YYYY-MM-DD, UTC
	Model                string        `json:"model"`
	Hardware             string        `json:"hardware"`
	Framework            string        `json:"framework"`
	Quantization         string        `json:"quantization"`
	Provenance           result.Kind   `json:"provenance"`
	Engine               string        `json:"engine,omitempty"`
	Results              int           `json:"results"`
	Requests             int           `json:"requests"`
	FailedRequests       int           `json:"failed_requests"`
	MeanTTFTP50          metrics.Value `json:"mean_ttft_p50_ms,omitzero"`
	MaxTTFTP99           metrics.Value `json:"max_ttft_p99_ms,omitzero"`
	MeanTPOTP50          metrics.Value `json:"mean_tpot_p50_ms,omitzero"`
	MeanOutputThroughput metrics.Value `json:"mean_output_throughput,omitzero"`
	MeanGPUUtilPct       metrics.Value `json:"mean_gpu_util_pct,omitzero"`
}

// sqliteViews rebuild the tables that stand for PostgreSQL's materialized
// views, with the same definitions (migrations/postgres/0004_provenance.sql).
var sqliteViews = []string{
	`DELETE FROM model_rankings`,
	`INSERT INTO model_rankings SELECT c.model, c.workload, c.hardware, c.framework, c.quantization, re.provenance, re.engine,
		count(*), max(re.output_throughput), max(re.goodput), min(re.ttft_p99_ms), min(re.tpot_p50_ms),
		avg(re.gpu_util_mean_pct), max(re.gpu_mem_peak_bytes), avg(re.power_mean_w), avg(re.cpu_mean_pct), max(re.rss_peak_bytes),
		max(re.finished),
		rank() OVER (PARTITION BY c.model, c.workload, re.provenance, re.engine ORDER BY max(re.output_throughput) DESC NULLS LAST)
		FROM results re JOIN configs c ON c.config_key = re.config_key
		GROUP BY c.model, c.workload, c.hardware, c.framework, c.quantization, re.provenance, re.engine`,
	`DELETE FROM daily_stats`,
	`INSERT INTO daily_stats SELECT date(re.finished / 1000000, 'unixepoch'), c.model, c.hardware, c.framework, c.quantization,
		re.provenance, re.engine, count(*), sum(re.requests), sum(re.failed), avg(re.ttft_p50_ms), max(re.ttft_p99_ms),
		avg(re.tpot_p50_ms), avg(re.output_throughput), avg(re.gpu_util_mean_pct)
		FROM results re JOIN configs c ON c.config_key = re.config_key
		GROUP BY 1, c.model, c.hardware, c.framework, c.quantization, re.provenance, re.engine`,
}

// RefreshViews brings model_rankings and daily_stats up to date: on PostgreSQL
// with REFRESH MATERIALIZED VIEW CONCURRENTLY, so that readers go on reading
// the old rows meanwhile; on SQLite by rebuilding the tables in a transaction,
// which readers (WAL) see whole or not at all.
func (s *store) RefreshViews(ctx context.Context) error {
	if s.d.name == "postgres" {
		for _, v := range []string{"model_rankings", "daily_stats"} {
			if _, err := s.b.exec(ctx, `REFRESH MATERIALIZED VIEW CONCURRENTLY `+v); err != nil {
				return fmt.Errorf("store: refresh %s: %w", v, err)
			}
		}
		return nil
	}
	return s.b.inTx(ctx, func(q querier) error {
		for _, stmt := range sqliteViews {
			if _, err := q.exec(ctx, stmt); err != nil {
				return fmt.Errorf("store: refresh views: %w", err)
			}
		}
		return nil
	})
}

// ModelRankings reads model_rankings as of the last RefreshViews.
func (s *store) ModelRankings(ctx context.Context) ([]Ranking, error) {
	rows, err := s.b.query(ctx, `SELECT model, workload, hardware, framework, quantization, provenance, engine, results,
		best_output_throughput, best_goodput, best_ttft_p99_ms, best_tpot_p50_ms, mean_gpu_util_pct, peak_gpu_mem_bytes,
		mean_power_w, mean_cpu_pct, peak_rss_bytes, last_finished, rank
		FROM model_rankings ORDER BY model, workload, provenance, engine, rank, hardware, framework, quantization`)
	if err != nil {
		return nil, fmt.Errorf("store: model_rankings: %w", err)
	}
	defer rows.Close()
	out := []Ranking{}
	for rows.Next() {
		var r Ranking
		var last ts
		if err := rows.Scan(&r.Model, &r.Workload, &r.Hardware, &r.Framework, &r.Quantization, &r.Provenance, &r.Engine,
			&r.Results, &r.BestOutputThroughput, &r.BestGoodput, &r.BestTTFTP99, &r.BestTPOTP50, &r.MeanGPUUtilPct,
			&r.PeakGPUMemBytes, &r.MeanPowerW, &r.MeanCPUPct, &r.PeakRSSBytes, &last, &r.Rank); err != nil {
			return nil, fmt.Errorf("store: model_rankings: %w", err)
		}
		r.LastFinished = last.t
		out = append(out, r)
	}
	return out, rows.Err()
}

// DailyStats reads daily_stats as of the last RefreshViews.
func (s *store) DailyStats(ctx context.Context) ([]DailyStat, error) {
	rows, err := s.b.query(ctx, `SELECT CAST(day AS TEXT), model, hardware, framework, quantization, provenance, engine,
		results, requests, failed_requests, mean_ttft_p50_ms, max_ttft_p99_ms, mean_tpot_p50_ms, mean_output_throughput,
		mean_gpu_util_pct
		FROM daily_stats ORDER BY day, model, hardware, framework, quantization, provenance, engine`)
	if err != nil {
		return nil, fmt.Errorf("store: daily_stats: %w", err)
	}
	defer rows.Close()
	out := []DailyStat{}
	for rows.Next() {
		var d DailyStat
		if err := rows.Scan(&d.Day, &d.Model, &d.Hardware, &d.Framework, &d.Quantization, &d.Provenance, &d.Engine,
			&d.Results, &d.Requests, &d.FailedRequests, &d.MeanTTFTP50, &d.MaxTTFTP99, &d.MeanTPOTP50,
			&d.MeanOutputThroughput, &d.MeanGPUUtilPct); err != nil {
			return nil, fmt.Errorf("store: daily_stats: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Stored is what the store holds of one config: when its newest result of
// each provenance finished, and whether a given run has one. It is what the
// reuse rule consults to decide whether to measure a config again.
type Stored struct {
	Newest map[result.Kind]time.Time
	InRun  bool
	// Retry is set when a person asked, through the review queue, for the
	// config to be measured again.
	Retry bool
}

// storedChunk bounds the parameters of one query (SQLite allows 32,766).
const storedChunk = 500

// StoredResults returns, for those of fps that have results, what is stored;
// InRun is whether runID (may be empty) has a result of the config.
func (s *store) StoredResults(ctx context.Context, runID string, fps []string) (map[string]Stored, error) {
	out := map[string]Stored{}
	for len(fps) > 0 {
		n := min(len(fps), storedChunk)
		args := make([]any, 0, n+1)
		args = append(args, runID)
		marks := make([]string, n)
		for i, fp := range fps[:n] {
			args, marks[i] = append(args, fp), "$"+strconv.Itoa(i+2)
		}
		fps = fps[n:]
		rows, err := s.b.query(ctx, `SELECT c.fingerprint, re.provenance, max(re.finished),
			max(CASE WHEN ru.id = $1 THEN 1 ELSE 0 END)
			FROM results re JOIN configs c ON c.config_key = re.config_key JOIN runs ru ON ru.run_key = re.run_key
			WHERE c.fingerprint IN (`+strings.Join(marks, ", ")+`) GROUP BY c.fingerprint, re.provenance`, args...)
		if err != nil {
			return nil, fmt.Errorf("store: stored results: %w", err)
		}
		for rows.Next() {
			var fp string
			var kind result.Kind
			var newest ts
			var inRun int
			if err := rows.Scan(&fp, &kind, &newest, &inRun); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: stored results: %w", err)
			}
			st := out[fp]
			if st.Newest == nil {
				st.Newest = map[result.Kind]time.Time{}
			}
			st.Newest[kind] = newest.t
			st.InRun = st.InRun || inRun == 1
			out[fp] = st
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: stored results: %w", err)
		}
		if err := s.retries(ctx, args[1:], out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// retries sets Retry in out for the configs among fps that the review queue
// asks to measure again.
func (s *store) retries(ctx context.Context, fps []any, out map[string]Stored) error {
	marks := make([]string, len(fps))
	for i := range fps {
		marks[i] = "$" + strconv.Itoa(i+1)
	}
	rows, err := s.b.query(ctx, `SELECT DISTINCT c.fingerprint FROM reviews rv JOIN configs c ON c.config_key = rv.config_key
		WHERE rv.state = 'retry' AND c.fingerprint IN (`+strings.Join(marks, ", ")+`)`, fps...)
	if err != nil {
		return fmt.Errorf("store: retries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var fp string
		if err := rows.Scan(&fp); err != nil {
			return fmt.Errorf("store: retries: %w", err)
		}
		st := out[fp]
		st.Retry = true
		out[fp] = st
	}
	return rows.Err()
}
