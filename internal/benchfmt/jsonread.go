package benchfmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is a problem with an input file. Line and Col (bytes, from 1) are 0
// when it is about the file as a whole; Path is the JSON path of the field,
// empty for the top level.
type Error struct {
	File      string
	Line, Col int
	Path      string
	Msg       string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// doc is one input file, checked to be JSON (Python's flavour: bare NaN,
// Infinity and -Infinity are allowed, as json.dump writes them) and read
// through offsets, so that every error can be placed and nothing is held
// beyond the bytes themselves.
type doc struct {
	name string
	src  []byte // the input with Python's bare constants rewritten (same offsets)
	// special maps the offset of each rewritten constant to its value.
	special map[int]float64
	// marks place the values of a document converted from YAML: src is then
	// JSON written from the YAML, and an error names the YAML's line:col.
	marks []mark
}

// mark is where, in a YAML input, the JSON value at offset at came from.
type mark struct{ at, line, col int }

// errStop ends an iteration early; the caller discards it.
var errStop = errors.New("stop")

// newDoc rewrites Python's non-standard constants in a copy: NaN becomes
// "N", Infinity "I" and -Infinity "-I", each padded with spaces to the same
// length, so that offsets (and so line:col) stay those of the input. Only a
// constant where a value may start is rewritten: as a key it stays invalid.
func newDoc(name string, b []byte) *doc {
	d := &doc{name: name, src: b}
	var (
		stack  []byte // open '{' and '['
		last   byte   // the last byte outside strings and space
		inStr  bool
		copied bool
	)
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr, last = false, '"'
			}
			continue
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '"':
			inStr = true
			continue
		case '{', '[':
			stack = append(stack, c)
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
		valueStart := len(stack) == 0 ||
			stack[len(stack)-1] == '[' && (last == '[' || last == ',') ||
			stack[len(stack)-1] == '{' && last == ':'
		var lit, repl string
		var v float64
		switch {
		case !valueStart:
		case c == 'N' && bytes.HasPrefix(b[i:], []byte("NaN")):
			lit, repl, v = "NaN", `"N"`, math.NaN()
		case c == 'I' && bytes.HasPrefix(b[i:], []byte("Infinity")):
			lit, repl, v = "Infinity", `"I"     `, math.Inf(1)
		case c == '-' && bytes.HasPrefix(b[i:], []byte("-Infinity")):
			lit, repl, v = "-Infinity", `"-I"     `, math.Inf(-1)
		}
		last = c
		if lit == "" {
			continue
		}
		if !copied {
			d.src = bytes.Clone(b)
			copied = true
		}
		copy(d.src[i:], repl)
		if d.special == nil {
			d.special = map[int]float64{}
		}
		d.special[i] = v
		i += len(lit) - 1
	}
	return d
}

// values checks the syntax and returns the start offset of each top-level
// value: one, or several where results were appended to one file (vLLM's
// --append-result writes one JSON document a line).
func (d *doc) values() ([]int, error) {
	if at := skipSpace(d.src, 0); at < len(d.src) && json.Valid(d.src) {
		return []int{at}, nil // the common case, in one pass
	}
	var starts []int
	for pos := 0; ; {
		at := skipSpace(d.src, pos)
		if at == len(d.src) {
			break
		}
		// A decoder a value: its SyntaxError offsets count from at.
		dec := json.NewDecoder(bytes.NewReader(d.src[at:]))
		if err := dec.Decode(&discard{}); err != nil {
			return nil, d.syntaxError(at, err)
		}
		starts = append(starts, at)
		pos = at + int(dec.InputOffset())
	}
	if len(starts) == 0 {
		return nil, &Error{File: d.name, Msg: "empty file, want a JSON object"}
	}
	return starts, nil
}

// discard checks a value's syntax without keeping a copy of it.
type discard struct{}

func (*discard) UnmarshalJSON([]byte) error { return nil }

// syntaxError places a decoder error for the value at offset at: a
// SyntaxError was met after reading Offset bytes from there.
func (d *doc) syntaxError(at int, err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return d.errorAt(at+max(int(syn.Offset)-1, 0), "", "invalid JSON: "+syn.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return d.errorAt(len(d.src), "", "invalid JSON: unexpected end of file")
	}
	return d.errorAt(at, "", "invalid JSON: "+err.Error())
}

