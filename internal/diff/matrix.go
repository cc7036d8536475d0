package diff

import (
	"bytes"
	"cmp"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/llmsweep/llmsweep/internal/matrix"
)

// at is a line of one side with its number.
type at struct {
	n int
	l line
}

// pair is a line on each side.
type pair struct{ old, new at }

// matrix fills the config sections of r. It indexes the old side by
// fingerprint, probes it with each new line and compares the bytes of the lines
// found on both sides; only the lines left over, the moved ones and any whose
// bytes differ are decoded.
func (r *Report) matrix(a, b *matrixFile) error {
	// Each side is a pass over its file: run them side by side.
	var (
		olds   *fpIndex
		oldErr error
		wg     sync.WaitGroup
	)
	wg.Go(func() { olds, oldErr = a.index() })
	news, err := b.index() // only to catch a repeated fingerprint
	wg.Wait()
	if oldErr != nil {
		return oldErr
	}
	if err != nil {
		return err
	}
	seen := make([]bool, len(olds.entries))
	var (
		fresh         []at // new lines whose fingerprint the old side lacks
		moved, edited []pair
	)
	next := 0 // where the last match says the next one is: order mostly holds
	for j := range news.entries {
		e, n := &news.entries[j], j+1
		i := next
		if i >= len(olds.entries) || olds.entries[i].fp != e.fp {
			var ok bool
			if i, ok = olds.find(&e.fp); !ok {
				fresh = append(fresh, at{n, e.line})
				continue
			}
		}
		seen[i] = true
		next = i + 1
		o := at{i + 1, olds.entries[i].line}
		if !bytes.Equal(a.batch(o.l), b.batch(e.line)) {
			moved = append(moved, pair{o, at{n, e.line}})
		}
		// Equal fingerprints should mean equal configs; a hand edit says otherwise.
		if !bytes.Equal(a.data[o.l.batchEnd:o.l.end], b.data[e.batchEnd:e.end]) {
			edited = append(edited, pair{o, at{n, e.line}})
		}
	}
	var gone []at
	for i, ok := range seen {
		if !ok {
			gone = append(gone, at{i + 1, olds.entries[i].line})
		}
	}

	removed, err := decodeAll(a, gone)
	if err != nil {
		return err
	}
	added, err := decodeAll(b, fresh)
	if err != nil {
		return err
	}
	changes := r.pair(removed, added, fresh)
	for _, p := range edited {
		o, err := a.decode(p.old.n, p.old.l, nil)
		if err != nil {
			return err
		}
		c, err := b.decode(p.new.n, p.new.l, nil)
		if err != nil {
			return err
		}
		if fs := fields(&o, &c); len(fs) > 0 {
			changes = append(changes, numbered{p.new.n, Change{Old: o, New: c, Fields: fs}})
		}
	}
	slices.SortFunc(changes, func(x, y numbered) int { return cmp.Compare(x.n, y.n) })
	for _, c := range changes {
		r.Changed = append(r.Changed, c.Change)
	}
	for _, p := range moved {
		c, err := b.decode(p.new.n, p.new.l, nil)
		if err != nil {
			return err
		}
		r.Moved = append(r.Moved, Move{Fingerprint: c.Fingerprint, OldBatch: string(a.batch(p.old.l)), NewBatch: c.Batch, Config: c})
	}
	return nil
}

// numbered is a Change with the number of its new line, to sort by.
type numbered struct {
	n int
	Change
}

// slot is what makes a config a benchmark point, rather than how it is served.
type slot struct {
	model, hardware, framework, quantization, workload string
	concurrency                                        int
	requestRate                                        float64
	inputTokens, outputTokens                          int
}

func slotOf(c *matrix.Config) slot {
	return slot{c.Model, c.Hardware, c.Framework, c.Quantization, c.Workload,
		c.Concurrency, c.RequestRate, c.InputTokens, c.OutputTokens}
}

