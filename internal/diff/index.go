package diff

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"math/bits"
)

// Every line of matrix.jsonl starts with the fingerprint and the batch
// (matrix.Config's field order), so a line can be indexed from its first bytes
// without decoding the rest.
const (
	fpKey      = `{"fingerprint":"`
	batchKey   = `","batch":"`
	fpHex      = 64
	batchStart = len(fpKey) + fpHex + len(batchKey)
)

type fingerprint [fpHex / 2]byte

// line locates one line of a matrix in its file's bytes.
type line struct {
	off, end int // the line is data[off:end], without its newline
	batchEnd int // data[off+batchStart:batchEnd] is the batch ID; a '"' follows
}

// LineError is a malformed line of matrix.jsonl.
type LineError struct {
	Side string // "old" or "new"
	File string // generated/<campaign>/matrix.jsonl
	Line int
	Col  int // byte column, from 1; 0 when unknown
	Msg  string
}

func (e *LineError) Error() string {
	pos := fmt.Sprintf("%s:%d", e.File, e.Line)
	if e.Col > 0 {
		pos = fmt.Sprintf("%s:%d", pos, e.Col)
	}
	return fmt.Sprintf("%s %s: %s", e.Side, pos, e.Msg)
}

// matrixFile is one side's matrix.jsonl.
type matrixFile struct {
	side, file string
	data       []byte
}

func (m *matrixFile) errorf(n, col int, format string, args ...any) error {
	return &LineError{Side: m.side, File: m.file, Line: n, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// lines calls fn with each line, its number (from 1) and its fingerprint, and
// stops at the first error. A final newline is optional; blank lines are errors,
// so line n is always the matrix's config n-1.
func (m *matrixFile) lines(fn func(n int, l line, fp *fingerprint) error) error {
	var fp fingerprint
	data := m.data
	for off, n := 0, 1; off < len(data); n++ {
		end, next := len(data), len(data)
		if i := bytes.IndexByte(data[off:], '\n'); i >= 0 {
			end, next = off+i, off+i+1
		}
		l := line{off: off, end: end}
		if err := m.parse(n, &l, &fp); err != nil {
			return err
		}
		if err := fn(n, l, &fp); err != nil {
			return err
		}
		off = next
	}
	return nil
}

// count returns the number of lines, for sizing.
func (m *matrixFile) count() int {
	n := bytes.Count(m.data, []byte{'\n'})
	if len(m.data) > 0 && m.data[len(m.data)-1] != '\n' {
		n++
	}
	return n
}

var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
	}
	return t
}()

// parse checks the start of line n, sets its fingerprint and finds its batch.
func (m *matrixFile) parse(n int, l *line, fp *fingerprint) error {
	b := m.data[l.off:l.end]
	if len(b) == 0 {
		return m.errorf(n, 0, "blank line")
	}
	if !bytes.HasPrefix(b, []byte(fpKey)) {
		return m.errorf(n, 1, "line must start with %s, the config's fingerprint", fpKey)
	}
	hex := b[len(fpKey):]
	for i := 0; i < fpHex; i += 2 {
		if i+1 >= len(hex) {
			return m.errorf(n, len(fpKey)+len(hex)+1, "fingerprint: want %d lowercase hex digits, line ends after %d", fpHex, len(hex))
		}
		hi, lo := unhex[hex[i]], unhex[hex[i+1]]
		if hi|lo > 0xf {
			j := i
			if hi <= 0xf {
				j++
			}
			return m.errorf(n, len(fpKey)+j+1, "fingerprint: want %d lowercase hex digits, found %q", fpHex, hex[j:j+1])
		}
		fp[i/2] = hi<<4 | lo
	}
	if !bytes.HasPrefix(hex[fpHex:], []byte(batchKey)) {
		return m.errorf(n, len(fpKey)+fpHex+1, `fingerprint must have %d hex digits and be followed by "batch"`, fpHex)
	}
	id := b[batchStart:]
	q := bytes.IndexByte(id, '"')
	switch {
	case q < 0:
		return m.errorf(n, batchStart+1, "batch: string does not end")
	case q == 0:
		return m.errorf(n, batchStart+1, "batch is empty")
	case q+1 >= len(id) || id[q+1] != ',':
		return m.errorf(n, batchStart+q+2, "batch must be followed by the config's other fields")
	}
	// IDs are b<hex>-<n>; printable ASCII keeps them byte for byte what
	// encoding/json decodes.
	for i, c := range id[:q] {
		if c < 0x20 || c >= 0x7f || c == '\\' {
			return m.errorf(n, batchStart+i+1, "batch: byte %q is not allowed in a batch ID", id[i:i+1])
		}
	}
	l.batchEnd = l.off + batchStart + q
	return nil
}

func (m *matrixFile) batch(l line) []byte { return m.data[l.off+batchStart : l.batchEnd] }

// entry is a line with its fingerprint.
type entry struct {
	fp fingerprint
	line
}

// entries parses every line.
func (m *matrixFile) entries() ([]entry, error) {
	out := make([]entry, 0, m.count())
	err := m.lines(func(n int, l line, fp *fingerprint) error {
		out = append(out, entry{*fp, l})
		return nil
	})
	return out, err
}

// fpIndex finds lines by fingerprint: an open-addressing table of line
// numbers. It is several times faster to fill than a map at catalog scale,
// since a slot is 8 bytes and the fingerprints' digests are hashed once.
type fpIndex struct {
	entries []entry
	seed    maphash.Seed
	shift   uint
	// slots hold a line number (its index + 1) in the low 32 bits, 0 for
	// none, and the high half of the fingerprint's hash in the high 32 bits.
	slots []uint64
}

func (x *fpIndex) hash(fp *fingerprint) (slot int, tag uint64) {
	// Seeded, so that crafted fingerprints cannot pile onto one slot.
	h := maphash.Comparable(x.seed, *fp)
	return int(h >> x.shift), h &^ (1<<32 - 1)
}

// find returns the index of the line with fingerprint fp.
func (x *fpIndex) find(fp *fingerprint) (int, bool) {
	mask := len(x.slots) - 1
	for s, tag := x.hash(fp); x.slots[s] != 0; s = (s + 1) & mask {
		if v := x.slots[s]; v&^(1<<32-1) == tag {
			if i := int(uint32(v)) - 1; x.entries[i].fp == *fp {
				return i, true
			}
		}
	}
	return 0, false
}

// index parses every line and indexes it by fingerprint. A fingerprint on two
// lines is an error.
func (m *matrixFile) index() (*fpIndex, error) {
	es, err := m.entries()
	if err != nil {
		return nil, err
	}
	size := 1 << bits.Len(uint(2*len(es))) // at most half full
	x := &fpIndex{entries: es, seed: maphash.MakeSeed(), shift: uint(64 - bits.Len(uint(size-1))), slots: make([]uint64, size)}
	mask := size - 1
	for i := range es {
		fp := &es[i].fp
		s, tag := x.hash(fp)
		for ; x.slots[s] != 0; s = (s + 1) & mask {
			if v := x.slots[s]; v&^(1<<32-1) == tag {
				if j := int(uint32(v)) - 1; es[j].fp == *fp {
					return nil, m.errorf(i+1, len(fpKey)+1, "fingerprint %x repeats line %d", fp[:], j+1)
				}
			}
		}
		x.slots[s] = tag | uint64(i+1)
	}
	return x, nil
}
