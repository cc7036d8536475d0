package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/llmsweep/llmsweep/internal/telemetry"
)

type pgBackend struct {
	pool *pgxpool.Pool
	pgq
	timescale bool

	mu     sync.Mutex
	months map[int]bool // months whose partitions exist, as year*12+month

	// forceStaging sends every append through the staging table; benchmarks
	// use it to measure that path on fresh rows.
	forceStaging bool
}

var pgDialect = &dialect{
	name:                "postgres",
	createSchemaVersion: `CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
	time: func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t
	},
	insertRun: `INSERT INTO runs (id, campaign, matrix_hash, configs, engine, started)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
	insertConfig: `INSERT INTO configs (fingerprint) VALUES ($1) ON CONFLICT (fingerprint) DO NOTHING`,
	upsertConfig: `INSERT INTO configs (fingerprint, resolved, model, hardware, framework, quantization, workload)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (fingerprint) DO UPDATE SET resolved = excluded.resolved, model = excluded.model,
		hardware = excluded.hardware, framework = excluded.framework, quantization = excluded.quantization,
		workload = excluded.workload WHERE configs.resolved IS NULL`,
	seriesArgs: func(run runRef, configKey int64) []any { return []any{run.key, configKey, run.started} },
	recorded: `SELECT DISTINCT r.idx FROM requests r
		WHERE r.run_key = $1 AND r.config_key = $2 AND r.run_started = $3 AND NOT EXISTS (SELECT 1 FROM failures f
			WHERE f.run_key = r.run_key AND f.config_key = r.config_key AND f.attempt = r.attempt)
		ORDER BY r.idx`,
	records: `SELECT DISTINCT ON (r.idx) ` + recordColumns + ` FROM requests r
		WHERE r.run_key = $1 AND r.config_key = $2 AND r.run_started = $3 AND NOT EXISTS (SELECT 1 FROM failures f
			WHERE f.run_key = r.run_key AND f.config_key = r.config_key AND f.attempt = r.attempt)
		ORDER BY r.idx, r.attempt`,
	samples: `SELECT ` + sampleColumns + ` FROM utilization
		WHERE run_key = $1 AND config_key = $2 AND run_started = $3 ORDER BY time_ns, source, device`,
	itl: func() (any, func() ([]int64, error)) {
		var v []int64
		return &v, func() ([]int64, error) { return v, nil }
	},
}

// migrationLock is the first key of the advisory lock that migrators of one
// schema take; the second is the schema's name hashed.
const migrationLock = 0x6c6c6d73 // "llms"

func openPostgres(ctx context.Context, url string, want Layout) (*pgBackend, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		return nil, err
	}
	layout, err := migratePostgres(ctx, conn, want)
	conn.Close(ctx)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &pgBackend{pool: pool, pgq: pgq{pool}, timescale: layout == LayoutTimescale, months: map[int]bool{}}, nil
}

// migratePostgres migrates in one transaction under an advisory lock keyed by
// the schema, so that concurrent migrators of one schema run one at a time
// (CREATE TABLE IF NOT EXISTS alone races on the catalog) and a failed
// migration leaves nothing half done. It returns the schema's layout.
func migratePostgres(ctx context.Context, conn *pgx.Conn, want Layout) (Layout, error) {
	var layout Layout
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var schema *string
		if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return err
		}
		if schema == nil {
			return errors.New("the search_path names no existing schema: create it first")
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, migrationLock, *schema); err != nil {
			return err
		}
		q := pgq{tx}
		if err := checkLayout(ctx, q, *schema, want); err != nil {
			return err
		}
		choose := func(ctx context.Context, q querier) (string, error) { return chooseLayout(ctx, q, want) }
		if err := applyMigrations(ctx, q, pgDialect, choose); err != nil {
			return fmt.Errorf("migrate schema %s: %w", *schema, err)
		}
		var err error
		if layout, err = storedLayout(ctx, q); err != nil {
			return err
		}
		if layout == LayoutTimescale {
			if err := setupTimescale(ctx, q, *schema); err != nil {
				return fmt.Errorf("migrate schema %s: %w", *schema, err)
			}
		}
		return nil
	})
	return layout, err
}

