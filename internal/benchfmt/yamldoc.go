package benchfmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// yamlDoc reads a YAML file (GuideLLM writes its benchmarks as YAML too) as
// a doc: the YAML is written out as JSON, each value marked with its YAML
// line:col, so that one reader serves both and every error still names the
// place in the file the user has.
func yamlDoc(name string, b []byte) (*doc, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Msg: "empty file, want a YAML mapping"}
		}
		return nil, yamlError(name, err)
	}
	lines := bytes.Count(bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n")), []byte("\n")) + 1
	w := &yamlWriter{d: &doc{name: name, special: map[int]float64{}}, lines: lines, limit: 64*len(b) + 1<<20}
	if err := w.node(&root, 0); err != nil {
		return nil, err
	}
	w.d.src = w.buf.Bytes()
	return w.d, nil
}

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// yamlError places a YAML syntax error at its line, as the parser gives it.
func yamlError(name string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return &Error{File: name, Msg: "invalid YAML: " + strings.Join(te.Errors, "; ")}
	}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: name, Line: line, Col: min(line, 1), Msg: "invalid YAML: " + m[2]}
	}
	return &Error{File: name, Msg: "invalid YAML: " + err.Error()}
}

type yamlWriter struct {
	d     *doc
	buf   bytes.Buffer
	lines int // in the input, as YAML breaks them (\r\n, \r, \n)
	// limit bounds the JSON written: aliases repeat what they name, and a
	// few nested ones would otherwise expand without end.
	limit int
}

// maxYAMLDepth bounds nesting, as encoding/json does for JSON: a deeply
// nested input is an error, never a stack overflow.
const maxYAMLDepth = 10000

// place is where a node is in the input: the parser places an empty
// document's content past the last line, which is clamped to it.
func (w *yamlWriter) place(n *yaml.Node) (line, col int) {
	if n.Line > w.lines {
		return w.lines, 1
	}
	return n.Line, max(n.Column, 1)
}

func (w *yamlWriter) mark(n *yaml.Node) {
	line, col := w.place(n)
	w.d.marks = append(w.d.marks, mark{at: w.buf.Len(), line: line, col: col})
}

func (w *yamlWriter) errorAt(n *yaml.Node, msg string) error {
	line, col := w.place(n)
	return &Error{File: w.d.name, Line: line, Col: col, Msg: msg}
}

func (w *yamlWriter) node(n *yaml.Node, depth int) error {
	if depth > maxYAMLDepth {
		return w.errorAt(n, "nested too deeply")
	}
	if w.buf.Len() > w.limit {
		return w.errorAt(n, "aliases expand the document too far")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return &Error{File: w.d.name, Msg: "empty file, want a YAML mapping"}
		}
		return w.node(n.Content[0], depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return w.errorAt(n, "an alias to nothing")
		}
		// An alias is written out again: a chain of them is bounded by depth.
		return w.node(n.Alias, depth+1)
	case yaml.MappingNode:
		w.mark(n)
		w.buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return w.errorAt(k, "a mapping key that is not a scalar")
			}
			if i > 0 {
				w.buf.WriteByte(',')
			}
			q, _ := json.Marshal(k.Value)
			w.buf.Write(q)
			w.buf.WriteByte(':')
			if err := w.node(v, depth+1); err != nil {
				return err
			}
		}
		w.buf.WriteByte('}')
	case yaml.SequenceNode:
		w.mark(n)
		w.buf.WriteByte('[')
		for i, e := range n.Content {
			if i > 0 {
				w.buf.WriteByte(',')
			}
			if err := w.node(e, depth+1); err != nil {
				return err
			}
		}
		w.buf.WriteByte(']')
	case yaml.ScalarNode:
		w.mark(n)
		return w.scalar(n)
	default:
		return w.errorAt(n, "a YAML node of an unknown kind")
	}
	return nil
}

// scalar writes a scalar by its resolved tag: numbers as JSON numbers, the
// special floats as the doc's placeholders (as for Python's NaN in JSON).
func (w *yamlWriter) scalar(n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!null":
		w.buf.WriteString("null")
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return w.errorAt(n, "invalid boolean "+strconv.Quote(n.Value))
		}
		w.buf.WriteString(strconv.FormatBool(b))
	case "!!int", "!!float":
		var i int64
		if n.ShortTag() == "!!int" && n.Decode(&i) == nil {
			w.buf.WriteString(strconv.FormatInt(i, 10))
			return nil
		}
		var f float64
		if err := n.Decode(&f); err != nil {
			return w.errorAt(n, "invalid number "+strconv.Quote(n.Value))
		}
		switch {
		case math.IsNaN(f):
			w.d.special[w.buf.Len()] = f
			w.buf.WriteString(`"N"`)
		case math.IsInf(f, 0):
			w.d.special[w.buf.Len()] = f
			w.buf.WriteString(`"I"`)
		default:
			w.buf.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
		}
	default:
		q, _ := json.Marshal(n.Value)
		w.buf.Write(q)
	}
	return nil
}
