package store

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/llmsweep/llmsweep/internal/metrics"
)

// AggregateQuery selects per-request rows and how to group them.
type AggregateQuery struct {
	Filter Filter
	// By lists the grouping keys, in order, from GroupKeys; none puts every
	// selected request in one group.
	By []string
}

// GroupKeys are the keys an aggregate can group by.
var GroupKeys = []string{"campaign", "run", "config", "model", "hardware", "framework", "quantization", "workload", "load"}

// groupColumns maps a key to its column: keys are checked against this list,
// so a column name in SQL text never comes from the user.
var groupColumns = map[string]string{
	"campaign": "ru.campaign", "run": "ru.id", "config": "c.fingerprint", "model": "c.model",
	"hardware": "c.hardware", "framework": "c.framework", "quantization": "c.quantization", "workload": "c.workload",
	// The load point as matrix.Load writes it (c=8, 2.5/s), from the resolved
	// config, in SQL both backends run (SQLite has had ->> since 3.38).
	"load": `CASE WHEN c.resolved->>'request_rate' IS NOT NULL THEN (c.resolved->>'request_rate') || '/s' ELSE 'c=' || COALESCE(c.resolved->>'concurrency', '0') END`,
}

// AggregateMetrics are the per-request latencies aggregated, in milliseconds,
// defined as in metrics.Summarize and compare: TTFT over requests with a first
// token, TPOT over requests with more than one output token, E2E over all.
var AggregateMetrics = []string{"e2e_ms", "tpot_ms", "ttft_ms"}

// Aggregate is one metric's statistics over one group's successful requests.
type Aggregate struct {
	Group  []string `json:"group"` // the values of AggregateQuery.By, in order
	Metric string   `json:"metric"`
	N      int      `json:"n"`
	Mean   float64  `json:"mean"`
	Median float64  `json:"median"`
	P95    float64  `json:"p95"`
	P99    float64  `json:"p99"`
}

// liveRequests selects the successful requests that count: those of attempts
// no failure voided, and of an index held by several live attempts, the
// earliest (the rule Records follows). $-parameters come from filterWhere.
func liveRequests(cols []string, where []string) string {
	q := `SELECT ` + strings.Join(append(cols, "r.start_ns", "r.first_token_ns", "r.end_ns",
		"CASE WHEN r.output_tokens < 0 THEN r.client_output_tokens ELSE r.output_tokens END AS n"), ", ") + `
		FROM requests r JOIN runs ru ON ru.run_key = r.run_key JOIN configs c ON c.config_key = r.config_key
		WHERE r.error_class IS NULL
		AND NOT EXISTS (SELECT 1 FROM failures f WHERE f.run_key = r.run_key AND f.config_key = r.config_key AND f.attempt = r.attempt)
		AND NOT EXISTS (SELECT 1 FROM requests e WHERE e.run_key = r.run_key AND e.config_key = r.config_key
			AND e.idx = r.idx AND e.attempt < r.attempt AND NOT EXISTS (SELECT 1 FROM failures f
				WHERE f.run_key = e.run_key AND f.config_key = e.config_key AND f.attempt = e.attempt))`
	for _, w := range where {
		q += " AND " + w
	}
	return q
}

func groupCols(by []string) ([]string, error) {
	cols := make([]string, len(by))
	for i, k := range by {
		col, ok := groupColumns[k]
		if !ok {
			return nil, fmt.Errorf("store: aggregate: unknown group key %q (want one of %s)", k, strings.Join(GroupKeys, ", "))
		}
		cols[i] = col
	}
	return cols, nil
}

// Aggregate computes statistics of per-request latencies across configs and
// runs: PostgreSQL in SQL (percentile_cont), SQLite in Go (gonum/stat, through
// metrics.Summarize). Both interpolate quantiles between closest ranks, so
// they agree. Rows are sorted by group, then metric.
func (s *store) Aggregate(ctx context.Context, q AggregateQuery) ([]Aggregate, error) {
	// Per-request rows have no provenance or result of their own.
	if q.Filter.Provenance != "" || q.Filter.Newest {
		return nil, fmt.Errorf("store: aggregate: per-request rows cannot be filtered by provenance or newest result")
	}
	if s.d.name == "postgres" {
		return s.aggregateSQL(ctx, q)
	}
	return s.aggregateGo(ctx, q)
}

