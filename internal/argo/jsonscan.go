package argo

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// scanner reads the tokens of JSON that encoding/json wrote, the subset of
// json.Decoder's API that jsonToYAML uses, several times faster: it neither
// validates nor allocates for strings without escapes. Input that is not such JSON
// makes it return an error, never a wrong token.
type scanner struct {
	b   []byte
	off int
}

func (s *scanner) skip() {
	for s.off < len(s.b) {
		switch s.b[s.off] {
		case ' ', '\t', '\n', '\r', ',', ':':
			s.off++
		default:
			return
		}
	}
}

// More reports whether the current object or array has another element.
func (s *scanner) More() bool {
	s.skip()
	return s.off < len(s.b) && s.b[s.off] != '}' && s.b[s.off] != ']'
}

// Token returns the next token: a json.Delim, a string, a json.Number, a bool or nil.
func (s *scanner) Token() (json.Token, error) {
	s.skip()
	if s.off >= len(s.b) {
		return nil, fmt.Errorf("yaml: unexpected end of JSON")
	}
	c := s.b[s.off]
	switch {
	case c == '{' || c == '}' || c == '[' || c == ']':
		s.off++
		return json.Delim(c), nil
	case c == '"':
		end := s.off + 1
		escaped := false
		for ; end < len(s.b) && s.b[end] != '"'; end++ {
			if s.b[end] == '\\' {
				escaped = true
				end++
			}
		}
		if end >= len(s.b) {
			return nil, fmt.Errorf("yaml: unterminated string at byte %d", s.off)
		}
		raw := s.b[s.off : end+1]
		s.off = end + 1
		if !escaped {
			return string(raw[1 : len(raw)-1]), nil
		}
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return nil, err
		}
		return str, nil
	case c == 't' && bytes.HasPrefix(s.b[s.off:], []byte("true")):
		s.off += 4
		return true, nil
	case c == 'f' && bytes.HasPrefix(s.b[s.off:], []byte("false")):
		s.off += 5
		return false, nil
	case c == 'n' && bytes.HasPrefix(s.b[s.off:], []byte("null")):
		s.off += 4
		return nil, nil
	case c == '-' || c >= '0' && c <= '9':
		end := s.off
		for end < len(s.b) && bytes.IndexByte([]byte("+-.0123456789eE"), s.b[end]) >= 0 {
			end++
		}
		n := json.Number(s.b[s.off:end])
		s.off = end
		return n, nil
	}
	return nil, fmt.Errorf("yaml: unexpected %q at byte %d of the JSON", c, s.off)
}

// raw returns the next value, whole, as JSON.
func (s *scanner) raw() (json.RawMessage, error) {
	s.skip()
	start := s.off
	depth := 0
	for {
		tok, err := s.Token()
		if err != nil {
			return nil, err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			return json.RawMessage(s.b[start:s.off]), nil
		}
	}
}