// errorAt is an error about the value at byte offset pos.
func (d *doc) errorAt(pos int, path, msg string) *Error {
	pos = min(max(pos, 0), len(d.src))
	if d.marks != nil {
		i, _ := slices.BinarySearchFunc(d.marks, pos, func(m mark, p int) int { return m.at - p })
		if i == len(d.marks) || d.marks[i].at > pos {
			i--
		}
		if i < 0 {
			return &Error{File: d.name, Path: path, Msg: msg}
		}
		return &Error{File: d.name, Line: d.marks[i].line, Col: d.marks[i].col, Path: path, Msg: msg}
	}
	line := 1 + bytes.Count(d.src[:pos], []byte("\n"))
	col := pos - bytes.LastIndexByte(d.src[:pos], '\n')
	return &Error{File: d.name, Line: line, Col: col, Path: path, Msg: msg}
}

// want is the error for a value of the wrong type.
func (d *doc) want(v val, what string) error {
	return d.errorAt(v.at, v.path(), "want "+what+", got "+d.describe(v))
}

// missing is the error for a required field that is absent from the object
// at obj.
func (d *doc) missing(obj val, key, what string) error {
	return d.errorAt(obj.at, join(obj.path(), key), "missing, want "+what)
}

// val is one JSON value in the document, by offset; it is valid JSON. Its
// path is base, or base[elem-1] for an array element: built only for an
// error, since arrays of per-request values run to millions of numbers.
type val struct {
	at, end int
	base    string
	elem    int
}

func (d *doc) val(at int, path string) val {
	return val{at: at, end: scanValue(d.src, at), base: path}
}

func (v val) path() string {
	if v.elem == 0 {
		return v.base
	}
	return v.base + "[" + strconv.Itoa(v.elem-1) + "]"
}

func (d *doc) kind(v val) byte {
	c := d.src[v.at]
	switch c {
	case '{', '[', '"', 't', 'f', 'n':
		return c
	}
	return '0'
}

func (d *doc) isNull(v val) bool { return d.src[v.at] == 'n' }

// describe renders a value for "got ..." in an error.
func (d *doc) describe(v val) string {
	switch d.kind(v) {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 'n':
		return "null"
	case 't', 'f':
		return "boolean " + string(d.src[v.at:v.end])
	case '"':
		if f, ok := d.special[v.at]; ok {
			return "number " + pyFloat(f)
		}
		s := d.str(v)
		if len(s) > 40 {
			cut := 40
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
			return "string " + strconv.Quote(s[:cut]) + "..."
		}
		return "string " + strconv.Quote(s)
	}
	raw := string(d.src[v.at:v.end])
	if len(raw) > 40 {
		raw = raw[:40] + "..."
	}
	return "number " + raw
}

// str decodes a string value (which the caller knows to be one).
func (d *doc) str(v val) string {
	raw := d.src[v.at:v.end]
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	_ = json.Unmarshal(raw, &s) // valid JSON, so it succeeds
	return s
}

// Typed reads: each returns a placed error naming the path and the expected
// type when the value is of another type.

func (d *doc) String(v val) (string, error) {
	if d.kind(v) != '"' || d.isSpecial(v) {
		return "", d.want(v, "a string")
	}
	return d.str(v), nil
}

func (d *doc) isSpecial(v val) bool {
	_, ok := d.special[v.at]
	return ok
}

// OptString is a string or null ("" for null).
func (d *doc) OptString(v val) (string, error) {
	if d.isNull(v) {
		return "", nil
	}
	if d.kind(v) != '"' || d.isSpecial(v) {
		return "", d.want(v, "a string or null")
	}
	return d.str(v), nil
}

func (d *doc) Bool(v val) (bool, error) {
	switch d.kind(v) {
	case 't':
		return true, nil
	case 'f':
		return false, nil
	}
	return false, d.want(v, "a boolean")
}

