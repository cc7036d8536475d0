package store

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/store/storetest"
	"github.com/llmsweep/llmsweep/internal/telemetry"
)

// These tests need a server that preloads TimescaleDB: make test-timescale
// starts one (tools/timescale/cluster.sh) and runs the whole store suite
// against it. On the machine's main server they skip, or check the native
// side of the same decisions.

func requireTimescale(t *testing.T) {
	t.Helper()
	if !storetest.Timescale(t) {
		t.Skip("the test server has no TimescaleDB: make test-timescale runs this")
	}
}

// The automatic layout follows what the server offers.
func TestAutoLayout(t *testing.T) {
	s := open(t, pgSchemaURL(t))
	pg := s.(*store).b.(*pgBackend)
	st, err := detectTimescale(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	if useTimescale(st) != pg.timescale || storetest.Timescale(t) != pg.timescale {
		t.Fatalf("layout timescale=%v, detection %+v", pg.timescale, st)
	}
}

// Asking for TimescaleDB where the server cannot load it is an error that
// names what is missing, and leaves no schema behind.
func TestLayoutTimescaleUnavailable(t *testing.T) {
	if storetest.Timescale(t) {
		t.Skip("the test server has TimescaleDB")
	}
	url := pgSchemaURL(t)
	err := Migrate(ctx, url, LayoutTimescale)
	if err == nil || !strings.Contains(err.Error(), "cannot load timescaledb") {
		t.Fatalf("got %v", err)
	}
	if n := tableCount(t, url); n != 0 {
		t.Errorf("%d tables left in the schema", n)
	}
}

func tableCount(t *testing.T, url string) int {
	t.Helper()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int
	if err := c.QueryRow(ctx, `SELECT count(*) FROM pg_class WHERE relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Hypertables and their chunks exist, the features match the edition, store
// info shows them, and drop_chunks expires old runs' raw rows (Apache) or a
// policy does (community).
func TestTimescaleHypertables(t *testing.T) {
	requireTimescale(t)
	url := pgSchemaURL(t)
	s := open(t, url)
	pg := s.(*store).b.(*pgBackend)
	if !pg.timescale {
		t.Fatal("the store did not take TimescaleDB")
	}
	var license string
	pg.queryRow(ctx, `SELECT current_setting('timescaledb.license')`).Scan(&license)

	// Three runs, in three weeks: three chunks of each table.
	weeks := []time.Time{
		time.Date(2026, 8, 3, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 8, 17, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
	}
	for i, w := range weeks {
		run := mustRun(t, s, Run{ID: fmt.Sprint("w", i), Campaign: "c", Started: w}).ID
		if err := s.AppendRecords(ctx, run, "fp", 1, recs(0, 50, int64(i))); err != nil {
			t.Fatal(err)
		}
		if err := s.PutSamples(ctx, run, "fp", []telemetry.Sample{{TimeNs: 1, Source: "proc", Device: "pid 1", CPUPct: 10}}); err != nil {
			t.Fatal(err)
		}
	}
	chunks := func(table string) int {
		var n int
		if err := pg.queryRow(ctx, `SELECT count(*) FROM timescaledb_information.chunks
			WHERE hypertable_schema = current_schema() AND hypertable_name = $1`, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, table := range []string{"requests", "utilization"} {
		if n := chunks(table); n != 3 {
			t.Errorf("%s has %d chunks, want 3", table, n)
		}
	}

	info, err := Describe(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if info.Layout != "timescale" || info.Timescale == nil || info.Timescale.Installed == "" || info.Timescale.License != license {
		t.Fatalf("info %+v (timescale %+v)", info, info.Timescale)
	}
	f := false
	wantTables := []TableInfo{{Name: "requests", Parts: 3, Compressed: &f}, {Name: "utilization", Parts: 3, Compressed: &f}}
	choices := map[string]string{}
	for _, ft := range info.Features {
		choices[ft.Name] = ft.Choice
	}
	wantChoices := map[string]string{FeatureHypertables: "on", FeatureCompression: "on", FeatureRawRetention: RetentionPolicy}
	if license == "apache" {
		wantChoices = map[string]string{FeatureHypertables: "on", FeatureCompression: "off", FeatureRawRetention: RetentionDropChunks}
	} else {
		tr := true
		wantTables[0].Compressed, wantTables[1].Compressed = &tr, &tr
	}
	if d := cmp.Diff(wantChoices, choices); d != "" {
		t.Errorf("features for license %s (-want +got):\n%s", license, d)
	}
	if d := cmp.Diff(wantTables, info.Tables); d != "" {
		t.Errorf("tables (-want +got):\n%s", d)
	}
	// Opening again decides nothing anew.
	open(t, url)
	var n int
	pg.queryRow(ctx, `SELECT count(*) FROM store_features`).Scan(&n)
	if n != 3 {
		t.Errorf("%d features recorded after a second open, want 3", n)
	}

	exp, err := ExpireRaw(ctx, url, time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if exp.Policy {
		if license == "apache" {
			t.Fatal("the apache edition has no retention policy")
		}
		return
	}
	if len(exp.Chunks["requests"]) != 2 || len(exp.Chunks["utilization"]) != 2 {
		t.Errorf("dropped %v, want two chunks of each table", exp.Chunks)
	}
	for i, want := range []int{0, 0, 50} {
		if got := len(recorded(t, s, fmt.Sprint("w", i), "fp")); got != want {
			t.Errorf("run w%d keeps %d records, want %d", i, got, want)
		}
	}
	// Summaries stay: the runs themselves are untouched.
	if r, err := s.Run(ctx, "w0"); err != nil || r == nil {
		t.Errorf("run w0 after expiry: %v %v", r, err)
	}
}

// The same data in a TimescaleDB schema, a native-partition schema on the
// same server, and SQLite: COPY ingest stores the same rows, the aggregates
// and the refreshed views agree.
func TestTimescaleMatchesNative(t *testing.T) {
	requireTimescale(t)
	tsURL, nativeURL := pgSchemaURL(t), pgSchemaURL(t)
	if err := Migrate(ctx, nativeURL, LayoutNative); err != nil {
		t.Fatal(err)
	}
	ts, native, lite := open(t, tsURL).(*store), open(t, nativeURL).(*store), open(t, sqliteURL(t)).(*store)
	if !ts.b.(*pgBackend).timescale || native.b.(*pgBackend).timescale {
		t.Fatal("layouts not as asked")
	}
	stores := []*store{ts, native, lite}
	names := []string{"timescale", "native", "sqlite"}
	for _, s := range stores {
		fillAggregates(t, s)
		for i, hw := range []string{"h100", "a100"} {
			var m metrics.Summary
			m.Requests, m.Succeeded, m.OutputThroughput, m.Goodput = 150, 140, metrics.Of(float64(1000*(i+1))), metrics.Of(3)
			m.TTFT.P50, m.TTFT.P99, m.TPOT.P50 = metrics.Of(20), metrics.Of(80), metrics.Of(4)
			fp := map[string]string{"h100": "fa", "a100": "fb"}[hw]
			if err := s.PutResult(ctx, measuredResult("r1", fp, "m", hw, m, time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC))); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.PutSamples(ctx, "r1", "fa", []telemetry.Sample{{TimeNs: 5, Source: "nvml", Device: "gpu0", GPUUtilPct: 90}}); err != nil {
			t.Fatal(err)
		}
		if err := s.RefreshViews(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// The raw rows, byte for byte, in both PostgreSQL layouts.
	digest := func(s *store, table, order string) (int, string) {
		var n int
		var d string
		if err := s.b.queryRow(ctx, `SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY `+order+`)), '') FROM `+table+` t`).Scan(&n, &d); err != nil {
			t.Fatal(err)
		}
		return n, d
	}
	for table, order := range map[string]string{"requests": "run_key, config_key, attempt, idx", "utilization": "run_key, config_key, source, device, time_ns"} {
		n1, d1 := digest(ts, table, order)
		n2, d2 := digest(native, table, order)
		if n1 == 0 || n1 != n2 || d1 != d2 {
			t.Errorf("%s: timescale %d rows (%s), native %d rows (%s)", table, n1, d1, n2, d2)
		}
	}

	for _, run := range []string{"r1", "r2"} {
		for _, fp := range []string{"fa", "fb", "fc"} {
			want, err := ts.Records(ctx, run, fp)
			if err != nil || len(want) == 0 {
				t.Fatalf("%s/%s: %d records, %v", run, fp, len(want), err)
			}
			for i, s := range stores[1:] {
				got, err := s.Records(ctx, run, fp)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
					t.Errorf("%s/%s records, timescale vs %s:\n%s", run, fp, names[i+1], d)
				}
			}
		}
	}
	for _, q := range aggQueries {
		want, err := ts.Aggregate(ctx, q)
		if err != nil || len(want) == 0 {
			t.Fatalf("aggregate %v: %d rows, %v", q, len(want), err)
		}
		for i, s := range stores[1:] {
			got, err := s.Aggregate(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got, floats); d != "" {
				t.Errorf("aggregate %v, timescale vs %s:\n%s", q, names[i+1], d)
			}
		}
	}
	wantRk, _ := ts.ModelRankings(ctx)
	wantDs, _ := ts.DailyStats(ctx)
	if len(wantRk) != 2 || len(wantDs) != 2 {
		t.Fatalf("views after refresh: %d rankings, %d daily stats", len(wantRk), len(wantDs))
	}
	for i, s := range stores[1:] {
		rk, _ := s.ModelRankings(ctx)
		ds, _ := s.DailyStats(ctx)
		if d := cmp.Diff(wantRk, rk, floats); d != "" {
			t.Errorf("model_rankings, timescale vs %s:\n%s", names[i+1], d)
		}
		if d := cmp.Diff(wantDs, ds, floats); d != "" {
			t.Errorf("daily_stats, timescale vs %s:\n%s", names[i+1], d)
		}
	}
}

// A schema made with native partitions is not turned into hypertables once
// TimescaleDB is there: asking for it is refused with a clear message, and
// the schema, its version and its rows stay as they were.
func TestNativeToTimescaleRefused(t *testing.T) {
	requireTimescale(t)
	url := pgSchemaURL(t)
	if err := Migrate(ctx, url, LayoutNative); err != nil {
		t.Fatal(err)
	}
	s := open(t, url)
	run := mustRun(t, s, Run{ID: "r", Campaign: "c", Started: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}).ID
	if err := s.AppendRecords(ctx, run, "fp", 1, recs(0, 40, 0)); err != nil {
		t.Fatal(err)
	}
	pg := s.(*store).b.(*pgBackend)
	snapshot := func() string {
		var v, parts, rows, hyper, features int
		if err := pg.queryRow(ctx, `SELECT (SELECT count(*) FROM schema_version), (SELECT count(*) FROM pg_inherits WHERE inhparent = 'requests'::regclass),
			(SELECT count(*) FROM requests), (SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_schema = current_schema()),
			(SELECT count(*) FROM pg_class WHERE relname = 'store_features' AND relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()))`).Scan(
			&v, &parts, &rows, &hyper, &features); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("versions %d, partitions %d, rows %d, hypertables %d, store_features %d", v, parts, rows, hyper, features)
	}
	before := snapshot()
	err := Migrate(ctx, url, LayoutTimescale)
	if err == nil || !strings.Contains(err.Error(), "keeps its native partitions") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("got %v", err)
	}
	if after := snapshot(); after != before {
		t.Errorf("the refused upgrade changed the schema:\nbefore %s\nafter  %s", before, after)
	}
	// The automatic layout goes on with native partitions, and says why.
	info, err := Describe(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if info.Layout != "native" || len(info.Notes) != 1 || !strings.Contains(info.Notes[0], "keeps them") {
		t.Errorf("info %+v", info)
	}
	if got := recorded(t, open(t, url), run, "fp"); len(got) != 40 {
		t.Errorf("%d records after the refusal, want 40", len(got))
	}

	// And back: hypertables do not become partitions.
	tsURL := pgSchemaURL(t)
	open(t, tsURL)
	if err := Migrate(ctx, tsURL, LayoutNative); err == nil || !strings.Contains(err.Error(), "cannot go back") {
		t.Errorf("timescale to native: %v", err)
	}
}

// In a database without the extension, the store creates it (it is
// preloaded) and takes hypertables.
func TestStoreCreatesExtension(t *testing.T) {
	requireTimescale(t)
	b := make([]byte, 4)
	rand.Read(b)
	db := "st_ext_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, testPostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec(ctx, "DROP DATABASE "+db+" WITH (FORCE)") })
	u, _ := url.Parse(testPostgresURL())
	u.Path = "/" + db
	s := open(t, u.String())
	if !s.(*store).b.(*pgBackend).timescale {
		t.Fatal("no hypertables in a database where the extension could be created")
	}
	var schema string
	s.(*store).b.queryRow(ctx, `SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'timescaledb'`).Scan(&schema)
	if schema != "public" {
		t.Errorf("extension in schema %q", schema)
	}
	s.Close()
}
