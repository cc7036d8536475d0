package campaign

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"
)

// Position is a place in an input file; Line and Column count from 1.
type Position struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

func (p Position) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Problem is one thing wrong with the input, in the shape `cue vet` reports it: the
// field path, the message, and every position that contributed. The first position
// is the primary one.
type Problem struct {
	Path      string     `json:"path,omitempty"`
	Message   string     `json:"message"`
	Positions []Position `json:"positions,omitempty"`

	sels  []string // the path as CUE selectors
	input int      // how many of Positions are in input files; they come first
}

func (p Problem) Error() string {
	var b strings.Builder
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if len(p.Positions) > 0 {
		b.WriteString(":")
		for _, pos := range p.Positions {
			b.WriteString("\n    ")
			b.WriteString(pos.String())
		}
	}
	return b.String()
}

// Problems is every problem found, in a stable order.
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Error()
	}
	return strings.Join(s, "\n")
}

// sort orders problems by primary position, then path and message, and drops
// exact duplicates (CUE reports a conflict once per unified copy).
func (ps Problems) sort() Problems {
	key := func(p Problem) string {
		var pos string
		if len(p.Positions) > 0 {
			q := p.Positions[0]
			pos = fmt.Sprintf("%s\x00%09d\x00%09d", q.File, q.Line, q.Column)
		}
		return pos + "\x00" + p.Path + "\x00" + p.Message
	}
	sort.SliceStable(ps, func(i, j int) bool { return key(ps[i]) < key(ps[j]) })
	out := ps[:0]
	for i, p := range ps {
		if i > 0 && p.Error() == ps[i-1].Error() {
			continue
		}
		out = append(out, p)
	}
	return out
}

// positioner turns token positions into file positions relative to a directory.
type positioner struct {
	cwd string
	// schema is the schema folder (with a trailing separator) and the synthetic
	// document file: positions there are the schema's, not the user's.
	schema []string
}

func (r positioner) isSchema(file string) bool {
	return len(r.schema) == 2 && (strings.HasPrefix(file, r.schema[0]) || file == r.schema[1])
}

func (r positioner) pos(p token.Pos) (Position, bool) {
	if !p.IsValid() {
		return Position{}, false
	}
	return Position{File: r.rel(p.Filename()), Line: p.Line(), Column: p.Column()}, true
}

func (r positioner) rel(name string) string {
	if r.cwd == "" || !filepath.IsAbs(name) {
		return name
	}
	rel, err := filepath.Rel(r.cwd, name)
	if err != nil || strings.HasPrefix(rel, "..") {
		return name
	}
	return "./" + filepath.ToSlash(rel)
}

// fromCUE converts a CUE error, which may be a list, into problems.
func (r positioner) fromCUE(err error) Problems {
	var out Problems
	for _, e := range errors.Errors(err) {
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		if msg == "" {
			msg = e.Error() // a wrapped error keeps its text outside Msg
		}
		p := Problem{Path: pathString(e.Path()), Message: msg, sels: e.Path()}
		seen := map[Position]bool{}
		add := func(tp token.Pos) {
			if pos, ok := r.pos(tp); ok && !seen[pos] {
				seen[pos] = true
				p.Positions = append(p.Positions, pos)
			}
		}
		add(e.Position())
		ins := e.InputPositions()
		sort.Slice(ins, func(i, j int) bool { return ins[i].Compare(ins[j]) < 0 })
		for _, tp := range ins {
			add(tp)
		}
		out = append(out, p)
	}
	return out
}

// at makes a problem positioned at a value's source.
func (r positioner) at(v cue.Value, format string, args ...any) Problem {
	sels := selectors(v.Path())
	p := Problem{Path: pathString(sels), Message: fmt.Sprintf(format, args...), sels: sels}
	if pos, ok := r.pos(v.Pos()); ok {
		p.Positions = []Position{pos}
	}
	return p
}

func selectors(p cue.Path) []string {
	var s []string
	for _, sel := range p.Selectors() {
		s = append(s, sel.String())
	}
	return s
}

// pathString writes a field path as cue vet does: a.b."c-d".0 becomes a.b."c-d"[0].
func pathString(sels []string) string {
	var b strings.Builder
	for i, s := range sels {
		if s != "" && s[0] >= '0' && s[0] <= '9' {
			b.WriteString("[" + s + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}
