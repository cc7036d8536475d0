package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Ranking is a row of model_rankings: one serving stack of a model under one
// workload, ranked among the model's stacks by best output throughput.
// Predicted rows (the emulated engine's) are ranked apart from measured ones.
type Ranking struct {
	Model, Workload, Hardware, Framework, Quantization string
	Predicted                                          bool
	Results                                            int
	BestOutputThroughput, BestGoodput                  float64
	BestTTFTP99, BestTPOTP50                           float64 // ms
	LastFinished                                       time.Time
	Rank                                               int
}

// DailyStat is a row of daily_stats: one UTC day of one serving stack.
type DailyStat struct {
	Day                                      string // YYYY-MM-DD, UTC
	Model, Hardware, Framework, Quantization string
	Results, Requests, FailedRequests        int
	MeanTTFTP50, MaxTTFTP99, MeanTPOTP50     float64 // ms
	MeanOutputThroughput                     float64
}

// sqliteViews rebuild the tables that stand for PostgreSQL's materialized
// views, with the same definitions (migrations/postgres/0003_views.sql).
var sqliteViews = []string{
	`DELETE FROM model_rankings`,
	`INSERT INTO model_rankings SELECT c.model, c.workload, c.hardware, c.framework, c.quantization,
		(re.served_by LIKE 'sim%'), count(*), max(re.output_throughput), max(re.goodput),
		min(re.ttft_p99_ms), min(re.tpot_p50_ms), max(re.finished),
		rank() OVER (PARTITION BY c.model, c.workload, (re.served_by LIKE 'sim%') ORDER BY max(re.output_throughput) DESC)
		FROM results re JOIN configs c ON c.config_key = re.config_key
		GROUP BY c.model, c.workload, c.hardware, c.framework, c.quantization, (re.served_by LIKE 'sim%')`,
	`DELETE FROM daily_stats`,
	`INSERT INTO daily_stats SELECT date(re.finished / 1000000, 'unixepoch'), c.model, c.hardware, c.framework, c.quantization,
		count(*), sum(re.requests), sum(re.failed), avg(re.ttft_p50_ms), max(re.ttft_p99_ms), avg(re.tpot_p50_ms),
		avg(re.output_throughput)
		FROM results re JOIN configs c ON c.config_key = re.config_key
		GROUP BY 1, c.model, c.hardware, c.framework, c.quantization`,
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
	rows, err := s.b.query(ctx, `SELECT model, workload, hardware, framework, quantization, predicted, results,
		best_output_throughput, best_goodput, best_ttft_p99_ms, best_tpot_p50_ms, last_finished, rank
		FROM model_rankings ORDER BY model, workload, predicted, rank, hardware, framework, quantization`)
	if err != nil {
		return nil, fmt.Errorf("store: model_rankings: %w", err)
	}
	defer rows.Close()
	out := []Ranking{}
	for rows.Next() {
		var r Ranking
		var last ts
		if err := rows.Scan(&r.Model, &r.Workload, &r.Hardware, &r.Framework, &r.Quantization, &r.Predicted, &r.Results,
			&r.BestOutputThroughput, &r.BestGoodput, &r.BestTTFTP99, &r.BestTPOTP50, &last, &r.Rank); err != nil {
			return nil, fmt.Errorf("store: model_rankings: %w", err)
		}
		r.LastFinished = last.t
		out = append(out, r)
	}
	return out, rows.Err()
}

// DailyStats reads daily_stats as of the last RefreshViews.
func (s *store) DailyStats(ctx context.Context) ([]DailyStat, error) {
	rows, err := s.b.query(ctx, `SELECT CAST(day AS TEXT), model, hardware, framework, quantization, results, requests,
		failed_requests, mean_ttft_p50_ms, max_ttft_p99_ms, mean_tpot_p50_ms, mean_output_throughput
		FROM daily_stats ORDER BY day, model, hardware, framework, quantization`)
	if err != nil {
		return nil, fmt.Errorf("store: daily_stats: %w", err)
	}
	defer rows.Close()
	out := []DailyStat{}
	for rows.Next() {
		var d DailyStat
		if err := rows.Scan(&d.Day, &d.Model, &d.Hardware, &d.Framework, &d.Quantization, &d.Results, &d.Requests,
			&d.FailedRequests, &d.MeanTTFTP50, &d.MaxTTFTP99, &d.MeanTPOTP50, &d.MeanOutputThroughput); err != nil {
			return nil, fmt.Errorf("store: daily_stats: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Stored says which kinds of result a config has in any run.
type Stored struct {
	Measured  bool // a result served by a real engine
	Predicted bool // a result of the emulated engine (served_by "sim ...")
}

// storedChunk bounds the parameters of one query (SQLite allows 32,766).
const storedChunk = 500

// StoredResults returns, for those of fps that have results in any run, which
// kinds: what a run consults to skip configs that are done already.
func (s *store) StoredResults(ctx context.Context, fps []string) (map[string]Stored, error) {
	out := map[string]Stored{}
	for len(fps) > 0 {
		n := min(len(fps), storedChunk)
		args := make([]any, n)
		marks := make([]string, n)
		for i, fp := range fps[:n] {
			args[i], marks[i] = fp, "$"+strconv.Itoa(i+1)
		}
		fps = fps[n:]
		rows, err := s.b.query(ctx, `SELECT c.fingerprint,
			max(CASE WHEN re.served_by LIKE 'sim%' THEN 0 ELSE 1 END), max(CASE WHEN re.served_by LIKE 'sim%' THEN 1 ELSE 0 END)
			FROM results re JOIN configs c ON c.config_key = re.config_key
			WHERE c.fingerprint IN (`+strings.Join(marks, ", ")+`) GROUP BY c.fingerprint`, args...)
		if err != nil {
			return nil, fmt.Errorf("store: stored results: %w", err)
		}
		for rows.Next() {
			var fp string
			var measured, predicted int
			if err := rows.Scan(&fp, &measured, &predicted); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: stored results: %w", err)
			}
			out[fp] = Stored{Measured: measured == 1, Predicted: predicted == 1}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: stored results: %w", err)
		}
	}
	return out, nil
}
