package accuracy

import (
	"regexp"
	"strings"
)

// GSM8K and MMLU follow lm-evaluation-harness's task definitions, so that a
// score can be set beside published ones. Read at these commits of
// github.com/EleutherAI/lm-evaluation-harness:
//
//   - lm_eval/tasks/gsm8k/gsm8k.yaml @ 47f16bf6a68ec19467e728ce52ac6c5937d5b3da
//     (task gsm8k, metadata version 3.0): prompt, 5 shots from train, stop
//     sequences, the strict-match and flexible-extract filters, exact_match
//     with its regexes_to_ignore and ignore_case.
//   - lm_eval/tasks/mmlu/generative/_default_template_yaml @ c7af91c4b62191da3fe78fa442b27a492b1b08c1
//     and mmlu_<subject>.yaml @ f7f298eea5597c01f5ae6bb46e1c508a4485b450
//     (mmlu_generative, version 3.0): prompt, description, first_n shots from
//     dev, the get_response filter, exact_match ignoring case and punctuation.
//   - lm_eval/filters/extraction.py @ 03ebd203ed6ca73757d671b57e9444a952a74b5b:
//     RegexFilter (findall, group_select, first non-empty group of a tuple,
//     strip, fallback "[invalid]") and WhitespaceFilter (one leading space).
//   - lm_eval/api/metrics.py exact_match_hf_evaluate: regexes removed from
//     prediction and reference alike, then lower case, then string.punctuation
//     removed.
//
// Where llmsweep differs, it says so: the harness draws GSM8K's shots with
// Python's random.Random(1234); llmsweep draws them with its own seeded
// generator, so the shots differ and the format does not. The harness passes
// its stop sequences to the server; llmsweep's load generator has none to
// pass, so the output is cut at the first one here, as the harness's API
// models also do after generation.

// InvalidAnswer is the harness's fallback when a filter's regex finds nothing.
const InvalidAnswer = "[invalid]"

// Metric variants, as the harness names its filters.
const (
	StrictMatch     = "strict-match"
	FlexibleExtract = "flexible-extract"
	ExactMatch      = "exact_match" // MMLU generative's get_response filter, and the seeded tasks
)

// gsm8kUntil and mmluUntil are the tasks' generation_kwargs.until.
var (
	gsm8kUntil = []string{"Question:", "</s>", "<|im_end|>"}
	mmluUntil  = []string{"</s>", "\n"}
)

// gsm8kMaxTokens is the harness's default max_gen_toks.
const gsm8kMaxTokens = 256

// mmluMaxTokens bounds an MMLU answer. The harness allows 256 tokens and
// stops at the first newline; the score reads only that first line, which is
// one letter when the answer can be right, so a short budget changes no score
// and keeps a rambling model from costing 256 tokens a question.
const mmluMaxTokens = 32

var (
	strictRe   = regexp.MustCompile(`#### (\-?[0-9\.\,]+)`)
	flexibleRe = regexp.MustCompile(`(-?[$0-9.,]{2,})|(-?[0-9]+)`)
	// gsm8kIgnore is exact_match's regexes_to_ignore, in order; "\.$" is
	// handled by trimDot, since Python's $ also matches before a final newline.
	gsm8kIgnore = []*regexp.Regexp{regexp.MustCompile(`,`), regexp.MustCompile(`\$`), regexp.MustCompile(`(?s).*#### `)}
)

// truncate cuts s at the first of the stop sequences, as the harness does.
func truncate(s string, until []string) string {
	for _, u := range until {
		if i := strings.Index(s, u); i >= 0 {
			s = s[:i]
		}
	}
	return s
}

// findall is RegexFilter on one response: the match at group_select (-1 is
// the last) of Python's re.findall, the first non-empty group of a pattern
// with several, stripped; InvalidAnswer when nothing matches.
func findall(re *regexp.Regexp, s string, groupSelect int) string {
	ms := re.FindAllStringSubmatch(s, -1)
	if len(ms) == 0 {
		return InvalidAnswer
	}
	i := groupSelect
	if i < 0 {
		i += len(ms)
	}
	m := ms[i]
	got := m[0]
	if len(m) > 1 { // findall returns the groups, not the whole match
		got = ""
		for _, g := range m[1:] {
			if g != "" {
				got = g
				break
			}
		}
	}
	return strings.TrimSpace(got)
}

