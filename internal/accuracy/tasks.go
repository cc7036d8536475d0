package accuracy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/taskdata"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// Spec is what a workload asks for (#Workload.accuracy).
type Spec struct {
	Task    string
	Samples int
	Seed    int64
	// Shots is the number of solved examples before each question: GSM8K's
	// are drawn from train, MMLU's are the subject's first dev questions.
	Shots int
	// Subjects limits MMLU to these subjects; empty means all.
	Subjects []string
	// Metric is the variant Result.Accuracy reports; empty means the task's
	// default (strict-match for GSM8K, exact_match otherwise).
	Metric string
}

// MaxShots bounds Spec.Shots: MMLU's dev split has five questions per subject.
const MaxShots = 5

// Set is a task's examples, ready to send in order: record i answers
// Prompts[i].
type Set struct {
	Spec    Spec
	Prompts []*sdk.Prompt
	items   []item
	data    []taskdata.Files
}

type item struct {
	id, subject string
	target      string // GSM8K: the full answer, which exact_match reduces to its number
	answer      int    // MMLU: the right choice
}

// metric is the variant Accuracy reports.
func (s Spec) metric() string {
	if s.Metric != "" {
		return s.Metric
	}
	if s.Task == GSM8K {
		return StrictMatch
	}
	return ExactMatch
}

// check validates a spec, in the words of the workload's fields.
func (s Spec) check() error {
	switch s.Task {
	case Arithmetic, Copy:
		if s.Shots != 0 || len(s.Subjects) > 0 {
			return fmt.Errorf("accuracy: task %q takes neither shots nor subjects", s.Task)
		}
	case GSM8K:
		if len(s.Subjects) > 0 {
			return fmt.Errorf("accuracy: task %q has no subjects", s.Task)
		}
	case MMLU:
	default:
		return fmt.Errorf("accuracy: unknown task %q, want one of %s", s.Task, strings.Join(quoted(Tasks), ", "))
	}
	if s.Samples < 1 {
		return fmt.Errorf("accuracy: samples must be at least 1, got %d", s.Samples)
	}
	if s.Shots < 0 || s.Shots > MaxShots {
		return fmt.Errorf("accuracy: shots must be in 0..%d, got %d", MaxShots, s.Shots)
	}
	want := []string{ExactMatch}
	if s.Task == GSM8K {
		want = []string{StrictMatch, FlexibleExtract}
	}
	if !slices.Contains(want, s.metric()) {
		return fmt.Errorf("accuracy: task %q has no metric %q, want one of %s", s.Task, s.Metric, strings.Join(quoted(want), ", "))
	}
	return nil
}

// NeedsData reports whether the task reads a data set from the Hub.
func (s Spec) NeedsData() bool { return s.Task == GSM8K || s.Task == MMLU }

// Prepare builds the examples of spec. GSM8K and MMLU read their data
// through l; the seeded tasks need none (l may be nil). The examples depend
// only on the spec and the data: the first n of n+1 samples are those of n.
func Prepare(ctx context.Context, spec Spec, l *taskdata.Loader) (*Set, error) {
	if err := spec.check(); err != nil {
		return nil, err
	}
	set := &Set{Spec: spec}
	switch spec.Task {
	case Arithmetic, Copy:
		ps, err := Prompts(spec.Task, spec.Samples, spec.Seed)
		if err != nil {
			return nil, err
		}
		set.Prompts = ps
		return set, nil
	case GSM8K:
		return set, set.gsm8k(ctx, l)
	default:
		return set, set.mmlu(ctx, l)
	}
}

// order is a seeded permutation of n indices: samples take its prefix.
func (s *Set) order(n int) []int {
	rng := rand.New(rand.NewPCG(uint64(s.Spec.Seed), taskKey(s.Spec.Task)))
	return rng.Perm(n)[:min(n, s.Spec.Samples)]
}

