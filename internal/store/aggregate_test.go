package store

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// fillAggregates stores the same requests in any store: two runs, three
// configs, latencies drawn from a seeded generator, plus rows that must not
// count (errors, a voided attempt, an index repeated by a later attempt).
func fillAggregates(t *testing.T, s Store) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	cfg := func(model, hw, fw, load string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"model":%q,"hardware":%q,"framework":%q,"quantization":"fp16","workload":"chat",%s}`, model, hw, fw, load))
	}
	configs := []struct {
		fp string
		c  json.RawMessage
	}{{"fa", cfg("llama", "h100", "vllm", `"concurrency":8`)}, {"fb", cfg("llama", "a100", "vllm", `"concurrency":32`)}, {"fc", cfg("qwen", "h100", "tgi", `"request_rate":2.5`)}}
	for ri, run := range []string{"r1", "r2"} {
		mustRun(t, s, Run{ID: run, Campaign: "agg", MatrixHash: "h", Started: time.Date(2026, 11, 1+ri, 0, 0, 0, 0, time.UTC)})
		for _, c := range configs {
			if err := putConfig(t, s, c.fp, c.c); err != nil {
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
	if err := s.PutFailure(ctx, Failure{Run: "r2", Fingerprint: "fa", Attempt: 3, Reason: "crashed"}); err != nil {
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
	{By: []string{"model", "load"}},
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
			want = append(want, Aggregate{Group: []string{"r2", "fa"}, Metric: m.name, N: st.N, Mean: st.Mean.Or(0),
				Median: st.Median.Or(0), P95: st.P95.Or(0), P99: st.P99.Or(0)})
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
		put := func(run, fp, hw string, kind result.Kind, thr float64, at time.Time) {
			t.Helper()
			var m metrics.Summary
			m.Requests, m.Succeeded, m.Failed = 10, 9, 1
			m.TTFT.P50, m.TTFT.P99, m.TPOT.P50, m.OutputThroughput, m.Goodput = metrics.Of(thr/10), metrics.Of(thr/5), metrics.Of(4), metrics.Of(thr), metrics.Of(3)
			r := measuredResult(run, fp, "llama", hw, m, at)
			r.Provenance.Kind = kind
			if err := s.PutResult(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		put("r1", "h100", "h100", result.Measured, 900, day)
		put("r2", "h100", "h100", result.Measured, 1000, day.Add(time.Hour)) // the next UTC day
		put("r1", "a100", "a100", result.Measured, 500, day)
		put("r1", "l4", "l4", result.Predicted, 2000, day)
		// A config whose throughput was not measured ranks last, with NULL.
		put("r1", "t4", "t4", result.Measured, 0, day)
		if err := s.PutResult(ctx, measuredResult("r1", "t4", "llama", "t4", metrics.Summary{Requests: 1}, day)); err != nil {
			t.Fatal(err)
		}

		if err := s.RefreshViews(ctx); err != nil {
			t.Fatal(err)
		}
		rk, err := s.ModelRankings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			HW         string
			Provenance result.Kind
			Results    int
			Best       string
			Rank       int
		}
		var got []row
		for _, r := range rk {
			got = append(got, row{r.Hardware, r.Provenance, r.Results, r.BestOutputThroughput.String(), r.Rank})
		}
		want := []row{{"h100", result.Measured, 2, "1000", 1}, {"a100", result.Measured, 1, "500", 2},
			{"t4", result.Measured, 1, "–", 3}, {"l4", result.Predicted, 1, "2000", 1}}
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
			days = append(days, fmt.Sprintf("%s %s %d %s", d.Day, d.Hardware, d.Results, d.MeanOutputThroughput))
		}
		wantDays := []string{"2026-11-02 a100 1 500", "2026-11-02 h100 1 900", "2026-11-02 l4 1 2000", "2026-11-02 t4 1 –", "2026-11-03 h100 1 1000"}
		if d := cmp.Diff(wantDays, days); d != "" {
			t.Errorf("daily_stats (-want +got):\n%s", d)
		}

		// A refresh sees new results; a second one in a row changes nothing.
		put("r2", "a100", "a100", result.Measured, 1500, day)
		for range 2 {
			if err := s.RefreshViews(ctx); err != nil {
				t.Fatal(err)
			}
		}
		rk, _ = s.ModelRankings(ctx)
		if rk[0].Hardware != "a100" || rk[0].Rank != 1 || rk[0].BestOutputThroughput != metrics.Of(1500) {
			t.Errorf("after refresh: %+v", rk[0])
		}
	})
}

func TestStoredResults(t *testing.T) {
	backends(t, func(t *testing.T, url string) {
		s := open(t, url)
		mustRun(t, s, Run{ID: "r1", Campaign: "v", MatrixHash: "h"})
		mustRun(t, s, Run{ID: "r2", Campaign: "w", MatrixHash: "h"})
		t1, t2 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
		for _, r := range []struct {
			run, fp string
			kind    result.Kind
			at      time.Time
		}{
			{"r1", "measured", result.Measured, t1},
			{"r1", "both", result.Predicted, t1}, {"r2", "both", result.Measured, t2},
			{"r1", "twice", result.Measured, t1}, {"r2", "twice", result.Measured, t2},
			{"r2", "predicted", result.Predicted, t2},
		} {
			res := measuredResult(r.run, r.fp, "m", "h", summary(1), r.at)
			res.Provenance.Kind = r.kind
			if err := s.PutResult(ctx, res); err != nil {
				t.Fatal(err)
			}
		}
		if err := putConfig(t, s, "none", json.RawMessage(`{}`)); err != nil {
			t.Fatal(err)
		}
		// More fingerprints than one query takes.
		fps := []string{"measured", "both", "predicted", "twice", "none", "unknown"}
		for i := range 2 * storedChunk {
			fps = append(fps, fmt.Sprintf("filler-%d", i))
		}
		got, err := s.StoredResults(ctx, "r1", fps)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]Stored{
			"measured":  {Newest: map[result.Kind]time.Time{result.Measured: t1}, InRun: true},
			"both":      {Newest: map[result.Kind]time.Time{result.Measured: t2, result.Predicted: t1}, InRun: true},
			"twice":     {Newest: map[result.Kind]time.Time{result.Measured: t2}, InRun: true},
			"predicted": {Newest: map[result.Kind]time.Time{result.Predicted: t2}},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	})
}

// Load points are groups of their own, labelled as matrix.Load labels them, on
// both backends: a campaign's c=8 and c=32 are never pooled unless asked.
func TestAggregateByLoad(t *testing.T) {
	backends(t, func(t *testing.T, url string) {
		s := open(t, url)
		fillAggregates(t, s)
		got, err := s.Aggregate(ctx, AggregateQuery{By: []string{"load"}})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, a := range got {
			seen[a.Group[0]] = true
		}
		if d := cmp.Diff(map[string]bool{"c=8": true, "c=32": true, "2.5/s": true}, seen); d != "" {
			t.Errorf("load groups (-want +got):\n%s", d)
		}
	})
}
