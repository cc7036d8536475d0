package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// outcome is how a stream ended, compared across readers.
type outcome int

const (
	endEOF outcome = iota
	endTruncated
	endTooLarge
	endOther
)

func (o outcome) String() string {
	return [...]string{"EOF", "truncated", "too large", "other"}[o]
}

func classify(err error) outcome {
	switch {
	case err == io.EOF:
		return endEOF
	case errors.Is(err, ErrTooLarge):
		return endTooLarge
	case errors.Is(err, io.ErrUnexpectedEOF):
		return endTruncated
	}
	return endOther
}

type ev struct{ Type, Data, ID string }

// readAll drains a Reader, copying each event since Data is reused.
func readAll(r io.Reader, max int) ([]ev, outcome, error) {
	rd := NewReader(r)
	if max > 0 {
		rd.SetMaxEventSize(max)
	}
	var evs []ev
	for {
		e, err := rd.Next()
		if err != nil {
			// Errors are sticky.
			if _, err2 := rd.Next(); err2 != err {
				return evs, endOther, fmt.Errorf("second Next returned %v, first %v", err2, err)
			}
			return evs, classify(err), err
		}
		evs = append(evs, ev{e.Type, string(e.Data), e.ID})
	}
}

// readers gives the same input split in different ways.
func readers(in string) map[string]func() io.Reader {
	m := map[string]func() io.Reader{
		"whole":   func() io.Reader { return strings.NewReader(in) },
		"onebyte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(in)) },
		"half":    func() io.Reader { return iotest.HalfReader(strings.NewReader(in)) },
		"dataerr": func() io.Reader { return iotest.DataErrReader(strings.NewReader(in)) },
		"chunks3": func() io.Reader { return &chunkReader{data: []byte(in), n: 3} },
	}
	// Two reads split at every position catch CR and LF in different reads.
	for i := 1; i < len(in) && i < 64; i++ {
		m[fmt.Sprintf("split%d", i)] = func() io.Reader {
			return io.MultiReader(strings.NewReader(in[:i]), strings.NewReader(in[i:]))
		}
	}
	return m
}

