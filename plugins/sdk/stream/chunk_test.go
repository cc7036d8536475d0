package stream

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// view is a comparable copy of a decoded chunk.
type view struct {
	Content                        string
	Finish                         string
	HasFinish, HasUsage            bool
	Prompt, Compl                  int64
	HasError                       bool
	ErrMsg, ErrType                string
	Object, Message, Typ, ErrorTyp string
	HasToken                       bool
	TokenText                      string
	Special, HasGenerated          bool
	HasDetails                     bool
	DetFinish                      string
	HasDetFinish                   bool
	GenTokens, InputLen            int64
}

func viewOf(c *chunk) view {
	return view{
		Content: string(c.content), Finish: string(c.finish), HasFinish: c.hasFinish,
		HasUsage: c.hasUsage, Prompt: c.prompt, Compl: c.compl,
		HasError: c.hasError, ErrMsg: string(c.errMsg), ErrType: string(c.errType),
		Object: string(c.object), Message: string(c.message), Typ: string(c.typ), ErrorTyp: string(c.errorType),
		HasToken: c.hasToken, TokenText: string(c.tokenText), Special: c.special, HasGenerated: c.hasGenerated,
		HasDetails: c.hasDetails, DetFinish: string(c.detFinish), HasDetFinish: c.hasDetFinish,
		GenTokens: c.genTokens, InputLen: c.inputLen,
	}
}

func decodeView(data string) (view, bool) {
	var c chunk
	var d decoder
	ok := c.decode(&d, []byte(data))
	return viewOf(&c), ok
}

