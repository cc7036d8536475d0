// Package store keeps runs, configs, per-request records, utilization samples,
// results, failures and checkpoints in a database (DESIGN 8): SQLite (pure Go,
// the embedded default) or PostgreSQL. Both backends implement one Store with
// the semantics of internal/runlog, which it replaces:
//
//   - Measured records are keyed by (run, fingerprint, attempt, request index);
//     appending one that is already stored is a no-op, so a resumed or retried
//     write never duplicates a row.
//   - A failed attempt voids its records: Recorded and Records ignore them, and
//     the retry measures the config afresh. Where two live attempts hold the same
//     index, the earlier attempt wins, as runlog's readers do.
//   - Warmup records are not stored: no reader uses them, and the plugin's
//     summary counts them.
//
// Per-request and utilization rows carry their run's start time, which is what
// PostgreSQL partitions them by (monthly partitions, or TimescaleDB chunks): a
// run never straddles partitions, so its raw rows can be archived and dropped
// whole after aggregation, and the unique key, which PostgreSQL requires to
// include the partition column, still means (run, fingerprint, attempt, index).
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/llmsweep/llmsweep/internal/telemetry"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// DefaultURL is the store a local run uses when none is given.
const DefaultURL = "sqlite://.llmsweep/results.db"

// Run describes a run.
type Run struct {
	ID         string
	Campaign   string
	MatrixHash string
	Configs    int
	Started    time.Time
	Finished   time.Time // zero while unfinished
	// Engine is set when a local run sent every config to one engine.
	Engine string
}

// Result is a config's outcome in a run; storing it marks the config done.
type Result struct {
	RunID       string
	Fingerprint string
	Attempts    int
	// Config is the resolved config. PutResult stores it in the configs table
	// when given; Results reads it back from there.
	Config   json.RawMessage
	Summary  json.RawMessage // a metrics.Summary
	Accuracy json.RawMessage // an accuracy.Result, or empty
	ServedBy string
	Finished time.Time
	// Metrics are read back from columns that PutResult fills from Summary and
	// Accuracy, so that queries need not parse JSON; PutResult ignores this field.
	Metrics Metrics
}

// Metrics are the main metrics of a result, in milliseconds and per second.
type Metrics struct {
	Requests, Succeeded, Failed int

	TTFTP50, TTFTP99 float64
	TPOTP50, TPOTP99 float64
	ITLP50           float64
	E2EP99           float64

	OutputThroughput  float64 // output tok/s
	RequestThroughput float64 // req/s
	Goodput           float64 // req/s meeting the SLO
	Accuracy          *float64
}

// Failure is a failed attempt, or a config that failed every attempt (Final).
// Either voids the attempt's records.
type Failure struct {
	RunID       string
	Fingerprint string
	Attempt     int
	Final       bool
	Reason      string
	Time        time.Time
}

// Checkpoint is where a run stands.
type Checkpoint struct {
	Done        int
	Failed      int
	Current     string
	Interrupted bool
	Time        time.Time
}

// Filter selects results; empty fields match anything.
type Filter struct {
	Campaign     string
	Model        string
	Hardware     string
	Framework    string
	Quantization string
	Workload     string
	RunID        string
	Fingerprint  string
}

// RecordBatch is one attempt's records of one config.
type RecordBatch struct {
	Fingerprint string
	Attempt     int
	Records     []*sdk.Record
}

