package accuracy

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/llmsweep/llmsweep/plugins/sdk"
)

func TestPromptsDeterministic(t *testing.T) {
	for _, task := range []string{Arithmetic, Copy} {
		a, err := Prompts(task, 200, 7)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Prompts(task, 200, 7)
		if d := cmp.Diff(a, b, protocmp.Transform()); d != "" {
			t.Errorf("%s: same seed, different items (-first +second):\n%s", task, d)
		}
		// Fewer samples give a prefix, so raising samples keeps the old items.
		c, _ := Prompts(task, 50, 7)
		if d := cmp.Diff(a[:50], c, protocmp.Transform()); d != "" {
			t.Errorf("%s: 50 samples are not a prefix of 200:\n%s", task, d)
		}
		other, _ := Prompts(task, 200, 8)
		if cmp.Equal(a, other, protocmp.Transform()) {
			t.Errorf("%s: seeds 7 and 8 give the same items", task)
		}
	}
	a, _ := Prompts(Arithmetic, 10, 1)
	c, _ := Prompts(Copy, 10, 1)
	if a[0].Expected == c[0].Expected {
		t.Error("tasks share a random stream")
	}
}

func TestPromptsDistinctAndWellFormed(t *testing.T) {
	ops := map[string]int{}
	for _, task := range []string{Arithmetic, Copy} {
		ps, err := Prompts(task, MaxSamples, 42)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != MaxSamples {
			t.Fatalf("%s: got %d items, want %d", task, len(ps), MaxSamples)
		}
		seen := map[string]bool{}
		for _, p := range ps {
			if seen[p.Text] {
				t.Fatalf("%s: item %q twice", task, p.Text)
			}
			seen[p.Text] = true
			if !strings.HasSuffix(p.Text, "\nAnswer:") || p.Expected == "" || p.OutputTokens <= 0 {
				t.Fatalf("%s: malformed item %+v", task, p)
			}
			switch task {
			case Arithmetic:
				var a, b int
				var op string
				if _, err := fmt.Sscanf(p.Text, "Compute %d %s %d.", &a, &op, &b); err != nil {
					t.Fatalf("%q: %v", p.Text, err)
				}
				want := map[string]int{"+": a + b, "-": a - b, "*": a * b}[op]
				if p.Expected != strconv.Itoa(want) || want < 0 {
					t.Fatalf("%q: expected %q, want %d", p.Text, p.Expected, want)
				}
				ops[op]++
			case Copy:
				words := strings.TrimSuffix(strings.TrimPrefix(p.Text, "Repeat exactly: "), "\nAnswer:")
				if words != p.Expected || len(strings.Fields(words)) != 5 {
					t.Fatalf("%q: expected %q", p.Text, p.Expected)
				}
			}
		}
	}
	for _, op := range []string{"+", "-", "*"} {
		if ops[op] < MaxSamples/5 {
			t.Errorf("operator %s in only %d of %d items", op, ops[op], MaxSamples)
		}
	}
}

func TestPromptsErrors(t *testing.T) {
	for _, tc := range []struct {
		task    string
		samples int
		want    string
	}{
		{MMLU, 50, `accuracy: task "mmlu": its questions come from a data set on the Hub; use Prepare`},
		{"trivia", 50, `accuracy: unknown task "trivia", want one of "arithmetic-exact-match", "copy-exact-match", "gsm8k", "mmlu"`},
		{Copy, 0, `accuracy: samples must be in 1..1000, got 0`},
		{Copy, 1001, `accuracy: samples must be in 1..1000, got 1001`},
	} {
		_, err := Prompts(tc.task, tc.samples, 0)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Prompts(%q, %d): got %v, want %s", tc.task, tc.samples, err, tc.want)
		}
	}
	if _, err := Prompts(MMLU, 50, 0); !errors.Is(err, ErrNeedsData) {
		t.Errorf("MMLU error %v is not ErrNeedsData", err)
	}
}

func rec(expected, output string) *sdk.Record {
	return &sdk.Record{Expected: expected, Output: output}
}

