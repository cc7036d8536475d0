// Package sse parses Server-Sent Events streams as the WHATWG HTML
// standard ("event stream interpretation") defines them.
//
// The Reader is built for load generators that parse thousands of events
// per second: it reuses its buffers, so Event.Data is only valid until the
// next call to Next.
package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxEventSize is the default limit on the size of one event's data.
const DefaultMaxEventSize = 1 << 20

// ErrTooLarge is wrapped by the error Next returns when an event's data, or
// one line of the stream, exceeds the limit set by SetMaxEventSize.
var ErrTooLarge = errors.New("sse: event too large")

// errTruncated is returned when the stream ends inside an event. It wraps
// io.ErrUnexpectedEOF so callers can tell truncation from a clean end.
var errTruncated = fmt.Errorf("sse: stream ended mid-event: %w", io.ErrUnexpectedEOF)

// Event is one dispatched event.
type Event struct {
	// Type is the event type; "message" when the event set none.
	Type string
	// Data is the event's data lines joined by "\n". It aliases the
	// Reader's buffer and is valid only until the next call to Next;
	// copy it to keep it.
	Data []byte
	// ID is the last event ID seen on the stream (it persists across
	// events, as the standard says).
	ID string
}

// lineSlack is how much longer than the event limit one line may be: room
// for the field name and colon of a data line carrying a maximal value.
const lineSlack = 64

// maxEmptyReads guards against readers that return 0, nil forever.
const maxEmptyReads = 100

var bom = []byte("\xEF\xBB\xBF")

// comment stands in for a comment line whose bytes were discarded.
var comment = []byte(":")

// Reader reads events from an event stream. It is not safe for concurrent use.
//
// It buffers input itself rather than through bufio.Reader: lines may end in
// a lone CR, which ReadSlice cannot search for together with LF, and long
// comment lines are dropped as they arrive instead of being buffered.
type Reader struct {
	src io.Reader
	buf []byte // buffered input is buf[r:w]
	r   int
	w   int
	// scanned counts bytes of buf[r:w] already searched for a line end,
	// so that slow, tiny reads do not make line scanning quadratic.
	scanned int
	rerr    error // sticky error from src, returned once buffered data is consumed
	err     error // sticky error returned by Next

	max        int
	started    bool // BOM check done
	pendingCR  bool // last line ended in CR: an LF that follows belongs to it
	inComment  bool // discarding the rest of a long comment line
	pending    bool // a field line was seen since the last blank line
	data       []byte
	hasData    bool
	typ        string // event type buffer; "" means unset
	lastID     string
	typScratch string // last type string allocated, reused when the next one is equal
}

// NewReader returns a Reader that reads from r.
func NewReader(r io.Reader) *Reader {
	rd := &Reader{max: DefaultMaxEventSize}
	rd.Reset(r)
	return rd
}

// Reset discards all state and makes the Reader read from r, keeping its
// buffers and its size limit. It lets callers pool Readers.
func (r *Reader) Reset(src io.Reader) {
	if r.buf == nil {
		r.buf = make([]byte, 4096)
	}
	if r.max <= 0 {
		r.max = DefaultMaxEventSize
	}
	*r = Reader{
		src:        src,
		buf:        r.buf,
		max:        r.max,
		data:       r.data[:0],
		typScratch: r.typScratch,
	}
}

// SetMaxEventSize sets the largest event data, in bytes, that Next accepts;
// n <= 0 restores DefaultMaxEventSize. A larger event, or a line longer than
// n plus a small allowance for the field name, makes Next fail with an
// error wrapping ErrTooLarge. Comment lines are discarded as they stream and
// are not limited.
func (r *Reader) SetMaxEventSize(n int) {
	if n <= 0 {
		n = DefaultMaxEventSize
	}
	r.max = n
}

// Next returns the next event. At a clean end of the stream it returns
// io.EOF; if the stream ends while an event is being accumulated, that
// event is discarded and the error wraps io.ErrUnexpectedEOF. Errors from
// the underlying reader are returned unchanged. After an error, Next keeps
// returning it.
func (r *Reader) Next() (Event, error) {
	if r.buf == nil {
		r.Reset(r.src) // a zero Reader, not made by NewReader
	}
	if r.err != nil {
		return Event{}, r.err
	}
	if r.hasData {
		// The previous event's data has been handed out; reuse its buffer.
		r.data = r.data[:0]
		r.hasData = false
	}
	for {
		line, err := r.readLine()
		if err != nil {
			r.err = err
			return Event{}, err
		}
		if len(line) == 0 {
			if ev, ok := r.dispatch(); ok {
				return ev, nil
			}
			continue
		}
		if err := r.field(line); err != nil {
			r.err = err
			return Event{}, err
		}
	}
}

// dispatch ends the current event at a blank line.
func (r *Reader) dispatch() (Event, bool) {
	r.pending = false
	typ := r.typ
	r.typ = ""
	if !r.hasData {
		return Event{}, false
	}
	if typ == "" {
		typ = "message"
	}
	// Drop the LF appended after the last data line.
	return Event{Type: typ, Data: r.data[:len(r.data)-1], ID: r.lastID}, true
}

