// Package store keeps runs, configs, per-request records, utilization samples,
// results and failures in a database (DESIGN 8): SQLite (pure Go, the embedded
// default) or PostgreSQL. Both backends implement one Store, whose results are
// the one result.Result (DESIGN 11), with the semantics of internal/runlog, the
// spool in front of it:
//
//   - Measured records are keyed by (run, fingerprint, attempt, request index);
//     appending one that is already stored is a no-op, so a resumed or retried
//     write never duplicates a row.
//   - A failed attempt voids its records: Records ignores them, and the retry
//     measures the config afresh. Where two live attempts hold the same index,
//     the earlier attempt wins, as runlog's readers do.
//   - Metrics that were not measured are NULL, never 0.
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
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/telemetry"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// DefaultURL is the store a local run uses when none is given.
const DefaultURL = "sqlite://.llmsweep/results.db"

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
	Provenance   result.Kind
	// Newest keeps each config's newest result among those that match.
	Newest bool
}

// Store is a results database. Implementations are safe for concurrent use,
// also by several processes on one database. Times are kept to the
// microsecond and read back in UTC.
type Store interface {
	// CreateRun stores a new run; an empty ID gets one from the start time.
	// Creating a run that exists with the same campaign and matrix hash is a
	// no-op (the pods of one workflow share their run); it returns the stored run.
	CreateRun(ctx context.Context, run result.Run) (result.Run, error)
	// Run returns a run, or nil when there is none with this ID.
	Run(ctx context.Context, id string) (*result.Run, error)
	// Runs returns a campaign's runs (every run when campaign is empty),
	// oldest first.
	Runs(ctx context.Context, campaign string) ([]result.Run, error)
	// RunCounts counts each run's results and still-failed configs, by run ID.
	RunCounts(ctx context.Context, campaign string) (map[string]RunCount, error)
	FinishRun(ctx context.Context, id string, t time.Time) error
	// LatestUnfinished returns the newest unfinished run of a campaign with this
	// matrix hash, or nil: the run to resume.
	LatestUnfinished(ctx context.Context, campaign, matrixHash string) (*result.Run, error)

	// AppendRecords stores an attempt's measured records; see the package doc.
	AppendRecords(ctx context.Context, runID, fingerprint string, attempt int, recs []*sdk.Record) error
	// Records returns a config's records in a run, one per index, in index order.
	Records(ctx context.Context, runID, fingerprint string) ([]*sdk.Record, error)
	// PutSamples stores utilization samples taken during a config; a sample
	// already stored (same source, device and time) is skipped.
	PutSamples(ctx context.Context, runID, fingerprint string, samples []telemetry.Sample) error
	// Samples returns them in time order.
	Samples(ctx context.Context, runID, fingerprint string) ([]telemetry.Sample, error)

	// PutResult stores a config's result in a run (r.Run), replacing an earlier one.
	PutResult(ctx context.Context, r result.Result) error
	// Results returns the results that match f, oldest first.
	Results(ctx context.Context, f Filter) ([]result.Result, error)
	// Done reports whether a config has its result in a run.
	Done(ctx context.Context, runID, fingerprint string) (bool, error)
	// StoredResults says, for those of fps with results, when the newest of each
	// provenance finished and whether runID has one: what the reuse rule reads.
	StoredResults(ctx context.Context, runID string, fps []string) (map[string]Stored, error)

	// PutFailure stores a failed attempt (f.Run), voiding its records. Storing
	// the same (attempt, final) again keeps the first.
	PutFailure(ctx context.Context, f result.Failure) error
	// Failures returns the final failures of a run's configs that have no
	// result in it (a later attempt may have succeeded), oldest first.
	Failures(ctx context.Context, runID string) ([]result.Failure, error)
	// Reviews returns the manual-review queue's entries that match f: each
	// config that failed every retry in a run, with its state.
	Reviews(ctx context.Context, f ReviewFilter) ([]Review, error)
	// ReviewOf returns one entry with every failure of the config in the run,
	// or an error wrapping ErrNoReview.
	ReviewOf(ctx context.Context, runID, fingerprint string) (*Review, error)
	// SetReview acks an entry or asks for a retry (state), with a note.
	SetReview(ctx context.Context, runID, fingerprint string, state ReviewState, note string) error

	// Aggregate computes statistics of per-request latencies across configs
	// and runs (see AggregateQuery).
	Aggregate(ctx context.Context, q AggregateQuery) ([]Aggregate, error)
	// RefreshViews rebuilds model_rankings and daily_stats from the results.
	RefreshViews(ctx context.Context) error
	ModelRankings(ctx context.Context) ([]Ranking, error)
	DailyStats(ctx context.Context) ([]DailyStat, error)

	Close() error
}

// RunCount is how far a run got: configs with a result, and configs that
// failed for good and have none.
type RunCount struct {
	Results, Failed int
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
