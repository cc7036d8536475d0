package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/llmsweep/llmsweep/internal/accuracy"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/telemetry"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// querier runs SQL on a pool or in a transaction of either driver. The SQL
// shared by both dialects uses $N placeholders, which SQLite also binds.
type querier interface {
	exec(ctx context.Context, sql string, args ...any) (int64, error)
	query(ctx context.Context, sql string, args ...any) (rowsIter, error)
	queryRow(ctx context.Context, sql string, args ...any) scanner
}

type rowsIter interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

type scanner interface{ Scan(dest ...any) error }

// backend is what differs between SQLite and PostgreSQL beyond SQL text.
type backend interface {
	querier
	dialect() *dialect
	inTx(ctx context.Context, fn func(querier) error) error
	// prepareRun readies storage for a run's per-request rows (partitions).
	prepareRun(ctx context.Context, run runRef) error
	appendRecords(ctx context.Context, run runRef, batches []keyedBatch) error
	putSamples(ctx context.Context, run runRef, configKey int64, samples []telemetry.Sample) error
	close() error
}

// dialect holds the SQL that differs between the backends.
type dialect struct {
	name                string
	createSchemaVersion string
	time                func(time.Time) any // a time as the backend stores it; nil for zero
	insertRun           string              // id, campaign, matrix_hash, configs, engine, started
	insertConfig        string              // fingerprint
	upsertConfig        string              // fingerprint, resolved, model, hardware, framework, quantization, workload
	// The per-request queries take run_key, config_key and, on PostgreSQL, the
	// run's start time, which prunes partitions.
	seriesArgs func(run runRef, configKey int64) []any
	recorded   string
	records    string
	samples    string
	// itl returns a scan destination for itl_ns and its decoder.
	itl func() (any, func() ([]int64, error))
}

type runRef struct {
	key     int64
	started time.Time
}

type keyedBatch struct {
	configKey int64
	attempt   int32
	recs      []*sdk.Record
}

// store implements Store over a backend.
type store struct {
	b backend
	d *dialect

	mu      sync.Mutex
	runs    map[string]runRef
	configs map[string]int64
}

// maxCachedConfigs bounds the fingerprint cache; a sweep can touch 450,000.
const maxCachedConfigs = 100_000

func newStore(b backend) *store {
	return &store{b: b, d: b.dialect(), runs: map[string]runRef{}, configs: map[string]int64{}}
}

func (s *store) Close() error { return s.b.close() }

// norm is a time as stored: to the microsecond, in UTC.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Truncate(time.Microsecond).UTC()
}

// ts scans a time column of either backend.
type ts struct{ t time.Time }

func (t *ts) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		t.t = time.Time{}
	case time.Time:
		t.t = v.UTC()
	case int64:
		t.t = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("store: cannot scan %T into a time", src)
	}
	return nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) }

func need(what, v string) error {
	if v == "" {
		return fmt.Errorf("store: %s is empty", what)
	}
	return nil
}

// run resolves a run ID, which must be stored.
func (s *store) run(ctx context.Context, id string) (runRef, error) {
	if err := need("run ID", id); err != nil {
		return runRef{}, err
	}
	s.mu.Lock()
	r, ok := s.runs[id]
	s.mu.Unlock()
	if ok {
		return r, nil
	}
	var started ts
	err := s.b.queryRow(ctx, `SELECT run_key, started FROM runs WHERE id = $1`, id).Scan(&r.key, &started)
	if isNoRows(err) {
		return runRef{}, fmt.Errorf("store: %w %q", ErrUnknownRun, id)
	}
	if err != nil {
		return runRef{}, err
	}
	r.started = started.t
	s.mu.Lock()
	s.runs[id] = r
	s.mu.Unlock()
	return r, nil
}