// GSM8KExtract applies the gsm8k task's filter variant to a model's output
// (already cut at the stop sequences).
func GSM8KExtract(variant, output string) string {
	if variant == StrictMatch {
		return findall(strictRe, output, 0)
	}
	return findall(flexibleRe, output, -1)
}

// gsm8kNormalise is exact_match's preprocessing for gsm8k: the
// regexes_to_ignore removed, then lower case (ignore_case); punctuation stays.
func gsm8kNormalise(s string) string {
	for _, re := range gsm8kIgnore {
		s = re.ReplaceAllString(s, "")
	}
	s = trimDot(s)
	return strings.ToLower(s)
}

// trimDot is re.sub(r"\.$", "", s): a period at the very end, or just before
// a final newline.
func trimDot(s string) string {
	switch {
	case strings.HasSuffix(s, ".\n"):
		return s[:len(s)-2] + "\n"
	case strings.HasSuffix(s, "."):
		return s[:len(s)-1]
	}
	return s
}

// GSM8KTarget is the number a GSM8K answer ends in, as exact_match sees it.
func GSM8KTarget(answer string) string { return gsm8kNormalise(answer) }

// GSM8KCorrect scores an extracted answer against a GSM8K answer.
func GSM8KCorrect(extracted, answer string) bool {
	return gsm8kNormalise(extracted) == gsm8kNormalise(answer)
}

// GSM8KPrompt is the harness's context: each shot's question and full
// answer, then the question, each as doc_to_text, " " and doc_to_target,
// separated by a blank line.
func GSM8KPrompt(shots [][2]string, question string) string {
	var b strings.Builder
	for _, s := range shots {
		b.WriteString("Question: " + s[0] + "\nAnswer: " + s[1] + "\n\n")
	}
	b.WriteString("Question: " + question + "\nAnswer:")
	return b.String()
}

// Letters are MMLU's answer labels.
var Letters = [4]string{"A", "B", "C", "D"}

// mmluQuestion is doc_to_text of the generative MMLU template.
func mmluQuestion(question string, choices []string) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(question))
	for i, c := range choices {
		b.WriteString("\n" + Letters[i] + ". " + c)
	}
	b.WriteString("\nAnswer:")
	return b.String()
}

// MMLUShot is a solved dev question, for the 5-shot context.
type MMLUShot struct {
	Question string
	Choices  []string
	Answer   int
}

// MMLUPrompt is the harness's context for a subject: the description, the
// shots (the first of the subject's dev questions) with their letters, then
// the question.
func MMLUPrompt(subject string, shots []MMLUShot, question string, choices []string) string {
	var b strings.Builder
	b.WriteString("The following are multiple choice questions (with answers) about " + strings.ReplaceAll(subject, "_", " ") + ".\n\n")
	for _, s := range shots {
		b.WriteString(mmluQuestion(s.Question, s.Choices) + " " + Letters[s.Answer] + "\n\n")
	}
	b.WriteString(mmluQuestion(question, choices))
	return b.String()
}

// MMLUExtract is the get_response filter: the first line, stripped (the
// first regex and RegexFilter's strip), one leading space removed
// (remove_whitespace), trailing white space removed (the second regex).
func MMLUExtract(output string) string {
	line, _, _ := strings.Cut(output, "\n")
	line = pyStrip(line)
	line = strings.TrimPrefix(line, " ")
	return pyStrip(strings.TrimRightFunc(line, pyIsSpace))
}

// MMLUCorrect is exact_match with ignore_case and ignore_punctuation against
// the answer's letter.
func MMLUCorrect(extracted string, answer int) bool {
	return stripPunct(strings.ToLower(extracted)) == strings.ToLower(Letters[answer])
}

// stripPunct removes Python's string.punctuation (ASCII only).
func stripPunct(s string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", r) {
			return -1
		}
		return r
	}, s)
}

// pyStrip is Python's str.strip() with no argument: Unicode white space.
func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

func pyIsSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, 0x85, 0xa0, 0x1680,
		0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}
