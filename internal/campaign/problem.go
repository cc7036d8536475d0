package campaign

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
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
	// cause marks a problem that others follow from (a name two files define,
	// whose entries CUE then unifies): it is reported first.
	cause bool
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
		rank := "1"
		if p.cause {
			rank = "0"
		}
		return rank + pos + "\x00" + p.Path + "\x00" + p.Message
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
	// embedded is set when the schema is the one built into the binary, laid
	// over a folder that does not exist on disk: its positions name the
	// schema's path in the llmsweep repository instead.
	embedded bool
}

// embeddedSchema is how positions in the built-in schema name its files: by their
// path in the llmsweep repository.
const embeddedSchema = "schema/"

// inSchema reports whether a reported position's file is the schema's.
func (r positioner) inSchema(file string) bool {
	if r.embedded {
		return strings.HasPrefix(file, embeddedSchema)
	}
	return len(r.schema) == 2 && strings.HasPrefix(file, r.rel(r.schema[0]))
}

func (r positioner) isSchema(file string) bool {
	return len(r.schema) == 2 && (strings.HasPrefix(file, r.schema[0]) || file == r.schema[1])
}

func (r positioner) pos(p token.Pos) (Position, bool) {
	if !p.IsValid() {
		return Position{}, false
	}
	file := r.rel(p.Filename())
	if r.embedded && len(r.schema) == 2 && strings.HasPrefix(p.Filename(), r.schema[0]) {
		file = embeddedSchema + filepath.ToSlash(strings.TrimPrefix(p.Filename(), r.schema[0]))
	}
	return Position{File: file, Line: p.Line(), Column: p.Column()}, true
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

// regexMeaning says in words what the schema's patterns accept, keyed by the
// pattern as CUE prints it in "out of bound =~...".
var regexMeaning = map[string]string{
	`"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$"`:          "a name of lowercase letters, digits, '.', '_' and '-' that starts and ends with a letter or digit, such as \"llama3-8b\"",
	`"^\\S+( \\S+){4}$"`:                           "a cron expression of five space-separated fields (minute hour day-of-month month day-of-week), such as \"0 4 * * 6\"",
	`"^(sqlite|postgres|postgresql)://"`:           "a store URL that starts sqlite://, postgres:// or postgresql://, such as \"sqlite://.llmsweep/results.db\"",
	`"^(s3|gs|file)://"`:                           "an archive URL that starts s3://, gs:// or file://",
	`"^rediss?://"`:                                "a cache URL that starts redis:// or rediss://",
	`"^https?://"`:                                 "a URL that starts http:// or https://",
	`"^https?://[^/]+"`:                            "a URL that starts http:// or https:// and names a host",
	`"^[A-Z_][A-Z0-9_]*$"`:                         "an environment variable name of capital letters, digits and '_', such as \"HF_TOKEN\"",
	`"^[^@\\s]+@[^@\\s]+$"`:                        "an email address, such as \"team@example.com\"",
	`"^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"`: "a duration such as \"90s\", \"5m\" or \"1h30m\"",
	`"^[0-9]+(d|w)$"`:                              "an age in days or weeks, such as \"7d\" or \"2w\"",
	`"^--"`:                                        "a command-line flag that starts with --",
	`"^/"`:                                         "a path that starts with /",
	`"\\.json$"`:                                   "a file name that ends in .json",
	`"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$"`: "a Hugging Face repository, owner/name, such as \"meta-llama/Llama-3.1-8B-Instruct\"",
	`"^[A-Za-z0-9]+For(CausalLM|ConditionalGeneration)$"`:       "a transformers architecture such as \"LlamaForCausalLM\"",
	`"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+:[A-Za-z0-9._-]+$"`: "a container image with a registry and a tag, such as \"docker.io/vllm/vllm-openai:v0.11.2\"",
	`"^([0-9a-f]{40}|[A-Za-z0-9][A-Za-z0-9._/-]*)$"`:            "a 40-digit commit hash, or a branch or tag name",
	`"^([a-z0-9.-]+/)?[A-Za-z0-9._-]+$"`:                        "a label key, optionally prefixed by a DNS name and /, such as \"example.com/team\"",
}

var (
	outOfBound    = regexp.MustCompile(`^invalid value (.*) \(out of bound =~(".*")\)$`)
	boundsMessage = regexp.MustCompile(`^incompatible (?:integer|float|number) bounds ([<>]=?)(\S+) and ([<>]=?)(\S+)$`)
	listLengths   = regexp.MustCompile(`^incompatible list lengths \(0 and \d+\)$`)
	wantOneOf     = regexp.MustCompile(`^invalid value "([^"]*)" \(want one of (.*)\)$`)
)

// plain rewrites CUE's wording of the common schema failures into what to write.
func plain(p Problem) Problem {
	field := ""
	if n := len(p.sels); n > 0 {
		field = p.sels[n-1]
	}
	m := p.Message
	switch {
	case m == `incomplete value !=""` || m == `invalid value "" (out of bound !="")`:
		p.Message = fmt.Sprintf("write a non-empty %s", field)
	case listLengths.MatchString(m):
		what := "entry"
		if field == "models" {
			what = "model"
		}
		p.Message = fmt.Sprintf("list at least one %s", what)
	case boundsMessage.MatchString(m):
		// A whole number against a fractional range, such as 95 for a
		// utilization of (0, 0.98]: no integer fits.
		b := boundsMessage.FindStringSubmatch(m)
		lo, hi := b[1:3], b[3:5]
		if lo[0][0] == '<' {
			lo, hi = hi, lo
		}
		open, close := "(", "]"
		if lo[0] == ">=" {
			open = "["
		}
		if hi[0] == "<" {
			close = ")"
		}
		p.Message = fmt.Sprintf("out of range: want a number in %s%s, %s%s, a fraction rather than a percentage", open, lo[1], hi[1], close)
	case outOfBound.MatchString(m):
		b := outOfBound.FindStringSubmatch(m)
		if meaning, ok := regexMeaning[b[2]]; ok {
			p.Message = fmt.Sprintf("invalid value %s: want %s", b[1], meaning)
		}
	case wantOneOf.MatchString(m):
		b := wantOneOf.FindStringSubmatch(m)
		var alts []string
		for _, a := range strings.Split(b[2], ", ") {
			if u, err := strconv.Unquote(a); err == nil {
				alts = append(alts, u)
			}
		}
		if sg := suggest(b[1], alts); sg != "" {
			p.Message = fmt.Sprintf("invalid value %q%s (want one of %s)", b[1], sg, b[2])
		}
	}
	return p
}