// chunkReader returns at most n bytes per Read, with empty reads between.
type chunkReader struct {
	data  []byte
	n     int
	empty bool
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.empty = !c.empty; c.empty {
		return 0, nil
	}
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(c.n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func TestReader(t *testing.T) {
	msg := func(data string) ev { return ev{"message", data, ""} }
	tests := []struct {
		name string
		in   string
		max  int
		want []ev
		end  outcome
	}{
		{name: "empty", in: "", end: endEOF},
		{name: "one event LF", in: "data: hello\n\n", want: []ev{msg("hello")}},
		{name: "CRLF", in: "data: a\r\n\r\ndata: b\r\n\r\n", want: []ev{msg("a"), msg("b")}},
		{name: "lone CR", in: "data: a\r\rdata: b\r\r", want: []ev{msg("a"), msg("b")}},
		{name: "mixed endings", in: "data: a\r\ndata: b\rdata: c\n\r\n", want: []ev{msg("a\nb\nc")}},
		{name: "CR then LF is one line end", in: "data: a\r\n\r\n", want: []ev{msg("a")}},
		{name: "BOM skipped", in: "\xEF\xBB\xBFdata: x\n\n", want: []ev{msg("x")}},
		{name: "only first BOM", in: "\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n", want: nil, end: endEOF},
		{name: "partial BOM is data", in: "\xEF\xBBdata: x\n\n", end: endEOF},
		{name: "comments ignored", in: ": ping\n\n:\ndata: a\n: mid\ndata: b\n\n: tail\n", want: []ev{msg("a\nb")}},
		{name: "one space removed", in: "data:  two\ndata:none\n\n", want: []ev{msg(" two\nnone")}},
		{name: "no colon empty value", in: "data\ndata\n\n", want: []ev{msg("\n")}},
		{name: "empty data dispatches", in: "data:\n\n", want: []ev{msg("")}},
		{name: "no data no dispatch", in: "event: x\n\ndata: y\n\n", want: []ev{msg("y")}},
		{name: "event type", in: "event: add\ndata: 1\n\ndata: 2\n\n", want: []ev{{"add", "1", ""}, msg("2")}},
		{name: "empty event type", in: "event:\ndata: 1\n\n", want: []ev{msg("1")}},
		{name: "id persists", in: "id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n", want: []ev{{"message", "a", "7"}, {"message", "b", "7"}, {"message", "c", ""}}},
		{name: "id with NUL ignored", in: "id: 1\n\nid: a\x00b\ndata: x\n\n", want: []ev{{"message", "x", "1"}}},
		{name: "unknown fields ignored", in: "retry: 10\nfoo: bar\ndata: x\n\n", want: []ev{msg("x")}},
		{name: "field name is exact", in: "Data: x\ndata : y\n\n", end: endEOF},
		{name: "colon in value", in: "data: a:b: c\n\n", want: []ev{msg("a:b: c")}},
		{name: "json", in: "data: {\"a\":1}\n\ndata: [DONE]\n\n", want: []ev{msg(`{"a":1}`), msg("[DONE]")}},
		{name: "eof mid-event", in: "data: a\n\ndata: b\n", want: []ev{msg("a")}, end: endTruncated},
		{name: "eof mid-line", in: "data: a\n\ndata: b", want: []ev{msg("a")}, end: endTruncated},
		{name: "eof after field without data", in: "event: x\n", end: endTruncated},
		{name: "eof after blank line after field", in: "event: x\n\n", end: endEOF},
		{name: "eof after comment", in: "data: a\n\n: bye\n", want: []ev{msg("a")}},
		{name: "eof in comment", in: "data: a\n\n: bye", want: []ev{msg("a")}},
		{name: "eof after CR", in: "data: a\r\r", want: []ev{msg("a")}},
		{name: "data at limit", in: "data: 12345\n\n", max: 5, want: []ev{msg("12345")}},
		{name: "data over limit", in: "data: 123456\n\n", max: 5, end: endTooLarge},
		{name: "joined data at limit", in: "data: 12\ndata: 45\n\n", max: 5, want: []ev{msg("12\n45")}},
		{name: "joined data over limit", in: "data: 123\ndata: 45\n\n", max: 5, end: endTooLarge},
		{name: "long line over limit", in: "data: a\n\nevent: " + strings.Repeat("x", 100) + "\n\n", max: 5, want: []ev{msg("a")}, end: endTooLarge},
		{name: "long partial line over limit", in: "x" + strings.Repeat("y", 100), max: 5, end: endTooLarge},
		{name: "long comment fine", in: ":" + strings.Repeat("p", 10000) + "\ndata: a\n\n", max: 5, want: []ev{msg("a")}},
		{name: "tgi style", in: "data:{\"token\":1}\n\ndata:{\"token\":2}\n\n", want: []ev{msg(`{"token":1}`), msg(`{"token":2}`)}},
	}
	for _, tt := range tests {
		for rname, mk := range readers(tt.in) {
			got, end, err := readAll(mk(), tt.max)
			if end == endOther {
				t.Errorf("%s/%s: unexpected error %v", tt.name, rname, err)
				continue
			}
			if end != tt.end {
				t.Errorf("%s/%s: ended with %v (%v), want %v", tt.name, rname, end, err, tt.end)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("%s/%s: events\n got %q\nwant %q", tt.name, rname, got, tt.want)
			}
		}
	}
}

func TestReaderErrorPassesThrough(t *testing.T) {
	boom := errors.New("boom")
	rd := NewReader(io.MultiReader(strings.NewReader("data: a\n\ndata: b\n"), iotest.ErrReader(boom)))
	if e, err := rd.Next(); err != nil || string(e.Data) != "a" {
		t.Fatalf("first event %q, %v", e.Data, err)
	}
	if _, err := rd.Next(); err != boom {
		t.Fatalf("got %v, want the reader's error unchanged", err)
	}
}

// A reader that never makes progress must not hang Next.
func TestReaderNoProgress(t *testing.T) {
	rd := NewReader(zeroReader{})
	if _, err := rd.Next(); err != io.ErrNoProgress {
		t.Fatalf("got %v, want io.ErrNoProgress", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

// A lying reader must not make Next panic.
func TestReaderBadCount(t *testing.T) {
	rd := NewReader(badReader{})
	if _, err := rd.Next(); err == nil || err == io.EOF {
		t.Fatalf("got %v, want an error", err)
	}
}

type badReader struct{}

func (badReader) Read(p []byte) (int, error) { return len(p) + 1, nil }

// An event is returned as soon as its blank line arrives, without waiting
// for more input: a live stream must not stall on a CR line end.
func TestReaderDoesNotReadAhead(t *testing.T) {
	for _, in := range []string{"data: a\n\n", "data: a\r\r", "data: a\r\n\r\n"} {
		pr, pw := io.Pipe()
		go func() { pw.Write([]byte(in)) }()
		rd := NewReader(pr)
		e, err := rd.Next()
		if err != nil || string(e.Data) != "a" {
			t.Errorf("%q: got %q, %v", in, e.Data, err)
		}
		pw.Close()
	}
}

func TestReset(t *testing.T) {
	rd := NewReader(strings.NewReader("id: 1\nevent: x\ndata: partial\n"))
	rd.SetMaxEventSize(100)
	if _, err := rd.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v", err)
	}
	rd.Reset(strings.NewReader("data: b\n\n"))
	e, err := rd.Next()
	if err != nil || e.Type != "message" || e.ID != "" || string(e.Data) != "b" {
		t.Fatalf("after Reset got %+v, %v", e, err)
	}
	if rd.max != 100 {
		t.Fatalf("Reset lost the size limit")
	}
}

func TestAllocs(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("\xEF\xBB\xBF")
	for range 1000 {
		b.WriteString(": ping\ndata: {\"choices\":[{\"text\":\" tok\"}]}\n\n")
	}
	in := b.Bytes()
	rd := NewReader(nil)
	allocs := testing.AllocsPerRun(20, func() {
		rd.Reset(bytes.NewReader(in))
		for {
			if _, err := rd.Next(); err != nil {
				break
			}
		}
	})
	// bytes.NewReader allocates once; parsing should not.
	if allocs > 2 {
		t.Errorf("%v allocations per 1000-event stream, want at most 2", allocs)
	}
}

func BenchmarkReader(b *testing.B) {
	var buf bytes.Buffer
	for range 1000 {
		buf.WriteString(`data: {"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":" the","logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n")
	}
	in := buf.Bytes()
	b.SetBytes(int64(len(in)))
	rd := NewReader(nil)
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(bytes.NewReader(in))
		for {
			if _, err := rd.Next(); err != nil {
				break
			}
		}
	}
}

// Readers not made by NewReader, or without a source, must not panic.
func TestZeroReader(t *testing.T) {
	var rd Reader
	if _, err := rd.Next(); err != io.EOF {
		t.Fatalf("zero Reader: got %v, want io.EOF", err)
	}
	if _, err := NewReader(nil).Next(); err != io.EOF {
		t.Fatalf("nil source: got %v, want io.EOF", err)
	}
}
