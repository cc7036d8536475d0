package stream

import (
	"math"
	"unicode/utf16"
	"unicode/utf8"
)

// chunk holds the fields of one streamed JSON object that this package
// reads, for OpenAI-style and TGI streams alike. The byte slices alias the
// event data or the decoder's arena and are valid until the next decode.
//
// A hand-written decoder fills it because it runs once per token for every
// stream: it validates the whole object as encoding/json would, allocates
// nothing in the steady state, and is several times faster than
// json.Unmarshal into a struct. FuzzDecodeChunk checks it against
// encoding/json.
type chunk struct {
	// OpenAI completions and chat.
	content   []byte // text, reasoning and content of every choice, in order
	finish    []byte
	hasFinish bool
	hasUsage  bool
	prompt    int64 // -1 when absent
	compl     int64 // -1 when absent
	// Errors: OpenAI {"error":{...}}, TGI {"error":"..."}, vLLM {"object":"error",...}.
	hasError  bool
	errMsg    []byte
	errType   []byte
	object    []byte
	message   []byte
	typ       []byte
	errorType []byte
	// TGI.
	hasToken     bool
	tokenText    []byte
	special      bool
	hasGenerated bool
	hasDetails   bool
	detFinish    []byte
	hasDetFinish bool
	genTokens    int64 // -1 when absent
	inputLen     int64 // -1 when absent
}

// maxDepth matches encoding/json's nesting limit.
const maxDepth = 10000

type decoder struct {
	b     []byte
	i     int
	depth int
	bad   bool
	key   []byte
	arena []byte // unescaped strings; never rewritten during one decode
}

// decode parses data into c and reports whether data is one valid JSON
// object whose known fields have the expected types.
func (c *chunk) decode(d *decoder, data []byte) bool {
	content := c.content[:0]
	*c = chunk{content: content, prompt: -1, compl: -1, genTokens: -1, inputLen: -1}
	d.b, d.i, d.depth, d.bad, d.arena = data, 0, 0, false, d.arena[:0]
	d.ws()
	if d.peek() != '{' {
		return false
	}
	d.enter()
	for first := true; d.field(&first); {
		switch string(d.key) {
		case "choices":
			c.choices(d)
		case "usage":
			c.usage(d)
		case "error":
			c.errorField(d)
		case "object":
			c.object, _ = d.lenientStr()
		case "message":
			c.message, _ = d.lenientStr()
		case "type":
			c.typ, _ = d.lenientStr()
		case "error_type":
			c.errorType, _ = d.lenientStr()
		case "token":
			c.token(d)
		case "generated_text":
			_, c.hasGenerated = d.strictStr()
		case "details":
			c.details(d)
		default:
			d.skip()
		}
	}
	d.ws()
	if d.i != len(d.b) {
		d.fail()
	}
	return !d.bad
}

func (c *chunk) choices(d *decoder) {
	c.content, c.finish, c.hasFinish = c.content[:0], nil, false
	switch d.peek() {
	case 'n':
		d.null()
		return
	case '[':
	default:
		d.fail()
		return
	}
	d.enter()
	for first := true; d.elem(&first); {
		switch d.peek() {
		case 'n':
			d.null()
		case '{':
			c.choice(d)
		default:
			d.fail()
		}
	}
}

func (c *chunk) choice(d *decoder) {
	var text, content, reasoningContent, reasoning, finish []byte
	var hasFinish bool
	d.enter()
	for first := true; d.field(&first); {
		switch string(d.key) {
		case "text":
			text, _ = d.strictStr()
		case "finish_reason":
			finish, hasFinish = d.strictStr()
		case "delta":
			content, reasoningContent, reasoning = nil, nil, nil
			switch d.peek() {
			case 'n':
				d.null()
				continue
			case '{':
			default:
				d.fail()
				continue
			}
			d.enter()
			for first := true; d.field(&first); {
				switch string(d.key) {
				case "content":
					content, _ = d.strictStr()
				case "reasoning_content":
					reasoningContent, _ = d.strictStr()
				case "reasoning":
					reasoning, _ = d.strictStr()
				default:
					d.skip()
				}
			}
		default:
			d.skip()
		}
	}
	// vLLM has renamed reasoning_content to reasoning and may send both;
	// count the text once.
	if len(reasoningContent) == 0 {
		reasoningContent = reasoning
	}
	c.content = append(c.content, text...)
	c.content = append(c.content, reasoningContent...)
	c.content = append(c.content, content...)
	if hasFinish {
		c.finish, c.hasFinish = finish, true
	}
}