// configKey resolves a fingerprint; create adds it when missing. ok is false
// when it is missing and create is false.
func (s *store) configKey(ctx context.Context, fp string, create bool) (key int64, ok bool, err error) {
	if err := need("fingerprint", fp); err != nil {
		return 0, false, err
	}
	s.mu.Lock()
	key, ok = s.configs[fp]
	s.mu.Unlock()
	if ok {
		return key, true, nil
	}
	for try := 0; ; try++ {
		err = s.b.queryRow(ctx, `SELECT config_key FROM configs WHERE fingerprint = $1`, fp).Scan(&key)
		if err == nil {
			break
		}
		if !isNoRows(err) {
			return 0, false, err
		}
		if !create || try > 0 {
			return 0, false, nil
		}
		if _, err := s.b.exec(ctx, s.d.insertConfig, fp); err != nil {
			return 0, false, err
		}
	}
	s.mu.Lock()
	if len(s.configs) >= maxCachedConfigs {
		clear(s.configs)
	}
	s.configs[fp] = key
	s.mu.Unlock()
	return key, true, nil
}

func (s *store) CreateRun(ctx context.Context, run result.Run) (result.Run, error) {
	run.Started, run.Finished = norm(run.Started), time.Time{} // FinishRun sets Finished
	if run.Started.IsZero() {
		run.Started = norm(time.Now())
	}
	if run.ID == "" {
		run.ID = run.Started.Format("20060102T150405.000000000Z")
	}
	if run.Configs < 0 || run.Configs > math.MaxInt32 {
		return result.Run{}, fmt.Errorf("store: run %s: %d configs is out of range", run.ID, run.Configs)
	}
	var stored *result.Run
	err := s.b.inTx(ctx, func(q querier) error {
		if _, err := q.exec(ctx, s.d.insertRun, run.ID, run.Campaign, run.MatrixHash, run.Configs, run.Engine, s.d.time(run.Started)); err != nil {
			return err
		}
		var err error
		stored, err = getRun(ctx, q, run.ID)
		return err
	})
	if err != nil {
		return result.Run{}, fmt.Errorf("store: create run %s: %w", run.ID, err)
	}
	if stored.Campaign != run.Campaign || stored.MatrixHash != run.MatrixHash {
		return result.Run{}, fmt.Errorf("store: run %s exists for campaign %q matrix %s, not campaign %q matrix %s",
			run.ID, stored.Campaign, stored.MatrixHash, run.Campaign, run.MatrixHash)
	}
	ref, err := s.run(ctx, run.ID)
	if err == nil {
		err = s.b.prepareRun(ctx, ref)
	}
	if err != nil {
		return result.Run{}, fmt.Errorf("store: create run %s: %w", run.ID, err)
	}
	return *stored, nil
}

const runColumns = `id, campaign, matrix_hash, configs, engine, started, finished`

func scanRun(row scanner) (*result.Run, error) {
	var r result.Run
	var started, finished ts
	if err := row.Scan(&r.ID, &r.Campaign, &r.MatrixHash, &r.Configs, &r.Engine, &started, &finished); err != nil {
		if isNoRows(err) {
			return nil, nil
		}
		return nil, err
	}
	r.Started, r.Finished = started.t, finished.t
	return &r, nil
}

func getRun(ctx context.Context, q querier, id string) (*result.Run, error) {
	return scanRun(q.queryRow(ctx, `SELECT `+runColumns+` FROM runs WHERE id = $1`, id))
}

func (s *store) Run(ctx context.Context, id string) (*result.Run, error) {
	if err := need("run ID", id); err != nil {
		return nil, err
	}
	return getRun(ctx, s.b, id)
}