func (s *Set) gsm8k(ctx context.Context, l *taskdata.Loader) error {
	if l == nil {
		return fmt.Errorf("accuracy: task %q needs the Hub to read its data set", GSM8K)
	}
	test, tf, err := l.GSM8KSplit(ctx, "test")
	if err != nil {
		return err
	}
	s.data = append(s.data, tf)
	var train []taskdata.GSM8KDoc
	if s.Spec.Shots > 0 {
		var trf taskdata.Files
		if train, trf, err = l.GSM8KSplit(ctx, "train"); err != nil {
			return err
		}
		if len(train) < s.Spec.Shots {
			return fmt.Errorf("accuracy: %d shots, but %s has %d train rows", s.Spec.Shots, taskdata.GSM8K.Repo, len(train))
		}
		s.data = append(s.data, trf)
	}
	for _, j := range s.order(len(test)) {
		// Each question's shots come from a stream of its own, so that they
		// do not change with the number of samples.
		rng := rand.New(rand.NewPCG(uint64(s.Spec.Seed), taskKey(GSM8K)^uint64(j+1)))
		shots := make([][2]string, 0, s.Spec.Shots)
		for _, k := range rng.Perm(len(train))[:s.Spec.Shots] {
			shots = append(shots, [2]string{train[k].Question, train[k].Answer})
		}
		d := test[j]
		s.Prompts = append(s.Prompts, &sdk.Prompt{Text: GSM8KPrompt(shots, d.Question), OutputTokens: gsm8kMaxTokens, Expected: GSM8KTarget(d.Answer)})
		s.items = append(s.items, item{id: "test/" + strconv.Itoa(j), target: d.Answer})
	}
	return nil
}

func (s *Set) mmlu(ctx context.Context, l *taskdata.Loader) error {
	if l == nil {
		return fmt.Errorf("accuracy: task %q needs the Hub to read its data set", MMLU)
	}
	test, tf, err := l.MMLUSplit(ctx, "test")
	if err != nil {
		return err
	}
	s.data = append(s.data, tf)
	dev := map[string][]taskdata.MMLUDoc{}
	if s.Spec.Shots > 0 {
		rows, df, err := l.MMLUSplit(ctx, "dev")
		if err != nil {
			return err
		}
		s.data = append(s.data, df)
		for _, r := range rows {
			dev[r.Subject] = append(dev[r.Subject], r)
		}
	}
	want := map[string]bool{}
	for _, sub := range s.Spec.Subjects {
		want[sub] = true
	}
	// The pool keeps the data set's order; each question is named by its
	// place among its subject's test questions.
	type entry struct {
		doc taskdata.MMLUDoc
		id  string
	}
	var pool []entry
	seen := map[string]int{}
	for _, d := range test {
		n := seen[d.Subject]
		seen[d.Subject]++
		if len(want) == 0 || want[d.Subject] {
			pool = append(pool, entry{d, d.Subject + "/test/" + strconv.Itoa(n)})
		}
	}
	for _, sub := range s.Spec.Subjects {
		if seen[sub] == 0 {
			return fmt.Errorf("accuracy: MMLU subject %q has no test questions in %s at %s", sub, tf.Repo, tf.Revision)
		}
		if len(dev[sub]) < s.Spec.Shots {
			return fmt.Errorf("accuracy: MMLU subject %q has %d dev questions, fewer than %d shots", sub, len(dev[sub]), s.Spec.Shots)
		}
	}
	for _, j := range s.order(len(pool)) {
		e := pool[j]
		d := e.doc
		devs := dev[d.Subject]
		if len(devs) < s.Spec.Shots {
			return fmt.Errorf("accuracy: MMLU subject %q has %d dev questions, fewer than %d shots", d.Subject, len(devs), s.Spec.Shots)
		}
		shots := make([]MMLUShot, s.Spec.Shots)
		for k := range shots {
			shots[k] = MMLUShot{Question: devs[k].Question, Choices: devs[k].Choices, Answer: int(devs[k].Answer)}
		}
		s.Prompts = append(s.Prompts, &sdk.Prompt{Text: MMLUPrompt(d.Subject, shots, d.Question, d.Choices),
			OutputTokens: mmluMaxTokens, Expected: Letters[d.Answer]})
		s.items = append(s.items, item{id: e.id, subject: d.Subject, answer: int(d.Answer)})
	}
	return nil
}

