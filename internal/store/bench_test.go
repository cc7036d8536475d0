package store

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// The ingest benchmarks load 1,000,000 request rows: 2,000 configs of 500
// requests, each with 17 output tokens (16 inter-token gaps), appended 20
// configs (10,000 rows) per call. Run them with -benchtime=1x.
const (
	benchConfigs   = 2000
	benchPerConfig = 500
	benchPerCall   = 20
	benchRows      = benchConfigs * benchPerConfig
)

func benchData() []RecordBatch {
	out := make([]RecordBatch, benchConfigs)
	base := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC).UnixNano()
	for c := range out {
		rs := make([]*sdk.Record, benchPerConfig)
		for i := range rs {
			start := base + int64(c*benchPerConfig+i)*3_000_000
			itl := make([]int64, 16)
			for j := range itl {
				itl[j] = 9_000_000 + int64((i*7+j*13)%5_000_000)
			}
			rs[i] = &sdk.Record{Index: int32(i), ScheduledNs: start, StartNs: start + 1_000, FirstTokenNs: start + 25_000_000,
				EndNs: start + 200_000_000, ItlNs: itl, PromptTokens: int32(100 + i%400), OutputTokens: 17,
				ClientPromptTokens: int32(90 + i%400), ClientOutputTokens: 17, Status: 200, FinishReason: "stop"}
		}
		out[c] = RecordBatch{Fingerprint: fmt.Sprintf("%064x", c), Attempt: 1, Records: rs}
	}
	return out
}