// extState is what the server says about the timescaledb extension.
type extState struct {
	available bool // its files are installed (pg_available_extensions)
	installed bool // CREATE EXTENSION has run in this database
	preloaded bool // shared_preload_libraries has it, which CREATE EXTENSION needs
}

// useTimescale decides the layout of the per-request tables.
func useTimescale(s extState) bool { return s.installed || (s.available && s.preloaded) }

func preloads(setting, lib string) bool {
	for l := range strings.SplitSeq(setting, ",") {
		if strings.Trim(strings.TrimSpace(l), `"`) == lib {
			return true
		}
	}
	return false
}

func detectTimescale(ctx context.Context, q querier) (extState, error) {
	var s extState
	var preload string
	err := q.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'),
		EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'),
		coalesce(current_setting('shared_preload_libraries', true), '')`).Scan(&s.available, &s.installed, &preload)
	s.preloaded = preloads(preload, "timescaledb")
	return s, err
}

func (p *pgBackend) dialect() *dialect { return pgDialect }

func (p *pgBackend) close() error {
	p.pool.Close()
	return nil
}

func (p *pgBackend) inTx(ctx context.Context, fn func(querier) error) error {
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error { return fn(pgq{tx}) })
}

// prepareRun creates the month's partitions of a run's rows, through a
// function that quotes the names, in a transaction of its own: creating a
// partition locks the parent table until commit.
func (p *pgBackend) prepareRun(ctx context.Context, run runRef) error {
	if p.timescale {
		return nil
	}
	t := run.started.UTC()
	month := t.Year()*12 + int(t.Month())
	p.mu.Lock()
	done := p.months[month]
	p.mu.Unlock()
	if done {
		return nil
	}
	if _, err := p.pool.Exec(ctx, `SELECT llmsweep_month_partition($1::text::regclass, $3),
		llmsweep_month_partition($2::text::regclass, $3)`, "requests", "utilization", run.started); err != nil {
		return fmt.Errorf("partitions for %s: %w", t.Format("2006-01"), err)
	}
	p.mu.Lock()
	p.months[month] = true
	p.mu.Unlock()
	return nil
}

var requestCopyColumns = slices.Concat([]string{"run_key", "config_key", "attempt", "run_started"}, splitColumns(recordColumns))

func splitColumns(s string) []string {
	var out []string
	for c := range strings.SplitSeq(s, ",") {
		out = append(out, strings.TrimSpace(c))
	}
	return out
}

// lockKey is the advisory lock of one config's rows in a run; a collision
// only serialises two writers needlessly.
func lockKey(run, config int64) int64 { return run<<32 | config&0xffffffff }

// appendRecords COPYs the rows, binary, in one transaction. Where stored rows
// may overlap the batch, they go to a temporary staging table first and then
// INSERT … ON CONFLICT DO NOTHING, which skips those already stored. Where none
// can overlap (nothing stored for the config and attempt within the batch's
// index range, checked under a per-config advisory lock that every writer
// takes) they are COPYed straight in, sparing the second pass.
func (p *pgBackend) appendRecords(ctx context.Context, run runRef, batches []keyedBatch) error {
	if err := p.prepareRun(ctx, run); err != nil {
		return err
	}
	locks := make([]int64, 0, len(batches))
	configs := make([]int64, 0, len(batches))
	attempts := make([]int32, 0, len(batches))
	lo := make([]int32, 0, len(batches))
	hi := make([]int32, 0, len(batches))
	for _, kb := range batches {
		locks = append(locks, lockKey(run.key, kb.configKey))
		l, h := kb.recs[0].GetIndex(), kb.recs[0].GetIndex()
		for _, r := range kb.recs {
			l, h = min(l, r.GetIndex()), max(h, r.GetIndex())
		}
		configs, attempts, lo, hi = append(configs, kb.configKey), append(attempts, kb.attempt), append(lo, l), append(hi, h)
	}
	slices.Sort(locks)
	locks = slices.Compact(locks)
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest($1::bigint[]) AS k ORDER BY 1) s`, locks); err != nil {
			return err
		}
		overlap := true
		if !p.forceStaging {
			// LATERAL … LIMIT 1: one index probe per config, also in the
			// generic plan, which would otherwise hash-join the whole partition.
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1
				FROM unnest($3::bigint[], $4::integer[], $5::integer[], $6::integer[]) AS b (config_key, attempt, lo, hi),
				LATERAL (SELECT 1 FROM requests r WHERE r.run_key = $1 AND r.run_started = $2 AND r.config_key = b.config_key
					AND r.attempt = b.attempt AND r.idx BETWEEN b.lo AND b.hi LIMIT 1) AS hit)`,
				run.key, run.started, configs, attempts, lo, hi).Scan(&overlap); err != nil {
				return err
			}
		}
		src := &recordRows{run: run, batches: batches, i: -1}
		if !overlap {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"requests"}, requestCopyColumns, src)
			return err
		}
		return stage(ctx, tx, "requests", "requests_stage", requestCopyColumns, src)
	})
}

// stage COPYs rows into a temporary table like table, then moves those not
// stored yet into table. The staging table lives as long as the connection and
// is emptied at each commit.
func stage(ctx context.Context, tx pgx.Tx, table, staging string, cols []string, src pgx.CopyFromSource) error {
	// The names are constants of this package, quoted all the same.
	t, st := pgx.Identifier{table}.Sanitize(), pgx.Identifier{"pg_temp", staging}.Sanitize()
	colList := pgx.Identifier{cols[0]}.Sanitize()
	for _, c := range cols[1:] {
		colList += ", " + pgx.Identifier{c}.Sanitize()
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS `+pgx.Identifier{staging}.Sanitize()+
		` (LIKE `+t+`) ON COMMIT DELETE ROWS`); err != nil {
		return err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"pg_temp", staging}, cols, src); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO `+t+` (`+colList+`) SELECT `+colList+` FROM `+st+` ON CONFLICT DO NOTHING`)
	return err
}

// recordRows feeds CopyFrom, reusing one slice: pgx encodes each row before
// asking for the next.
type recordRows struct {
	run     runRef
	batches []keyedBatch
	b, i    int
	vals    []any
}

func (s *recordRows) Next() bool {
	s.i++
	for s.b < len(s.batches) && s.i >= len(s.batches[s.b].recs) {
		s.b, s.i = s.b+1, 0
	}
	return s.b < len(s.batches)
}

func (s *recordRows) Values() ([]any, error) {
	kb := &s.batches[s.b]
	r := kb.recs[s.i]
	s.vals = append(s.vals[:0], int32(s.run.key), kb.configKey, kb.attempt, s.run.started)
	s.vals = recordValues(s.vals, r)
	if itl := r.GetItlNs(); len(itl) > 0 {
		s.vals[4+5] = itl
	}
	return s.vals, nil
}

func (s *recordRows) Err() error { return nil }

var sampleCopyColumns = slices.Concat([]string{"run_key", "config_key", "run_started"}, splitColumns(sampleColumns))

// putSamples always stages: samples are few, and a repeated put is normal.
func (p *pgBackend) putSamples(ctx context.Context, run runRef, configKey int64, samples []telemetry.Sample) error {
	if err := p.prepareRun(ctx, run); err != nil {
		return err
	}
	i := -1
	var vals []any
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i++; i >= len(samples) {
			return nil, nil
		}
		vals = append(vals[:0], int32(run.key), configKey, run.started)
		return sampleValues(vals, &samples[i]), nil
	})
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		return stage(ctx, tx, "utilization", "utilization_stage", sampleCopyColumns, src)
	})
}

// pgq adapts pgx to querier.
type pgq struct {
	q interface {
		Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
		Query(context.Context, string, ...any) (pgx.Rows, error)
		QueryRow(context.Context, string, ...any) pgx.Row
	}
}

func (p pgq) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := p.q.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

func (p pgq) query(ctx context.Context, sql string, args ...any) (rowsIter, error) {
	rows, err := p.q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (p pgq) queryRow(ctx context.Context, sql string, args ...any) scanner {
	return p.q.QueryRow(ctx, sql, args...)
}