// pair sets r.Added and r.Removed to the configs that are not Changed, and
// returns the Changed ones: a slot holding one config on each side is a change;
// where a side holds several (a campaign with two versions of a framework),
// configs pair by version and the rest are added and removed.
func (r *Report) pair(removed, added []matrix.Config, fresh []at) []numbered {
	if len(removed) == 0 || len(added) == 0 {
		r.Removed, r.Added = removed, added
		return nil
	}
	type group struct{ olds, news []int }
	groups := map[slot]*group{}
	for i := range removed {
		s := slotOf(&removed[i])
		g := groups[s]
		if g == nil {
			g = &group{}
			groups[s] = g
		}
		g.olds = append(g.olds, i)
	}
	for i := range added {
		if g := groups[slotOf(&added[i])]; g != nil {
			g.news = append(g.news, i)
		}
	}
	oldPaired := make([]bool, len(removed))
	newPaired := make([]bool, len(added))
	var out []numbered
	match := func(i, j int) {
		oldPaired[i], newPaired[j] = true, true
		o, n := &removed[i], &added[j]
		fs := fields(o, n)
		if len(fs) == 0 {
			// Only the fingerprint differs: say so rather than show nothing.
			fs = []Field{{Name: "fingerprint", Old: o.Fingerprint, New: n.Fingerprint}}
		}
		out = append(out, numbered{fresh[j].n, Change{Old: *o, New: *n, Fields: fs}})
	}
	for _, g := range groups {
		if len(g.olds) == 1 && len(g.news) == 1 {
			match(g.olds[0], g.news[0])
			continue
		}
		byVersion := map[string][]int{}
		for _, j := range g.news {
			byVersion[added[j].Version] = append(byVersion[added[j].Version], j)
		}
		for _, i := range g.olds {
			if q := byVersion[removed[i].Version]; len(q) > 0 {
				match(i, q[0])
				byVersion[removed[i].Version] = q[1:]
			}
		}
	}
	for i := range removed {
		if !oldPaired[i] {
			r.Removed = append(r.Removed, removed[i])
		}
	}
	for j := range added {
		if !newPaired[j] {
			r.Added = append(r.Added, added[j])
		}
	}
	return out
}

// decodeAll decodes lines, in parallel when there are many (a new campaign, or
// a framework bump across a catalog). An error is the first line's in order.
func decodeAll(m *matrixFile, lines []at) ([]matrix.Config, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	out := make([]matrix.Config, len(lines))
	workers := min(runtime.GOMAXPROCS(0), len(lines)/512+1)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(lines)/workers, (w+1)*len(lines)/workers
		wg.Go(func() {
			strs := map[string]string{}
			for i := lo; i < hi; i++ {
				var err error
				if out[i], err = m.decode(lines[i].n, lines[i].l, strs); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// jsonNames holds the JSON name of each field of matrix.Config, by index.
var jsonNames = func() []string {
	t := reflect.TypeFor[matrix.Config]()
	names := make([]string, t.NumField())
	for i := range names {
		f := t.Field(i)
		names[i], _, _ = strings.Cut(f.Tag.Get("json"), ",")
		if names[i] == "" {
			names[i] = f.Name
		}
	}
	return names
}()

// ignoreID leaves out the fields that differ whenever anything else does (the
// fingerprint) or that Moved reports (the batch).
var ignoreID = cmpopts.IgnoreFields(matrix.Config{}, "Fingerprint", "Batch")

// fieldReporter records the top-level fields of a Config that go-cmp finds
// unequal, in field order.
type fieldReporter struct {
	path   gocmp.Path
	fields []Field
}

func (r *fieldReporter) PushStep(s gocmp.PathStep) { r.path = append(r.path, s) }
func (r *fieldReporter) PopStep()                  { r.path = r.path[:len(r.path)-1] }

func (r *fieldReporter) Report(res gocmp.Result) {
	if res.Equal() || len(r.path) < 2 {
		return
	}
	f, ok := r.path[1].(gocmp.StructField)
	if !ok {
		return
	}
	name := jsonNames[f.Index()]
	if k := len(r.fields); k > 0 && r.fields[k-1].Name == name {
		return // a nested difference within a field already recorded
	}
	x, y := f.Values()
	r.fields = append(r.fields, Field{Name: name, Old: fmt.Sprint(x.Interface()), New: fmt.Sprint(y.Interface())})
}

// fields lists how two configs differ, leaving out fingerprint and batch.
func fields(a, b *matrix.Config) []Field {
	var r fieldReporter
	gocmp.Equal(*a, *b, ignoreID, gocmp.Reporter(&r))
	return r.fields
}
