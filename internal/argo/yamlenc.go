package argo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// jsonToYAML writes JSON as block-style YAML, keeping the key order of the JSON
// (the Go structs' field order) and dropping null members, which Kubernetes reads
// as absent. sigs.k8s.io/yaml does the same conversion through two generic
// decoders and took most of compile's time on large campaigns; this streams the
// tokens once. Strings that YAML could read as anything but the same string are
// written as JSON strings, which YAML reads as double-quoted scalars, and
// multi-line strings as literal blocks. The tests read every generated file back
// with sigs.k8s.io/yaml and compare it with the JSON.
func jsonToYAML(w *bytes.Buffer, js []byte) error {
	dec := &scanner{b: js}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("yaml: top level is %v, want an object", tok)
	}
	var body bytes.Buffer
	if err := yamlObject(&body, dec, 0, false); err != nil {
		return err
	}
	w.Write(bytes.TrimPrefix(body.Bytes(), []byte("\n"))) // the top level has no key line
	return nil
}

// emptyIsAbsent are Argo fields without omitempty whose empty value means the same
// as no value; "emptyDir: {}" and the like are not among them.
var emptyIsAbsent = map[string]bool{"inputs": true, "outputs": true, "metadata": true, "arguments": true}

// droppable consumes and reports an empty object under a key in emptyIsAbsent.
func droppable(key string, val json.Token, dec *scanner) bool {
	if val != json.Delim('{') || !emptyIsAbsent[key] || dec.More() {
		return false
	}
	dec.Token()
	return true
}

// maxKey bounds keys: YAML reads an implicit key of at most 1024 characters, and
// escapes can grow a key up to six times. Kubernetes keys are at most 317 bytes.
const maxKey = 170

// yamlObject writes the members of an object whose '{' was read, each on its own
// line at indent; with inline, the first member goes on the current line (after
// "- "). An object whose members were all dropped is written "{}".
func yamlObject(w *bytes.Buffer, dec *scanner, indent int, inline bool) error {
	var body bytes.Buffer
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string)
		if len(key) > maxKey || key == "" {
			// Neither occurs in Kubernetes objects; YAML readers trip on both.
			return fmt.Errorf("yaml: a key of %d bytes: want 1 to %d", len(key), maxKey)
		}
		// Null members are dropped; scalars go on the key's line.
		val, err := dec.Token()
		if err != nil {
			return err
		}
		if val == nil || droppable(key, val, dec) {
			continue
		}
		if body.Len() > 0 || !inline {
			body.WriteString(strings.Repeat(" ", indent))
		}
		yamlString(&body, key, -1)
		body.WriteByte(':')
		if err := yamlValue(&body, dec, val, indent); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return err
	}
	switch {
	case body.Len() == 0:
		w.WriteString(" {}\n")
	case inline:
		w.WriteByte(' ')
	default:
		w.WriteByte('\n')
	}
	w.Write(body.Bytes())
	return nil
}

// yamlValue writes a value after "key:" or "-".
func yamlValue(w *bytes.Buffer, dec *scanner, tok json.Token, indent int) error {
	return yamlItem(w, dec, tok, indent, false)
}

// yamlItem writes a value after "key:", or after "-" when inSeq.
func yamlItem(w *bytes.Buffer, dec *scanner, tok json.Token, indent int, inSeq bool) error {
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			// In a sequence: "- key: v" with the next keys aligned under key.
			return yamlObject(w, dec, indent+2, inSeq)
		}
		if !dec.More() {
			dec.Token()
			w.WriteString(" []\n")
			return nil
		}
		w.WriteByte('\n')
		return yamlArray(w, dec, indent)
	case string:
		w.WriteByte(' ')
		yamlString(w, t, indent+2)
		w.WriteByte('\n')
	case json.Number:
		w.WriteByte(' ')
		w.WriteString(t.String())
		w.WriteByte('\n')
	case bool:
		fmt.Fprintf(w, " %t\n", t)
	case nil:
		w.WriteString(" null\n")
	}
	return nil
}

