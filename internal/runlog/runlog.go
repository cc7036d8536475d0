// Package runlog keeps a run's results as JSON-lines files in one directory per
// run: the per-request records, the per-config results, failures, utilization
// samples and the checkpoint. It is the spool behind the results store: the
// runner writes here first, as requests complete, so that nothing is lost
// while the store is down or the process dies, and a resumed run reads back
// what it already did (DESIGN 10).
//
// Every line is written with one write(2) on a file opened O_APPEND, so a crash
// can tear at most the last line of a file; Open drops a torn last line, whose
// record is then simply sent again. Records are keyed by (fingerprint, index):
// a resumed run skips the indices already here, and readers drop duplicates.
// A failed attempt voids its records: the retry measures the config afresh.
//
// Reading back is linear: the log indexes where each config's record and
// sample lines lie, so Records and Samples read only that config's lines, and
// Forget drops the index of a config the store has taken.
package runlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/telemetry"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

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
	Fingerprint string           `json:"fingerprint"`
	Sample      telemetry.Sample `json:"sample"`
}

// span is where one line of a config lies in a file.
type span struct {
	off     int64
	n       int32
	attempt int32 // records only
}

// Log is an open run directory. It is safe for concurrent use.
type Log struct {
	Dir string
	Run result.Run

	mu       sync.Mutex
	files    map[string]*os.File
	size     map[string]int64             // bytes in each file: the next line's offset
	spans    map[string]map[string][]span // file -> fingerprint -> its lines
	records  map[string]map[int32]int     // fingerprint -> measured index -> attempt
	void     map[string]map[int]bool      // fingerprint -> failed attempts
	results  map[string]bool
	failures map[string]bool // failed for good (a later result supersedes it)

	read, written atomic.Int64
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
		var r result.Run
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
func Create(root string, run result.Run) (*Log, error) {
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

// Open opens an existing run directory and reads back what it holds, once.
func Open(dir string) (*Log, error) {
	l := &Log{Dir: dir, files: map[string]*os.File{}, size: map[string]int64{}, spans: map[string]map[string][]span{},
		records: map[string]map[int32]int{}, void: map[string]map[int]bool{}, results: map[string]bool{}, failures: map[string]bool{}}
	if err := readJSON(filepath.Join(dir, "run.json"), &l.Run); err != nil {
		return nil, err
	}
	err := l.scan(failuresFile, true, func(line []byte, _ span) error {
		var f result.Failure
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
		err = l.scan(recordsFile, true, func(line []byte, sp span) error {
			var r recordLine
			if err := json.Unmarshal(line, &r); err != nil {
				return err
			}
			var rec sdk.Record
			if err := protojson.Unmarshal(r.Record, &rec); err != nil {
				return err
			}
			sp.attempt = int32(r.Attempt)
			l.index(recordsFile, r.Fingerprint, sp)
			if !rec.GetWarmup() && !l.void[r.Fingerprint][r.Attempt] {
				l.mark(r.Fingerprint, rec.GetIndex(), r.Attempt)
			}
			return nil
		})
	}
	if err == nil {
		err = l.scan(samplesFile, true, func(line []byte, sp span) error {
			var s struct {
				Fingerprint string `json:"fingerprint"`
			}
			if err := json.Unmarshal(line, &s); err != nil {
				return err
			}
			l.index(samplesFile, s.Fingerprint, sp)
			return nil
		})
	}
	if err == nil {
		err = l.scan(resultsFile, true, func(line []byte, _ span) error {
			var r result.Result
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

// Stats returns the bytes this Log has read from and written to its files:
// reading back stays linear in what was written.
func (l *Log) Stats() (read, written int64) { return l.read.Load(), l.written.Load() }

func (l *Log) index(file, fp string, sp span) {
	m := l.spans[file]
	if m == nil {
		m = map[string][]span{}
		l.spans[file] = m
	}
	m[fp] = append(m[fp], sp)
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

// scan calls fn with each complete line of a file and where it lies. Opening
// the log (repair), a last line without its newline was torn by a crash: the
// file is truncated to the last whole line, and its size recorded for the
// appends that follow. Otherwise a partial last line is a write in progress,
// left alone.
func (l *Log) scan(name string, repair bool, fn func([]byte, span) error) error {
	path := filepath.Join(l.Dir, name)
	flag := os.O_RDONLY
	if repair {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag, 0)
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
		l.read.Add(int64(len(line)))
		if err == io.EOF {
			if !repair {
				return nil
			}
			l.size[name] = good
			if len(line) > 0 {
				return f.Truncate(good)
			}
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(bytes.TrimSpace(line), span{off: good, n: int32(len(line))}); err != nil {
			return fmt.Errorf("%s:%d: %v", path, n, err)
		}
		good += int64(len(line))
	}
}

// readSpans calls fn with each of a config's lines in a file, reading only
// those lines: runs of adjacent lines are read at once.
func (l *Log) readSpans(name string, spans []span, fn func([]byte, span) error) error {
	if len(spans) == 0 {
		return nil
	}
	f, err := os.Open(filepath.Join(l.Dir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	var buf []byte
	for i := 0; i < len(spans); {
		j, end := i+1, spans[i].off+int64(spans[i].n)
		for j < len(spans) && spans[j].off == end && end-spans[i].off < 1<<20 {
			end += int64(spans[j].n)
			j++
		}
		buf = slices.Grow(buf[:0], int(end-spans[i].off))[:end-spans[i].off]
		if _, err := f.ReadAt(buf, spans[i].off); err != nil {
			return fmt.Errorf("%s: %v", f.Name(), err)
		}
		l.read.Add(int64(len(buf)))
		for k := i; k < j; k++ {
			at := spans[k].off - spans[i].off
			if err := fn(bytes.TrimSpace(buf[at:at+int64(spans[k].n)]), spans[k]); err != nil {
				return fmt.Errorf("%s at byte %d: %v", f.Name(), spans[k].off, err)
			}
		}
		i = j
	}
	return nil
}

// append writes v as one line of a file; fp, when set, indexes the line
// under that config.
func (l *Log) append(name, fp string, attempt int, v any) error {
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
	if _, err = f.Write(b); err != nil { // one write: a crash tears at most this line
		return err
	}
	if fp != "" {
		l.index(name, fp, span{off: l.size[name], n: int32(len(b)), attempt: int32(attempt)})
	}
	l.size[name] += int64(len(b))
	l.written.Add(int64(len(b)))
	return nil
}

// Done reports whether a config has its result in this run. A config that
// failed for good is not done: a resumed run tries it again.
func (l *Log) Done(fp string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.results[fp]
}

// Failed reports whether a config failed for good and has no result since.
func (l *Log) Failed(fp string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failures[fp] && !l.results[fp]
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
	return l.append(recordsFile, fp, attempt, recordLine{Fingerprint: fp, Attempt: attempt, Record: b})
}

// Records reads back a config's measured records of attempts that did not fail,
// one per index (the first written), in index order.
func (l *Log) Records(fp string) ([]*sdk.Record, error) {
	l.mu.Lock()
	spans := slices.Clone(l.spans[recordsFile][fp])
	void := l.void[fp]
	spans = slices.DeleteFunc(spans, func(s span) bool { return void[int(s.attempt)] })
	l.mu.Unlock()
	byIndex := map[int32]*sdk.Record{}
	err := l.readSpans(recordsFile, spans, func(line []byte, _ span) error {
		var r recordLine
		if err := json.Unmarshal(line, &r); err != nil {
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
func (l *Log) AppendSample(fp string, s telemetry.Sample) error {
	return l.append(samplesFile, fp, 0, sampleLine{Fingerprint: fp, Sample: s})
}

// Samples reads back a config's utilization samples in the order taken.
func (l *Log) Samples(fp string) ([]telemetry.Sample, error) {
	l.mu.Lock()
	spans := slices.Clone(l.spans[samplesFile][fp])
	l.mu.Unlock()
	var out []telemetry.Sample
	err := l.readSpans(samplesFile, spans, func(line []byte, _ span) error {
		var s sampleLine
		if err := json.Unmarshal(line, &s); err != nil {
			return err
		}
		out = append(out, s.Sample)
		return nil
	})
	return out, err
}

// Forget drops the index of a config's lines, once the store has them: a long
// run's index stays as small as what is not stored yet.
func (l *Log) Forget(fp string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.spans {
		delete(m, fp)
	}
}

// PutResult stores a config's result, which marks it done.
func (l *Log) PutResult(r result.Result) error {
	if err := l.append(resultsFile, "", 0, r); err != nil {
		return err
	}
	l.mu.Lock()
	l.results[r.Fingerprint] = true
	l.mu.Unlock()
	return nil
}

// PutFailure stores a failed attempt; a final one marks the config failed.
func (l *Log) PutFailure(f result.Failure) error {
	if err := l.append(failuresFile, "", 0, f); err != nil {
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
func (l *Log) Results() ([]result.Result, error) {
	var out []result.Result
	err := l.scan(resultsFile, false, func(line []byte, _ span) error {
		var r result.Result
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// Failures reads back the final failures of the configs that are still failed:
// a config that succeeded after failing for good (a resumed run retries it) is
// left out. The last final failure of a config stands for it.
func (l *Log) Failures() ([]result.Failure, error) {
	var out []result.Failure
	at := map[string]int{}
	err := l.scan(failuresFile, false, func(line []byte, _ span) error {
		var f result.Failure
		if err := json.Unmarshal(line, &f); err != nil {
			return err
		}
		if !f.Final || l.Done(f.Fingerprint) {
			return nil
		}
		if i, ok := at[f.Fingerprint]; ok {
			out[i] = f
			return nil
		}
		at[f.Fingerprint] = len(out)
		out = append(out, f)
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
