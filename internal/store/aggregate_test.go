package store

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// fillAggregates stores the same requests in any store: two runs, three
// configs, latencies drawn from a seeded generator, plus rows that must not
// count (errors, a voided attempt, an index repeated by a later attempt).
func fillAggregates(t *testing.T, s Store) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	cfg := func(model, hw, fw string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"model":%q,"hardware":%q,"framework":%q,"quantization":"fp16","workload":"chat"}`, model, hw, fw))
	}
	configs := []struct {
		fp string
		c  json.RawMessage
	}{{"fa", cfg("llama", "h100", "vllm")}, {"fb", cfg("llama", "a100", "vllm")}, {"fc", cfg("qwen", "h100", "tgi")}}
	for ri, run := range []string{"r1", "r2"} {
		mustRun(t, s, Run{ID: run, Campaign: "agg", MatrixHash: "h", Started: time.Date(2026, 11, 1+ri, 0, 0, 0, 0, time.UTC)})
		for _, c := range configs {
			if err := s.PutConfig(ctx, c.fp, c.c); err != nil {
				t.Fatal(err)
			}
			var batch []*sdk.Record
			for i := int32(0); i < 150; i++ {
				start := int64(1_000_000_000) + int64(i)*7_000_000
				first := start + int64(2e6+rng.Float64()*8e7)
				out := int32(1 + rng.IntN(200))
				r := &sdk.Record{Index: i, StartNs: start, FirstTokenNs: first,
					EndNs: first + int64(out)*int64(1e6+rng.Float64()*3e7), OutputTokens: out, Status: 200}
				switch {
				case i%37 == 5:
					r.ErrorClass, r.Status = "server_error", 500
				case i%41 == 3:
					r.FirstTokenNs = 0 // no first token: no TTFT, no TPOT
				case i%11 == 0:
					r.OutputTokens, r.ClientOutputTokens = -1, out // the server sent no usage
				}
				batch = append(batch, r)
			}
			if err := s.AppendRecords(ctx, run, c.fp, 1, batch); err != nil {
				t.Fatal(err)
			}
			// A later attempt repeating indices 0..9 with huge latencies: the
			// earlier live attempt wins, so these must not count.
			if err := s.AppendRecords(ctx, run, c.fp, 2, recsWithLatency(0, 10, 9e9)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A voided attempt of fa in r2: records that must not count.
	if err := s.AppendRecords(ctx, "r2", "fa", 3, recsWithLatency(150, 160, 8e9)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFailure(ctx, Failure{RunID: "r2", Fingerprint: "fa", Attempt: 3, Reason: "crashed"}); err != nil {
		t.Fatal(err)
	}
}

func recsWithLatency(from, to int32, ns int64) []*sdk.Record {
	var out []*sdk.Record
	for i := from; i < to; i++ {
		out = append(out, &sdk.Record{Index: i, StartNs: 1, FirstTokenNs: 1 + ns, EndNs: 1 + 2*ns, OutputTokens: 5, Status: 200})
	}
	return out
}

var aggQueries = []AggregateQuery{
	{},
	{By: []string{"model"}},
	{By: []string{"run", "config"}},
	{By: []string{"hardware", "framework"}, Filter: Filter{Model: "llama"}},
	{By: []string{"config"}, Filter: Filter{RunID: "r2"}},
}

// floats compares statistics to a relative 1e-9: the backends add in
// different orders.
var floats = cmpopts.EquateApprox(1e-9, 1e-9)

// TestAggregateSQLMatchesGo: PostgreSQL's percentile_cont and the Go path
// (gonum/stat) give the same answers on the same rows, and SQLite's Go path
// gives them too on its copy of the rows.
func TestAggregateSQLMatchesGo(t *testing.T) {
	pg := open(t, pgSchemaURL(t)).(*store)
	lite := open(t, sqliteURL(t)).(*store)
	fillAggregates(t, pg)
	fillAggregates(t, lite)
	for _, q := range aggQueries {
		t.Run(fmt.Sprint(q.By, q.Filter), func(t *testing.T) {
			sqlRows, err := pg.aggregateSQL(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			goRows, err := pg.aggregateGo(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			liteRows, err := lite.Aggregate(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(sqlRows) == 0 {
				t.Fatal("no aggregates")
			}
			if d := cmp.Diff(sqlRows, goRows, floats); d != "" {
				t.Errorf("PostgreSQL SQL vs Go (-sql +go):\n%s", d)
			}
			if d := cmp.Diff(sqlRows, liteRows, floats); d != "" {
				t.Errorf("PostgreSQL vs SQLite (-pg +sqlite):\n%s", d)
			}
		})
	}
}

// TestAggregateValues checks one group against statistics computed here from
// the stored records, so that agreeing backends cannot both be wrong.
func TestAggregateValues(t *testing.T) {
	backends(t, func(t *testing.T, url string) {
		s := open(t, url)
		fillAggregates(t, s)
		got, err := s.Aggregate(ctx, AggregateQuery{By: []string{"run", "config"}, Filter: Filter{RunID: "r2", Fingerprint: "fa"}})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := s.Records(ctx, "r2", "fa")
		if err != nil {
			t.Fatal(err)
		}
		var ttft, tpot, e2e []float64
		for _, r := range recs {
			if r.ErrorClass != "" {
				continue
			}
			e2e = append(e2e, float64(r.EndNs-r.StartNs)/1e6)
			if r.FirstTokenNs > 0 {
				ttft = append(ttft, float64(r.FirstTokenNs-r.StartNs)/1e6)
				n := r.OutputTokens
				if n < 0 {
					n = r.ClientOutputTokens
				}
				if n > 1 {
					tpot = append(tpot, float64(r.EndNs-r.FirstTokenNs)/1e6/float64(n-1))
				}
			}
		}
		var want []Aggregate
		for _, m := range []struct {
			name string
			x    []float64
		}{{"e2e_ms", e2e}, {"tpot_ms", tpot}, {"ttft_ms", ttft}} {
			st := metrics.Describe(m.x)
			want = append(want, Aggregate{Group: []string{"r2", "fa"}, Metric: m.name, N: st.N, Mean: st.Mean, Median: st.Median, P95: st.P95, P99: st.P99})
		}
		if d := cmp.Diff(want, got, floats); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
		if want[2].N != 150-4-4 || want[2].P99 > 1e3 {
			t.Errorf("ttft over %d requests, P99 %v ms: voided or repeated rows counted", want[2].N, want[2].P99)
		}
	})
}

func TestAggregateBadKey(t *testing.T) {
	backends(t, func(t *testing.T, url string) {
		s := open(t, url)
		_, err := s.Aggregate(ctx, AggregateQuery{By: []string{"model; DROP TABLE runs"}})
		if err == nil || !strings.Contains(err.Error(), `unknown group key "model; DROP TABLE runs"`) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestViews(t *testing.T) {
	backends(t, func(t *testing.T, url string) {
		s := open(t, url)
		mustRun(t, s, Run{ID: "r1", Campaign: "v", MatrixHash: "h"})
		mustRun(t, s, Run{ID: "r2", Campaign: "v", MatrixHash: "h"})
		day := time.Date(2026, 11, 2, 23, 30, 0, 0, time.UTC)
		put := func(run, fp, hw, servedBy string, thr float64, at time.Time) {
			t.Helper()
			var m metrics.Summary
			m.Requests, m.Succeeded, m.Failed = 10, 9, 1
			m.TTFT.P50, m.TTFT.P99, m.TPOT.P50, m.OutputThroughput, m.Goodput = thr/10, thr/5, 4, thr, 3
			sum, _ := json.Marshal(m)
			c := json.RawMessage(fmt.Sprintf(`{"model":"llama","hardware":%q,"framework":"vllm","quantization":"fp16","workload":"chat"}`, hw))
			if err := s.PutResult(ctx, Result{RunID: run, Fingerprint: fp, Attempts: 1, Config: c, Summary: sum, ServedBy: servedBy, Finished: at}); err != nil {
				t.Fatal(err)
			}
		}
		put("r1", "h100", "h100", "vllm", 900, day)
		put("r2", "h100", "h100", "vllm", 1000, day.Add(time.Hour)) // the next UTC day
		put("r1", "a100", "a100", "vllm", 500, day)
		put("r1", "l4", "l4", "sim (predicted)", 2000, day)

		if err := s.RefreshViews(ctx); err != nil {
			t.Fatal(err)
		}
		rk, err := s.ModelRankings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			HW        string
			Predicted bool
			Results   int
			Best      float64
			Rank      int
		}
		var got []row
		for _, r := range rk {
			got = append(got, row{r.Hardware, r.Predicted, r.Results, r.BestOutputThroughput, r.Rank})
		}
		want := []row{{"h100", false, 2, 1000, 1}, {"a100", false, 1, 500, 2}, {"l4", true, 1, 2000, 1}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("model_rankings (-want +got):\n%s", d)
		}
		if !rk[0].LastFinished.Equal(day.Add(time.Hour)) {
			t.Errorf("last_finished = %v", rk[0].LastFinished)
		}

		ds, err := s.DailyStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var days []string
		for _, d := range ds {
			days = append(days, fmt.Sprintf("%s %s %d %.0f", d.Day, d.Hardware, d.Results, d.MeanOutputThroughput))
		}
		wantDays := []string{"2026-11-02 a100 1 500", "2026-11-02 h100 1 900", "2026-11-02 l4 1 2000", "2026-11-03 h100 1 1000"}
		if d := cmp.Diff(wantDays, days); d != "" {
			t.Errorf("daily_stats (-want +got):\n%s", d)
		}

		// A refresh sees new results; a second one in a row changes nothing.
		put("r2", "a100", "a100", "vllm", 1500, day)
		for range 2 {
			if err := s.RefreshViews(ctx); err != nil {
				t.Fatal(err)
			}
		}
		rk, _ = s.ModelRankings(ctx)
		if rk[0].Hardware != "a100" || rk[0].Rank != 1 || math.Abs(rk[0].BestOutputThroughput-1500) > 0 {
			t.Errorf("after refresh: %+v", rk[0])
		}
	})
}

func TestStoredResults(t *testing.T) {
	backends(t, func(t *testing.T, url string) {
		s := open(t, url)
		mustRun(t, s, Run{ID: "r1", Campaign: "v", MatrixHash: "h"})
		mustRun(t, s, Run{ID: "r2", Campaign: "w", MatrixHash: "h"})
		for _, r := range []struct{ run, fp, by string }{
			{"r1", "measured", "vllm at http://10.0.0.1:8000 (model m)"},
			{"r1", "both", "sim (predicted)"}, {"r2", "both", "tgi at http://x (model m)"},
			{"r2", "predicted", "sim (predicted)"},
		} {
			if err := s.PutResult(ctx, Result{RunID: r.run, Fingerprint: r.fp, Attempts: 1, Summary: summary(1), ServedBy: r.by}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.PutConfig(ctx, "none", json.RawMessage(`{}`)); err != nil {
			t.Fatal(err)
		}
		// More fingerprints than one query takes.
		fps := []string{"measured", "both", "predicted", "none", "unknown"}
		for i := range 2 * storedChunk {
			fps = append(fps, fmt.Sprintf("filler-%d", i))
		}
		got, err := s.StoredResults(ctx, fps)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]Stored{"measured": {Measured: true}, "both": {Measured: true, Predicted: true}, "predicted": {Predicted: true}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	})
}
