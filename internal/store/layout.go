package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/llmsweep/llmsweep/internal/logging"
)

// Layout is how PostgreSQL keeps the per-request and utilization rows. A
// schema gets its layout once, from migration 0002, and keeps it.
type Layout string

const (
	// LayoutAuto takes TimescaleDB where the server offers it (the extension
	// is installed, or available and preloaded), native partitions otherwise.
	LayoutAuto Layout = ""
	// LayoutTimescale wants hypertables; a server without a usable
	// timescaledb is an error.
	LayoutTimescale Layout = "timescale"
	// LayoutNative wants monthly range partitions, also where TimescaleDB is
	// available.
	LayoutNative Layout = "native"
)

// ParseLayout reads a layout's name: auto, timescale or native.
func ParseLayout(s string) (Layout, error) {
	switch s {
	case "", "auto":
		return LayoutAuto, nil
	case "timescale", "native":
		return Layout(s), nil
	}
	return "", fmt.Errorf("layout %q: want auto, timescale or native", s)
}

// RawRetention is how long per-request and utilization rows stay in a
// TimescaleDB store: summaries are kept forever, raw rows are archived to
// object storage and expire (DESIGN, Storage).
const RawRetention = 90 * 24 * time.Hour

// compressAfter is the age at which chunks are compressed, where the edition
// compresses: by then a run's rows are aggregated and only archived or read
// whole.
const compressAfter = 14 * 24 * time.Hour

// The features a TimescaleDB schema records in store_features.
const (
	FeatureHypertables  = "hypertables"
	FeatureCompression  = "compression"
	FeatureRawRetention = "raw_retention"
)

// Choices of FeatureRawRetention.
const (
	RetentionPolicy     = "policy"      // a TimescaleDB job drops old chunks
	RetentionDropChunks = "drop_chunks" // llmsweep store expire-raw calls drop_chunks
)

// Feature is one choice the store made for its server's TimescaleDB edition.
type Feature struct {
	Name    string    `json:"name"`
	Choice  string    `json:"choice"`
	Detail  string    `json:"detail"`
	Decided time.Time `json:"decided"`
}

// featureNotSupported is the SQLSTATE TimescaleDB gives for a feature that
// its license lacks ("functionality not supported under the current "apache"
// license").
const featureNotSupported = "0A000"

// chooseLayout picks migration 0002's variant. Auto takes the timescale
// migrations where the extension exists or can be created, and native
// partitions otherwise: a CREATE EXTENSION that fails (no privilege) is undone
// and native partitions are used. LayoutTimescale makes either an error.
func chooseLayout(ctx context.Context, q querier, want Layout) (string, error) {
	if want == LayoutNative {
		return string(LayoutNative), nil
	}
	s, err := detectTimescale(ctx, q)
	if err != nil {
		return "", err
	}
	if !useTimescale(s) {
		if want == LayoutTimescale {
			return "", fmt.Errorf("layout timescale: the server cannot load timescaledb (extension files installed: %v, in shared_preload_libraries: %v)", s.available, s.preloaded)
		}
		return string(LayoutNative), nil
	}
	if !s.installed {
		if _, err := q.exec(ctx, `SAVEPOINT timescaledb`); err != nil {
			return "", err
		}
		if _, err := q.exec(ctx, `CREATE EXTENSION IF NOT EXISTS timescaledb`); err != nil {
			if want == LayoutTimescale {
				return "", fmt.Errorf("layout timescale: %w", err)
			}
			if _, err := q.exec(ctx, `ROLLBACK TO SAVEPOINT timescaledb`); err != nil {
				return "", err
			}
			return string(LayoutNative), nil
		}
	}
	// The extension may live in another schema than this store's (tests give
	// each store a schema of its own in one database): the migration finds
	// create_hypertable on the search path until the transaction ends.
	if _, err := timescaleOnPath(ctx, q); err != nil {
		return "", err
	}
	return string(LayoutTimescale), nil
}