func appendAll(b *testing.B, s Store, run string, data []RecordBatch) time.Duration {
	b.Helper()
	start := time.Now()
	for i := 0; i < len(data); i += benchPerCall {
		if err := s.(*store).appendBatches(context.Background(), run, data[i:min(i+benchPerCall, len(data))]); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// ingestTarget is a fresh schema with a run and the configs stored, ready
// for the timed load.
func ingestTarget(b *testing.B, data []RecordBatch, started time.Time) (Store, string, map[string]int64) {
	b.Helper()
	u := pgSchemaURL(b)
	s, err := Open(context.Background(), u)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	mustRunB(b, s, started)
	keys := map[string]int64{}
	for _, d := range data {
		if err := putConfig(b, s, d.Fingerprint, []byte(`{"model":"m"}`)); err != nil {
			b.Fatal(err)
		}
		k, _, err := s.(*store).configKey(context.Background(), d.Fingerprint, false)
		if err != nil {
			b.Fatal(err)
		}
		keys[d.Fingerprint] = k
	}
	return s, u, keys
}

func mustRunB(b *testing.B, s Store, started time.Time) {
	if _, err := s.CreateRun(context.Background(), Run{ID: "bench", Campaign: "bench", Started: started}); err != nil {
		b.Fatal(err)
	}
}

// writeCSV writes the rows as the store would COPY them, for psql.
func writeCSV(b *testing.B, path string, data []RecordBatch, keys map[string]int64, started time.Time) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := csv.NewWriter(f)
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	row := make([]string, 0, len(requestCopyColumns))
	for _, d := range data {
		for _, r := range d.Records {
			itl := make([]string, len(r.ItlNs))
			for j, g := range r.ItlNs {
				itl[j] = i64(g)
			}
			row = append(row[:0], "1", i64(keys[d.Fingerprint]), strconv.Itoa(d.Attempt), started.Format(time.RFC3339Nano),
				i64(int64(r.Index)), i64(r.ScheduledNs), i64(r.StartNs), i64(r.FirstTokenNs), i64(r.EndNs),
				"{"+strings.Join(itl, ",")+"}", i64(int64(r.PromptTokens)), i64(int64(r.OutputTokens)),
				i64(int64(r.ClientPromptTokens)), i64(int64(r.ClientOutputTokens)), i64(int64(r.Status)),
				r.ErrorClass, r.Error, r.FinishReason, r.Output, r.Expected)
			if err := w.Write(row); err != nil {
				b.Fatal(err)
			}
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// checkpoint flushes PostgreSQL's dirty buffers, so that no phase pays for
// the previous one's writes.
func checkpoint(b *testing.B) {
	c, err := pgx.Connect(context.Background(), testPostgresURL())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	c.Exec(context.Background(), "CHECKPOINT") // needs privileges; a best effort
}

func countRows(b *testing.B, s Store) int {
	var n int
	if err := s.(*store).b.queryRow(context.Background(), `SELECT count(*) FROM requests`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkPostgresIngest loads the same 1,000,000 rows three ways into
// identical, freshly migrated schemas: psql's \copy of them as CSV, the
// store's AppendBatches (COPY straight in, rows being new), and AppendBatches
// forced through the staging table and INSERT … ON CONFLICT DO NOTHING.
func BenchmarkPostgresIngest(b *testing.B) {
	requirePostgres(b)
	psql, err := exec.LookPath("psql")
	if err != nil {
		b.Skip("no psql")
	}
	data := benchData()
	started := time.Now().UTC().Truncate(time.Microsecond)
	var tPsql, tStore, tStaged time.Duration
	for range b.N {
		b.StopTimer()
		// psql
		_, u, keys := ingestTarget(b, data, started)
		file := filepath.Join(b.TempDir(), "rows.csv")
		writeCSV(b, file, data, keys, started)
		schema := mustParse(b, u).Query().Get("search_path")
		cmd := exec.Command(psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", testPostgresURL(),
			"-c", `\copy requests (`+strings.Join(requestCopyColumns, ", ")+`) FROM '`+file+`' CSV`)
		cmd.Env = append(os.Environ(), "PGOPTIONS=-c search_path="+schema)
		checkpoint(b)
		runtime.GC()
		b.StartTimer()
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("psql: %v\n%s", err, out)
		}
		tPsql += time.Since(start)
		b.StopTimer()

		// The store, as it appends.
		s, _, _ := ingestTarget(b, data, started)
		checkpoint(b)
		runtime.GC()
		b.StartTimer()
		tStore += appendAll(b, s, "bench", data)
		b.StopTimer()
		if n := countRows(b, s); n != benchRows {
			b.Fatalf("store loaded %d rows", n)
		}

		// The store, every batch through the staging table.
		s, _, _ = ingestTarget(b, data, started)
		s.(*store).b.(*pgBackend).forceStaging = true
		checkpoint(b)
		runtime.GC()
		b.StartTimer()
		tStaged += appendAll(b, s, "bench", data)
		b.StopTimer()
		if n := countRows(b, s); n != benchRows {
			b.Fatalf("staged load stored %d rows", n)
		}
	}
	rate := func(d time.Duration) float64 { return float64(b.N*benchRows) / d.Seconds() }
	b.ReportMetric(rate(tStore), "store_rows/s")
	b.ReportMetric(rate(tStaged), "staged_rows/s")
	b.ReportMetric(rate(tPsql), "psql_rows/s")
	b.ReportMetric(rate(tStore)/rate(tPsql), "store/psql")
	b.ReportMetric(rate(tStaged)/rate(tPsql), "staged/psql")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkPostgresReappend appends rows that are all stored already: the
// cost of an idempotent retry (staging, every row a conflict).
func BenchmarkPostgresReappend(b *testing.B) {
	requirePostgres(b)
	data := benchData()[:200] // 100,000 rows
	s, _, _ := ingestTarget(b, data, time.Now())
	appendAll(b, s, "bench", data)
	var d time.Duration
	for b.Loop() {
		d += appendAll(b, s, "bench", data)
	}
	if n := countRows(b, s); n != 200*benchPerConfig {
		b.Fatalf("%d rows after re-appending", n)
	}
	b.ReportMetric(float64(b.N*200*benchPerConfig)/d.Seconds(), "rows/s")
}

func mustParse(b *testing.B, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	return u
}

// BenchmarkSQLiteIngest loads the 1,000,000 rows into a fresh file.
func BenchmarkSQLiteIngest(b *testing.B) {
	data := benchData()
	var d time.Duration
	for range b.N {
		b.StopTimer()
		s, err := Open(context.Background(), "sqlite://"+filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		mustRunB(b, s, time.Now())
		for _, c := range data {
			if err := putConfig(b, s, c.Fingerprint, []byte(`{"model":"m"}`)); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		b.StartTimer()
		d += appendAll(b, s, "bench", data)
		b.StopTimer()
		if n := countRows(b, s); n != benchRows {
			b.Fatalf("loaded %d rows", n)
		}
		s.Close()
	}
	b.ReportMetric(float64(b.N*benchRows)/d.Seconds(), "rows/s")
	b.ReportMetric(0, "ns/op")
}
