// Package accuracy asks a served model questions through the same endpoint
// and load generator as the benchmark, and scores the answers, with a 95%
// interval and each example's outcome. GSM8K and MMLU are scored as
// lm-evaluation-harness scores them (harness.go), on data read from the
// Hugging Face Hub at pinned revisions (internal/taskdata); two seeded tasks
// with one exact answer check that a configuration still answers at all.
package accuracy

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"

	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/taskdata"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// The tasks, as schema/workload.cue names them.
const (
	Arithmetic = "arithmetic-exact-match"
	Copy       = "copy-exact-match"
	GSM8K      = "gsm8k"
	MMLU       = "mmlu"
)

// Tasks are the task names Prepare knows.
var Tasks = []string{Arithmetic, Copy, GSM8K, MMLU}

// MaxSamples is the schema's bound on accuracy.samples of the seeded tasks.
const MaxSamples = 1000

// ErrNeedsData is returned by Prompts for a task whose questions come from a
// data set: Prepare loads it.
var ErrNeedsData = errors.New("its questions come from a data set on the Hub")

// Prompts returns samples distinct items of a seeded task. They depend only
// on task, samples and seed; the items for n samples are the first n of those
// for n+1.
func Prompts(task string, samples int, seed int64) ([]*sdk.Prompt, error) {
	if samples < 1 || samples > MaxSamples {
		return nil, fmt.Errorf("accuracy: samples must be in 1..%d, got %d", MaxSamples, samples)
	}
	var item func(*rand.Rand) *sdk.Prompt
	switch task {
	case Arithmetic:
		item = arithmetic
	case Copy:
		item = copyWords
	case GSM8K, MMLU:
		return nil, fmt.Errorf("accuracy: task %q: %w; use Prepare", task, ErrNeedsData)
	default:
		return nil, fmt.Errorf("accuracy: unknown task %q, want one of %s", task, strings.Join(quoted(Tasks), ", "))
	}
	// The stream is keyed by the task too, so that two tasks with one seed
	// do not draw the same numbers.
	rng := rand.New(rand.NewPCG(uint64(seed), taskKey(task)))
	out := make([]*sdk.Prompt, 0, samples)
	seen := make(map[string]bool, samples)
	for len(out) < samples {
		p := item(rng)
		if seen[p.Text] {
			continue // both tasks have far more than MaxSamples items, so this ends
		}
		seen[p.Text] = true
		out = append(out, p)
	}
	return out, nil
}

func quoted(s []string) []string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return q
}

func taskKey(task string) uint64 {
	h := uint64(14695981039346656037) // FNV-1a
	for i := 0; i < len(task); i++ {
		h = (h ^ uint64(task[i])) * 1099511628211
	}
	return h
}

// arithmetic makes one sum, difference or product with small operands, so that
// any instruction-following model should get it right: a wrong answer points at
// the serving configuration. ASCII operators, since the prompt travels as JSON
// through servers whose logs and tokenizers differ.
func arithmetic(rng *rand.Rand) *sdk.Prompt {
	var a, b, r int
	var op string
	switch rng.IntN(3) {
	case 0:
		a, b = 2+rng.IntN(98), 2+rng.IntN(98)
		op, r = "+", a+b
	case 1: // a > b: no negative answers, which some models write with U+2212
		a = 11 + rng.IntN(89)
		b = 1 + rng.IntN(a-1)
		op, r = "-", a-b
	default:
		a, b = 2+rng.IntN(18), 2+rng.IntN(18)
		op, r = "*", a*b
	}
	return &sdk.Prompt{
		Text:         fmt.Sprintf("Compute %d %s %d. Reply with the number only.\nAnswer:", a, op, b),
		OutputTokens: 8,
		Expected:     strconv.Itoa(r),
	}
}

