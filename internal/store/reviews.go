package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/llmsweep/llmsweep/internal/result"
)

// ReviewState is where a config that failed every retry stands in the
// manual-review queue.
type ReviewState string

const (
	// ReviewOpen: no one has looked at it yet.
	ReviewOpen ReviewState = "open"
	// ReviewAcked: a person looked at it (and may have left a note).
	ReviewAcked ReviewState = "acked"
	// ReviewRetry: the next run measures the config, whatever the campaign's
	// reuse policy would let a stored result stand in for.
	ReviewRetry ReviewState = "retry"
	// ReviewRetried: a later run measured the config, and it failed again
	// (that run's failure is in the queue on its own).
	ReviewRetried ReviewState = "retried"
	// ReviewResolved: a result of the config was stored after all.
	ReviewResolved ReviewState = "resolved"
)

// ReviewStates are the states, in the order a failure moves through them.
var ReviewStates = []ReviewState{ReviewOpen, ReviewAcked, ReviewRetry, ReviewRetried, ReviewResolved}

// PendingStates are the states that still want something of a person or a run.
var PendingStates = []ReviewState{ReviewOpen, ReviewAcked, ReviewRetry}

// ParseReviewState checks a state's name.
func ParseReviewState(s string) (ReviewState, error) {
	if slices.Contains(ReviewStates, ReviewState(s)) {
		return ReviewState(s), nil
	}
	names := make([]string, len(ReviewStates))
	for i, st := range ReviewStates {
		names[i] = string(st)
	}
	return "", fmt.Errorf("review state %q: want %s", s, strings.Join(names, ", "))
}

// Review is one entry of the manual-review queue: a config's final failure in
// a run.
type Review struct {
	Run          string      `json:"run"`
	Campaign     string      `json:"campaign"`
	Fingerprint  string      `json:"fingerprint"`
	Model        string      `json:"model,omitempty"`
	Hardware     string      `json:"hardware,omitempty"`
	Framework    string      `json:"framework,omitempty"`
	Quantization string      `json:"quantization,omitempty"`
	Workload     string      `json:"workload,omitempty"`
	State        ReviewState `json:"state"`
	Note         string      `json:"note,omitempty"`
	Updated      time.Time   `json:"updated"`
	// Failure is the config's final failure in the run: attempts and reason.
	Failure result.Failure `json:"failure"`
	// Attempts are every failure stored for the config in the run, oldest
	// first; only ReviewOf fills them.
	Attempts []result.Failure `json:"attempts,omitempty"`
}

// ReviewFilter selects queue entries: f's fields as in Results (Provenance
// and Newest do not apply), and any of States (none: every state).
type ReviewFilter struct {
	Filter
	States []ReviewState
}

// ErrNoReview is returned for a (run, config) that is not in the queue.
var ErrNoReview = errors.New("not in the review queue")

// reviewColumns are what Reviews and ReviewOf read, the final failure included.
const reviewColumns = `ru.id, ru.campaign, c.fingerprint, c.model, c.hardware, c.framework, c.quantization, c.workload,
	rv.state, rv.note, rv.updated, f.attempt, f.reason, f.at`

// The final failure that stands for a config in a run: its latest.
const reviewFrom = `reviews rv JOIN runs ru ON ru.run_key = rv.run_key JOIN configs c ON c.config_key = rv.config_key
	JOIN failures f ON f.run_key = rv.run_key AND f.config_key = rv.config_key AND f.final
	AND NOT EXISTS (SELECT 1 FROM failures g WHERE g.run_key = f.run_key AND g.config_key = f.config_key
		AND g.final AND g.attempt > f.attempt)`