// timescaleOnPath puts the extension's schema at the end of this
// transaction's search path, unless it is there, and returns its name.
func timescaleOnPath(ctx context.Context, q querier) (string, error) {
	var nsp string
	var onPath bool
	if err := q.queryRow(ctx, `SELECT n.nspname, n.nspname = ANY (current_schemas(false))
		FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'timescaledb'`).Scan(&nsp, &onPath); err != nil {
		return "", fmt.Errorf("timescaledb's schema: %w", err)
	}
	if !onPath {
		if _, err := q.exec(ctx, `SELECT set_config('search_path', current_setting('search_path') || ', ' || quote_ident($1), true)`, nsp); err != nil {
			return "", err
		}
	}
	return nsp, nil
}

// storedLayout is the layout migration 0002 gave the schema, or LayoutAuto
// before it ran.
func storedLayout(ctx context.Context, q querier) (Layout, error) {
	var exists bool
	if err := q.queryRow(ctx, `SELECT to_regclass('schema_version') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return LayoutAuto, err
	}
	var name *string
	if err := q.queryRow(ctx, `SELECT (SELECT name FROM schema_version WHERE version = 2)`).Scan(&name); err != nil {
		return "", err
	}
	switch {
	case name == nil:
		return LayoutAuto, nil
	case strings.HasSuffix(*name, ".timescale"):
		return LayoutTimescale, nil
	default:
		return LayoutNative, nil
	}
}

// checkLayout refuses to move a schema to another layout. Turning native
// partitions into hypertables would mean rewriting every raw row in one
// transaction (create_hypertable refuses a partitioned table), so it is
// refused before anything changes.
func checkLayout(ctx context.Context, q querier, schema string, want Layout) error {
	if want == LayoutAuto {
		return nil
	}
	have, err := storedLayout(ctx, q)
	if err != nil || have == LayoutAuto || have == want {
		return err
	}
	if have == LayoutNative {
		return fmt.Errorf("schema %s keeps its native partitions (migration 0002_series.native): converting them to TimescaleDB hypertables in place is not supported, and nothing was changed; "+
			"to use TimescaleDB, migrate a new schema or database with --layout timescale (this one stays readable)", schema)
	}
	return fmt.Errorf("schema %s uses TimescaleDB hypertables (migration 0002_series.timescale): it cannot go back to native partitions, and nothing was changed", schema)
}

// setupTimescale decides, once per schema, the features that depend on the
// TimescaleDB edition, and records and logs each choice. Each community
// feature is tried under a savepoint: the Apache-2 edition refuses it with
// SQLSTATE 0A000, which rolls back to the savepoint and picks the fallback.
func setupTimescale(ctx context.Context, q querier, schema string) error {
	if ok, err := hasFeatures(ctx, q); err != nil || !ok {
		return err // a schema from before store_features: nothing to record in
	}
	var decided bool
	if err := q.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM store_features)`).Scan(&decided); err != nil {
		return fmt.Errorf("store_features: %w", err)
	}
	if decided {
		return nil
	}
	if _, err := timescaleOnPath(ctx, q); err != nil {
		return err
	}
	var license string
	if err := q.queryRow(ctx, `SELECT coalesce(current_setting('timescaledb.license', true), '')`).Scan(&license); err != nil {
		return err
	}
	days := func(d time.Duration) string { return fmt.Sprintf("%d days", int(d/(24*time.Hour))) }
	features := []Feature{{Name: FeatureHypertables, Choice: "on",
		Detail: "requests and utilization are hypertables, chunked every 7 days by their run's start"}}

	ok, refusal, err := try(ctx, q, "compression",
		`ALTER TABLE requests SET (timescaledb.compress, timescaledb.compress_segmentby = 'run_key, config_key',
			timescaledb.compress_orderby = 'attempt, idx')`,
		`ALTER TABLE utilization SET (timescaledb.compress, timescaledb.compress_segmentby = 'run_key, config_key',
			timescaledb.compress_orderby = 'source, device, time_ns')`,
		`SELECT add_compression_policy('requests', `+interval(compressAfter)+`, if_not_exists => true)`,
		`SELECT add_compression_policy('utilization', `+interval(compressAfter)+`, if_not_exists => true)`)
	switch {
	case err != nil:
		return err
	case ok:
		features = append(features, Feature{Name: FeatureCompression, Choice: "on",
			Detail: "segmented by run and config; a policy compresses chunks older than " + days(compressAfter)})
	default:
		features = append(features, Feature{Name: FeatureCompression, Choice: "off",
			Detail: fmt.Sprintf("the %q license refuses it: %s", license, refusal)})
	}

	ok, refusal, err = try(ctx, q, "retention",
		`SELECT add_retention_policy('requests', `+interval(RawRetention)+`, if_not_exists => true)`,
		`SELECT add_retention_policy('utilization', `+interval(RawRetention)+`, if_not_exists => true)`)
	switch {
	case err != nil:
		return err
	case ok:
		features = append(features, Feature{Name: FeatureRawRetention, Choice: RetentionPolicy,
			Detail: "a retention policy drops raw chunks older than " + days(RawRetention)})
	default:
		features = append(features, Feature{Name: FeatureRawRetention, Choice: RetentionDropChunks,
			Detail: fmt.Sprintf("llmsweep store expire-raw drops raw chunks older than %s with drop_chunks (the %q license has no retention policy: %s)",
				days(RawRetention), license, refusal)})
	}

	for _, f := range features {
		if _, err := q.exec(ctx, `INSERT INTO store_features (feature, choice, detail) VALUES ($1, $2, $3)`, f.Name, f.Choice, f.Detail); err != nil {
			return fmt.Errorf("store_features: %w", err)
		}
		logging.FromContext(ctx).Info("results store: TimescaleDB feature chosen", "schema", schema, "license", license,
			"feature", f.Name, "choice", f.Choice, "detail", f.Detail)
	}
	return nil
}