func TestScoreCases(t *testing.T) {
	for _, tc := range []struct {
		name              string
		r                 *sdk.Record
		answered, correct bool
	}{
		{"exact number", rec("95", "95"), true, true},
		{"number with white space", rec("95", "  \n 95 \n"), true, true},
		{"number with period", rec("95", "95."), true, true},
		{"echoed Answer:", rec("95", "Answer: 95"), true, true},
		{"echoed answer: lower case", rec("95", "answer:95\n"), true, true},
		{"number then explanation", rec("95", "95\n37 + 58 is 95 because..."), true, true},
		{"leading zero and sign", rec("95", "+095"), true, true},
		{"negative with U+2212", rec("-3", "\u22123"), true, true},
		{"wrong number", rec("95", "96"), true, false},
		{"number in a sentence", rec("95", "The answer is 95"), true, false},
		{"decimal", rec("95", "95.0"), true, false},
		{"equation", rec("95", "37 + 58 = 95"), true, false},
		{"empty", rec("95", ""), false, false},
		{"only white space", rec("95", " \n\t"), false, false},
		{"only echo", rec("95", "Answer:"), false, false},
		{"copy exact", rec("apple river stone green house", "apple river stone green house"), true, true},
		{"copy other case", rec("apple river stone green house", "Apple River Stone Green House."), true, true},
		{"copy extra spaces", rec("apple river stone green house", "\napple  river stone\tgreen house \n"), true, true},
		{"copy partial", rec("apple river stone green house", "apple river stone"), true, false},
		{"copy extra word", rec("apple river stone green house", "apple river stone green house now"), true, false},
		{"copy on two lines", rec("apple river stone green house", "apple river\nstone green house"), true, false},
		{"copy quoted", rec("apple river stone green house", `"apple river stone green house"`), true, false},
		{"errored", &sdk.Record{Expected: "95", Output: "95", ErrorClass: "timeout"}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := Score([]*sdk.Record{tc.r})
			want := Result{Task: res.Task, Samples: 1}
			if tc.answered {
				want.Answered = 1
			}
			if tc.correct {
				want.Correct, want.Accuracy = 1, 1
			}
			if tc.r.ErrorClass != "" {
				want.Failed = 1
			}
			if d := cmp.Diff(want, counts(res)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestScoreRun(t *testing.T) {
	records := []*sdk.Record{
		{Warmup: true, Expected: "4", Output: "5"}, // ignored
		{Expected: "", Output: "plain benchmark"},  // ignored
		rec("4", "4"),
		rec("12", " 12.\n"),
		rec("7", "8"),
		rec("9", ""),
		{Expected: "10", ErrorClass: "http_5xx"},
	}
	got := Score(records)
	want := Result{Task: Arithmetic, Samples: 5, Answered: 3, Correct: 2, Accuracy: 0.4, Failed: 1}
	if d := cmp.Diff(want, counts(got)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	// 2 of 5: the Wilson interval, as R's prop.test(2, 5, correct = FALSE) gives it.
	if lo, _ := got.Low.Get(); math.Abs(lo-0.1176) > 1e-4 {
		t.Errorf("low = %v, want 0.1176", got.Low)
	}
	if hi, _ := got.High.Get(); math.Abs(hi-0.7693) > 1e-4 {
		t.Errorf("high = %v, want 0.7693", got.High)
	}
	if len(got.Examples) != 5 || !got.Examples[0].Correct || got.Examples[2].Correct || got.Examples[4].Correct {
		t.Errorf("examples = %+v", got.Examples)
	}

	if got := Score([]*sdk.Record{rec("a b", "A B")}); got.Task != Copy || got.Correct != 1 {
		t.Errorf("copy run: %+v", got)
	}
	if got := Score([]*sdk.Record{rec("a b", "A B"), rec("1", "1")}); got.Task != "" || got.Correct != 2 {
		t.Errorf("mixed run: %+v", got)
	}
	if got := Score(nil); got.Samples != 0 || got.Low.OK() || len(got.Examples) != 0 {
		t.Errorf("no records: %+v", got)
	}
}

// TestScoreOwnItems answers every generated item correctly, and with each
// item's expected answer in a different form, so that generation and scoring
// cannot drift apart.
// counts is r's counts, without the interval, the metric and the examples.
func counts(r Result) Result {
	return Result{Task: r.Task, Samples: r.Samples, Answered: r.Answered, Correct: r.Correct, Accuracy: r.Accuracy, Failed: r.Failed}
}

func TestScoreOwnItems(t *testing.T) {
	for _, task := range []string{Arithmetic, Copy} {
		ps, _ := Prompts(task, 300, 3)
		var rs []*sdk.Record
		for i, p := range ps {
			out := p.Expected
			switch i % 3 {
			case 1:
				out = "Answer: " + strings.ToUpper(out) + ".\nBecause."
			case 2:
				out = "\n  " + out + "  "
			}
			rs = append(rs, &sdk.Record{Expected: p.Expected, Output: out})
		}
		got := Score(rs)
		if got.Task != task || got.Correct != len(ps) || got.Accuracy != 1 {
			t.Errorf("%s: %+v", task, got)
		}
	}
}

func TestExactMcNemar(t *testing.T) {
	for _, tc := range []struct {
		b, c int
		want float64
	}{
		{0, 0, 1},
		{5, 5, 1},
		{0, 5, 0.0625},        // 2 × (1/2)^5
		{1, 9, 0.021484375},   // 2 × 11/1024
		{10, 25, 0.016673848}, // 2 × Σ_{k≤10} C(35, k) / 2^35
	} {
		if got := ExactMcNemar(tc.b, tc.c); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("ExactMcNemar(%d, %d) = %.9f, want %.9f", tc.b, tc.c, got, tc.want)
		}
	}
}

func TestMcNemarPairs(t *testing.T) {
	a := &Result{Task: GSM8K, Metric: StrictMatch, Examples: []Example{{ID: "test/1", Correct: true}, {ID: "test/2", Correct: true}, {ID: "test/3"}, {ID: "test/9", Correct: true}}}
	b := &Result{Task: GSM8K, Metric: StrictMatch, Examples: []Example{{ID: "test/1", Correct: true}, {ID: "test/2"}, {ID: "test/3"}, {ID: "test/4", Correct: true}}}
	p, ok := McNemar(a, b)
	if !ok || p.Shared != 3 || p.OnlyA != 1 || p.OnlyB != 0 || p.P != 1 {
		t.Errorf("paired = %+v, %v", p, ok)
	}
	b.Metric = FlexibleExtract
	if _, ok := McNemar(a, b); ok {
		t.Error("different metrics were paired")
	}
	if _, ok := McNemar(a, &Result{Task: GSM8K, Metric: StrictMatch}); ok {
		t.Error("a result without examples (stored before them) was paired")
	}
}
