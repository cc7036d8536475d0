// Package sharegpt loads benchmark prompts from a ShareGPT conversation dump,
// the way vLLM's benchmarks do (benchmarks/benchmark_dataset.py, ShareGPTDataset),
// so that results can be compared with theirs.
//
// The file is a JSON array of conversations:
//
//	[{"id": "x1", "conversations": [{"from": "human", "value": "..."}, {"from": "gpt", "value": "..."}, ...]}, ...]
//
// Each conversation gives at most one prompt: its first human turn, with the
// length of the gpt turn right after it as the output length. Conversations
// without such a pair are dropped, as are those vLLM drops: a prompt or a reply
// under 4 tokens, a prompt over 1024 tokens, or both together over 2048.
//
// Tokens are counted as white-space-separated words, since there is no
// tokenizer here. English text is about 1.3 tokens a word in Llama-style
// tokenizers, so the limits let through somewhat longer texts than vLLM's do,
// and output lengths are somewhat shorter than the reply was in tokens.
package sharegpt

import (
	"bufio"
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// Defaults and limits, as in vLLM's is_valid_sequence.
const (
	MinWords         = 4    // a shorter prompt or reply is dropped
	DefaultMaxPrompt = 1024 // Options.MaxPrompt when 0
	DefaultMaxTotal  = 2048 // Options.MaxTotal when 0
)

// Options says which prompts Load returns.
type Options struct {
	// Seed orders the prompts: the same file and seed give the same prompts
	// in the same order, and the prompts for Max n are the first n of those
	// for a larger Max.
	Seed int64
	// Max is how many prompts to return; 0 returns all that pass the filters.
	Max int
	// MaxTotal drops conversations whose prompt and reply together have more
	// words; 0 means DefaultMaxTotal.
	MaxTotal int
	// MaxPrompt drops conversations whose prompt has more words; 0 means
	// DefaultMaxPrompt.
	MaxPrompt int
}

// Load reads the ShareGPT file at path and returns prompts from it, chosen
// and ordered by opt.Seed. Each prompt has the text of a first human turn and,
// as OutputTokens, the word count of the gpt reply to it.
//
// The file is decoded as a stream, so memory holds the kept prompts, not the
// file. Fields other than id, conversations, from and value are ignored, since
// dumps carry extra ones; a known field of the wrong type is an error, which
// names the file, line:column (columns count bytes) and the field. A turn
// whose "from" is another string (dumps have "system", "bing", "chatgpt", ...)
// is neither a human nor a gpt turn.
func Load(path string, opt Options) ([]*sdk.Prompt, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return read(path, f, opt)
}

// read is Load on r, which is named name in errors. r is read once from the
// start and, only to place an error, again.
func read(name string, r io.ReadSeeker, opt Options) ([]*sdk.Prompt, error) {
	switch {
	case opt.Max < 0:
		return nil, fmt.Errorf("%s: Max must not be negative, got %d", name, opt.Max)
	case opt.MaxTotal < 0:
		return nil, fmt.Errorf("%s: MaxTotal must not be negative, got %d", name, opt.MaxTotal)
	case opt.MaxPrompt < 0:
		return nil, fmt.Errorf("%s: MaxPrompt must not be negative, got %d", name, opt.MaxPrompt)
	}
	if opt.MaxTotal == 0 {
		opt.MaxTotal = DefaultMaxTotal
	}
	if opt.MaxPrompt == 0 {
		opt.MaxPrompt = DefaultMaxPrompt
	}
	d := &decoder{name: name, r: r, dec: json.NewDecoder(r), opt: opt}
	d.dec.UseNumber() // so that an error quotes a number as written
	if err := d.file(); err != nil {
		return nil, err
	}
	if len(d.kept) == 0 {
		return nil, d.noPrompts()
	}
	slices.SortFunc(d.kept, func(a, b kept) int { return a.cmp(b) })
	out := make([]*sdk.Prompt, len(d.kept))
	for i, k := range d.kept {
		out[i] = k.p
	}
	return out, nil
}

type decoder struct {
	name string
	r    io.ReadSeeker
	dec  *json.Decoder
	opt  Options

	kept keptHeap // the best-keyed prompts so far; a max-heap when opt.Max > 0

	// What happened to the entries, for the error when none is kept.
	entries, noPair, shortPrompt, shortReply, longPrompt, longTotal int
}

// kept is a prompt with the random key that orders it. Keys depend only on the
// seed and the entry's index, so taking the Max smallest is a seeded shuffle
// followed by taking the first Max, with memory for Max prompts only.
type kept struct {
	key   uint64
	entry int
	p     *sdk.Prompt
}

func (a kept) cmp(b kept) int {
	if a.key != b.key {
		if a.key < b.key {
			return -1
		}
		return 1
	}
	return a.entry - b.entry
}

type keptHeap []kept

func (h keptHeap) Len() int           { return len(h) }
func (h keptHeap) Less(i, j int) bool { return h[i].cmp(h[j]) > 0 }
func (h keptHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *keptHeap) Push(x any)        { *h = append(*h, x.(kept)) }
func (h *keptHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (d *decoder) keep(entry int, p *sdk.Prompt) {
	k := kept{key: mix(uint64(d.opt.Seed) ^ mix(uint64(entry))), entry: entry, p: p}
	switch {
	case d.opt.Max == 0:
		d.kept = append(d.kept, k)
	case len(d.kept) < d.opt.Max:
		heap.Push(&d.kept, k)
	case k.cmp(d.kept[0]) < 0:
		d.kept[0] = k
		heap.Fix(&d.kept, 0)
	}
}

// mix is splitmix64's finalizer: a bijection that spreads nearby inputs.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (d *decoder) file() error {
	start := d.dec.InputOffset()
	tok, err := d.token()
	if err == io.EOF {
		return fmt.Errorf("%s: empty file, want a JSON array of conversations", d.name)
	}
	if err != nil {
		return err
	}
	if tok != json.Delim('[') {
		return d.errorf(start, "want a JSON array of conversations, got %s", describe(tok))
	}
	for d.dec.More() {
		if err := d.entry(d.entries); err != nil {
			return err
		}
		d.entries++
	}
	if _, err := d.token(); err != nil { // ']', or an error More left for Token
		return err
	}
	end := d.dec.InputOffset()
	if _, err := d.dec.Token(); err != io.EOF {
		return d.errorf(end, "unexpected data after the array")
	}
	return nil
}

// entry reads conversation i and keeps its prompt if it has one that passes.
func (d *decoder) entry(i int) error {
	start := d.dec.InputOffset()
	tok, err := d.token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return d.errorf(start, "[%d]: want an object, got %s", i, describe(tok))
	}
	var pair turnPair
	for d.dec.More() {
		key, err := d.token()
		if err != nil {
			return err
		}
		at := d.dec.InputOffset()
		switch key {
		case "id":
			tok, err := d.token()
			if err != nil {
				return err
			}
			if _, ok := tok.(string); !ok {
				return d.errorf(at, "[%d].id: want a string, got %s", i, describe(tok))
			}
		case "conversations":
			pair = turnPair{}
			if err := d.conversations(i, &pair); err != nil {
				return err
			}
		default:
			if err := d.skip(); err != nil {
				return err
			}
		}
	}
	if _, err := d.token(); err != nil {
		return err
	}

	if !pair.answered {
		d.noPair++
		return nil
	}
	in := words(pair.prompt)
	switch {
	case in < MinWords:
		d.shortPrompt++
	case pair.reply < MinWords:
		d.shortReply++
	case in > d.opt.MaxPrompt:
		d.longPrompt++
	case in+pair.reply > d.opt.MaxTotal:
		d.longTotal++
	default:
		d.keep(i, &sdk.Prompt{Text: pair.prompt, OutputTokens: int32(pair.reply)})
	}
	return nil
}