func (c *chunk) usage(d *decoder) {
	c.hasUsage, c.prompt, c.compl = false, -1, -1
	switch d.peek() {
	case 'n':
		d.null()
		return
	case '{':
	default:
		d.fail()
		return
	}
	c.hasUsage = true
	d.enter()
	for first := true; d.field(&first); {
		switch string(d.key) {
		case "prompt_tokens":
			c.prompt = d.strictInt()
		case "completion_tokens":
			c.compl = d.strictInt()
		default:
			d.skip()
		}
	}
}

// errorField accepts any non-null error value, so that an odd error shape
// is still reported as an error rather than as a malformed chunk.
func (c *chunk) errorField(d *decoder) {
	c.hasError, c.errMsg, c.errType = false, nil, nil
	switch d.peek() {
	case 'n':
		d.null()
		return
	case '"':
		c.hasError = true
		c.errMsg, _ = d.strictStr()
		return
	case '{':
	default:
		c.hasError = true
		d.skip()
		return
	}
	c.hasError = true
	d.enter()
	for first := true; d.field(&first); {
		switch string(d.key) {
		case "message":
			c.errMsg, _ = d.lenientStr()
		case "type":
			c.errType, _ = d.lenientStr()
		default:
			d.skip()
		}
	}
}

func (c *chunk) token(d *decoder) {
	c.hasToken, c.tokenText, c.special = false, nil, false
	switch d.peek() {
	case 'n':
		d.null()
		return
	case '{':
	default:
		d.fail()
		return
	}
	c.hasToken = true
	d.enter()
	for first := true; d.field(&first); {
		switch string(d.key) {
		case "text":
			c.tokenText, _ = d.strictStr()
		case "special":
			c.special = d.strictBool()
		default:
			d.skip()
		}
	}
}

func (c *chunk) details(d *decoder) {
	c.hasDetails, c.detFinish, c.hasDetFinish, c.genTokens, c.inputLen = false, nil, false, -1, -1
	switch d.peek() {
	case 'n':
		d.null()
		return
	case '{':
	default:
		d.fail()
		return
	}
	c.hasDetails = true
	d.enter()
	for first := true; d.field(&first); {
		switch string(d.key) {
		case "finish_reason":
			c.detFinish, c.hasDetFinish = d.strictStr()
		case "generated_tokens":
			c.genTokens = d.strictInt()
		case "input_length":
			c.inputLen = d.strictInt()
		default:
			d.skip()
		}
	}
}

// fail marks the input invalid and moves to its end, which ends every loop.
func (d *decoder) fail() {
	d.bad = true
	d.i = len(d.b)
}

func (d *decoder) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// enter consumes the '{' or '[' at d.i.
func (d *decoder) enter() {
	d.i++
	d.depth++
	if d.depth > maxDepth {
		d.fail()
	}
}

// field advances to the next member of an object, leaving its name in d.key
// and d.i at its value. It returns false at the closing brace or on error.
func (d *decoder) field(first *bool) bool {
	if d.bad {
		return false
	}
	d.ws()
	if *first {
		*first = false
		if d.peek() == '}' {
			d.i++
			d.depth--
			return false
		}
	} else {
		switch d.peek() {
		case ',':
			d.i++
			d.ws()
		case '}':
			d.i++
			d.depth--
			return false
		default:
			d.fail()
			return false
		}
	}
	if d.peek() != '"' {
		d.fail()
		return false
	}
	d.key = d.str()
	d.ws()
	if d.peek() != ':' {
		d.fail()
		return false
	}
	d.i++
	d.ws()
	return !d.bad
}

// elem advances to the next element of an array.
func (d *decoder) elem(first *bool) bool {
	if d.bad {
		return false
	}
	d.ws()
	if *first {
		*first = false
		if d.peek() == ']' {
			d.i++
			d.depth--
			return false
		}
		return true
	}
	switch d.peek() {
	case ',':
		d.i++
		d.ws()
		return true
	case ']':
		d.i++
		d.depth--
		return false
	}
	d.fail()
	return false
}

// skip consumes one value of any type.
func (d *decoder) skip() {
	switch c := d.peek(); {
	case c == '"':
		d.str()
	case c == '{':
		d.enter()
		for first := true; d.field(&first); {
			d.skip()
		}
	case c == '[':
		d.enter()
		for first := true; d.elem(&first); {
			d.skip()
		}
	case c == 't':
		d.literal("true")
	case c == 'f':
		d.literal("false")
	case c == 'n':
		d.null()
	case c == '-' || c >= '0' && c <= '9':
		d.number()
	default:
		d.fail()
	}
}

func (d *decoder) literal(s string) {
	if len(d.b)-d.i >= len(s) && string(d.b[d.i:d.i+len(s)]) == s {
		d.i += len(s)
		return
	}
	d.fail()
}

func (d *decoder) null() { d.literal("null") }

