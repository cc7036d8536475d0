// Package schemadoc writes the campaign reference, docs/campaign.md, from the
// schema's CUE source: every field of #Campaign and of the definitions beside
// it, with the constraint as written, its default and its doc comment. The
// schema stays the one place where a field is documented.
package schemadoc

import (
	"bytes"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"

	"github.com/llmsweep/llmsweep/schema"
)

// Files are the schema files the reference covers: the campaign and the
// definitions its fields use.
var Files = []string{"campaign.cue", "common.cue"}

// Entry is one field of a definition.
type Entry struct {
	// Path is the field's path from the definition, such as grid.concurrency.
	Path string
	// Marker is "?" for an optional field, "!" for one that must be set, "".
	Marker string
	// Expr is the constraint as the schema writes it; empty for a struct,
	// whose fields follow.
	Expr string
	// When is the condition of the if block that declares the field.
	When string
	Doc  string
	// Default is the value an unset field takes, when it has one.
	Default string
}

// Def is a definition: its doc comment and its fields, or its constraint when
// it is not a struct.
type Def struct {
	Name    string
	Doc     string
	Expr    string
	Entries []Entry
}

// Defs parses the schema files and returns their definitions, #Campaign first.
func Defs() ([]Def, error) {
	var files []*ast.File
	for _, name := range Files {
		src, err := fs.ReadFile(schema.FS, name)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile("schema/"+name, src, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	val, err := Schema()
	if err != nil {
		return nil, err
	}
	var defs []Def
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.Field)
			if !ok {
				continue
			}
			name := label(fd.Label)
			if !strings.HasPrefix(name, "#") {
				continue
			}
			def := Def{Name: name, Doc: doc(fd)}
			if s, ok := fd.Value.(*ast.StructLit); ok {
				walk(&def.Entries, "", "", s)
				addDefaults(def.Entries, val.LookupPath(cue.MakePath(cue.Def(name))))
			} else {
				def.Expr = node(fd.Value)
			}
			defs = append(defs, def)
		}
	}
	i := slices.IndexFunc(defs, func(d Def) bool { return d.Name == "#Campaign" })
	if i < 0 {
		return nil, fmt.Errorf("schema: no #Campaign in %v", Files)
	}
	defs[0], defs[i] = defs[i], defs[0]
	return defs, nil
}

// Schema builds the whole schema package: the defaults come from it, and the
// tests check the reference against it.
func Schema() (cue.Value, error) {
	inst := build.NewContext().NewInstance("schema", nil)
	names, err := fs.Glob(schema.FS, "*.cue")
	if err != nil {
		return cue.Value{}, err
	}
	for _, name := range names {
		src, err := fs.ReadFile(schema.FS, name)
		if err != nil {
			return cue.Value{}, err
		}
		if err := inst.AddFile("schema/"+name, src); err != nil {
			return cue.Value{}, err
		}
	}
	v := cuecontext.New().BuildInstance(inst)
	return v, v.Err()
}

// walk appends the fields of s, under prefix, declared under the condition when.
func walk(out *[]Entry, prefix, when string, s *ast.StructLit) {
	for _, d := range s.Elts {
		switch d := d.(type) {
		case *ast.Field:
			name := label(d.Label)
			e := Entry{Path: join(prefix, name), When: when, Doc: doc(d)}
			switch d.Constraint {
			case token.OPTION:
				e.Marker = "?"
			case token.NOT:
				e.Marker = "!"
			}
			if inner, ok := d.Value.(*ast.StructLit); ok {
				if when == "" { // under a condition, its fields say so
					*out = append(*out, e)
				}
				walk(out, e.Path, when, inner)
				continue
			}
			e.Expr = node(d.Value)
			if when != "" {
				e.Default = starred(d.Value)
			}
			*out = append(*out, e)
		case *ast.Comprehension:
			inner, ok := d.Value.(*ast.StructLit)
			if !ok {
				continue
			}
			var conds []string
			for _, c := range d.Clauses {
				if c, ok := c.(*ast.IfClause); ok {
					conds = append(conds, "if "+node(c.Condition))
				}
			}
			cond := strings.Join(conds, " ")
			if when != "" {
				cond = when + " " + cond
			}
			walk(out, prefix, cond, inner)
		}
	}
}

