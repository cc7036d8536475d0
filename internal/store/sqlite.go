package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/llmsweep/llmsweep/internal/telemetry"
)

// sqliteParams configure every connection. WAL lets readers run beside the
// writer and recovers a file left by a killed process: a transaction is in the
// database only once its commit frame is in the WAL whole. synchronous=NORMAL
// skips the fsync per commit: a killed process loses nothing committed, a
// power cut at most the last commits, which a resume measures again (runlog
// synced only at checkpoints). _txlock=immediate makes every transaction
// BEGIN IMMEDIATE, so writers queue on busy_timeout at BEGIN instead of failing
// with SQLITE_BUSY when a read lock cannot be upgraded; migrations rely on it.
const sqliteParams = "_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"

type sqliteBackend struct {
	db   *sql.DB
	path string
	sqlq

	rawMu sync.Mutex
	raw   *rawConn // opened on the first bulk write
}

var sqliteDialect = &dialect{
	name:                "sqlite",
	createSchemaVersion: `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)`,
	time: func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.UnixMicro()
	},
	// Surrogate keys are max+1: the statement holds the write lock. (WHERE true
	// tells SQLite's parser that ON CONFLICT belongs to the INSERT.)
	insertRun: `INSERT INTO runs (id, run_key, campaign, matrix_hash, configs, engine, started)
		SELECT $1, coalesce(max(run_key), 0) + 1, $2, $3, $4, $5, $6 FROM runs WHERE true
		ON CONFLICT (id) DO NOTHING`,
	insertConfig: `INSERT INTO configs (fingerprint, config_key)
		SELECT $1, coalesce(max(config_key), 0) + 1 FROM configs WHERE true
		ON CONFLICT (fingerprint) DO NOTHING`,
	upsertConfig: `INSERT INTO configs (fingerprint, config_key, resolved, model, hardware, framework, quantization, workload)
		SELECT $1, coalesce(max(config_key), 0) + 1, $2, $3, $4, $5, $6, $7 FROM configs WHERE true
		ON CONFLICT (fingerprint) DO UPDATE SET resolved = excluded.resolved, model = excluded.model,
		hardware = excluded.hardware, framework = excluded.framework, quantization = excluded.quantization,
		workload = excluded.workload WHERE configs.resolved IS NULL`,
	seriesArgs: func(run runRef, configKey int64) []any { return []any{run.key, configKey} },
	recorded: `SELECT DISTINCT r.idx FROM requests r
		WHERE r.run_key = $1 AND r.config_key = $2 AND NOT EXISTS (SELECT 1 FROM failures f
			WHERE f.run_key = r.run_key AND f.config_key = r.config_key AND f.attempt = r.attempt)
		ORDER BY r.idx`,
	// With min(), SQLite takes the bare columns from the row holding the
	// minimum: the earliest live attempt of each index.
	records: `SELECT ` + recordColumns + ` FROM (SELECT ` + recordColumns + `, min(attempt) FROM requests r
		WHERE r.run_key = $1 AND r.config_key = $2 AND NOT EXISTS (SELECT 1 FROM failures f
			WHERE f.run_key = r.run_key AND f.config_key = r.config_key AND f.attempt = r.attempt)
		GROUP BY idx) ORDER BY idx`,
	samples: `SELECT ` + sampleColumns + ` FROM utilization WHERE run_key = $1 AND config_key = $2
		ORDER BY time_ns, source, device`,
	itl: func() (any, func() ([]int64, error)) {
		var b []byte
		return &b, func() ([]int64, error) { return decodeITL(b) }
	},
}

