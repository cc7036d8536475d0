// Package accuracy asks a served model simple questions with one exact answer,
// through the same endpoint and load generator as the benchmark, and scores the
// answers. It checks that a configuration (a quantization, a framework version)
// still answers correctly, not how capable the model is.
package accuracy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"

	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// The tasks, as schema/workload.cue names them.
const (
	Arithmetic = "arithmetic-exact-match"
	Copy       = "copy-exact-match"
	MMLU       = "mmlu-subset"
)

// Tasks are the task names Prompts knows, including MMLU, which it refuses.
var Tasks = []string{Arithmetic, Copy, MMLU}

// MaxSamples is the schema's bound on accuracy.samples.
const MaxSamples = 1000

// ErrNotShipped is returned for a task whose questions come from a data set that
// llmsweep does not ship.
var ErrNotShipped = errors.New("its data set is not shipped with llmsweep")

// Prompts returns samples distinct items of task. They depend only on task,
// samples and seed; the items for n samples are the first n of those for n+1.
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
	case MMLU:
		// MMLU questions cannot be downloaded here, and made-up ones would not be
		// MMLU: a score on them would be mislabelled.
		return nil, fmt.Errorf("accuracy: task %q needs the MMLU question file: %w; use %q or %q",
			task, ErrNotShipped, Arithmetic, Copy)
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
	Task     string  `json:"task"`     // inferred from the expected answers; see Score
	Samples  int     `json:"samples"`  // measured records with an expected answer
	Answered int     `json:"answered"` // of those, records without error whose normalised answer is not empty
	Correct  int     `json:"correct"`  // answers equal to the expected one after normalisation
	Accuracy float64 `json:"accuracy"` // Correct / Samples; 0 when Samples is 0
	Failed   int     `json:"failed"`   // records with an error: they count as wrong
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
	var res Result
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
		if r.GetErrorClass() != "" {
			res.Failed++
			continue
		}
		got := normalise(r.GetOutput())
		if got == "" {
			continue
		}
		res.Answered++
		if isInt {
			if n, ok := integer(got); ok && n == wantN {
				res.Correct++
			}
		} else if strings.EqualFold(got, want) {
			res.Correct++
		}
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
	return res
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