// turnPair follows a conversation's turns to its first human turn and the
// turn after it.
type turnPair struct {
	prompt   string
	human    bool // the first human turn was seen
	done     bool // and the turn after it too
	answered bool // which was a gpt turn,
	reply    int  // of this many words
}

func (p *turnPair) add(from, value string) {
	switch {
	case p.done:
	case p.human:
		p.done = true
		if from == "gpt" {
			p.answered, p.reply = true, words(value)
		}
	case from == "human":
		p.human, p.prompt = true, value
	}
}

func (d *decoder) conversations(i int, pair *turnPair) error {
	at := d.dec.InputOffset()
	tok, err := d.token()
	if err != nil {
		return err
	}
	if tok != json.Delim('[') {
		return d.errorf(at, "[%d].conversations: want an array, got %s", i, describe(tok))
	}
	for j := 0; d.dec.More(); j++ {
		at := d.dec.InputOffset()
		tok, err := d.token()
		if err != nil {
			return err
		}
		if tok != json.Delim('{') {
			return d.errorf(at, "[%d].conversations[%d]: want an object, got %s", i, j, describe(tok))
		}
		var from, value string
		var hasFrom, hasValue bool
		for d.dec.More() {
			key, err := d.token()
			if err != nil {
				return err
			}
			vat := d.dec.InputOffset()
			switch key {
			case "from", "value":
				tok, err := d.token()
				if err != nil {
					return err
				}
				s, ok := tok.(string)
				if key == "from" {
					if !ok {
						return d.errorf(vat, `[%d].conversations[%d].from: want "human" or "gpt", got %s`, i, j, describe(tok))
					}
					from, hasFrom = s, true
				} else {
					if !ok {
						return d.errorf(vat, "[%d].conversations[%d].value: want a string, got %s", i, j, describe(tok))
					}
					value, hasValue = s, true
				}
			default:
				if err := d.skip(); err != nil {
					return err
				}
			}
		}
		if _, err := d.token(); err != nil {
			return err
		}
		switch {
		case !hasFrom:
			return d.errorf(at, `[%d].conversations[%d]: no "from"`, i, j)
		case !hasValue:
			return d.errorf(at, `[%d].conversations[%d]: no "value"`, i, j)
		}
		pair.add(from, value)
	}
	_, err = d.token()
	return err
}