// hasFeatures says whether the schema has the store_features table.
func hasFeatures(ctx context.Context, q querier) (bool, error) {
	var ok bool
	err := q.queryRow(ctx, `SELECT to_regclass(quote_ident(current_schema()) || '.store_features') IS NOT NULL`).Scan(&ok)
	return ok, err
}

func interval(d time.Duration) string {
	return fmt.Sprintf("INTERVAL '%d seconds'", int64(d/time.Second))
}

// try runs stmts under a savepoint. A refusal for want of a license (0A000)
// rolls back to the savepoint and returns ok false with the server's message;
// any other error is returned.
func try(ctx context.Context, q querier, name string, stmts ...string) (ok bool, refusal string, err error) {
	sp := pgx.Identifier{"try_" + name}.Sanitize()
	if _, err := q.exec(ctx, `SAVEPOINT `+sp); err != nil {
		return false, "", err
	}
	for _, s := range stmts {
		if _, err := q.exec(ctx, s); err != nil {
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != featureNotSupported {
				return false, "", fmt.Errorf("%s: %w", name, err)
			}
			if _, err := q.exec(ctx, `ROLLBACK TO SAVEPOINT `+sp); err != nil {
				return false, "", err
			}
			return false, pe.Message + " (SQLSTATE " + pe.Code + ")", nil
		}
	}
	_, err = q.exec(ctx, `RELEASE SAVEPOINT `+sp)
	return err == nil, "", err
}

// Migrate brings the store at url up to date, as Open does, giving a new
// PostgreSQL schema the layout want. A schema that has a layout keeps it: asking
// for the other one is an error that changes nothing. SQLite has one layout.
func Migrate(ctx context.Context, rawURL string, want Layout) error {
	kind, target, err := parseURL(rawURL)
	if err != nil {
		return err
	}
	if kind == "sqlite" {
		if want != LayoutAuto {
			return fmt.Errorf("store: layout %s is for PostgreSQL; SQLite has one layout", want)
		}
		s, err := Open(ctx, rawURL)
		if err != nil {
			return err
		}
		return s.Close()
	}
	b, err := openPostgres(ctx, target, want)
	if err != nil {
		return fmt.Errorf("store: postgres: %w", err)
	}
	return b.close()
}