func (s *store) aggregateSQL(ctx context.Context, q AggregateQuery) ([]Aggregate, error) {
	cols, err := groupCols(q.By)
	if err != nil {
		return nil, err
	}
	where, args := filterWhere(q.Filter)
	g := make([]string, len(cols))
	for i := range cols {
		g[i] = fmt.Sprintf("g%d", i)
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = c + " AS " + g[i]
	}
	keys := strings.Join(append(slices.Clone(g), "m.metric"), ", ")
	// The casts make each value the same float64 operations as in Go.
	sqlText := `WITH live AS (` + liveRequests(sel, where) + `)
		SELECT ` + keys + `, count(*), avg(m.v),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY m.v),
			percentile_cont(0.95) WITHIN GROUP (ORDER BY m.v),
			percentile_cont(0.99) WITHIN GROUP (ORDER BY m.v)
		FROM live CROSS JOIN LATERAL (VALUES
			('e2e_ms', (end_ns - start_ns)::float8 / 1e6::float8),
			('tpot_ms', CASE WHEN n > 1 AND first_token_ns > 0 THEN (end_ns - first_token_ns)::float8 / 1e6::float8 / (n - 1)::float8 END),
			('ttft_ms', CASE WHEN first_token_ns > 0 THEN (first_token_ns - start_ns)::float8 / 1e6::float8 END)
		) AS m(metric, v)
		WHERE m.v IS NOT NULL
		GROUP BY ` + keys + ` ORDER BY ` + keys
	rows, err := s.b.query(ctx, sqlText, args...)
	if err != nil {
		return nil, fmt.Errorf("store: aggregate: %w", err)
	}
	defer rows.Close()
	out := []Aggregate{}
	for rows.Next() {
		a := Aggregate{Group: make([]string, len(cols))}
		dest := make([]any, 0, len(cols)+6)
		for i := range a.Group {
			dest = append(dest, &a.Group[i])
		}
		dest = append(dest, &a.Metric, &a.N, &a.Mean, &a.Median, &a.P95, &a.P99)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: aggregate: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *store) aggregateGo(ctx context.Context, q AggregateQuery) ([]Aggregate, error) {
	cols, err := groupCols(q.By)
	if err != nil {
		return nil, err
	}
	where, args := filterWhere(q.Filter)
	rows, err := s.b.query(ctx, liveRequests(cols, where), args...)
	if err != nil {
		return nil, fmt.Errorf("store: aggregate: %w", err)
	}
	defer rows.Close()
	type series struct {
		group  []string
		values map[string][]float64
	}
	groups := map[string]*series{}
	for rows.Next() {
		group := make([]string, len(cols))
		var start, first, end, n int64
		dest := make([]any, 0, len(cols)+4)
		for i := range group {
			dest = append(dest, &group[i])
		}
		dest = append(dest, &start, &first, &end, &n)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: aggregate: %w", err)
		}
		key := strings.Join(group, "\x00")
		g := groups[key]
		if g == nil {
			g = &series{group: group, values: map[string][]float64{}}
			groups[key] = g
		}
		g.values["e2e_ms"] = append(g.values["e2e_ms"], float64(end-start)/1e6)
		if first > 0 {
			g.values["ttft_ms"] = append(g.values["ttft_ms"], float64(first-start)/1e6)
			if n > 1 {
				g.values["tpot_ms"] = append(g.values["tpot_ms"], float64(end-first)/1e6/float64(n-1))
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: aggregate: %w", err)
	}
	out := []Aggregate{}
	for _, g := range groups {
		for _, m := range AggregateMetrics {
			x := g.values[m]
			if len(x) == 0 {
				continue
			}
			st := metrics.Describe(x)
			// Present: x is not empty.
			out = append(out, Aggregate{Group: g.group, Metric: m, N: st.N, Mean: st.Mean.Or(0), Median: st.Median.Or(0),
				P95: st.P95.Or(0), P99: st.P99.Or(0)})
		}
	}
	slices.SortFunc(out, func(a, b Aggregate) int {
		if c := slices.Compare(a.Group, b.Group); c != 0 {
			return c
		}
		return strings.Compare(a.Metric, b.Metric)
	})
	return out, nil
}

// WriteAggregates writes aggregates grouped by the keys by, as a table, JSON
// or CSV (format).
func WriteAggregates(w io.Writer, format string, by []string, rows []Aggregate) error {
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	header := append(slices.Clone(by), "metric", "n", "mean", "median", "p95", "p99")
	cells := func(a Aggregate) []string {
		return append(slices.Clone(a.Group), a.Metric, strconv.Itoa(a.N), num(a.Mean), num(a.Median), num(a.P95), num(a.P99))
	}
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			By         []string    `json:"by"`
			Aggregates []Aggregate `json:"aggregates"`
		}{slices.Clone(by), rows})
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write(header)
		for _, a := range rows {
			cw.Write(cells(a))
		}
		cw.Flush()
		return cw.Error()
	case "table":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, strings.ToUpper(strings.Join(header, "\t")))
		for _, a := range rows {
			fmt.Fprintln(tw, strings.Join(cells(a), "\t"))
		}
		return tw.Flush()
	}
	return fmt.Errorf("aggregates: format %q: want table, json or csv", format)
}