// Score scores the records of a run of the set's prompts (record i answers
// Prompts[i]; warmup records are ignored). A prompt without a record, or
// whose record has an error, counts as wrong.
func (s *Set) Score(records []*sdk.Record) Result {
	if !s.Spec.NeedsData() {
		r := Score(records)
		r.Task = s.Spec.Task
		return r
	}
	byIndex := make(map[int32]*sdk.Record, len(records))
	for _, r := range records {
		if !r.GetWarmup() {
			byIndex[r.GetIndex()] = r
		}
	}
	metric := s.Spec.metric()
	variants := []string{ExactMatch}
	until := mmluUntil
	if s.Spec.Task == GSM8K {
		variants, until = []string{StrictMatch, FlexibleExtract}, gsm8kUntil
	}
	res := Result{Task: s.Spec.Task, Metric: metric, Shots: s.Spec.Shots, Samples: len(s.items), Data: s.data}
	right := make([]int, len(variants))
	type tally struct{ n, correct int }
	subjects := map[string]*tally{}
	var order []string
	for i, it := range s.items {
		rec := byIndex[int32(i)]
		if it.subject != "" && subjects[it.subject] == nil {
			subjects[it.subject] = &tally{}
			order = append(order, it.subject)
		}
		ex := Example{ID: it.id}
		if rec == nil || rec.GetErrorClass() != "" {
			res.Failed++
		} else {
			out := truncate(rec.GetOutput(), until)
			for v, name := range variants {
				var got string
				var ok bool
				if s.Spec.Task == GSM8K {
					got = GSM8KExtract(name, out)
					ok = GSM8KCorrect(got, it.target)
				} else {
					got = MMLUExtract(out)
					ok = MMLUCorrect(got, it.answer)
				}
				if ok {
					right[v]++
				}
				if name == metric {
					ex.Correct, ex.Answer = ok, clip(got)
					if got != "" && got != InvalidAnswer {
						res.Answered++
					}
				}
			}
		}
		if ex.Correct {
			res.Correct++
		}
		if t := subjects[it.subject]; t != nil {
			t.n++
			if ex.Correct {
				t.correct++
			}
		}
		res.Examples = append(res.Examples, ex)
	}
	if res.Samples > 0 {
		res.Accuracy = float64(res.Correct) / float64(res.Samples)
	}
	res.interval()
	for v, name := range variants {
		res.Variants = append(res.Variants, group(name, right[v], res.Samples))
	}
	slices.Sort(order)
	for _, sub := range order {
		res.Subjects = append(res.Subjects, group(sub, subjects[sub].correct, subjects[sub].n))
	}
	return res
}

// FromWorkload is the accuracy task a workload asks for; ok is false when it
// asks for none. The examples are drawn with the workload's prompt seed.
func FromWorkload(w campaign.Workload) (spec Spec, ok bool) {
	if w.Accuracy == nil {
		return Spec{}, false
	}
	return Spec{Task: w.Accuracy.Task, Samples: w.Accuracy.Samples, Seed: int64(w.Prompts.Seed),
		Shots: w.Accuracy.Shots, Subjects: w.Accuracy.Subjects, Metric: w.Accuracy.Metric}, true
}

// Fetch reads the data of every task in specs that has a data set, through l,
// so that l's cache holds it: the Argo workflow's fetch step runs it once,
// and the pods that measure then read the shared cache. It returns the files
// read, once each.
func Fetch(ctx context.Context, specs []Spec, l *taskdata.Loader) ([]taskdata.Files, error) {
	var out []taskdata.Files
	seen := map[string]bool{}
	for _, s := range specs {
		if !s.NeedsData() {
			continue
		}
		set, err := Prepare(ctx, s, l)
		if err != nil {
			return nil, err
		}
		for _, f := range set.data {
			key := f.Repo + "@" + f.Revision + ":" + strings.Join(f.Paths, ",")
			if !seen[key] {
				seen[key] = true
				out = append(out, f)
			}
		}
	}
	return out, nil
}