// Expired is what ExpireRaw did.
type Expired struct {
	// Chunks are the chunks dropped, by table, in the store's own call to
	// drop_chunks.
	Chunks map[string][]string `json:"chunks"`
	// Policy is set where a TimescaleDB retention policy expires the rows
	// and ExpireRaw left them to it.
	Policy bool `json:"policy"`
}

// ExpireRaw drops the per-request and utilization chunks of runs that
// started before cutoff, on a TimescaleDB store whose edition has no
// retention policy (drop_chunks works in every edition). Where a policy
// runs, it does nothing and says so. Native partitions and SQLite are
// refused: there the rows are kept until someone deletes them.
func ExpireRaw(ctx context.Context, rawURL string, cutoff time.Time) (*Expired, error) {
	kind, target, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if kind == "sqlite" {
		return nil, errors.New("store: expire-raw is for a TimescaleDB store; this is SQLite")
	}
	b, err := openPostgres(ctx, target, LayoutAuto)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	defer b.close()
	if !b.timescale {
		return nil, errors.New("store: expire-raw is for a TimescaleDB store; this schema keeps native partitions")
	}
	var choice string
	if err := b.queryRow(ctx, `SELECT choice FROM store_features WHERE feature = $1`, FeatureRawRetention).Scan(&choice); err != nil {
		return nil, fmt.Errorf("store: raw retention: %w", err)
	}
	out := &Expired{Chunks: map[string][]string{}, Policy: choice == RetentionPolicy}
	if out.Policy {
		return out, nil
	}
	err = b.inTx(ctx, func(q querier) error {
		nsp, err := timescaleOnPath(ctx, q)
		if err != nil {
			return err
		}
		drop := pgx.Identifier{nsp, "drop_chunks"}.Sanitize()
		for _, table := range []string{"requests", "utilization"} {
			rows, err := q.query(ctx, `SELECT c FROM `+drop+`($1::text::regclass, older_than => $2::timestamptz) AS c`, table, cutoff)
			if err != nil {
				return fmt.Errorf("drop_chunks %s: %w", table, err)
			}
			for rows.Next() {
				var c string
				if err := rows.Scan(&c); err != nil {
					rows.Close()
					return err
				}
				out.Chunks[table] = append(out.Chunks[table], c)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("drop_chunks %s: %w", table, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return out, nil
}

// WriteText says for people how the store keeps its data, as store info prints it.
func (info *Info) WriteText(w io.Writer) {
	fmt.Fprintf(w, "store:          %s %s\n", info.Backend, info.Where)
	if info.Server != "" {
		fmt.Fprintf(w, "server:         PostgreSQL %s\n", info.Server)
	}
	fmt.Fprintf(w, "schema version: %d\n", info.Version)
	fmt.Fprintf(w, "raw rows:       %s\n", map[string]string{
		"sqlite": "SQLite tables", "native": "native monthly range partitions", "timescale": "TimescaleDB hypertables",
	}[info.Layout])
	if ts := info.Timescale; ts != nil {
		state := "available, not created in this database"
		if ts.Installed != "" {
			state = fmt.Sprintf("%s in schema %s, license %s", ts.Installed, ts.Schema, ts.License)
		}
		if !ts.Preloaded {
			state += " (not in shared_preload_libraries)"
		}
		fmt.Fprintf(w, "timescaledb:    %s\n", state)
	}
	for _, t := range info.Tables {
		parts := "partitions"
		if info.Layout == "timescale" {
			parts = "chunks"
		}
		fmt.Fprintf(w, "table %-12s %d %s", t.Name, t.Parts, parts)
		if t.Compressed != nil {
			fmt.Fprintf(w, ", compression %s", onOff(*t.Compressed))
		}
		fmt.Fprintln(w)
	}
	for _, f := range info.Features {
		fmt.Fprintf(w, "feature %-14s %s: %s (decided %s)\n", f.Name, f.Choice, f.Detail, f.Decided.Format(time.RFC3339))
	}
	for _, n := range info.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
