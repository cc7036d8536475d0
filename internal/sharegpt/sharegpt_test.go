package sharegpt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// n returns n distinct words.
func n(k int) string {
	w := make([]string, k)
	for i := range w {
		w[i] = fmt.Sprintf("w%d", i)
	}
	return strings.Join(w, " ")
}

type turn struct{ From, Value string }

// conv renders one conversation.
func conv(id string, turns ...turn) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"id": %q, "conversations": [`, id)
	for i, t := range turns {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `{"from": %q, "value": %q}`, t.From, t.Value)
	}
	b.WriteString("]}")
	return b.String()
}

func file(convs ...string) string {
	return "[\n" + strings.Join(convs, ",\n") + "\n]\n"
}

func load(t *testing.T, data string, opt Options) ([]*sdk.Prompt, error) {
	t.Helper()
	return read("data.json", strings.NewReader(data), opt)
}

func TestLoadPicksFirstHumanTurnAndItsReply(t *testing.T) {
	data := file(
		conv("a", turn{"human", "what is the capital of France?"}, turn{"gpt", "It is Paris, of course."},
			turn{"human", "and of Spain, please?"}, turn{"gpt", "Madrid is the capital."}),
		// A system turn first: the first human turn is the second turn.
		conv("b", turn{"system", "be brief and be kind"}, turn{"human", "name four colours please"}, turn{"gpt", "red green blue yellow"}),
		// Dumps have other speakers; they are neither human nor gpt.
		conv("c", turn{"human", "say hello to me now"}, turn{"bing", "hello there my friend"}),
		conv("d", turn{"human", "a question that is never answered"}),
		conv("e", turn{"human", "first human turn here"}, turn{"human", "second human turn here"}, turn{"gpt", "an answer to the second"}),
		conv("f"),
		`{"id": "g", "model": "gpt-4", "meta": {"tags": [1, {"x": null}, "y"], "ok": true}, "conversations": [`+
			`{"from": "human", "value": "extra fields are ignored here", "markdown": {"a": [1]}},`+
			`{"value": "so they are ignored", "from": "gpt"}]}`,
		`{"id": "h"}`,
	)
	got, err := load(t, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	byText := map[string]int32{}
	for _, p := range got {
		byText[p.Text] = p.OutputTokens
	}
	want := map[string]int32{
		"what is the capital of France?": 5,
		"name four colours please":       4,
		"extra fields are ignored here":  4,
	}
	if d := cmp.Diff(want, byText); d != "" {
		t.Errorf("prompts (-want +got):\n%s", d)
	}
}

func TestLoadFilters(t *testing.T) {
	data := file(
		conv("p3", turn{"human", n(3)}, turn{"gpt", n(10)}),
		conv("p4", turn{"human", n(4)}, turn{"gpt", n(10)}),
		conv("r3", turn{"human", n(10)}, turn{"gpt", n(3)}),
		conv("r4", turn{"human", n(10)}, turn{"gpt", " \n" + n(4) + "\t"}),
		conv("p1024", turn{"human", n(1024)}, turn{"gpt", n(1024)}),
		conv("p1025", turn{"human", n(1025)}, turn{"gpt", n(4)}),
		conv("t2049", turn{"human", n(1000)}, turn{"gpt", n(1049)}),
	)
	got, err := load(t, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var lens [][2]int
	for _, p := range got {
		lens = append(lens, [2]int{words(p.Text), int(p.OutputTokens)})
	}
	want := [][2]int{{4, 10}, {10, 4}, {1024, 1024}}
	less := func(a, b [2]int) bool { return a[0] < b[0] || a[0] == b[0] && a[1] < b[1] }
	if d := cmp.Diff(want, lens, cmpSort(less)); d != "" {
		t.Errorf("(prompt, reply) words (-want +got):\n%s", d)
	}

	// Tighter limits.
	got, err = load(t, data, Options{MaxTotal: 20, MaxPrompt: 9})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || words(got[0].Text) != 4 {
		t.Errorf("MaxTotal 20, MaxPrompt 9: got %v", got)
	}
}

func cmpSort[T any](less func(a, b T) bool) cmp.Option {
	return cmp.Transformer("sort", func(s []T) []T {
		c := append([]T(nil), s...)
		for i := range c {
			for j := i + 1; j < len(c); j++ {
				if less(c[j], c[i]) {
					c[i], c[j] = c[j], c[i]
				}
			}
		}
		return c
	})
}

func manyConvs(k int) string {
	var convs []string
	for i := range k {
		convs = append(convs, conv(fmt.Sprint(i), turn{"human", fmt.Sprintf("prompt number %d is here", i)}, turn{"gpt", n(4 + i%50)}))
	}
	return file(convs...)
}

func TestLoadSampling(t *testing.T) {
	data := manyConvs(500)
	all, err := load(t, data, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 500 {
		t.Fatalf("got %d prompts, want 500", len(all))
	}
	again, _ := load(t, data, Options{Seed: 1})
	if d := cmp.Diff(all, again, protocmp.Transform()); d != "" {
		t.Errorf("same seed, different prompts:\n%s", d)
	}
	// The order is shuffled, not the file's.
	inOrder := 0
	for i, p := range all {
		if p.Text == fmt.Sprintf("prompt number %d is here", i) {
			inOrder++
		}
	}
	if inOrder > 10 {
		t.Errorf("%d of 500 prompts are at their file position", inOrder)
	}
	for _, max := range []int{1, 7, 100, 499} {
		some, err := load(t, data, Options{Seed: 1, Max: max})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(all[:max], some, protocmp.Transform()); d != "" {
			t.Errorf("Max %d is not a prefix of all:\n%s", max, d)
		}
	}
	more, _ := load(t, data, Options{Seed: 1, Max: 10000})
	if len(more) != 500 {
		t.Errorf("Max 10000: got %d prompts, want the 500 there are", len(more))
	}
	other, _ := load(t, data, Options{Seed: 2, Max: 20})
	if cmp.Equal(all[:20], other, protocmp.Transform()) {
		t.Error("seeds 1 and 2 pick the same prompts")
	}

	// Layout does not matter: the same conversations minified give the same prompts.
	var v any
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		t.Fatal(err)
	}
	min, _ := json.Marshal(v)
	fromMin, err := load(t, string(min), Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(all, fromMin, protocmp.Transform()); d != "" {
		t.Errorf("minified file gives other prompts:\n%s", d)
	}
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sharegpt.json")
	if err := os.WriteFile(path, []byte(manyConvs(20)), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path, Options{Max: 3})
	if err != nil || len(got) != 3 {
		t.Fatalf("got %d prompts, %v", len(got), err)
	}
	// Positions are found by reading the file again.
	if err := os.WriteFile(path, []byte("[\n  {\"id\": 7}\n]"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path, Options{})
	if want := path + `:2:10: [0].id: want a string, got 7`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	_, err = Load(filepath.Join(t.TempDir(), "missing.json"), Options{})
	if !os.IsNotExist(err) {
		t.Errorf("missing file: got %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	ok := conv("ok", turn{"human", n(5)}, turn{"gpt", n(5)})
	for _, tc := range []struct {
		name, data string
		opt        Options
		want       string
	}{
		{"empty file", "", Options{}, "data.json: empty file, want a JSON array of conversations"},
		{"only white space", " \n\n ", Options{}, "data.json: empty file, want a JSON array of conversations"},
		{"object", `{"conversations": []}`, Options{}, "data.json:1:1: want a JSON array of conversations, got an object"},
		{"string", "\n  \"x\"", Options{}, `data.json:2:3: want a JSON array of conversations, got "x"`},
		{"entry not an object", "[\n  3\n]", Options{}, "data.json:2:3: [0]: want an object, got 3"},
		{"second entry null", "[\n" + ok + ",\n  null]", Options{}, "data.json:3:3: [1]: want an object, got null"},
		{"id", `[{"id": true}]`, Options{}, "data.json:1:9: [0].id: want a string, got true"},
		{"conversations string", `[{"conversations":"hi"}]`, Options{}, `data.json:1:19: [0].conversations: want an array, got "hi"`},
		{"conversations null", `[{"conversations" : null}]`, Options{}, `data.json:1:21: [0].conversations: want an array, got null`},
		{"turn not an object", `[{"conversations": [{"from": "human", "value": "a"}, ["gpt"]]}]`, Options{}, `data.json:1:54: [0].conversations[1]: want an object, got an array`},
		{"from number", "[\n  {\"conversations\": [\n    {\"from\": \"human\", \"value\": \"hi\"},\n    {\"from\": 3, \"value\": \"hello\"}]}]",
			Options{}, `data.json:4:14: [0].conversations[1].from: want "human" or "gpt", got 3`},
		{"from object", `[{"conversations": [{"from": {"role": "user"}}]}]`, Options{}, `data.json:1:30: [0].conversations[0].from: want "human" or "gpt", got an object`},
		{"value number", `[{"conversations": [{"from": "gpt", "value": 1.5e3}]}]`, Options{}, `data.json:1:46: [0].conversations[0].value: want a string, got 1.5e3`},
		{"value long string in wrong place", `[{"conversations": [{"from": "gpt", "value": ["` + strings.Repeat("é", 30) + `"]}]}]`, Options{}, `data.json:1:46: [0].conversations[0].value: want a string, got an array`},
		{"from long string where an object goes", `[{"conversations": ["` + strings.Repeat("é", 30) + `"]}]`, Options{}, `data.json:1:21: [0].conversations[0]: want an object, got "` + strings.Repeat("é", 20) + `"...`},
		{"no from", "[{\"conversations\": [\n  {\"value\": \"hi\"}]}]", Options{}, `data.json:2:3: [0].conversations[0]: no "from"`},
		{"no value", "[{\"conversations\": [\n  {\"from\": \"human\"}]}]", Options{}, `data.json:2:3: [0].conversations[0]: no "value"`},
		{"trailing comma", "[\n" + ok + ",\n]", Options{}, "data.json:3:1: invalid character ']' looking for beginning of value"},
		{"missing comma", `[{"id": "a"} {"id": "b"}]`, Options{}, "data.json:1:14: invalid character '{' after array element"},
		{"missing colon", `[{"id" "a"}]`, Options{}, "data.json:1:8: invalid character '\"' after object key"},
		{"bad escape", "[{\"id\": \"ab\\qc\"}]", Options{}, "data.json:1:13: invalid character 'q' in string escape code"},
		{"bad escape in skipped field", "[{\"x\": [1, \"ab\\qc\"]}]", Options{}, "data.json:1:16: invalid character 'q' in string escape code"},
		{"control character in string", "[{\"id\": \"a\nb\"}]", Options{}, "data.json:1:11: invalid character '\\n' in string literal"},
		{"bad literal", `[{"id": "a", "x": tru}]`, Options{}, "data.json:1:22: invalid character '}' in literal true (expecting 'e')"},
		{"bad number", `[{"x": 1.e5}]`, Options{}, "data.json:1:10: invalid character 'e' after decimal point in numeric literal"},
		{"single quotes", `[{'id': 'a'}]`, Options{}, "data.json:1:3: invalid character '\\'' looking for beginning of object key string"},
		{"truncated", "[\n" + ok + ",\n" + ok[:40], Options{}, "data.json:3:41: unexpected end of file"},
		{"truncated in string", "[{\"id\": \"abc", Options{}, "data.json:1:13: unexpected end of file"},
		{"unclosed array", "[\n" + ok + "\n", Options{}, "data.json:3:1: unexpected end of file"},
		{"data after the array", "[" + ok + "]\n[]", Options{}, "data.json:2:1: unexpected data after the array"},
		{"garbage after the array", "[" + ok + "] x", Options{}, "data.json:1:" + fmt.Sprint(len(ok)+4) + ": unexpected data after the array"},
		{"empty array", "[]", Options{}, "data.json: no prompts: the array is empty"},
		{"all dropped", file(
			conv("a", turn{"human", n(3)}, turn{"gpt", n(5)}),
			conv("b", turn{"human", n(5)}, turn{"gpt", n(3)}),
			conv("c", turn{"human", n(5)}),
			conv("d", turn{"human", n(5)}, turn{"gpt", n(30)}),
			conv("e", turn{"human", n(30)}, turn{"gpt", n(5)}),
			`{"id": "f"}`,
		), Options{MaxTotal: 20, MaxPrompt: 10}, "data.json: no prompts: read 6 entries, dropped 2 without a human turn answered by a gpt turn, " +
			"1 with a prompt under 4 words, 1 with a reply under 4 words, 1 with a prompt over 10 words, 1 with prompt and reply over 20 words"},
		{"one dropped", "[" + conv("a") + "]", Options{}, "data.json: no prompts: read 1 entry, dropped 1 without a human turn answered by a gpt turn"},
		{"negative Max", "[]", Options{Max: -1}, "data.json: Max must not be negative, got -1"},
		{"negative MaxTotal", "[]", Options{MaxTotal: -1}, "data.json: MaxTotal must not be negative, got -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := load(t, tc.data, tc.opt)
			if err == nil {
				t.Fatalf("no error; got %d prompts", len(ps))
			}
			if err.Error() != tc.want {
				t.Errorf("got  %s\nwant %s", err, tc.want)
			}
		})
	}
}

// BenchmarkLoad reads a 30 MB file of long replies, keeping 100 prompts.
func BenchmarkLoad(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("[")
	reply := strings.Repeat("a long reply that \"nobody\" keeps\n", 1000)
	for i := range 1000 {
		if i > 0 {
			buf.WriteString(",\n")
		}
		buf.WriteString(conv(fmt.Sprint(i), turn{"human", "a short prompt to keep"}, turn{"gpt", reply[:len(reply)-i]}))
	}
	buf.WriteString("]")
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		ps, err := read("big.json", bytes.NewReader(buf.Bytes()), Options{Max: 100, MaxTotal: 1 << 20})
		if err != nil || len(ps) != 100 {
			b.Fatalf("got %d prompts, %v", len(ps), err)
		}
	}
}
