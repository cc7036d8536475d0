package sse

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// reference parses a whole input by following the standard step by step,
// with the Reader's documented limits. It is slow and obvious on purpose.
func reference(in []byte, max int) ([]ev, outcome) {
	in = bytes.TrimPrefix(in, bom)
	var (
		evs            []ev
		data           []byte
		typ, id        string
		hasData, field bool
	)
	for len(in) > 0 {
		i := bytes.IndexAny(in, "\r\n")
		if i < 0 {
			if in[0] != ':' && len(in) > max+lineSlack {
				return evs, endTooLarge
			}
			if in[0] != ':' || field {
				return evs, endTruncated
			}
			return evs, endEOF
		}
		line := in[:i]
		if in[i] == '\r' && i+1 < len(in) && in[i+1] == '\n' {
			i++
		}
		in = in[i+1:]
		switch {
		case len(line) == 0:
			if hasData {
				t := typ
				if t == "" {
					t = "message"
				}
				evs = append(evs, ev{t, string(data[:len(data)-1]), id})
			}
			data, typ, hasData, field = data[:0], "", false, false
			continue
		case line[0] == ':':
			continue
		case len(line) > max+lineSlack:
			return evs, endTooLarge
		}
		field = true
		name, value, ok := strings.Cut(string(line), ":")
		if ok {
			value = strings.TrimPrefix(value, " ")
		}
		switch name {
		case "data":
			if len(data)+len(value) > max {
				return evs, endTooLarge
			}
			data = append(append(data, value...), '\n')
			hasData = true
		case "event":
			typ = value
		case "id":
			if !strings.Contains(value, "\x00") {
				id = value
			}
		}
	}
	if field {
		return evs, endTruncated
	}
	return evs, endEOF
}

func FuzzReader(f *testing.F) {
	seeds := []string{
		"",
		"data: hello\n\n",
		"data: a\r\n\r\ndata: b\r\n\r\n",
		"data: a\r\rdata: b\r\r",
		"data: a\r\ndata: b\rdata: c\n\r\n",
		"\xEF\xBB\xBFdata: x\n\n",
		"\xEF\xBB",
		": ping\n\n: ping\n\ndata: {\"choices\":[{\"text\":\"hi\"}]}\n\ndata: [DONE]\n\n",
		"event: add\nid: 3\ndata: 1\ndata: 2\n\nid\ndata\n\n",
		"id: a\x00b\ndata: x\n\n",
		"data: a\n\ndata: b\n",
		"data: a\n\ndata: b",
		"event: x\n",
		"retry: 100\nfoo\n:\n\n",
		"data:{\"index\":1,\"token\":{\"id\":1,\"text\":\"a\",\"special\":false}}\n\n",
		"data: " + strings.Repeat("x", 300) + "\n\n",
		":" + strings.Repeat("p", 300) + "\ndata: y\n\n",
		"data: x\r",
		"\r\n\r\n\n\r",
	}
	for _, s := range seeds {
		f.Add([]byte(s), uint16(0))
		f.Add([]byte(s), uint16(8))
	}
	f.Fuzz(func(t *testing.T, in []byte, limit uint16) {
		max := int(limit)
		if max == 0 {
			max = DefaultMaxEventSize
		}
		whole, wend, werr := readAll(bytes.NewReader(in), max)
		if wend == endOther {
			t.Fatalf("unexpected error %v", werr)
		}
		for _, e := range whole {
			if len(e.Data) > max {
				t.Fatalf("event of %d bytes exceeds the limit %d", len(e.Data), max)
			}
		}
		one, oend, oerr := readAll(iotest.OneByteReader(bytes.NewReader(in)), max)
		if oend != wend || !slices.Equal(one, whole) {
			t.Fatalf("1-byte reads differ from whole:\n one %q %v (%v)\nwhole %q %v (%v)", one, oend, oerr, whole, wend, werr)
		}
		ref, rend := reference(in, max)
		if rend != wend || !slices.Equal(ref, whole) {
			t.Fatalf("reference differs:\n ref %q %v\n got %q %v (%v)", ref, rend, whole, wend, werr)
		}
	})
}

var _ io.Reader = (*chunkReader)(nil)

func BenchmarkFuzzBody(b *testing.B) {
	in := []byte("data: a\n\n: ping\n" + strings.Repeat("data: some text here\n", 50) + "\n")
	for b.Loop() {
		readAll(bytes.NewReader(in), 100)
		readAll(iotest.OneByteReader(bytes.NewReader(in)), 100)
		reference(in, 100)
	}
}