// addDefaults fills the defaults of the unconditional fields from the
// evaluated definition: a list type such as [...#Rule] defaults to [] there,
// which its source does not show.
func addDefaults(es []Entry, def cue.Value) {
	conditional := map[string]bool{}
	for _, e := range es {
		if e.When != "" {
			conditional[e.Path] = true
		}
	}
	for i, e := range es {
		if e.When != "" || e.Expr == "" || e.Marker != "" || conditional[e.Path] {
			continue
		}
		v := def.LookupPath(cue.ParsePath(quotePath(e.Path)))
		if !v.Exists() {
			continue
		}
		d, ok := v.Default()
		if !ok || !d.IsConcrete() || d.Validate(cue.Concrete(true)) != nil {
			continue
		}
		es[i].Default = node(d.Syntax(cue.Final()))
	}
}

// quotePath quotes the path's labels that are not identifiers.
func quotePath(p string) string {
	parts := strings.Split(p, ".")
	for i, s := range parts {
		if !ast.IsValidIdent(s) {
			parts[i] = fmt.Sprintf("%q", s)
		}
	}
	return strings.Join(parts, ".")
}

// starred returns the marked default of a disjunction, if any.
func starred(x ast.Expr) string {
	switch x := x.(type) {
	case *ast.UnaryExpr:
		if x.Op == token.MUL {
			return node(x.X)
		}
	case *ast.BinaryExpr:
		if x.Op == token.OR {
			if d := starred(x.X); d != "" {
				return d
			}
			return starred(x.Y)
		}
	}
	return ""
}

// label names a field; a pattern constraint such as [#Name] reads <#Name>.
func label(l ast.Label) string {
	if name, _, err := ast.LabelName(l); err == nil && name != "" {
		return name
	}
	if list, ok := l.(*ast.ListLit); ok && len(list.Elts) == 1 {
		return "<" + node(list.Elts[0]) + ">"
	}
	return node(l)
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func doc(n ast.Node) string {
	var parts []string
	for _, c := range ast.Comments(n) {
		if c.Doc {
			parts = append(parts, strings.TrimSpace(c.Text()))
		}
	}
	return strings.Join(parts, "\n\n")
}

// node formats x on one line.
func node(x ast.Node) string {
	b, err := format.Node(x)
	if err != nil {
		return fmt.Sprintf("%v", x)
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// Markdown renders the reference.
func Markdown(defs []Def) []byte {
	var b bytes.Buffer
	b.WriteString("# Campaign reference\n\n")
	b.WriteString("<!-- Generated from schema/" + strings.Join(Files, " and schema/") + " by `make generate` (internal/schemadoc).\n")
	b.WriteString("     Edit the schema's comments, not this file. -->\n\n")
	b.WriteString("Every field a campaign may set, with its constraint in CUE as the schema writes it,\n")
	b.WriteString("its default and what it means. `?` marks an optional field, `!` one that must be set;\n")
	b.WriteString("a field with neither must end up concrete, from the campaign or from its default.\n")
	b.WriteString("`llmsweep vet` checks a campaign against exactly these definitions.\n")
	for _, d := range defs {
		fmt.Fprintf(&b, "\n## %s\n\n", strings.TrimPrefix(d.Name, "#"))
		if d.Doc != "" {
			b.WriteString(quoteDoc(d.Doc) + "\n\n")
		}
		if d.Expr != "" {
			fmt.Fprintf(&b, "`%s`\n", d.Expr)
			continue
		}
		for _, e := range d.Entries {
			fmt.Fprintf(&b, "- **`%s%s`**", e.Path, e.Marker)
			if e.When != "" {
				fmt.Fprintf(&b, " (`%s`)", e.When)
			}
			if e.Expr != "" {
				fmt.Fprintf(&b, ": `%s`", e.Expr)
			}
			if e.Default != "" {
				fmt.Fprintf(&b, "; default `%s`", e.Default)
			}
			if e.Doc != "" {
				b.WriteString(". " + indent(quoteDoc(e.Doc)))
			}
			b.WriteString("\n")
		}
	}
	return b.Bytes()
}

// quoteDoc keeps a comment's indented example lines apart from its text.
func quoteDoc(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "\t") {
			lines[i] = "    " + strings.TrimPrefix(l, "\t")
		}
	}
	return strings.Join(lines, "\n")
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n  ") }