// copyWords asks to repeat five random common words.
func copyWords(rng *rand.Rand) *sdk.Prompt {
	w := make([]string, 5)
	for i := range w {
		w[i] = words[rng.IntN(len(words))]
	}
	s := strings.Join(w, " ")
	return &sdk.Prompt{
		Text: "Repeat exactly: " + s + "\nAnswer:",
		// Five common words are five to ten tokens in most tokenizers; the margin
		// lets a model that adds a period still finish its line.
		OutputTokens: 16,
		Expected:     s,
	}
}

// words are common lowercase English words, each one token in most tokenizers.
var words = strings.Fields(`apple river stone green house table window garden silver paper
music light water chair bread cloud horse money north south winter summer orange yellow
purple doctor pencil market bottle castle forest island mountain ocean planet rocket
school teacher village bridge candle dinner engine finger flower guitar
hammer jacket kitchen ladder letter mirror needle pepper pillow pocket rabbit ribbon
saddle shadow spider street sugar ticket tiger tomato tunnel turtle valley wagon wallet
basket butter camera carpet circle copper cotton desert dragon feather garlic hollow
jungle lemon marble meadow monkey nickel parrot pirate puzzle silk statue thunder
timber violin walnut wheat whistle wizard anchor arrow badge barrel blanket button
cabin canvas cherry clock coffee comet crystal daisy falcon fossil galaxy glacier
harbor helmet honey iron ivory jelly kettle lantern lizard magnet maple mango melon
mint motor nest noodle olive owl oyster palace panda pearl pebble piano plum pony
quartz quilt radar raven robot rose ruby salmon scarf shell sketch sofa spoon
star sunset tablet tea thread tulip umbrella velvet violet whale willow wolf zebra`)

// Result is the score of one accuracy run.
type Result struct {
	Task string `json:"task"` // inferred from the expected answers by Score; set by Set.Score
	// Metric is the variant Accuracy is: strict-match or flexible-extract for
	// GSM8K, exact_match for MMLU and the seeded tasks. Empty in rows stored
	// before it existed.
	Metric   string  `json:"metric,omitempty"`
	Shots    int     `json:"shots,omitempty"`
	Samples  int     `json:"samples"`  // n: the examples asked
	Answered int     `json:"answered"` // of those, records without error whose answer is not empty
	Correct  int     `json:"correct"`  // answers right under Metric
	Accuracy float64 `json:"accuracy"` // Correct / Samples; 0 when Samples is 0
	Failed   int     `json:"failed"`   // records with an error: they count as wrong
	// Low and High bound the 95% Wilson score interval of Accuracy; absent
	// in rows stored before intervals.
	Low  metrics.Value `json:"ci_low,omitzero"`
	High metrics.Value `json:"ci_high,omitzero"`
	// Variants is every metric variant the task scores, Metric's included.
	Variants []Group `json:"variants,omitempty"`
	// Subjects is MMLU's score per subject, under Metric.
	Subjects []Group `json:"subjects,omitempty"`
	// Examples is each example's outcome under Metric, for paired tests
	// between runs (compare's McNemar).
	Examples []Example `json:"examples,omitempty"`
	// Data is where the examples were read from.
	Data []taskdata.Files `json:"data,omitempty"`
}

// Group is the accuracy of a group of examples: a metric variant, or a subject.
type Group struct {
	Name     string        `json:"name"`
	N        int           `json:"n"`
	Correct  int           `json:"correct"`
	Accuracy float64       `json:"accuracy"`
	Low      metrics.Value `json:"ci_low,omitzero"`
	High     metrics.Value `json:"ci_high,omitzero"`
}

// Example is one example's outcome.
type Example struct {
	// ID names the example in its data set, the same in every run that
	// asks it: "test/17" (GSM8K's row 17), "anatomy/test/4", "arithmetic/3".
	ID      string `json:"id"`
	Correct bool   `json:"correct"`
	// Answer is the extracted answer the score compared (clipped).
	Answer string `json:"answer,omitempty"`
}

// Z95 is the normal quantile of a two-sided 95% interval.
const Z95 = 1.959963984540054