func TestDecodeChunk(t *testing.T) {
	base := view{Prompt: -1, Compl: -1, GenTokens: -1, InputLen: -1}
	with := func(f func(*view)) view { v := base; f(&v); return v }
	tests := []struct {
		in   string
		want view
		ok   bool
	}{
		{`{}`, base, true},
		{` {"choices":[{"index":0,"text":" Paris","logprobs":null,"finish_reason":null}],"usage":null} `, with(func(v *view) { v.Content = " Paris" }), true},
		{`{"choices":[{"delta":{"role":"assistant","content":""}}]}`, base, true},
		{`{"choices":[{"delta":{"content":"a\"b\\c\u00e9\ud83d\ude00\n"},"finish_reason":"stop"}]}`, with(func(v *view) { v.Content = "a\"b\\cé😀\n"; v.Finish = "stop"; v.HasFinish = true }), true},
		{`{"choices":[{"delta":{"reasoning_content":"think","reasoning":"think","content":"x"}}]}`, with(func(v *view) { v.Content = "thinkx" }), true},
		{`{"choices":[{"delta":{"reasoning":"r"}}]}`, with(func(v *view) { v.Content = "r" }), true},
		{`{"choices":[null,{"text":"a"},{"text":"b","finish_reason":"length"}]}`, with(func(v *view) { v.Content = "ab"; v.Finish = "length"; v.HasFinish = true }), true},
		{`{"choices":[],"usage":{"prompt_tokens":6,"total_tokens":14,"completion_tokens":8}}`, with(func(v *view) { v.HasUsage = true; v.Prompt = 6; v.Compl = 8 }), true},
		{`{"usage":{"prompt_tokens":null}}`, with(func(v *view) { v.HasUsage = true }), true},
		{`{"usage":{"prompt_tokens":-9223372036854775808,"completion_tokens":9223372036854775807}}`, with(func(v *view) { v.HasUsage = true; v.Prompt = -9223372036854775808; v.Compl = 9223372036854775807 }), true},
		{`{"error":{"message":"boom","type":"server_error","code":null}}`, with(func(v *view) { v.HasError = true; v.ErrMsg = "boom"; v.ErrType = "server_error" }), true},
		{`{"error":{"message":["odd"]}}`, with(func(v *view) { v.HasError = true }), true},
		{`{"error":"oom","error_type":"generation"}`, with(func(v *view) { v.HasError = true; v.ErrMsg = "oom"; v.ErrorTyp = "generation" }), true},
		{`{"error":null}`, base, true},
		{`{"object":"error","message":"bad","type":"BadRequestError","code":400}`, with(func(v *view) { v.Object = "error"; v.Message = "bad"; v.Typ = "BadRequestError" }), true},
		{`{"index":1,"token":{"id":5,"text":"a","logprob":-0.1,"special":false},"generated_text":null,"details":null}`, with(func(v *view) { v.HasToken = true; v.TokenText = "a" }), true},
		{`{"token":{"text":"</s>","special":true},"generated_text":"x","details":{"finish_reason":"eos_token","generated_tokens":3,"seed":null,"input_length":12}}`,
			with(func(v *view) {
				v.HasToken, v.TokenText, v.Special, v.HasGenerated = true, "</s>", true, true
				v.HasDetails, v.DetFinish, v.HasDetFinish, v.GenTokens, v.InputLen = true, "eos_token", true, 3, 12
			}), true},
		// Duplicate keys: the last one wins, as with encoding/json.
		{`{"choices":[{"text":"a"}],"choices":[{"text":"b","text":"c"}]}`, with(func(v *view) { v.Content = "c" }), true},
		{`{"usage":{"prompt_tokens":1},"usage":null}`, base, true},
		{`{"t\u0065xt":"no","choices":[{"t\u0065xt":"yes"}]}`, with(func(v *view) { v.Content = "yes" }), true},
		// Invalid JSON or wrong types.
		{``, base, false},
		{`[]`, base, false},
		{`"x"`, base, false},
		{`{"choices":[{"text":" Par`, base, false},
		{`{"choices":[{"text":5}]}`, base, false},
		{`{"choices":{}}`, base, false},
		{`{"choices":[1]}`, base, false},
		{`{"usage":{"prompt_tokens":1.5}}`, base, false},
		{`{"usage":{"prompt_tokens":1e3}}`, base, false},
		{`{"usage":{"prompt_tokens":9223372036854775808}}`, base, false},
		{`{"token":{"special":"no"}}`, base, false},
		{`{"a":1}x`, base, false},
		{`{"a":01}`, base, false},
		{`{"a":"\x"}`, base, false},
		{"{\"a\":\"\x01\"}", base, false},
		{`{"a":[1,]}`, base, false},
		{`{"a":tru}`, base, false},
		{`{,}`, base, false},
		{strings.Repeat("[", 20000), base, false},
	}
	for _, tt := range tests {
		got, ok := decodeView(tt.in)
		if ok != tt.ok {
			t.Errorf("%.60q: ok=%v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if ok && got != tt.want {
			t.Errorf("%.60q:\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
		if _, jok := oracle([]byte(tt.in)); jok != ok && !hasDuplicateKeys([]byte(tt.in)) {
			t.Errorf("%.60q: oracle disagrees on validity", tt.in)
		}
	}
}

// oracle decodes data with encoding/json and applies the rules that
// chunk.decode documents, to check the hand-written decoder.
func oracle(data []byte) (view, bool) {
	v := view{Prompt: -1, Compl: -1, GenTokens: -1, InputLen: -1}
	if !json.Valid(data) {
		return v, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var top any
	if dec.Decode(&top) != nil {
		return v, false
	}
	m, ok := top.(map[string]any)
	if !ok {
		return v, false
	}
	bad := false
	strict := func(x any) (string, bool) {
		switch x := x.(type) {
		case nil:
			return "", false
		case string:
			return x, true
		}
		bad = true
		return "", false
	}
	lenient := func(x any) string { s, _ := x.(string); return s }
	integer := func(x any) int64 {
		switch x := x.(type) {
		case nil:
			return -1
		case json.Number:
			n, err := strconv.ParseInt(string(x), 10, 64)
			if err != nil {
				bad = true
			}
			return n
		}
		bad = true
		return -1
	}
	object := func(x any) (map[string]any, bool) {
		switch x := x.(type) {
		case nil:
			return nil, false
		case map[string]any:
			return x, true
		}
		bad = true
		return nil, false
	}
	switch cs := m["choices"].(type) {
	case nil:
	case []any:
		for _, c := range cs {
			cm, ok := object(c)
			if !ok {
				continue
			}
			text, _ := strict(cm["text"])
			fin, hasFin := strict(cm["finish_reason"])
			var content, rc, r string
			if dm, ok := object(cm["delta"]); ok {
				content, _ = strict(dm["content"])
				rc, _ = strict(dm["reasoning_content"])
				r, _ = strict(dm["reasoning"])
			}
			if rc == "" {
				rc = r
			}
			v.Content += text + rc + content
			if hasFin {
				v.Finish, v.HasFinish = fin, true
			}
		}
	default:
		bad = true
	}
	if um, ok := object(m["usage"]); ok {
		v.HasUsage, v.Prompt, v.Compl = true, integer(um["prompt_tokens"]), integer(um["completion_tokens"])
	}
	switch e := m["error"].(type) {
	case nil:
	case string:
		v.HasError, v.ErrMsg = true, e
	case map[string]any:
		v.HasError, v.ErrMsg, v.ErrType = true, lenient(e["message"]), lenient(e["type"])
	default:
		v.HasError = true
	}
	v.Object, v.Message, v.Typ, v.ErrorTyp = lenient(m["object"]), lenient(m["message"]), lenient(m["type"]), lenient(m["error_type"])
	if tm, ok := object(m["token"]); ok {
		v.HasToken = true
		v.TokenText, _ = strict(tm["text"])
		switch s := tm["special"].(type) {
		case nil:
		case bool:
			v.Special = s
		default:
			bad = true
		}
	}
	_, v.HasGenerated = strict(m["generated_text"])
	if dm, ok := object(m["details"]); ok {
		v.HasDetails = true
		v.DetFinish, v.HasDetFinish = strict(dm["finish_reason"])
		v.GenTokens, v.InputLen = integer(dm["generated_tokens"]), integer(dm["input_length"])
	}
	return v, !bad
}

// hasDuplicateKeys reports whether any object in data repeats a key; the
// oracle, decoding into maps, cannot see type errors in overwritten values.
func hasDuplicateKeys(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		keys  map[string]bool
		isObj bool
		key   bool // next token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false // the end, or invalid JSON, which the oracle judges
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.isObj && top.key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				if len(stack) > 0 {
					stack[len(stack)-1].key = stack[len(stack)-1].isObj
				}
				continue
			}
			k := tok.(string)
			if top.keys[k] {
				return true
			}
			top.keys[k] = true
			top.key = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, isObj: true, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 {
			stack[len(stack)-1].key = stack[len(stack)-1].isObj
		}
	}
}

func FuzzDecodeChunk(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txtar")
	for _, fn := range files {
		ex := loadExchange(f, filepath.Base(fn))
		for _, line := range strings.Split(string(ex.body), "\n") {
			if d, ok := strings.CutPrefix(strings.TrimSpace(line), "data:"); ok {
				f.Add([]byte(strings.TrimSpace(d)))
			}
		}
	}
	for _, s := range []string{`{"a":"\ud800\u0041"}`, `{"choices":[{"text":"\ud83d\ude00\xff"}]}`, `{"usage":{"prompt_tokens":-0}}`, `{"x":[[],{},1.5e-3,true,false,null]}`} {
		f.Add([]byte(s))
	}
	var c chunk
	var d decoder
	f.Fuzz(func(t *testing.T, data []byte) {
		ok := c.decode(&d, data)
		got := viewOf(&c)
		if hasDuplicateKeys(data) {
			return
		}
		want, wok := oracle(data)
		if ok != wok {
			t.Fatalf("valid=%v, encoding/json says %v", ok, wok)
		}
		if ok && !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded\n %+v\nencoding/json\n %+v", got, want)
		}
	})
}

var benchChunk = []byte(`{"id":"cmpl-4f3b2c1d9e8a7b6c5d4e3f2a1b0c9d8e","object":"text_completion","created":1764230400,"model":"meta-llama/Llama-3.1-8B-Instruct","choices":[{"index":0,"text":" largest","logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}`)

func BenchmarkDecodeChunk(b *testing.B) {
	var c chunk
	var d decoder
	b.SetBytes(int64(len(benchChunk)))
	b.ReportAllocs()
	for b.Loop() {
		if !c.decode(&d, benchChunk) || string(c.content) != " largest" {
			b.Fatal("bad decode")
		}
	}
}

// BenchmarkDecodeChunkStdlib is the encoding/json baseline for the same chunk.
func BenchmarkDecodeChunkStdlib(b *testing.B) {
	type choice struct {
		Text         string  `json:"text"`
		FinishReason *string `json:"finish_reason"`
	}
	var c struct {
		Choices []choice `json:"choices"`
		Usage   *struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	b.SetBytes(int64(len(benchChunk)))
	b.ReportAllocs()
	for b.Loop() {
		c.Choices = c.Choices[:0]
		if err := json.Unmarshal(benchChunk, &c); err != nil {
			b.Fatal(err)
		}
	}
}