// strictStr reads a string or null; any other type makes the chunk invalid.
func (d *decoder) strictStr() ([]byte, bool) {
	switch d.peek() {
	case '"':
		return d.str(), true
	case 'n':
		d.null()
		return nil, false
	}
	d.fail()
	return nil, false
}

// lenientStr reads a string, or skips a value of another type.
func (d *decoder) lenientStr() ([]byte, bool) {
	if d.peek() == '"' {
		return d.str(), true
	}
	d.skip()
	return nil, false
}

// strictBool reads true, false or null (false).
func (d *decoder) strictBool() bool {
	switch d.peek() {
	case 't':
		d.literal("true")
		return true
	case 'f':
		d.literal("false")
	case 'n':
		d.null()
	default:
		d.fail()
	}
	return false
}

// strictInt reads an integer that fits int64, or null (-1).
func (d *decoder) strictInt() int64 {
	c := d.peek()
	if c == 'n' {
		d.null()
		return -1
	}
	if c != '-' && (c < '0' || c > '9') {
		d.fail()
		return -1
	}
	lit := d.number()
	if d.bad {
		return -1
	}
	neg := lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	var n uint64
	for _, c := range lit {
		if c < '0' || c > '9' || n > (1<<63)/10 {
			d.fail() // a fraction, an exponent or overflow
			return -1
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case neg && n == 1<<63:
		return math.MinInt64
	case neg && n < 1<<63:
		return -int64(n)
	case !neg && n < 1<<63:
		return int64(n)
	}
	d.fail()
	return -1
}

// number consumes a JSON number and returns its literal.
func (d *decoder) number() []byte {
	start := d.i
	if d.peek() == '-' {
		d.i++
	}
	switch c := d.peek(); {
	case c == '0':
		d.i++
	case c >= '1' && c <= '9':
		d.digits()
	default:
		d.fail()
		return nil
	}
	if d.peek() == '.' {
		d.i++
		if !d.digits() {
			d.fail()
			return nil
		}
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.i++
		if c := d.peek(); c == '+' || c == '-' {
			d.i++
		}
		if !d.digits() {
			d.fail()
			return nil
		}
	}
	return d.b[start:d.i]
}

func (d *decoder) digits() bool {
	start := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	return d.i > start
}

// str consumes a string and returns its value, unescaped as encoding/json
// does: invalid UTF-8 and lone surrogates become U+FFFD.
func (d *decoder) str() []byte {
	d.i++ // opening quote
	start := d.i
	var high byte
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if high < utf8.RuneSelf || utf8.Valid(s) {
				return s
			}
			return d.unescape(s)
		case c == '\\':
			return d.strSlow(start)
		case c < ' ':
			d.fail()
			return nil
		}
		high |= c
		d.i++
	}
	d.fail()
	return nil
}

// strSlow validates the rest of a string that has escapes, then unescapes it.
func (d *decoder) strSlow(start int) []byte {
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			return d.unescape(s)
		case c < ' ':
			d.fail()
			return nil
		case c == '\\':
			if d.i+1 >= len(d.b) {
				d.fail()
				return nil
			}
			switch d.b[d.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i += 2
			case 'u':
				if hex4(d.b[d.i+2:]) < 0 {
					d.fail()
					return nil
				}
				d.i += 6
			default:
				d.fail()
				return nil
			}
		default:
			d.i++
		}
	}
	d.fail()
	return nil
}

// unescape decodes a validated string body into the arena.
func (d *decoder) unescape(s []byte) []byte {
	start := len(d.arena)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			switch s[i+1] {
			case 'b':
				d.arena = append(d.arena, '\b')
			case 'f':
				d.arena = append(d.arena, '\f')
			case 'n':
				d.arena = append(d.arena, '\n')
			case 'r':
				d.arena = append(d.arena, '\r')
			case 't':
				d.arena = append(d.arena, '\t')
			case 'u':
				r := rune(hex4(s[i+2:]))
				i += 6
				if utf16.IsSurrogate(r) {
					if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if dec := utf16.DecodeRune(r, rune(hex4(s[i+2:]))); dec != utf8.RuneError {
							d.arena = utf8.AppendRune(d.arena, dec)
							i += 6
							continue
						}
					}
					r = utf8.RuneError
				}
				d.arena = utf8.AppendRune(d.arena, r)
				continue
			default: // '"', '\\', '/'
				d.arena = append(d.arena, s[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			d.arena = append(d.arena, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			d.arena = utf8.AppendRune(d.arena, r)
			i += size
		}
	}
	return d.arena[start:]
}

// hex4 decodes four hex digits, or returns -1.
func hex4(b []byte) int {
	if len(b) < 4 {
		return -1
	}
	n := 0
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		n = n<<4 | int(c)
	}
	return n
}
