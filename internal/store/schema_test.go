package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/llmsweep/llmsweep/internal/store/storetest"
)

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		url, kind, target, err string
	}{
		{url: "sqlite://.llmsweep/results.db", kind: "sqlite", target: ".llmsweep/results.db"},
		{url: "sqlite:///abs/r.db", kind: "sqlite", target: "/abs/r.db"},
		{url: "SQLite://r.db", kind: "sqlite", target: "r.db"},
		{url: "postgres://u@h:5432/db?sslmode=disable", kind: "postgres", target: "postgres://u@h:5432/db?sslmode=disable"},
		{url: "postgresql://u@h/db", kind: "postgres", target: "postgresql://u@h/db"},
		{url: "postgres:///db?host=/run/postgresql", kind: "postgres", target: "postgres:///db?host=/run/postgresql"},
		{url: "sqlite://", err: "missing path"},
		{url: "sqlite:r.db", err: "want sqlite://"},
		{url: "results.db", err: "no scheme"},
		{url: "/tmp/results.db", err: "no scheme"},
		{url: "mysql://u@h/db", err: `scheme "mysql" is not supported`},
		{url: "://x", err: "empty scheme"},
		{url: "sqlite://dir/", err: "directory"},
		{url: "sqlite://r.db?mode=ro", err: "no query"},
		{url: "postgres:///db", err: "missing host"},
		{url: "postgres://u:secret@h:99999x/db", err: "invalid port"},
	} {
		kind, target, err := parseURL(c.url)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseURL(%q) error = %v, want one saying %q", c.url, err, c.err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("parseURL(%q) error shows the password: %v", c.url, err)
			}
			continue
		}
		if err != nil || kind != c.kind || target != c.target {
			t.Errorf("parseURL(%q) = %q, %q, %v; want %q, %q", c.url, kind, target, err, c.kind, c.target)
		}
	}
}

func TestOpenBadPostgres(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Open(ctx, "postgres://u@127.0.0.1:1/db?connect_timeout=2")
	if err == nil || !strings.HasPrefix(err.Error(), "store: postgres:") {
		t.Errorf("Open of an unreachable server: %v", err)
	}
}

func TestPlan(t *testing.T) {
	fsys := fstest.MapFS{
		"migrations/pg/0001_init.sql":             {Data: []byte("one")},
		"migrations/pg/0002_series.native.sql":    {Data: []byte("native")},
		"migrations/pg/0002_series.timescale.sql": {Data: []byte("ts")},
		"migrations/pg/0003_more.sql":             {Data: []byte("three")},
	}
	all, err := loadMigrations(fsys, "pg")
	if err != nil {
		t.Fatal(err)
	}
	names := func(ms []migration) []string {
		out := []string{}
		for _, m := range ms {
			out = append(out, m.name)
		}
		return out
	}
	for _, c := range []struct {
		applied map[int]bool
		variant string
		want    []string
		err     string
	}{
		{nil, "native", []string{"0001_init", "0002_series.native", "0003_more"}, ""},
		{nil, "timescale", []string{"0001_init", "0002_series.timescale", "0003_more"}, ""},
		{map[int]bool{1: true, 2: true}, "", []string{"0003_more"}, ""},
		{map[int]bool{1: true}, "other", nil, `no variant "other"`},
	} {
		got, err := plan(all, c.applied, c.variant)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("plan(%v, %q) error = %v, want %q", c.applied, c.variant, err, c.err)
			}
			continue
		}
		if err != nil || !cmp.Equal(names(got), c.want) {
			t.Errorf("plan(%v, %q) = %v, %v; want %v", c.applied, c.variant, names(got), err, c.want)
		}
	}
	if !needsVariant(all, map[int]bool{1: true}) || needsVariant(all, map[int]bool{1: true, 2: true}) {
		t.Error("needsVariant")
	}
	delete(fsys, "migrations/pg/0001_init.sql")
	all, _ = loadMigrations(fsys, "pg")
	if _, err := plan(all, nil, "native"); err == nil || !strings.Contains(err.Error(), "0001 is missing") {
		t.Errorf("gap: %v", err)
	}
	fsys["migrations/pg/0004_Bad-Name.sql"] = &fstest.MapFile{}
	if _, err := loadMigrations(fsys, "pg"); err == nil {
		t.Error("bad file name accepted")
	}
	// The embedded sets are well formed.
	for _, d := range []string{"sqlite", "postgres"} {
		all, err := loadMigrations(migrationFiles, d)
		if err == nil {
			_, err = plan(all, nil, "native")
		}
		if err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
}

