// Package runlog keeps a run's results as JSON-lines files in one directory per
// run: the per-request records, the per-config results, failures, utilization
// samples and the checkpoint. It is the local store until the database store
// exists, and it is what a resumed run reads back (DESIGN 10).
//
// Every line is written with one write(2) on a file opened O_APPEND, so a crash
// can tear at most the last line of a file; Open drops a torn last line, whose
// record is then simply sent again. Records are keyed by (fingerprint, index):
// a resumed run skips the indices already here, and readers drop duplicates.
// A failed attempt voids its records: the retry measures the config afresh.
package runlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// Run describes a run; it is run.json in the run's directory.
type Run struct {
	ID         string    `json:"id"`
	Campaign   string    `json:"campaign"`
	MatrixHash string    `json:"matrix_hash"`
	Configs    int       `json:"configs"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished,omitzero"`
	// Engine is set when a local run sent every config to one engine.
	Engine string `json:"engine,omitempty"`
}

// Result is a config's outcome; the file results.jsonl marks a config done.
type Result struct {
	Fingerprint string          `json:"fingerprint"`
	Attempts    int             `json:"attempts"`
	Config      json.RawMessage `json:"config"`
	Summary     json.RawMessage `json:"summary"`
	Accuracy    json.RawMessage `json:"accuracy,omitempty"`
	ServedBy    string          `json:"served_by"`
	Finished    time.Time       `json:"finished"`
}

// Failure is a failed attempt, or a config that failed every attempt (Final).
type Failure struct {
	Fingerprint string    `json:"fingerprint"`
	Attempt     int       `json:"attempt"`
	Final       bool      `json:"final"`
	Reason      string    `json:"reason"`
	Time        time.Time `json:"time"`
}

// Checkpoint is where a run stands; written after every config and on SIGTERM.
type Checkpoint struct {
	Done        int       `json:"done"`
	Failed      int       `json:"failed"`
	Current     string    `json:"current,omitempty"`
	Interrupted bool      `json:"interrupted"`
	Time        time.Time `json:"time"`
}

type recordLine struct {
	Fingerprint string          `json:"fingerprint"`
	Attempt     int             `json:"attempt"`
	Record      json.RawMessage `json:"record"`
}

type sampleLine struct {
	Fingerprint string `json:"fingerprint"`
	Sample      any    `json:"sample"`
}

// Log is an open run directory. It is safe for concurrent use.
type Log struct {
	Dir string
	Run Run

	mu       sync.Mutex
	files    map[string]*os.File
	records  map[string]map[int32]int // fingerprint -> measured index -> attempt
	void     map[string]map[int]bool  // fingerprint -> failed attempts
	results  map[string]bool
	failures map[string]bool // final failures
}

const (
	recordsFile  = "records.jsonl"
	resultsFile  = "results.jsonl"
	failuresFile = "failures.jsonl"
	samplesFile  = "samples.jsonl"
)

// Latest returns the directory of the newest unfinished run of a campaign with
// the given matrix hash under root, or "" when there is none.
func Latest(root, campaign, matrixHash string) (string, error) {
	dirs, err := filepath.Glob(filepath.Join(root, campaign, "*", "run.json"))
	if err != nil {
		return "", err
	}
	sort.Strings(dirs) // IDs start with the UTC start time
	for i := len(dirs) - 1; i >= 0; i-- {
		var r Run
		if err := readJSON(dirs[i], &r); err != nil {
			return "", err
		}
		if r.MatrixHash == matrixHash && r.Finished.IsZero() {
			return filepath.Dir(dirs[i]), nil
		}
	}
	return "", nil
}

// Create starts a new run directory under root/<campaign>/<id>.
func Create(root string, run Run) (*Log, error) {
	if run.ID == "" {
		run.ID = run.Started.UTC().Format("20060102T150405.000000000Z")
	}
	dir := filepath.Join(root, run.Campaign, run.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(dir, "run.json"), run); err != nil {
		return nil, err
	}
	return Open(dir)
}

// Open opens an existing run directory and reads back what it holds.
func Open(dir string) (*Log, error) {
	l := &Log{Dir: dir, files: map[string]*os.File{}, records: map[string]map[int32]int{},
		void: map[string]map[int]bool{}, results: map[string]bool{}, failures: map[string]bool{}}
	if err := readJSON(filepath.Join(dir, "run.json"), &l.Run); err != nil {
		return nil, err
	}
	err := scan(filepath.Join(dir, failuresFile), func(line []byte) error {
		var f Failure
		if err := json.Unmarshal(line, &f); err != nil {
			return err
		}
		l.voidAttempt(f.Fingerprint, f.Attempt)
		if f.Final {
			l.failures[f.Fingerprint] = true
		}
		return nil
	})
	if err == nil {
		err = scan(filepath.Join(dir, recordsFile), func(line []byte) error {
			var r recordLine
			if err := json.Unmarshal(line, &r); err != nil {
				return err
			}
			var rec sdk.Record
			if err := protojson.Unmarshal(r.Record, &rec); err != nil {
				return err
			}
			if !rec.GetWarmup() && !l.void[r.Fingerprint][r.Attempt] {
				l.mark(r.Fingerprint, rec.GetIndex(), r.Attempt)
			}
			return nil
		})
	}
	if err == nil {
		err = scan(filepath.Join(dir, resultsFile), func(line []byte) error {
			var r Result
			if err := json.Unmarshal(line, &r); err != nil {
				return err
			}
			l.results[r.Fingerprint] = true
			return nil
		})
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Log) mark(fp string, i int32, attempt int) {
	m := l.records[fp]
	if m == nil {
		m = map[int32]int{}
		l.records[fp] = m
	}
	if _, ok := m[i]; !ok {
		m[i] = attempt
	}
}

// voidAttempt forgets the records of a failed attempt.
func (l *Log) voidAttempt(fp string, attempt int) {
	v := l.void[fp]
	if v == nil {
		v = map[int]bool{}
		l.void[fp] = v
	}
	v[attempt] = true
	for i, a := range l.records[fp] {
		if a == attempt {
			delete(l.records[fp], i)
		}
	}
}

// Attempts is the number of failed attempts of a config so far: a retry or a
// resume goes on from the next one.
func (l *Log) Attempts(fp string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for a := range l.void[fp] {
		n = max(n, a)
	}
	return n
}

// scan calls fn with each complete line of a file. A last line without its
// newline was torn by a crash: the file is truncated to the last whole line.
func scan(path string, fn func([]byte) error) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	var good int64
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			if len(line) > 0 {
				return f.Truncate(good)
			}
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(bytes.TrimSpace(line)); err != nil {
			return fmt.Errorf("%s:%d: %v", path, n, err)
		}
		good += int64(len(line))
	}
}