// field processes one non-empty line.
func (r *Reader) field(line []byte) error {
	if line[0] == ':' {
		return nil
	}
	r.pending = true
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "data":
		if len(r.data)+len(value) > r.max {
			return fmt.Errorf("sse: event data exceeds %d bytes: %w", r.max, ErrTooLarge)
		}
		r.data = append(r.data, value...)
		r.data = append(r.data, '\n')
		r.hasData = true
	case "event":
		if string(value) != r.typScratch {
			r.typScratch = string(value)
		}
		r.typ = r.typScratch
	case "id":
		// The standard ignores ids containing NUL.
		if bytes.IndexByte(value, 0) < 0 && string(value) != r.lastID {
			r.lastID = string(value)
		}
	}
	return nil
}

// readLine returns the next line without its terminator. The line aliases
// r.buf and is valid until the next call.
func (r *Reader) readLine() ([]byte, error) {
	if !r.started {
		if err := r.skipBOM(); err != nil {
			return nil, err
		}
	}
	if r.pendingCR {
		// A CR ended the previous line; swallow an LF that follows, even
		// when it arrives in a later read.
		if r.r == r.w && r.rerr == nil {
			r.fill()
		}
		if r.r < r.w {
			r.pendingCR = false
			if r.buf[r.r] == '\n' {
				r.r++
			}
		} else if r.rerr != nil {
			r.pendingCR = false
		}
	}
	for {
		b := r.buf[r.r+r.scanned : r.w]
		end := bytes.IndexByte(b, '\n')
		search := b
		if end >= 0 {
			search = b[:end]
		}
		if cr := bytes.IndexByte(search, '\r'); cr >= 0 {
			end = cr
		}
		if end >= 0 {
			i := r.r + r.scanned + end
			line := r.buf[r.r:i]
			if r.buf[i] == '\r' {
				r.pendingCR = true
			}
			r.r = i + 1
			r.scanned = 0
			if r.inComment {
				r.inComment = false
				return comment, nil
			}
			if len(line) > r.max+lineSlack && line[0] != ':' {
				// Checked here too so the outcome does not depend on how
				// the input was split into reads.
				return nil, r.lineTooLarge()
			}
			return line, nil
		}
		r.scanned = r.w - r.r
		if r.w-r.r > 0 && r.buf[r.r] == ':' {
			// A comment: its content is never used, so drop what is
			// buffered rather than let a long ping line grow the buffer.
			r.inComment = true
			r.r, r.w, r.scanned = 0, 1, 1
			r.buf[0] = ':'
		}
		if r.w-r.r > r.max+lineSlack {
			return nil, r.lineTooLarge()
		}
		if r.rerr != nil {
			return nil, r.endErr()
		}
		r.fill()
	}
}

func (r *Reader) lineTooLarge() error {
	return fmt.Errorf("sse: line exceeds %d bytes: %w", r.max+lineSlack, ErrTooLarge)
}

// endErr is the error once the source is exhausted, with an incomplete
// line possibly left in the buffer.
func (r *Reader) endErr() error {
	if r.rerr != io.EOF {
		return r.rerr
	}
	partial := r.w > r.r && !r.inComment && r.buf[r.r] != ':'
	if r.pending || partial {
		return errTruncated
	}
	return io.EOF
}

// skipBOM drops a leading UTF-8 byte order mark, which may arrive split
// across reads.
func (r *Reader) skipBOM() error {
	for {
		n := r.w - r.r
		if n >= len(bom) || !bytes.HasPrefix(bom, r.buf[r.r:r.w]) || r.rerr != nil {
			break
		}
		r.fill()
	}
	r.started = true
	if bytes.HasPrefix(r.buf[r.r:r.w], bom) {
		r.r += len(bom)
	}
	return nil
}

// fill reads more input into the buffer, making room first.
func (r *Reader) fill() {
	if r.r > 0 && r.w == len(r.buf) {
		n := copy(r.buf, r.buf[r.r:r.w])
		r.r, r.w = 0, n
	}
	if r.w == len(r.buf) {
		size := 2 * len(r.buf)
		if limit := r.max + lineSlack + 1; size > limit {
			size = max(limit, r.w+1)
		}
		nb := make([]byte, size)
		copy(nb, r.buf[:r.w])
		r.buf = nb
	}
	if r.src == nil {
		r.rerr = io.EOF
		return
	}
	for range maxEmptyReads {
		n, err := r.src.Read(r.buf[r.w:])
		if n < 0 || n > len(r.buf)-r.w {
			r.rerr = errors.New("sse: reader returned an invalid count")
			return
		}
		r.w += n
		if err != nil {
			r.rerr = err
			return
		}
		if n > 0 {
			return
		}
	}
	r.rerr = io.ErrNoProgress
}