func (d *doc) Float(v val) (float64, error) {
	return d.float(v, "a number")
}

func (d *doc) float(v val, what string) (float64, error) {
	if f, ok := d.special[v.at]; ok {
		return f, nil
	}
	if d.kind(v) != '0' {
		return 0, d.want(v, what)
	}
	f, err := strconv.ParseFloat(string(d.src[v.at:v.end]), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) { // out of range reads as ±Inf or 0, as in Python
		return 0, d.want(v, what)
	}
	return f, nil
}

// OptFloat is a number or null; ok is false for null.
func (d *doc) OptFloat(v val) (f float64, ok bool, err error) {
	if d.isNull(v) {
		return 0, false, nil
	}
	f, err = d.float(v, "a number or null")
	return f, err == nil, err
}

func (d *doc) Int(v val) (int64, error) {
	return d.int(v, "an integer")
}

func (d *doc) int(v val, what string) (int64, error) {
	if d.kind(v) != '0' || d.isSpecial(v) {
		return 0, d.want(v, what)
	}
	n, err := strconv.ParseInt(string(d.src[v.at:v.end]), 10, 64)
	if err != nil {
		return 0, d.want(v, what)
	}
	return n, nil
}

// OptInt is an integer or null; ok is false for null.
func (d *doc) OptInt(v val) (n int64, ok bool, err error) {
	if d.isNull(v) {
		return 0, false, nil
	}
	n, err = d.int(v, "an integer or null")
	return n, err == nil, err
}

// Object calls f for each member of the object v, in order. Python's json
// keeps the last of repeated keys, and so does the caller by overwriting.
func (d *doc) Object(v val, f func(key string, m val) error) error {
	if d.kind(v) != '{' {
		return d.want(v, "an object")
	}
	i := skipSpace(d.src, v.at+1)
	if d.src[i] == '}' {
		return nil
	}
	path := v.path()
	for {
		kend := scanString(d.src, i)
		key := d.str(val{at: i, end: kend})
		i = skipSpace(d.src, kend)
		i = skipSpace(d.src, i+1) // ':'
		m := d.val(i, join(path, key))
		if err := f(key, m); err != nil {
			return err
		}
		i = skipSpace(d.src, m.end)
		if d.src[i] == '}' {
			return nil
		}
		i = skipSpace(d.src, i+1) // ','
	}
}

// Array calls f for each element of the array v.
func (d *doc) Array(v val, f func(i int, e val) error) error {
	if d.kind(v) != '[' {
		return d.want(v, "an array")
	}
	return d.elems(v, f)
}

func (d *doc) elems(v val, f func(i int, e val) error) error {
	i := skipSpace(d.src, v.at+1)
	if d.src[i] == ']' {
		return nil
	}
	path := v.path()
	for n := 0; ; n++ {
		e := val{at: i, end: scanValue(d.src, i), base: path, elem: n + 1}
		if err := f(n, e); err != nil {
			return err
		}
		i = skipSpace(d.src, e.end)
		if d.src[i] == ']' {
			return nil
		}
		i = skipSpace(d.src, i+1)
	}
}

func (d *doc) Floats(v val) ([]float64, error) {
	var out []float64
	err := d.Array(v, func(_ int, e val) error {
		f, err := d.Float(e)
		out = append(out, f)
		return err
	})
	return out, err
}

func (d *doc) Ints(v val) ([]int64, error) {
	var out []int64
	err := d.Array(v, func(_ int, e val) error {
		n, err := d.Int(e)
		out = append(out, n)
		return err
	})
	return out, err
}

func (d *doc) Strings(v val) ([]string, error) {
	var out []string
	err := d.Array(v, func(_ int, e val) error {
		s, err := d.String(e)
		out = append(out, s)
		return err
	})
	return out, err
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// The scanners below run on JSON already checked by doc.values, so they
// need not handle malformed input.

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString returns the end of the string starting at b[i] == '"'.
func scanString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// scanValue returns the end of the value starting at i.
func scanValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return scanString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = scanString(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && !strings.ContainsRune(",]} \t\r\n", rune(b[j])) {
		j++
	}
	return j
}