// The layout decision, from what the server reports; the detection itself is
// exercised against the real server in TestNativePartitions.
func TestUseTimescale(t *testing.T) {
	for _, c := range []struct {
		s    extState
		want bool
	}{
		{extState{}, false},
		{extState{available: true}, false}, // CREATE EXTENSION would fail without preloading
		{extState{available: true, preloaded: true}, true},
		{extState{available: true, installed: true, preloaded: true}, true},
		{extState{installed: true}, true},
		{extState{preloaded: true}, false},
	} {
		if got := useTimescale(c.s); got != c.want {
			t.Errorf("useTimescale(%+v) = %v", c.s, got)
		}
	}
	for setting, want := range map[string]bool{
		"": false, "timescaledb": true, "pg_stat_statements, timescaledb": true,
		`"timescaledb"`: true, "timescaledb_toolkit": false,
	} {
		if preloads(setting, "timescaledb") != want {
			t.Errorf("preloads(%q) != %v", setting, want)
		}
	}
}

// Native partitions (what a server without timescaledb gets, and what
// --layout native asks for): requests and utilization are range-partitioned by
// run start, with monthly partitions made on demand and a DEFAULT partition.
func TestNativePartitions(t *testing.T) {
	url := pgSchemaURL(t)
	if err := Migrate(ctx, url, LayoutNative); err != nil {
		t.Fatal(err)
	}
	s := open(t, url)
	pg := s.(*store).b.(*pgBackend)
	if pg.timescale {
		t.Fatal("layout native gave hypertables")
	}
	var layout, strategy string
	pg.queryRow(ctx, `SELECT name FROM schema_version WHERE version = 2`).Scan(&layout)
	pg.queryRow(ctx, `SELECT partstrat::text FROM pg_partitioned_table WHERE partrelid = 'requests'::regclass`).Scan(&strategy)
	if layout != "0002_series.native" || strategy != "r" {
		t.Fatalf("layout %q, partition strategy %q", layout, strategy)
	}

	nov := mustRun(t, s, Run{ID: "nov", Campaign: "c", Started: time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC)}).ID
	dec := mustRun(t, s, Run{ID: "dec", Campaign: "c", Started: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}).ID
	for _, run := range []string{nov, dec} {
		if err := s.AppendRecords(ctx, run, "fp", 1, recs(0, 3, 0)); err != nil {
			t.Fatal(err)
		}
		if err := s.PutSamples(ctx, run, "fp", nil); err != nil {
			t.Fatal(err)
		}
	}
	// A second store (another process) finds the partitions made.
	s2 := open(t, url)
	if err := s2.AppendRecords(ctx, nov, "fp2", 1, recs(0, 2, 0)); err != nil {
		t.Fatal(err)
	}

	rows, err := pg.query(ctx, `SELECT tableoid::regclass::text, count(*) FROM requests GROUP BY 1 ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for rows.Next() {
		var name string
		var n int
		rows.Scan(&name, &n)
		got[name] = n
	}
	rows.Close()
	if want := map[string]int{"requests_202611": 5, "requests_202612": 3}; !cmp.Equal(got, want) {
		t.Errorf("rows per partition = %v, want %v", got, want)
	}
	var parts []string
	rows, _ = pg.query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'utilization'::regclass ORDER BY 1`)
	for rows.Next() {
		var n string
		rows.Scan(&n)
		parts = append(parts, n)
	}
	rows.Close()
	if want := []string{"utilization_202611", "utilization_202612", "utilization_default"}; !cmp.Equal(parts, want) {
		t.Errorf("utilization partitions = %v, want %v", parts, want)
	}

	// A month whose rows already sit in DEFAULT keeps them there, and creating
	// its partition later is no error: nothing is lost.
	if _, err := pg.exec(ctx, `INSERT INTO requests (run_key, config_key, attempt, idx, run_started, scheduled_ns, start_ns,
		first_token_ns, end_ns, prompt_tokens, output_tokens, client_prompt_tokens, client_output_tokens, status)
		VALUES (999, 1, 1, 0, '2027-03-05T00:00:00Z', 0, 0, 0, 0, 0, 0, 0, 0, 0)`); err != nil {
		t.Fatal(err)
	}
	mar := mustRun(t, s, Run{ID: "mar", Campaign: "c", Started: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)}).ID
	if err := s.AppendRecords(ctx, mar, "fp", 1, recs(0, 2, 0)); err != nil {
		t.Fatal(err)
	}
	if got := recorded(t, s, mar, "fp"); !cmp.Equal(got, seq(0, 2)) {
		t.Errorf("March: %v", got)
	}
	var inDefault int
	pg.queryRow(ctx, `SELECT count(*) FROM requests_default`).Scan(&inDefault)
	if inDefault != 3 {
		t.Errorf("DEFAULT holds %d rows, want 3", inDefault)
	}
}