// Wilson is the Wilson score interval of correct successes in n trials at
// normal quantile z: unlike the normal approximation it stays inside [0, 1]
// and is not empty at 0 or n correct, which tiny models and easy tasks reach.
func Wilson(correct, n int, z float64) (low, high float64) {
	if n <= 0 {
		return 0, 1
	}
	p, nf := float64(correct)/float64(n), float64(n)
	z2 := z * z
	center := (p + z2/(2*nf)) / (1 + z2/nf)
	half := z / (1 + z2/nf) * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return max(0, center-half), min(1, center+half)
}

// interval sets r's Wilson interval from its counts.
func (r *Result) interval() {
	if r.Samples == 0 {
		return
	}
	lo, hi := Wilson(r.Correct, r.Samples, Z95)
	r.Low, r.High = metrics.Of(lo), metrics.Of(hi)
}

func group(name string, correct, n int) Group {
	s := Group{Name: name, N: n, Correct: correct}
	if n > 0 {
		s.Accuracy = float64(correct) / float64(n)
		lo, hi := Wilson(correct, n, Z95)
		s.Low, s.High = metrics.Of(lo), metrics.Of(hi)
	}
	return s
}

// Score scores records against their expected answers. Warmup records, and
// records without an expected answer (plain benchmark requests), are ignored.
// Records need their output, so the run must keep it (BenchmarkSpec.keep_output).
//
// Both the answer and the expected value are normalised before comparison:
//
//  1. leading white space and one leading "Answer:" (any case), which models
//     often echo from the prompt, are removed;
//  2. only the first line is kept, since models tend to explain after it;
//  3. surrounding white space and then one trailing period are removed, and runs
//     of inner white space become one space.
//
// An integer expected value (arithmetic) is compared as an integer, so "+95",
// "095" and "95." match "95"; "95.0" and "95 apples" do not. Any other expected
// value (copy) is compared case-insensitively.
//
// Task is Arithmetic when every expected value is an integer, Copy when none is,
// and empty when records mix both or there are none; callers that know the task
// may overwrite it.
func Score(records []*sdk.Record) Result {
	res := Result{Metric: ExactMatch}
	ints, others := 0, 0
	for _, r := range records {
		if r.GetWarmup() || r.GetExpected() == "" {
			continue
		}
		res.Samples++
		want := normalise(r.GetExpected())
		wantN, isInt := integer(want)
		if isInt {
			ints++
		} else {
			others++
		}
		ex := Example{ID: "seeded/" + strconv.Itoa(int(r.GetIndex()))}
		if r.GetErrorClass() != "" {
			res.Failed++
			res.Examples = append(res.Examples, ex)
			continue
		}
		got := normalise(r.GetOutput())
		ex.Answer = clip(got)
		if got != "" {
			res.Answered++
			if isInt {
				if n, ok := integer(got); ok && n == wantN {
					ex.Correct = true
				}
			} else if strings.EqualFold(got, want) {
				ex.Correct = true
			}
		}
		if ex.Correct {
			res.Correct++
		}
		res.Examples = append(res.Examples, ex)
	}
	switch {
	case ints > 0 && others == 0:
		res.Task = Arithmetic
	case others > 0 && ints == 0:
		res.Task = Copy
	}
	if res.Samples > 0 {
		res.Accuracy = float64(res.Correct) / float64(res.Samples)
	}
	res.interval()
	return res
}

// clip bounds a stored answer: a rambling model's output is not an answer.
func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// normalise applies Score's normalisation to s.
func normalise(s string) string {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	if len(s) >= 7 && strings.EqualFold(s[:7], "answer:") {
		s = strings.TrimLeftFunc(s[7:], unicode.IsSpace)
	}
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, ".")
	return strings.Join(strings.Fields(s), " ")
}

// integer parses s as a decimal integer with an optional sign; a U+2212 minus
// counts as "-".
func integer(s string) (int64, bool) {
	s = strings.Replace(s, "\u2212", "-", 1)
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