// yamlArray writes the elements of an array whose '[' was read. Sequences sit at
// their key's indent, as kubectl writes them.
func yamlArray(w *bytes.Buffer, dec *scanner, indent int) error {
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		w.WriteString(strings.Repeat(" ", indent))
		w.WriteByte('-')
		if d, ok := tok.(json.Delim); ok && d == '[' && dec.More() {
			// A nested non-empty sequence: flow style keeps it simple and valid.
			var raw []json.RawMessage
			for dec.More() {
				m, err := dec.raw()
				if err != nil {
					return err
				}
				raw = append(raw, m)
			}
			dec.Token()
			b, _ := json.Marshal(raw)
			w.WriteByte(' ')
			w.Write(b)
			w.WriteByte('\n')
			continue
		}
		if err := yamlItem(w, dec, tok, indent, true); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}

// plain reports whether YAML reads s back as the same string when written bare:
// [A-Za-z_/][A-Za-z0-9_./-]*, and not a word YAML takes for a bool or null.
func plain(s string) bool {
	if s == "" || special[strings.ToLower(s)] {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '/' ||
			i > 0 && (c >= '0' && c <= '9' || c == '.' || c == '-') {
			continue
		}
		return false
	}
	return true
}

// special are YAML 1.1 and 1.2 words that a plain scalar would turn into a bool or null.
var special = map[string]bool{}

func init() {
	for _, s := range []string{"y", "yes", "n", "no", "true", "false", "on", "off", "null", "nan", "inf"} {
		special[s] = true
	}
}

// yamlString writes s as a plain scalar when that reads back as s, as a literal
// block when it spans lines (blockIndent >= 0), and as a JSON string otherwise.
func yamlString(w *bytes.Buffer, s string, blockIndent int) {
	if plain(s) {
		w.WriteString(s)
		return
	}
	if blockIndent >= 0 && strings.Contains(s, "\n") && literalSafe(s) {
		body := strings.TrimSuffix(s, "\n")
		w.WriteByte('|')
		if !strings.HasSuffix(s, "\n") {
			w.WriteByte('-')
		}
		pad := strings.Repeat(" ", blockIndent)
		for _, line := range strings.Split(body, "\n") {
			w.WriteByte('\n')
			if line != "" {
				w.WriteString(pad)
				w.WriteString(line)
			}
		}
		return
	}
	b, _ := json.Marshal(s)
	// JSON leaves DEL, the C1 controls and the non-characters unescaped; YAML
	// does not allow them raw.
	for _, r := range string(b) {
		if !printable(r) {
			fmt.Fprintf(w, `\u%04x`, r)
		} else {
			w.WriteRune(r)
		}
	}
}

// printable reports whether YAML allows r raw: its c-printable set, less the BOM,
// which readers may take for a byte-order mark, and NEL, which YAML 1.1 reads as a
// line break.
func printable(r rune) bool {
	return r == '\t' || r == '\n' || r >= 0x20 && r <= 0x7e ||
		r >= 0xa0 && r <= 0xd7ff || r >= 0xe000 && r <= 0xfffd && r != 0xfeff || r >= 0x10000 && r <= 0x10ffff
}

// literalSafe reports whether s survives a literal block unchanged: no carriage
// returns or other control characters but tab, a first line that is neither empty
// nor indented (either would upset the indentation), and at most one trailing
// newline.
func literalSafe(s string) bool {
	if strings.HasPrefix(s, " ") || strings.HasPrefix(s, "\t") || strings.HasPrefix(s, "\n") || strings.HasSuffix(s, "\n\n") {
		return false
	}
	for _, r := range s {
		if r != '\n' && r != '\t' && (!printable(r) || r == '\u2028' || r == '\u2029') {
			return false
		}
	}
	for _, line := range strings.Split(s, "\n") {
		if strings.HasSuffix(line, " ") || strings.HasSuffix(line, "\t") {
			return false // trailing whitespace in a block is easily lost in review tools
		}
	}
	return true
}
