package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/llmsweep/llmsweep/internal/matrix"
)

// decode decodes line n. Lines as compile writes them take a fast path;
// anything else goes through encoding/json, strictly: a field the Config lacks
// is an error, since ignoring it would hide a change. strs interns the values
// that repeat from line to line; it may be nil.
func (m *matrixFile) decode(n int, l line, strs map[string]string) (matrix.Config, error) {
	b := m.data[l.off:l.end]
	if c, ok := decodeFast(b, l.batchEnd-l.off, strs); ok {
		return c, nil
	}
	var c matrix.Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		col := int(dec.InputOffset()) + 1
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			col = int(syn.Offset)
		case errors.As(err, &typ) && typ.Field != "":
			return c, m.errorf(n, keyCol(b, typ.Field), "%s: cannot be %s, want %s", typ.Field, typ.Value, typ.Type)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return c, m.errorf(n, len(b)+1, "line ends inside the config")
		}
		msg := strings.TrimPrefix(err.Error(), "json: ")
		if key, ok := strings.CutPrefix(msg, "unknown field "); ok {
			if k, err := strconv.Unquote(key); err == nil {
				col = keyCol(b, k)
			}
		}
		return c, m.errorf(n, col, "%s", msg)
	}
	end := int(dec.InputOffset())
	if _, err := dec.Token(); err != io.EOF {
		return c, m.errorf(n, end+1, "unexpected data after the config")
	}
	// A repeated key would make the decoded value disagree with the index.
	if c.Fingerprint != string(b[len(fpKey):len(fpKey)+fpHex]) || c.Batch != string(m.batch(l)) {
		return c, m.errorf(n, 0, "fingerprint or batch is given twice")
	}
	return c, nil
}

// keyCol returns the column of the key name in the JSON object b, 0 if absent.
func keyCol(b []byte, name string) int {
	q, _ := json.Marshal(name)
	return bytes.Index(b, append(q, ':')) + 1
}

// decodeFast decodes a line laid out as matrix.Config.JSON writes it: fields in
// order, no whitespace, strings of printable ASCII without escapes. It is
// several times faster than encoding/json, which matters when a whole catalog
// is added or bumped. Where it returns ok, encoding/json would decode the same
// Config without error (FuzzDecode holds it to that); where it cannot tell, it
// returns !ok and leaves the line, and its error, to encoding/json.
func decodeFast(b []byte, batchEnd int, strs map[string]string) (c matrix.Config, ok bool) {
	d := fastDecoder{b: b, p: batchEnd + 1, ok: true, strs: strs}
	c.Fingerprint = string(b[len(fpKey) : len(fpKey)+fpHex])
	c.Batch = d.intern(b[batchStart:batchEnd])
	c.Model = d.str("model")
	c.Repo = d.str("repo")
	c.Revision = d.str("revision")
	c.Hardware = d.str("hardware")
	c.GPU = d.str("gpu")
	c.GPUs = d.int("gpus")
	c.Framework = d.str("framework")
	c.Version = d.str("version")
	c.Image = d.str("image")
	c.Quantization = d.str("quantization")
	c.TP = d.int("tp")
	c.ServerDigest = d.str("server_digest")
	c.Workload = d.str("workload")
	c.WorkloadDigest = d.str("workload_digest")
	if d.has("concurrency") {
		c.Concurrency = d.int("concurrency")
	}
	if d.has("request_rate") {
		c.RequestRate = d.float("request_rate")
	}
	if d.has("input_tokens") {
		c.InputTokens = d.int("input_tokens")
	}
	if d.has("output_tokens") {
		c.OutputTokens = d.int("output_tokens")
	}
	c.MaxModelLen = d.int("max_model_len")
	return c, d.ok && d.p == len(b)-1 && b[d.p] == '}'
}

type fastDecoder struct {
	b    []byte
	p    int
	ok   bool
	strs map[string]string
}

// has reports whether the next field is key.
func (d *fastDecoder) has(key string) bool {
	r := d.b[d.p:]
	return d.ok && len(r) > len(key)+3 && r[0] == ',' && r[1] == '"' &&
		string(r[2:2+len(key)]) == key && r[2+len(key)] == '"' && r[3+len(key)] == ':'
}

// key consumes ,"key":
func (d *fastDecoder) key(key string) bool {
	if !d.has(key) {
		d.ok = false
		return false
	}
	d.p += len(key) + 4
	return true
}

func (d *fastDecoder) str(key string) string {
	if !d.key(key) || d.p >= len(d.b) || d.b[d.p] != '"' {
		d.ok = false
		return ""
	}
	start := d.p + 1
	for i := start; i < len(d.b); i++ {
		switch c := d.b[i]; {
		case c == '"':
			d.p = i + 1
			return d.intern(d.b[start:i])
		case c < 0x20 || c >= 0x7f || c == '\\':
			// Escapes, control characters and UTF-8 are encoding/json's.
			d.ok = false
			return ""
		}
	}
	d.ok = false
	return ""
}

func (d *fastDecoder) intern(b []byte) string {
	if d.strs == nil {
		return string(b)
	}
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	d.strs[s] = s
	return s
}

// maxDigits is the most digits that always fit an int: 18 or 9.
const maxDigits = strconv.IntSize/64*9 + 9

// int reads a JSON integer of at most maxDigits digits.
func (d *fastDecoder) int(key string) int {
	if !d.key(key) {
		return 0
	}
	r := d.b[d.p:]
	neg := len(r) > 0 && r[0] == '-'
	if neg {
		r = r[1:]
	}
	n, v := 0, 0
	for n < len(r) && n <= maxDigits && '0' <= r[n] && r[n] <= '9' {
		v = v*10 + int(r[n]-'0')
		n++
	}
	if n == 0 || n > maxDigits || (r[0] == '0' && n > 1) {
		d.ok = false
		return 0
	}
	if neg {
		d.p++
		v = -v
	}
	d.p += n
	return v
}

// float reads a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?,
// parsed as encoding/json parses it.
func (d *fastDecoder) float(key string) float64 {
	if !d.key(key) {
		return 0
	}
	r, i := d.b[d.p:], 0
	digits := func() int {
		j := i
		for i < len(r) && '0' <= r[i] && r[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < len(r) && r[i] == '-' {
		i++
	}
	first := i
	if n := digits(); n == 0 || (r[first] == '0' && n > 1) {
		d.ok = false
		return 0
	}
	if i < len(r) && r[i] == '.' {
		i++
		if digits() == 0 {
			d.ok = false
			return 0
		}
	}
	if i < len(r) && (r[i] == 'e' || r[i] == 'E') {
		i++
		if i < len(r) && (r[i] == '+' || r[i] == '-') {
			i++
		}
		if digits() == 0 {
			d.ok = false
			return 0
		}
	}
	f, err := strconv.ParseFloat(string(r[:i]), 64)
	if err != nil {
		d.ok = false
		return 0
	}
	d.p += i
	return f
}