// skip reads past one value of any kind.
func (d *decoder) skip() error {
	depth := 0
	for {
		tok, err := d.token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// token is dec.Token with its errors placed in the file. io.EOF is returned as
// is only where the file may end, before its first token.
func (d *decoder) token() (json.Token, error) {
	at := d.dec.InputOffset()
	tok, err := d.dec.Token()
	if err == nil {
		return tok, nil
	}
	if err == io.EOF && at == 0 {
		return nil, err
	}
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return nil, d.errorAtEnd("unexpected end of file")
	case errors.As(err, &syn):
		return nil, d.syntaxError(d.dec.InputOffset(), syn.Error())
	}
	return nil, fmt.Errorf("%s: %w", d.name, err) // a read error
}

// noPrompts explains why no entry gave a prompt.
func (d *decoder) noPrompts() error {
	if d.entries == 0 {
		return fmt.Errorf("%s: no prompts: the array is empty", d.name)
	}
	var why []string
	for _, c := range []struct {
		n    int
		what string
	}{
		{d.noPair, "without a human turn answered by a gpt turn"},
		{d.shortPrompt, fmt.Sprintf("with a prompt under %d words", MinWords)},
		{d.shortReply, fmt.Sprintf("with a reply under %d words", MinWords)},
		{d.longPrompt, fmt.Sprintf("with a prompt over %d words", d.opt.MaxPrompt)},
		{d.longTotal, fmt.Sprintf("with prompt and reply over %d words", d.opt.MaxTotal)},
	} {
		if c.n > 0 {
			why = append(why, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	return fmt.Errorf("%s: no prompts: read %d %s, dropped %s", d.name, d.entries, plural(d.entries, "entry", "entries"), strings.Join(why, ", "))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// words counts white-space-separated words without allocating.
func words(s string) int {
	n, in := 0, false
	for _, r := range s {
		if unicode.IsSpace(r) {
			in = false
		} else if !in {
			in = true
			n++
		}
	}
	return n
}

// describe renders a token for "got ..." in an error.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "an array"
	case string:
		if len(v) > 40 {
			cut := 40
			for cut > 0 && !utf8.RuneStart(v[cut]) {
				cut--
			}
			return strconv.Quote(v[:cut]) + "..."
		}
		return strconv.Quote(v)
	case json.Number:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return "null"
	}
	return fmt.Sprint(tok)
}

// Errors are placed after the fact: the file is read again up to the error's
// offset, so that decoding need not count lines.

// errorf reports a problem with the value that starts at or after offset at,
// past white space and the ',' or ':' before it.
func (d *decoder) errorf(at int64, format string, args ...any) error {
	pos, _ := d.seek(at, " \t\r\n,:")
	return d.errorAt(pos, fmt.Sprintf(format, args...))
}

func (d *decoder) errorAtEnd(msg string) error {
	size, err := d.r.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("%s: %s", d.name, msg)
	}
	return d.errorAt(size, msg)
}

// syntaxError places a syntax error that json.Decoder met at offset at. Its
// own offsets count from different places depending on where it found the
// error, so the bad byte is found again here: at is where the failing token
// starts, and a scalar there is decoded afresh to find the byte within it.
func (d *decoder) syntaxError(at int64, msg string) error {
	if strings.HasPrefix(msg, "invalid character '") && strings.HasSuffix(msg, "'") {
		// json.Decoder.Token gives no context only at the start of an object.
		msg += " looking for beginning of object key string"
	}
	pos, c := d.seek(at, " \t\r\n")
	if c >= 0 && !strings.ContainsRune("{}[],:", rune(c)) {
		if _, err := d.r.Seek(pos, io.SeekStart); err == nil {
			var raw json.RawMessage
			err := json.NewDecoder(d.r).Decode(&raw)
			var syn *json.SyntaxError
			switch {
			case errors.Is(err, io.ErrUnexpectedEOF):
				return d.errorAtEnd("unexpected end of file")
			case errors.As(err, &syn) && syn.Offset > 0:
				pos += syn.Offset - 1
			}
		}
	}
	return d.errorAt(pos, msg)
}

// seek returns the offset of the first byte at or after at that is not in
// skip, and that byte (-1 at the end of the file).
func (d *decoder) seek(at int64, skip string) (int64, int) {
	if _, err := d.r.Seek(at, io.SeekStart); err != nil {
		return at, -1
	}
	br := bufio.NewReader(d.r)
	for {
		c, err := br.ReadByte()
		if err != nil {
			return at, -1
		}
		if strings.IndexByte(skip, c) < 0 {
			return at, int(c)
		}
		at++
	}
}

// errorAt returns msg placed at byte offset pos as file:line:col.
func (d *decoder) errorAt(pos int64, msg string) error {
	line, col := 1, 1
	if _, err := d.r.Seek(0, io.SeekStart); err == nil {
		br := bufio.NewReaderSize(d.r, 1<<16)
		for off := int64(0); off < pos; off++ {
			c, err := br.ReadByte()
			if err != nil {
				break
			}
			if c == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
	}
	return fmt.Errorf("%s:%d:%d: %s", d.name, line, col, msg)
}