// The names the partition function builds are quoted: a schema whose name
// needs quoting still works.
func TestPartitionsInOddSchema(t *testing.T) {
	requirePostgres(t)
	name := `Odd "schema" ` + t.Name()
	c, err := pgx.Connect(ctx, testPostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	defer c.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{name}.Sanitize()+" CASCADE")
	url := storetest.WithSearchPath(testPostgresURL(), pgx.Identifier{name}.Sanitize())
	if err := Migrate(ctx, url, LayoutNative); err != nil {
		t.Fatal(err)
	}
	s := open(t, url)
	run := mustRun(t, s, Run{ID: "r", Campaign: "c", Started: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}).ID
	if err := s.AppendRecords(ctx, run, "fp", 1, recs(0, 2, 0)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := c.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{name, "requests_202605"}.Sanitize()).Scan(&n); err != nil || n != 2 {
		t.Errorf("partition in %q: %d rows, %v", name, n, err)
	}
	if !storetest.Timescale(t) {
		return
	}
	// Hypertables too: the extension's schema joins a quoted search path.
	ts := name + " ts"
	if _, err := c.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{ts}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	defer c.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{ts}.Sanitize()+" CASCADE")
	s = open(t, storetest.WithSearchPath(testPostgresURL(), pgx.Identifier{ts}.Sanitize()))
	run = mustRun(t, s, Run{ID: "r", Campaign: "c", Started: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}).ID
	if err := s.AppendRecords(ctx, run, "fp", 1, recs(0, 2, 0)); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRow(ctx, `SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_schema = $1`, ts).Scan(&n); err != nil || n != 2 {
		t.Errorf("hypertables in %q: %d, %v", ts, n, err)
	}
}

func TestSearchPathWithoutSchema(t *testing.T) {
	requirePostgres(t)
	_, err := Open(ctx, storetest.WithSearchPath(testPostgresURL(), "st_does_not_exist"))
	if err == nil || !strings.Contains(err.Error(), "no existing schema") {
		t.Errorf("Open with a missing schema: %v", err)
	}
}

// A store written before results had a provenance column is upgraded in
// place: the sim engine's and imported rows get their provenance from the
// served_by text they carried, and nothing is lost.
func TestUpgradeKeepsProvenance(t *testing.T) {
	backends(t, func(t *testing.T, url string) {
		ctx := context.Background()
		var exec func(sql string, args ...any)
		var dialect *dialect
		var before int
		if strings.HasPrefix(url, "sqlite") {
			dialect, before = sqliteDialect, 3
			path := strings.TrimPrefix(url, "sqlite://")
			os.MkdirAll(filepath.Dir(path), 0o755)
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			exec = func(q string, args ...any) {
				t.Helper()
				if _, err := db.ExecContext(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q[:min(len(q), 60)], err)
				}
			}
		} else {
			dialect, before = pgDialect, 4
			c, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			exec = func(q string, args ...any) {
				t.Helper()
				if _, err := c.Exec(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q[:min(len(q), 60)], err)
				}
			}
		}
		all, err := loadMigrations(migrationFiles, dialect.name)
		if err != nil {
			t.Fatal(err)
		}
		exec(dialect.createSchemaVersion)
		for _, m := range all {
			if m.version >= before || (m.variant != "" && m.variant != "native") {
				continue
			}
			exec(m.sql)
			exec(`INSERT INTO schema_version (version, name) VALUES ($1, $2)`, m.version, m.name)
		}
		now := time.Now().UnixMicro()
		if dialect == pgDialect {
			exec(`INSERT INTO runs (id, campaign, matrix_hash, configs, started) VALUES ('r', 'c', 'h', 3, now())`)
			exec(`INSERT INTO configs (fingerprint, resolved, model) VALUES ('a', '{"model":"m"}', 'm'), ('b', '{"model":"m"}', 'm'), ('c', '{"model":"m"}', 'm')`)
		} else {
			exec(`INSERT INTO runs (id, run_key, campaign, matrix_hash, configs, started) VALUES ('r', 1, 'c', 'h', 3, $1)`, now)
			exec(`INSERT INTO configs (fingerprint, config_key, resolved, model) VALUES ('a', 1, '{"model":"m"}', 'm'), ('b', 2, '{"model":"m"}', 'm'), ('c', 3, '{"model":"m"}', 'm')`)
		}
		finished := any(now)
		if dialect == pgDialect {
			finished = time.Now()
		}
		for i, by := range []string{"vllm at http://x (model m)", "sim (predicted)", "imported from genai-perf"} {
			exec(`INSERT INTO results (run_key, config_key, attempts, summary, served_by, finished, requests, succeeded, failed,
				ttft_p50_ms, ttft_p99_ms, tpot_p50_ms, tpot_p99_ms, itl_p50_ms, e2e_p99_ms, output_throughput, request_throughput, goodput)
				SELECT ru.run_key, c.config_key, 1, '{"requests":5,"output_throughput":12.5}', $1, $2, 5, 5, 0, 1, 2, 3, 4, 5, 6, 12.5, 7, 8
				FROM runs ru, configs c WHERE ru.id = 'r' AND c.fingerprint = $3`, by, finished, string(rune('a'+i)))
		}
		s := open(t, url)
		rs, err := s.Results(ctx, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rs {
			got = append(got, r.Fingerprint+" "+r.Provenance.String()+" "+r.Summary.OutputThroughput.String())
		}
		slices.Sort(got)
		want := []string{"a measured 12.5", "b predicted by llmsweep-sim 12.5", "c imported from genai-perf 12.5"}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	})
}