func (s *store) Runs(ctx context.Context, campaign string) ([]result.Run, error) {
	rows, err := s.b.query(ctx, `SELECT `+runColumns+` FROM runs WHERE $1 = '' OR campaign = $1 ORDER BY started, id`, campaign)
	if err != nil {
		return nil, fmt.Errorf("store: runs: %w", err)
	}
	defer rows.Close()
	out := []result.Run{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("store: runs: %w", err)
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

func (s *store) RunCounts(ctx context.Context, campaign string) (map[string]RunCount, error) {
	rows, err := s.b.query(ctx, `SELECT ru.id,
		(SELECT count(*) FROM results re WHERE re.run_key = ru.run_key),
		(SELECT count(DISTINCT f.config_key) FROM failures f WHERE f.run_key = ru.run_key AND f.final
			AND NOT EXISTS (SELECT 1 FROM results re WHERE re.run_key = f.run_key AND re.config_key = f.config_key))
		FROM runs ru WHERE $1 = '' OR ru.campaign = $1`, campaign)
	if err != nil {
		return nil, fmt.Errorf("store: run counts: %w", err)
	}
	defer rows.Close()
	out := map[string]RunCount{}
	for rows.Next() {
		var id string
		var c RunCount
		if err := rows.Scan(&id, &c.Results, &c.Failed); err != nil {
			return nil, fmt.Errorf("store: run counts: %w", err)
		}
		out[id] = c
	}
	return out, rows.Err()
}

func (s *store) FinishRun(ctx context.Context, id string, t time.Time) error {
	if err := need("run ID", id); err != nil {
		return err
	}
	if t.IsZero() {
		return fmt.Errorf("store: finish run %s: zero time", id)
	}
	n, err := s.b.exec(ctx, `UPDATE runs SET finished = $2 WHERE id = $1`, id, s.d.time(norm(t)))
	if err != nil {
		return fmt.Errorf("store: finish run %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("store: finish run: %w %q", ErrUnknownRun, id)
	}
	return nil
}

func (s *store) LatestUnfinished(ctx context.Context, campaign, matrixHash string) (*result.Run, error) {
	return scanRun(s.b.queryRow(ctx, `SELECT `+runColumns+` FROM runs
		WHERE campaign = $1 AND matrix_hash = $2 AND finished IS NULL
		ORDER BY started DESC, id DESC LIMIT 1`, campaign, matrixHash))
}

// dims are the resolved config's fields that results are filtered by.
type dims struct {
	Model        string `json:"model"`
	Hardware     string `json:"hardware"`
	Framework    string `json:"framework"`
	Quantization string `json:"quantization"`
	Workload     string `json:"workload"`
}

// putConfig stores a config's resolved JSON under its fingerprint. It is
// idempotent; a config first seen through its records gets its JSON here.
func (s *store) putConfig(ctx context.Context, fp string, resolved json.RawMessage) error {
	if err := need("fingerprint", fp); err != nil {
		return err
	}
	var d dims
	if err := json.Unmarshal(resolved, &d); err != nil {
		return fmt.Errorf("store: config %s: resolved JSON: %v", fp, err)
	}
	if _, err := s.b.exec(ctx, s.d.upsertConfig, fp, []byte(resolved), d.Model, d.Hardware, d.Framework, d.Quantization, d.Workload); err != nil {
		return fmt.Errorf("store: config %s: %w", fp, err)
	}
	return nil
}

func (s *store) AppendRecords(ctx context.Context, runID, fp string, attempt int, recs []*sdk.Record) error {
	return s.appendBatches(ctx, runID, []RecordBatch{{Fingerprint: fp, Attempt: attempt, Records: recs}})
}

// RecordBatch is one attempt's records of one config.
type RecordBatch struct {
	Fingerprint string
	Attempt     int
	Records     []*sdk.Record
}

// appendBatches stores several configs' records in one transaction.
func (s *store) appendBatches(ctx context.Context, runID string, batches []RecordBatch) error {
	run, err := s.run(ctx, runID)
	if err != nil {
		return err
	}
	var kbs []keyedBatch
	for _, b := range batches {
		if err := need("fingerprint", b.Fingerprint); err != nil {
			return err
		}
		if b.Attempt < 0 || b.Attempt > math.MaxInt32 {
			return fmt.Errorf("store: config %s: attempt %d is out of range", b.Fingerprint, b.Attempt)
		}
		recs, err := measured(b.Records)
		if err != nil {
			return fmt.Errorf("store: config %s: %w", b.Fingerprint, err)
		}
		if len(recs) == 0 {
			continue
		}
		key, _, err := s.configKey(ctx, b.Fingerprint, true)
		if err != nil {
			return fmt.Errorf("store: config %s: %w", b.Fingerprint, err)
		}
		kbs = append(kbs, keyedBatch{configKey: key, attempt: int32(b.Attempt), recs: recs})
	}
	if len(kbs) == 0 {
		return nil
	}
	// Two batches of one (config, attempt) become one, so that each index
	// appears once in what a backend writes.
	slices.SortStableFunc(kbs, func(a, b keyedBatch) int {
		if a.configKey != b.configKey {
			return cmpInt(a.configKey, b.configKey)
		}
		return cmpInt(a.attempt, b.attempt)
	})
	merged := kbs[:1]
	for _, kb := range kbs[1:] {
		last := &merged[len(merged)-1]
		if kb.configKey == last.configKey && kb.attempt == last.attempt {
			last.recs, _ = measured(append(slices.Clip(last.recs), kb.recs...))
			continue
		}
		merged = append(merged, kb)
	}
	if err := s.b.appendRecords(ctx, run, merged); err != nil {
		return fmt.Errorf("store: append records to run %s: %w", runID, err)
	}
	return nil
}

func cmpInt[T int32 | int64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// measured drops warmup records and repeated indices, keeping the first.
func measured(recs []*sdk.Record) ([]*sdk.Record, error) {
	// Records usually come in rising index order, with nothing to drop.
	clean := true
	for i, r := range recs {
		if r == nil || r.GetWarmup() || (i > 0 && r.GetIndex() <= recs[i-1].GetIndex()) {
			clean = false
			break
		}
	}
	if clean {
		return recs, nil
	}
	seen := make(map[int32]bool, len(recs))
	out := make([]*sdk.Record, 0, len(recs))
	for i, r := range recs {
		if r == nil {
			return nil, fmt.Errorf("record %d is nil", i)
		}
		if r.GetWarmup() || seen[r.GetIndex()] {
			continue
		}
		seen[r.GetIndex()] = true
		out = append(out, r)
	}
	return out, nil
}

// series resolves a run and an existing config for a per-request read; ok is
// false when the config was never stored.
func (s *store) series(ctx context.Context, runID, fp string) (args []any, ok bool, err error) {
	run, err := s.run(ctx, runID)
	if err != nil {
		return nil, false, err
	}
	key, ok, err := s.configKey(ctx, fp, false)
	if err != nil || !ok {
		return nil, false, err
	}
	return s.d.seriesArgs(run, key), true, nil
}

// recordColumns are the columns of a request row after its key; a test holds
// them to sdk.Record's fields.
const recordColumns = `idx, scheduled_ns, start_ns, first_token_ns, end_ns, itl_ns, prompt_tokens, output_tokens,
	client_prompt_tokens, client_output_tokens, status, error_class, error, finish_reason, output, expected`

// recordValues appends a record's values in recordColumns order, with nil for
// itl_ns (index 5), whose encoding differs by backend, and NULL for empty text.
func recordValues(dst []any, r *sdk.Record) []any {
	return append(dst, r.GetIndex(), r.GetScheduledNs(), r.GetStartNs(), r.GetFirstTokenNs(), r.GetEndNs(), nil,
		r.GetPromptTokens(), r.GetOutputTokens(), r.GetClientPromptTokens(), r.GetClientOutputTokens(), r.GetStatus(),
		nullText(r.GetErrorClass()), nullText(r.GetError()), nullText(r.GetFinishReason()), nullText(r.GetOutput()), nullText(r.GetExpected()))
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *store) Records(ctx context.Context, runID, fp string) ([]*sdk.Record, error) {
	args, ok, err := s.series(ctx, runID, fp)
	out := []*sdk.Record{}
	if err != nil || !ok {
		return out, err
	}
	rows, err := s.b.query(ctx, s.d.records, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		r := &sdk.Record{}
		var errClass, errText, finish, output, expected sql.NullString
		itl, decode := s.d.itl()
		if err := rows.Scan(&r.Index, &r.ScheduledNs, &r.StartNs, &r.FirstTokenNs, &r.EndNs, itl,
			&r.PromptTokens, &r.OutputTokens, &r.ClientPromptTokens, &r.ClientOutputTokens, &r.Status,
			&errClass, &errText, &finish, &output, &expected); err != nil {
			return nil, err
		}
		if r.ItlNs, err = decode(); err != nil {
			return nil, fmt.Errorf("store: record %d: %w", r.Index, err)
		}
		r.ErrorClass, r.Error, r.FinishReason, r.Output, r.Expected = errClass.String, errText.String, finish.String, output.String, expected.String
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *store) PutResult(ctx context.Context, r result.Result) error {
	run, err := s.run(ctx, r.Run)
	if err != nil {
		return err
	}
	if err := need("fingerprint", r.Fingerprint); err != nil {
		return err
	}
	if _, err := result.ParseKind(string(r.Provenance.Kind)); err != nil {
		return fmt.Errorf("store: result %s: %w", r.Fingerprint, err)
	}
	cfg, err := json.Marshal(r.Config)
	if err != nil {
		return fmt.Errorf("store: result %s: config: %w", r.Fingerprint, err)
	}
	summary, err := json.Marshal(r.Summary)
	if err != nil {
		return fmt.Errorf("store: result %s: summary: %w", r.Fingerprint, err)
	}
	var acc, accJSON, util any
	if r.Accuracy != nil {
		b, err := json.Marshal(r.Accuracy)
		if err != nil {
			return fmt.Errorf("store: result %s: accuracy: %w", r.Fingerprint, err)
		}
		accJSON = b
		if r.Accuracy.Samples > 0 {
			acc = r.Accuracy.Accuracy
		}
	}
	u := r.Utilization
	if u == nil {
		u = &telemetry.Summary{}
	} else {
		b, err := json.Marshal(u)
		if err != nil {
			return fmt.Errorf("store: result %s: utilization: %w", r.Fingerprint, err)
		}
		util = b
	}
	var imp any
	if r.Import != nil {
		b, err := json.Marshal(r.Import)
		if err != nil {
			return fmt.Errorf("store: result %s: import: %w", r.Fingerprint, err)
		}
		imp = b
	}
	if err := s.putConfig(ctx, r.Fingerprint, cfg); err != nil {
		return err
	}
	key, _, err := s.configKey(ctx, r.Fingerprint, true)
	if err != nil {
		return err
	}
	if r.Finished.IsZero() {
		r.Finished = time.Now()
	}
	m := &r.Summary
	_, err = s.b.exec(ctx, `INSERT INTO results (run_key, config_key, attempts, summary, accuracy_json, served_by, finished,
		provenance, provenance_tool, provenance_version, engine, utilization, import_details,
		requests, succeeded, failed, ttft_p50_ms, ttft_p90_ms, ttft_p99_ms, tpot_p50_ms, tpot_p90_ms, tpot_p99_ms,
		itl_p50_ms, e2e_p50_ms, e2e_p99_ms, output_throughput, request_throughput, goodput, accuracy,
		gpu_util_mean_pct, gpu_util_p95_pct, gpu_mem_peak_bytes, power_mean_w, cpu_mean_pct, rss_peak_bytes)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
		$23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35)
		ON CONFLICT (run_key, config_key) DO UPDATE SET attempts = excluded.attempts, summary = excluded.summary,
		accuracy_json = excluded.accuracy_json, served_by = excluded.served_by, finished = excluded.finished,
		provenance = excluded.provenance, provenance_tool = excluded.provenance_tool,
		provenance_version = excluded.provenance_version, engine = excluded.engine, utilization = excluded.utilization, import_details = excluded.import_details,
		requests = excluded.requests, succeeded = excluded.succeeded, failed = excluded.failed,
		ttft_p50_ms = excluded.ttft_p50_ms, ttft_p90_ms = excluded.ttft_p90_ms, ttft_p99_ms = excluded.ttft_p99_ms,
		tpot_p50_ms = excluded.tpot_p50_ms, tpot_p90_ms = excluded.tpot_p90_ms, tpot_p99_ms = excluded.tpot_p99_ms,
		itl_p50_ms = excluded.itl_p50_ms, e2e_p50_ms = excluded.e2e_p50_ms, e2e_p99_ms = excluded.e2e_p99_ms,
		output_throughput = excluded.output_throughput, request_throughput = excluded.request_throughput,
		goodput = excluded.goodput, accuracy = excluded.accuracy, gpu_util_mean_pct = excluded.gpu_util_mean_pct,
		gpu_util_p95_pct = excluded.gpu_util_p95_pct, gpu_mem_peak_bytes = excluded.gpu_mem_peak_bytes,
		power_mean_w = excluded.power_mean_w, cpu_mean_pct = excluded.cpu_mean_pct, rss_peak_bytes = excluded.rss_peak_bytes`,
		run.key, key, r.Attempts, summary, accJSON, r.ServedBy, s.d.time(norm(r.Finished)),
		string(r.Provenance.Kind), r.Provenance.Tool, r.Provenance.Version, r.Engine, util, imp,
		m.Requests, m.Succeeded, m.Failed, null(m.TTFT.P50), null(m.TTFT.P90), null(m.TTFT.P99),
		null(m.TPOT.P50), null(m.TPOT.P90), null(m.TPOT.P99), null(m.ITL.P50), null(m.E2E.P50), null(m.E2E.P99),
		null(m.OutputThroughput), null(m.RequestThroughput), null(m.Goodput), acc,
		null(u.GPUUtilMean), null(u.GPUUtilP95), null(u.MemUsedPeakBytes), null(u.PowerMeanW), null(u.CPUMeanPct),
		null(u.RSSPeakBytes))
	if err == nil {
		err = s.reviewSucceeded(ctx, key, r.Finished)
	}
	if err != nil {
		return fmt.Errorf("store: result %s: %w", r.Fingerprint, err)
	}
	return nil
}

// null is a metric as a query parameter: NULL when it was not measured.
func null(v metrics.Value) any {
	if x, ok := v.Get(); ok {
		return x
	}
	return nil
}

// filterWhere is f as conditions on runs ru, configs c and results re, whose
// values are query parameters: nothing a user types is ever SQL text.
func filterWhere(f Filter) (where []string, args []any) {
	for _, c := range []struct{ col, v string }{
		{"ru.campaign", f.Campaign}, {"c.model", f.Model}, {"c.hardware", f.Hardware}, {"c.framework", f.Framework},
		{"c.quantization", f.Quantization}, {"c.workload", f.Workload}, {"ru.id", f.RunID}, {"c.fingerprint", f.Fingerprint},
		{"re.provenance", string(f.Provenance)},
	} {
		if c.v != "" {
			args = append(args, c.v)
			where = append(where, c.col+" = $"+strconv.Itoa(len(args)))
		}
	}
	return where, args
}

func (s *store) Results(ctx context.Context, f Filter) ([]result.Result, error) {
	where, args := filterWhere(f)
	from := `results re JOIN runs ru ON ru.run_key = re.run_key JOIN configs c ON c.config_key = re.config_key`
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	q := `SELECT ru.id, c.fingerprint, c.resolved, re.attempts, re.summary, re.accuracy_json, re.utilization, re.served_by,
		re.finished, re.provenance, re.provenance_tool, re.provenance_version, re.engine, re.import_details
		FROM ` + from + cond + ` ORDER BY re.finished, ru.id, c.fingerprint`
	if f.Newest {
		// Each config's newest result among those that match: ties on the
		// finish time go to the later run.
		q = `SELECT id, fingerprint, resolved, attempts, summary, accuracy_json, utilization, served_by, finished,
			provenance, provenance_tool, provenance_version, engine, import_details FROM (
			SELECT ru.id, c.fingerprint, c.resolved, re.attempts, re.summary, re.accuracy_json, re.utilization, re.served_by,
			re.finished, re.provenance, re.provenance_tool, re.provenance_version, re.engine, re.import_details,
			row_number() OVER (PARTITION BY re.config_key ORDER BY re.finished DESC, ru.started DESC, ru.id DESC) AS n
			FROM ` + from + cond + `) x WHERE n = 1 ORDER BY finished, id, fingerprint`
	}
	rows, err := s.b.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: results: %w", err)
	}
	defer rows.Close()
	out := []result.Result{}
	for rows.Next() {
		var r result.Result
		var config, summary, accJSON, util, imp []byte
		var finished ts
		if err := rows.Scan(&r.Run, &r.Fingerprint, &config, &r.Attempts, &summary, &accJSON, &util, &r.ServedBy, &finished,
			&r.Provenance.Kind, &r.Provenance.Tool, &r.Provenance.Version, &r.Engine, &imp); err != nil {
			return nil, fmt.Errorf("store: results: %w", err)
		}
		r.Finished = finished.t
		if err := decodeResult(&r, config, summary, accJSON, util, imp); err != nil {
			return nil, fmt.Errorf("store: result of config %s in run %s: %w", r.Fingerprint, r.Run, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// decodeResult decodes a stored result's JSON columns: the one place where a
// stored result is decoded (DESIGN 11).
func decodeResult(r *result.Result, config, summary, acc, util, imp []byte) error {
	if len(config) > 0 {
		if err := json.Unmarshal(config, &r.Config); err != nil {
			return fmt.Errorf("config: %v", err)
		}
	}
	if err := json.Unmarshal(summary, &r.Summary); err != nil {
		return fmt.Errorf("summary: %v", err)
	}
	if len(acc) > 0 && string(acc) != "null" {
		r.Accuracy = &accuracy.Result{}
		if err := json.Unmarshal(acc, r.Accuracy); err != nil {
			return fmt.Errorf("accuracy: %v", err)
		}
	}
	if len(util) > 0 && string(util) != "null" {
		r.Utilization = &telemetry.Summary{}
		if err := json.Unmarshal(util, r.Utilization); err != nil {
			return fmt.Errorf("utilization: %v", err)
		}
	}
	if len(imp) > 0 && string(imp) != "null" {
		r.Import = &result.Import{}
		if err := json.Unmarshal(imp, r.Import); err != nil {
			return fmt.Errorf("import: %v", err)
		}
	}
	return nil
}

func (s *store) Done(ctx context.Context, runID, fp string) (bool, error) {
	run, err := s.run(ctx, runID)
	if err != nil {
		return false, err
	}
	key, ok, err := s.configKey(ctx, fp, false)
	if err != nil || !ok {
		return false, err
	}
	var done bool
	err = s.b.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM results WHERE run_key = $1 AND config_key = $2)`, run.key, key).Scan(&done)
	return done, err
}

func (s *store) PutFailure(ctx context.Context, f result.Failure) error {
	run, err := s.run(ctx, f.Run)
	if err != nil {
		return err
	}
	if f.Attempt < 0 || f.Attempt > math.MaxInt32 {
		return fmt.Errorf("store: failure of %s: attempt %d is out of range", f.Fingerprint, f.Attempt)
	}
	if f.Config != nil {
		b, err := json.Marshal(f.Config)
		if err != nil {
			return fmt.Errorf("store: failure of %s: config: %w", f.Fingerprint, err)
		}
		if err := s.putConfig(ctx, f.Fingerprint, b); err != nil {
			return err
		}
	}
	key, _, err := s.configKey(ctx, f.Fingerprint, true)
	if err != nil {
		return err
	}
	if f.Time.IsZero() {
		f.Time = time.Now()
	}
	_, err = s.b.exec(ctx, `INSERT INTO failures (run_key, config_key, attempt, final, reason, at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (run_key, config_key, attempt, final) DO NOTHING`,
		run.key, key, f.Attempt, f.Final, f.Reason, s.d.time(norm(f.Time)))
	if err == nil && f.Final {
		err = s.reviewFailed(ctx, run, key, f.Time)
	}
	if err != nil {
		return fmt.Errorf("store: failure of %s: %w", f.Fingerprint, err)
	}
	return nil
}

func (s *store) Failures(ctx context.Context, runID string) ([]result.Failure, error) {
	run, err := s.run(ctx, runID)
	if err != nil {
		return nil, err
	}
	// A config's latest final failure stands for it; one with a result is not failed.
	rows, err := s.b.query(ctx, `SELECT c.fingerprint, f.attempt, f.final, f.reason, f.at
		FROM failures f JOIN configs c ON c.config_key = f.config_key
		WHERE f.run_key = $1 AND f.final
		AND NOT EXISTS (SELECT 1 FROM results re WHERE re.run_key = f.run_key AND re.config_key = f.config_key)
		AND NOT EXISTS (SELECT 1 FROM failures g WHERE g.run_key = f.run_key AND g.config_key = f.config_key
			AND g.final AND g.attempt > f.attempt)
		ORDER BY f.at, c.fingerprint`, run.key)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []result.Failure{}
	for rows.Next() {
		f := result.Failure{Run: runID}
		var at ts
		if err := rows.Scan(&f.Fingerprint, &f.Attempt, &f.Final, &f.Reason, &at); err != nil {
			return nil, err
		}
		f.Time = at.t
		out = append(out, f)
	}
	return out, rows.Err()
}

func (s *store) PutSamples(ctx context.Context, runID, fp string, samples []telemetry.Sample) error {
	run, err := s.run(ctx, runID)
	if err != nil {
		return err
	}
	if len(samples) == 0 {
		return nil
	}
	for _, x := range samples {
		if x.MemUsedBytes > math.MaxInt64 || x.MemTotalBytes > math.MaxInt64 || x.RSSBytes > math.MaxInt64 {
			return fmt.Errorf("store: sample of %s at %d: byte count out of range", fp, x.TimeNs)
		}
	}
	key, _, err := s.configKey(ctx, fp, true)
	if err != nil {
		return err
	}
	if err := s.b.putSamples(ctx, run, key, samples); err != nil {
		return fmt.Errorf("store: samples of %s: %w", fp, err)
	}
	return nil
}

// sampleColumns are a utilization row's columns after its key.
const sampleColumns = `time_ns, source, device, gpu_util_pct, mem_util_pct, mem_used_bytes, mem_total_bytes, power_w, cpu_pct, rss_bytes`

func sampleValues(dst []any, x *telemetry.Sample) []any {
	return append(dst, x.TimeNs, x.Source, x.Device, x.GPUUtilPct, x.MemUtilPct, int64(x.MemUsedBytes),
		int64(x.MemTotalBytes), x.PowerW, x.CPUPct, int64(x.RSSBytes))
}

func (s *store) Samples(ctx context.Context, runID, fp string) ([]telemetry.Sample, error) {
	args, ok, err := s.series(ctx, runID, fp)
	out := []telemetry.Sample{}
	if err != nil || !ok {
		return out, err
	}
	rows, err := s.b.query(ctx, s.d.samples, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var x telemetry.Sample
		var used, total, rss int64
		if err := rows.Scan(&x.TimeNs, &x.Source, &x.Device, &x.GPUUtilPct, &x.MemUtilPct, &used, &total,
			&x.PowerW, &x.CPUPct, &rss); err != nil {
			return nil, err
		}
		x.MemUsedBytes, x.MemTotalBytes, x.RSSBytes = uint64(used), uint64(total), uint64(rss)
		out = append(out, x)
	}
	return out, rows.Err()
}