func (l *Log) append(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.files[name]
	if f == nil {
		f, err = os.OpenFile(filepath.Join(l.Dir, name), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		l.files[name] = f
	}
	_, err = f.Write(b) // one write: a crash tears at most this line
	return err
}

// Done reports whether a config has its result (or failed for good) in this run.
func (l *Log) Done(fp string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.results[fp] || l.failures[fp]
}

// Recorded returns the measured request indices recorded for a config, sorted.
func (l *Log) Recorded(fp string) []int32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]int32, 0, len(l.records[fp]))
	for i := range l.records[fp] {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// AppendRecord stores one request record. A measured index already stored is
// not stored again.
func (l *Log) AppendRecord(fp string, attempt int, r *sdk.Record) error {
	if !r.GetWarmup() {
		l.mu.Lock()
		_, dup := l.records[fp][r.GetIndex()]
		if !dup {
			l.mark(fp, r.GetIndex(), attempt)
		}
		l.mu.Unlock()
		if dup {
			return nil
		}
	}
	b, err := protojson.Marshal(r)
	if err != nil {
		return err
	}
	return l.append(recordsFile, recordLine{Fingerprint: fp, Attempt: attempt, Record: b})
}

// Records reads back a config's measured records of attempts that did not fail,
// one per index, in index order.
func (l *Log) Records(fp string) ([]*sdk.Record, error) {
	l.mu.Lock()
	void := maps.Clone(l.void[fp])
	l.mu.Unlock()
	byIndex := map[int32]*sdk.Record{}
	err := scan(filepath.Join(l.Dir, recordsFile), func(line []byte) error {
		var r recordLine
		if err := json.Unmarshal(line, &r); err != nil || r.Fingerprint != fp || void[r.Attempt] {
			return err
		}
		rec := &sdk.Record{}
		if err := protojson.Unmarshal(r.Record, rec); err != nil {
			return err
		}
		if _, dup := byIndex[rec.GetIndex()]; !rec.GetWarmup() && !dup {
			byIndex[rec.GetIndex()] = rec
		}
		return nil
	})
	out := make([]*sdk.Record, 0, len(byIndex))
	for _, r := range byIndex {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *sdk.Record) int { return int(a.GetIndex()) - int(b.GetIndex()) })
	return out, err
}

// AppendSample stores a utilization sample taken during a config.
func (l *Log) AppendSample(fp string, s any) error {
	return l.append(samplesFile, sampleLine{Fingerprint: fp, Sample: s})
}

// PutResult stores a config's result, which marks it done.
func (l *Log) PutResult(r Result) error {
	if err := l.append(resultsFile, r); err != nil {
		return err
	}
	l.mu.Lock()
	l.results[r.Fingerprint] = true
	l.mu.Unlock()
	return nil
}

// PutFailure stores a failed attempt; a final one marks the config done.
func (l *Log) PutFailure(f Failure) error {
	if err := l.append(failuresFile, f); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.voidAttempt(f.Fingerprint, f.Attempt)
	if f.Final {
		l.failures[f.Fingerprint] = true
	}
	return nil
}

// Results reads back the run's results in the order they were stored.
func (l *Log) Results() ([]Result, error) {
	var out []Result
	err := scan(filepath.Join(l.Dir, resultsFile), func(line []byte) error {
		var r Result
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// Failures reads back the run's final failures.
func (l *Log) Failures() ([]Failure, error) {
	var out []Failure
	err := scan(filepath.Join(l.Dir, failuresFile), func(line []byte) error {
		var f Failure
		if err := json.Unmarshal(line, &f); err != nil {
			return err
		}
		if f.Final {
			out = append(out, f)
		}
		return nil
	})
	return out, err
}

// Checkpoint syncs the files and records where the run stands.
func (l *Log) Checkpoint(c Checkpoint) error {
	if err := l.Sync(); err != nil {
		return err
	}
	return writeJSON(filepath.Join(l.Dir, "checkpoint.json"), c)
}

// Sync flushes the files to disk.
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, f := range l.files {
		errs = append(errs, f.Sync())
	}
	return errors.Join(errs...)
}

// Finish marks the run finished.
func (l *Log) Finish(t time.Time) error {
	l.Run.Finished = t
	if err := l.Sync(); err != nil {
		return err
	}
	return writeJSON(filepath.Join(l.Dir, "run.json"), l.Run)
}

// Close closes the files.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, f := range l.files {
		errs = append(errs, f.Close())
	}
	l.files = map[string]*os.File{}
	return errors.Join(errs...)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}

// writeJSON replaces a file atomically.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