// Store is a results database. Implementations are safe for concurrent use,
// also by several processes on one database. Times are kept to the
// microsecond and read back in UTC.
type Store interface {
	// CreateRun stores a new run; an empty ID gets one from the start time.
	// Creating a run that exists with the same campaign and matrix hash is a
	// no-op (the pods of one workflow share their run); it returns the stored run.
	CreateRun(ctx context.Context, run Run) (Run, error)
	// Run returns a run, or nil when there is none with this ID.
	Run(ctx context.Context, id string) (*Run, error)
	FinishRun(ctx context.Context, id string, t time.Time) error
	// LatestUnfinished returns the newest unfinished run of a campaign with this
	// matrix hash, or nil: the run to resume.
	LatestUnfinished(ctx context.Context, campaign, matrixHash string) (*Run, error)

	// PutConfig stores a config's resolved JSON under its fingerprint. It is
	// idempotent; a config first seen through its records gets its JSON here.
	PutConfig(ctx context.Context, fingerprint string, resolved json.RawMessage) error

	// AppendRecords stores an attempt's measured records; see the package doc.
	AppendRecords(ctx context.Context, runID, fingerprint string, attempt int, recs []*sdk.Record) error
	// AppendBatches stores several configs' records in one transaction.
	AppendBatches(ctx context.Context, runID string, batches []RecordBatch) error
	// Recorded returns the measured request indices of a config's attempts that
	// did not fail, sorted: what a resumed run skips.
	Recorded(ctx context.Context, runID, fingerprint string) ([]int32, error)
	// Records returns those records, one per index, in index order.
	Records(ctx context.Context, runID, fingerprint string) ([]*sdk.Record, error)

	// PutResult stores a config's result in a run, replacing an earlier one.
	PutResult(ctx context.Context, r Result) error
	// Results returns the results that match f, oldest first.
	Results(ctx context.Context, f Filter) ([]Result, error)
	// Done reports whether a config has its result, or failed for good, in a run.
	Done(ctx context.Context, runID, fingerprint string) (bool, error)

	// PutFailure stores a failed attempt, voiding its records. Storing the same
	// (attempt, final) again keeps the first.
	PutFailure(ctx context.Context, f Failure) error
	// Failures returns a run's final failures, oldest first.
	Failures(ctx context.Context, runID string) ([]Failure, error)
	// Attempts is the highest failed attempt of a config (0 when none): a retry
	// or a resume goes on from the next one.
	Attempts(ctx context.Context, runID, fingerprint string) (int, error)

	// PutSamples stores utilization samples taken during a config; a sample
	// already stored (same source, device and time) is skipped.
	PutSamples(ctx context.Context, runID, fingerprint string, samples []telemetry.Sample) error
	// Samples returns them in time order.
	Samples(ctx context.Context, runID, fingerprint string) ([]telemetry.Sample, error)

	// Checkpoint records where a run stands, replacing the previous checkpoint.
	Checkpoint(ctx context.Context, runID string, c Checkpoint) error
	// LastCheckpoint returns it, or nil when the run has none.
	LastCheckpoint(ctx context.Context, runID string) (*Checkpoint, error)

	// Aggregate computes statistics of per-request latencies across configs
	// and runs (see AggregateQuery).
	Aggregate(ctx context.Context, q AggregateQuery) ([]Aggregate, error)
	// RefreshViews rebuilds model_rankings and daily_stats from the results.
	RefreshViews(ctx context.Context) error
	ModelRankings(ctx context.Context) ([]Ranking, error)
	DailyStats(ctx context.Context) ([]DailyStat, error)
	// StoredResults says which of fps have results in any run, and of which kinds.
	StoredResults(ctx context.Context, fps []string) (map[string]Stored, error)

	Close() error
}

// ErrUnknownRun is returned for a run ID that is not stored.
var ErrUnknownRun = errors.New("unknown run")

// Open opens the store at url, creating it and bringing its schema up to date:
//
//	sqlite://<path>             a file, relative to the working directory or absolute (sqlite:///abs/path.db)
//	postgres://user@host/db     PostgreSQL, in pgx's URL syntax (postgresql:// too)
//
// An empty url means DefaultURL.
func Open(ctx context.Context, rawURL string) (Store, error) {
	if rawURL == "" {
		rawURL = DefaultURL
	}
	kind, target, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "sqlite":
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		b, err := openSQLite(ctx, target)
		if err != nil {
			return nil, fmt.Errorf("store: sqlite %s: %w", target, err)
		}
		return newStore(b), nil
	default:
		b, err := openPostgres(ctx, target, LayoutAuto)
		if err != nil {
			return nil, fmt.Errorf("store: postgres: %w", err)
		}
		return newStore(b), nil
	}
}

// parseURL splits a store URL into its backend and the path or connection
// string, or says what is wrong with it.
func parseURL(raw string) (kind, target string, err error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		if s, _, colon := strings.Cut(raw, ":"); colon && !strings.ContainsAny(s, `/\.`) {
			return "", "", fmt.Errorf("store: URL %q: want %s://…", raw, s)
		}
		return "", "", fmt.Errorf("store: URL %q has no scheme: want sqlite://<path> or postgres://…", raw)
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		if rest == "" {
			return "", "", fmt.Errorf("store: URL %q: missing path after sqlite:// (e.g. %s)", raw, DefaultURL)
		}
		if strings.ContainsAny(rest, "?#") {
			return "", "", fmt.Errorf("store: URL %q: a sqlite path takes no query or fragment (? or #)", raw)
		}
		if strings.HasSuffix(rest, "/") {
			return "", "", fmt.Errorf("store: URL %q: path names a directory, want a file", raw)
		}
		return "sqlite", filepath.FromSlash(rest), nil
	case "postgres", "postgresql":
		u, err := url.Parse(raw)
		if err != nil {
			return "", "", fmt.Errorf("store: URL: %v", redact(err))
		}
		if u.Host == "" && u.Query().Get("host") == "" {
			return "", "", fmt.Errorf("store: URL %q: missing host (postgres://user@host:5432/db)", u.Redacted())
		}
		return "postgres", raw, nil
	case "":
		return "", "", fmt.Errorf("store: URL %q has an empty scheme: want sqlite://<path> or postgres://…", raw)
	default:
		return "", "", fmt.Errorf("store: URL scheme %q is not supported: want sqlite, postgres or postgresql", scheme)
	}
}

// redact drops the URL from url.Parse's error, which may hold a password.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %v", ue.Op, ue.Err)
	}
	return err
}