// Reviews returns the queue's entries that match f, oldest failure first.
func (s *store) Reviews(ctx context.Context, f ReviewFilter) ([]Review, error) {
	f.Provenance = ""
	where, args := filterWhere(f.Filter)
	if len(f.States) > 0 {
		marks := make([]string, len(f.States))
		for i, st := range f.States {
			args = append(args, string(st))
			marks[i] = "$" + strconv.Itoa(len(args))
		}
		where = append(where, "rv.state IN ("+strings.Join(marks, ", ")+")")
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.b.query(ctx, `SELECT `+reviewColumns+` FROM `+reviewFrom+cond+` ORDER BY f.at, ru.id, c.fingerprint`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: review queue: %w", err)
	}
	defer rows.Close()
	out := []Review{}
	for rows.Next() {
		var r Review
		var updated, at ts
		if err := rows.Scan(&r.Run, &r.Campaign, &r.Fingerprint, &r.Model, &r.Hardware, &r.Framework, &r.Quantization,
			&r.Workload, &r.State, &r.Note, &updated, &r.Failure.Attempt, &r.Failure.Reason, &at); err != nil {
			return nil, fmt.Errorf("store: review queue: %w", err)
		}
		r.Updated, r.Failure.Time = updated.t, at.t
		r.Failure.Run, r.Failure.Fingerprint, r.Failure.Final = r.Run, r.Fingerprint, true
		out = append(out, r)
	}
	return out, rows.Err()
}

// ReviewOf returns a config's entry in a run, with every failure stored for
// it there.
func (s *store) ReviewOf(ctx context.Context, runID, fp string) (*Review, error) {
	rs, err := s.Reviews(ctx, ReviewFilter{Filter: Filter{RunID: runID, Fingerprint: fp}})
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("store: config %s of run %s: %w", fp, runID, ErrNoReview)
	}
	r := rs[0]
	rows, err := s.b.query(ctx, `SELECT f.attempt, f.final, f.reason, f.at FROM failures f
		JOIN runs ru ON ru.run_key = f.run_key JOIN configs c ON c.config_key = f.config_key
		WHERE ru.id = $1 AND c.fingerprint = $2 ORDER BY f.at, f.attempt, f.final`, runID, fp)
	if err != nil {
		return nil, fmt.Errorf("store: failures of %s: %w", fp, err)
	}
	defer rows.Close()
	for rows.Next() {
		f := result.Failure{Run: runID, Fingerprint: fp}
		var at ts
		if err := rows.Scan(&f.Attempt, &f.Final, &f.Reason, &at); err != nil {
			return nil, fmt.Errorf("store: failures of %s: %w", fp, err)
		}
		f.Time = at.t
		r.Attempts = append(r.Attempts, f)
	}
	return &r, rows.Err()
}

// SetReview moves a queue entry to state (acked or retry) with a note (empty
// keeps the one it has). An entry that is retried or resolved is done with,
// and stays so.
func (s *store) SetReview(ctx context.Context, runID, fp string, state ReviewState, note string) error {
	if state != ReviewAcked && state != ReviewRetry {
		return fmt.Errorf("store: review of %s: a person acks or retries a failure; %s is the store's to set", fp, state)
	}
	r, err := s.Reviews(ctx, ReviewFilter{Filter: Filter{RunID: runID, Fingerprint: fp}})
	if err != nil {
		return err
	}
	if len(r) == 0 {
		return fmt.Errorf("store: config %s of run %s: %w", fp, runID, ErrNoReview)
	}
	if !slices.Contains(PendingStates, r[0].State) {
		return fmt.Errorf("store: config %s of run %s is %s: nothing to review", fp, runID, r[0].State)
	}
	run, err := s.run(ctx, runID)
	if err != nil {
		return err
	}
	key, _, err := s.configKey(ctx, fp, false)
	if err != nil {
		return err
	}
	_, err = s.b.exec(ctx, `UPDATE reviews SET state = $1, note = CASE WHEN $2 = '' THEN note ELSE $2 END, updated = $3
		WHERE run_key = $4 AND config_key = $5`, string(state), note, s.d.time(norm(time.Now())), run.key, key)
	if err != nil {
		return fmt.Errorf("store: review of %s: %w", fp, err)
	}
	return nil
}

// reviewFailed queues a config's final failure in a run, and marks the
// config's retries that other runs asked for as retried: this run tried it.
func (s *store) reviewFailed(ctx context.Context, run runRef, key int64, at time.Time) error {
	t := s.d.time(norm(at))
	if _, err := s.b.exec(ctx, `INSERT INTO reviews (run_key, config_key, state, updated) VALUES ($1, $2, 'open', $3)
		ON CONFLICT (run_key, config_key) DO UPDATE SET state = 'open', updated = excluded.updated
		WHERE reviews.state IN ('resolved', 'retried')`, run.key, key, t); err != nil {
		return err
	}
	_, err := s.b.exec(ctx, `UPDATE reviews SET state = 'retried', updated = $1
		WHERE config_key = $2 AND run_key <> $3 AND state = 'retry'`, t, key, run.key)
	return err
}

// reviewSucceeded resolves a config's pending entries: a result of it is
// stored now, in this run or a later one.
func (s *store) reviewSucceeded(ctx context.Context, key int64, at time.Time) error {
	_, err := s.b.exec(ctx, `UPDATE reviews SET state = 'resolved', updated = $1
		WHERE config_key = $2 AND state IN ('open', 'acked', 'retry')`, s.d.time(norm(at)), key)
	return err
}
