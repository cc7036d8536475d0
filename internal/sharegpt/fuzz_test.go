package sharegpt

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader. Whatever the input, it must not
// panic; what it returns must be prompts of at least MinWords words, and only
// for valid JSON; and an error must name the file, at a line:column that exists.
func FuzzLoad(f *testing.F) {
	ok := conv("a", turn{"human", "what is the capital of France?"}, turn{"gpt", "It is Paris, of course."})
	for _, s := range []string{
		"", "[]", "{}", "null", "[null]", "[{}]", "[[]]", "[3]",
		file(ok),
		file(ok, conv("b", turn{"system", "be brief"}, turn{"human", "name four colours please"}, turn{"gpt", "red green blue yellow"})),
		`[{"id": "g", "meta": {"tags": [1, {"x": null}, "y"]}, "conversations": [{"from": "human", "value": "a b c d e"}, {"value": "f g h i", "from": "gpt"}]}]`,
		`[{"conversations": [{"from": 3, "value": "x"}]}]`,
		`[{"conversations": [{"from": "human", "value": "a\u00e9 \ud800 b c d"}, {"from": "gpt", "value": "\t\n\u3000 w x y z"}]}]`,
		"[{\"id\": \"ab\\qc\"}]",
		"[\n" + ok + ",\n]",
		"[" + ok + "] x",
		"[" + ok[:30],
		"\xef\xbb\xbf[]",
	} {
		f.Add([]byte(s), int64(0), 0)
	}
	f.Fuzz(func(t *testing.T, data []byte, seed int64, max int) {
		opt := Options{Seed: seed, Max: max % 8, MaxTotal: 64, MaxPrompt: 32}
		if opt.Max < 0 {
			opt.Max = -opt.Max
		}
		ps, err := read("data.json", bytes.NewReader(data), opt)
		if err != nil {
			checkError(t, data, err)
			return
		}
		if !json.Valid(data) {
			t.Fatalf("invalid JSON gave %d prompts", len(ps))
		}
		if len(ps) == 0 || opt.Max > 0 && len(ps) > opt.Max {
			t.Fatalf("got %d prompts, Max %d", len(ps), opt.Max)
		}
		for _, p := range ps {
			in := words(p.Text)
			if strings.TrimSpace(p.Text) == "" || in < MinWords || in > opt.MaxPrompt ||
				p.OutputTokens < MinWords || in+int(p.OutputTokens) > opt.MaxTotal {
				t.Fatalf("prompt %q with %d output tokens passed the filters", p.Text, p.OutputTokens)
			}
		}
	})
}

func checkError(t *testing.T, data []byte, err error) {
	msg, ok := strings.CutPrefix(err.Error(), "data.json:")
	if !ok {
		t.Fatalf("error does not name the file: %v", err)
	}
	if strings.HasPrefix(msg, " ") {
		return // about the file as a whole
	}
	var line, col int
	parts := strings.SplitN(msg, ":", 3)
	if len(parts) == 3 {
		line, _ = strconv.Atoi(parts[0])
		col, _ = strconv.Atoi(parts[1])
	}
	lines := bytes.Split(data, []byte("\n"))
	if line < 1 || line > len(lines) || col < 1 || col > len(lines[line-1])+1 {
		t.Fatalf("error placed outside the file (%d lines): %v", len(lines), err)
	}
	if strings.TrimSpace(parts[2]) == "" {
		t.Fatalf("error says nothing: %v", err)
	}
}