func openSQLite(ctx context.Context, path string) (*sqliteBackend, error) {
	db, err := sql.Open("sqlite", path+"?"+sqliteParams)
	if err != nil {
		return nil, err
	}
	b := &sqliteBackend{db: db, path: path, sqlq: sqlq{db}}
	if err := b.inTx(ctx, func(q querier) error {
		return applyMigrations(ctx, q, sqliteDialect, nil)
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return b, nil
}

func (b *sqliteBackend) dialect() *dialect { return sqliteDialect }

func (b *sqliteBackend) close() error {
	b.rawMu.Lock()
	defer b.rawMu.Unlock()
	var err error
	if b.raw != nil {
		err = b.raw.close()
		b.raw = nil
	}
	return errors.Join(err, b.db.Close())
}

func (b *sqliteBackend) prepareRun(context.Context, runRef) error { return nil }

// inTx runs fn in a BEGIN IMMEDIATE transaction (see sqliteParams).
func (b *sqliteBackend) inTx(ctx context.Context, fn func(querier) error) error {
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(sqlq{tx}); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	return tx.Commit()
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// appendRecords inserts with ON CONFLICT DO NOTHING, so that a repeated
// append is a no-op, in one transaction on the bulk connection.
func (b *sqliteBackend) appendRecords(ctx context.Context, run runRef, batches []keyedBatch) error {
	insert := `INSERT INTO requests (run_key, config_key, attempt, ` + recordColumns + `) VALUES (` +
		placeholders(3+len(splitColumns(recordColumns))) + `) ON CONFLICT DO NOTHING`
	var itl []byte
	return b.bulk(ctx, insert, func(st *rawStmt) func() error {
		i, j := 0, -1
		return func() error {
			for j++; i < len(batches) && j >= len(batches[i].recs); j = 0 {
				i++
			}
			if i == len(batches) {
				return io.EOF
			}
			kb, r := &batches[i], batches[i].recs[j]
			// In recordColumns order, after the key.
			st.int(1, run.key)
			st.int(2, kb.configKey)
			st.int(3, int64(kb.attempt))
			st.int(4, int64(r.GetIndex()))
			st.int(5, r.GetScheduledNs())
			st.int(6, r.GetStartNs())
			st.int(7, r.GetFirstTokenNs())
			st.int(8, r.GetEndNs())
			itl = appendITL(itl[:0], r.GetItlNs())
			st.blob(9, itl)
			st.int(10, int64(r.GetPromptTokens()))
			st.int(11, int64(r.GetOutputTokens()))
			st.int(12, int64(r.GetClientPromptTokens()))
			st.int(13, int64(r.GetClientOutputTokens()))
			st.int(14, int64(r.GetStatus()))
			st.text(15, r.GetErrorClass(), true)
			st.text(16, r.GetError(), false)
			st.text(17, r.GetFinishReason(), true)
			st.text(18, r.GetOutput(), false)
			st.text(19, r.GetExpected(), false)
			return st.step()
		}
	})
}

func (b *sqliteBackend) putSamples(ctx context.Context, run runRef, configKey int64, samples []telemetry.Sample) error {
	insert := `INSERT INTO utilization (run_key, config_key, ` + sampleColumns + `) VALUES (` +
		placeholders(2+len(splitColumns(sampleColumns))) + `) ON CONFLICT DO NOTHING`
	return b.bulk(ctx, insert, func(st *rawStmt) func() error {
		i := -1
		return func() error {
			if i++; i == len(samples) {
				return io.EOF
			}
			x := &samples[i]
			// In sampleColumns order, after the key.
			st.int(1, run.key)
			st.int(2, configKey)
			st.int(3, x.TimeNs)
			st.text(4, x.Source, true)
			st.text(5, x.Device, true)
			st.float(6, x.GPUUtilPct)
			st.float(7, x.MemUtilPct)
			st.int(8, int64(x.MemUsedBytes))
			st.int(9, int64(x.MemTotalBytes))
			st.float(10, x.PowerW)
			st.float(11, x.CPUPct)
			st.int(12, int64(x.RSSBytes))
			return st.step()
		}
	})
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// bulk prepares insert once on the bulk connection and, in one transaction,
// calls the row function that rows returns until it returns io.EOF; each call
// binds and runs one row. ctx is checked every 1,024 rows.
func (b *sqliteBackend) bulk(ctx context.Context, insert string, rows func(*rawStmt) func() error) error {
	raw, err := b.bulkConn()
	if err != nil {
		return err
	}
	return raw.tx(func() error {
		st, err := raw.prepare(insert)
		if err != nil {
			return err
		}
		defer st.close()
		next := rows(st)
		for n := 1; ; n++ {
			if n%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := next(); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
		}
	})
}

func (b *sqliteBackend) bulkConn() (*rawConn, error) {
	b.rawMu.Lock()
	defer b.rawMu.Unlock()
	if b.raw == nil {
		raw, err := openRaw(b.path)
		if err != nil {
			return nil, err
		}
		b.raw = raw
	}
	return b.raw, nil
}

// appendITL packs inter-token gaps as zigzag varints, about 4 bytes each.
func appendITL(b []byte, itl []int64) []byte {
	for _, v := range itl {
		b = binary.AppendVarint(b, v)
	}
	return b
}

func decodeITL(b []byte) ([]int64, error) {
	if len(b) == 0 {
		return nil, nil
	}
	out := make([]int64, 0, len(b)/3)
	for len(b) > 0 {
		v, n := binary.Varint(b)
		if n <= 0 {
			return nil, errors.New("itl_ns: bad varint")
		}
		out = append(out, v)
		b = b[n:]
	}
	return out, nil
}

// sqlq adapts database/sql to querier.
type sqlq struct {
	q interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}
}

func (s sqlq) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s sqlq) query(ctx context.Context, query string, args ...any) (rowsIter, error) {
	rows, err := s.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (s sqlq) queryRow(ctx context.Context, query string, args ...any) scanner {
	return s.q.QueryRowContext(ctx, query, args...)
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }
