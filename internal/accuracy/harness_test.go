package accuracy

import (
	"testing"
)

// The recorded answers below are model outputs in the forms models give
// (bare numbers, "####" lines, dollars, thousands separators, negative
// numbers, a unicode minus, run-on text after a stop sequence, markdown,
// letters with and without punctuation). The expected extractions and
// outcomes were computed by running the harness's own regexes and
// exact_match preprocessing (extraction.py's RegexFilter and
// WhitespaceFilter, metrics.py's exact_match_hf_evaluate, the stop-sequence
// cut of its API models) in CPython's re module, at the commits cited in
// harness.go, so that these tests pin the harness's behaviour, not ours.

const (
	answer          = "Ada has 3*12 = <<3*12=36>>36 pens.\nShe gives 4 away: 36-4 = <<36-4=32>>32.\n#### 32"
	answerThousands = "The depot has 4*1000 = <<4*1000=4000>>4000.\n#### 4,000"
	answerNegative  = "Temperature drops by 7.\n#### -7"
)

var gsm8kRecorded = []struct {
	output, answer string
	strict         string
	strictOK       bool
	flexible       string
	flexibleOK     bool
}{
	{" She has 36 pens, 36-4 = 32.\n#### 32", answer, "32", true, "32", true},
	{" 36-4 = 32.\n#### 32.", answer, "32.", true, "32.", true},
	{" #### 32\n\nQuestion: Bob has", answer, "32", true, "32", true},
	{" The answer is 32.", answer, "[invalid]", false, "32.", true},
	{" The answer is $32.", answer, "[invalid]", false, "$32.", true},
	{" #### $32", answer, "[invalid]", false, "$32", true},
	{" #### 32.00", answer, "32.00", false, "32.00", false},
	{" #### 32 pens", answer, "32", true, "32", true},
	{" ####32", answer, "[invalid]", false, "32", true},
	{"#### 31\nSorry, 32.", answer, "31", false, "32.", true},
	{" 32", answer, "[invalid]", false, "32", true},
	{" 3", answer, "[invalid]", false, "3", false},
	{" 36 - 4 = 32 pens.", answer, "[invalid]", false, "32", true},
	{" 32 pens, so 36 in all", answer, "[invalid]", false, "36", false},
	{"", answer, "[invalid]", false, "[invalid]", false},
	{" I don't know.", answer, "[invalid]", false, "[invalid]", false},
	{" #### 4,000", answerThousands, "4,000", true, "4,000", true},
	{" #### 4000", answerThousands, "4000", true, "4000", true},
	{" So 4,000 crates.", answerThousands, "[invalid]", false, "4,000", true},
	{" #### 4.000", answerThousands, "4.000", false, "4.000", false},
	{" The total is 4000.", answerThousands, "[invalid]", false, "4000.", true},
	{" #### -7", answerNegative, "-7", true, "-7", true},
	{" It drops to -7.", answerNegative, "[invalid]", false, "-7.", true},
	{" #### 7", answerNegative, "7", false, "7", false},
	{" The change is −7.", answerNegative, "[invalid]", false, "7.", false},
	{" #### 32</s>ignored #### 5", answer, "32", true, "32", true},
	{" #### 32<|im_end|>", answer, "32", true, "32", true},
	{" 36-4=32\n\nQuestion: What is 2+2?\nAnswer: 4", answer, "[invalid]", false, "32", true},
	{" Answer: #### 32", answer, "32", true, "32", true},
	{" **32**", answer, "[invalid]", false, "32", true},
	{" #### 3,2", answer, "3,2", true, "3,2", true},
	{" The result: 32.\n", answer, "[invalid]", false, "32.", true},
	{" #### 32\n#### 33", answer, "32", true, "33", false},
	{" She has 32 pens left. #### 32", answer, "32", true, "32", true},
	{" 1, 2, 32", answer, "[invalid]", false, "32", true},
}

var mmluRecorded = []struct {
	output, extracted string
	correct           bool // the right answer is B
}{
	{" B", "B", true},
	{"B", "B", true},
	{" B.", "B.", true},
	{" (B)", "(B)", true},
	{" b", "b", true},
	{" B\nBecause", "B", true},
	{"B) 42", "B) 42", false},
	{" B. 42", "B. 42", false},
	{" The answer is B", "The answer is B", false},
	{"  B", "B", true},
	{"\tB", "B", true},
	{" B ", "B", true},
	{"", "", false},
	{" ", "", false},
	{" C", "C", false},
	{" A", "A", false},
	{" [B]", "[B]", true},
	{" B!", "B!", true},
	{" 'B'", "'B'", true},
	{"B:", "B:", true},
	{" Answer: B", "Answer: B", false},
	{" B,C", "B,C", false},
	{" BB", "BB", false},
	{" b.", "b.", true},
	{" D", "D", false},
	{" \"B\"", "\"B\"", true},
	{" B ", "B", true},
	{" **B**", "**B**", true},
	{" Option B", "Option B", false},
	{" B)", "B)", true},
	{" B</s>", "B", true},
}

func TestGSM8KRecorded(t *testing.T) {
	if len(gsm8kRecorded) < 30 {
		t.Fatalf("%d recorded answers, want at least 30", len(gsm8kRecorded))
	}
	for _, c := range gsm8kRecorded {
		out := truncate(c.output, gsm8kUntil)
		s, f := GSM8KExtract(StrictMatch, out), GSM8KExtract(FlexibleExtract, out)
		if s != c.strict || GSM8KCorrect(s, c.answer) != c.strictOK {
			t.Errorf("strict-match of %q: got %q (correct %v), the harness gives %q (%v)", c.output, s, GSM8KCorrect(s, c.answer), c.strict, c.strictOK)
		}
		if f != c.flexible || GSM8KCorrect(f, c.answer) != c.flexibleOK {
			t.Errorf("flexible-extract of %q: got %q (correct %v), the harness gives %q (%v)", c.output, f, GSM8KCorrect(f, c.answer), c.flexible, c.flexibleOK)
		}
	}
}

func TestMMLURecorded(t *testing.T) {
	if len(mmluRecorded) < 30 {
		t.Fatalf("%d recorded answers, want at least 30", len(mmluRecorded))
	}
	for _, c := range mmluRecorded {
		got := MMLUExtract(truncate(c.output, mmluUntil))
		if got != c.extracted || MMLUCorrect(got, 1) != c.correct {
			t.Errorf("%q: got %q (correct %v), the harness gives %q (%v)", c.output, got, MMLUCorrect(got, 1), c.extracted, c.correct)
		}
	}
}
