// Package campaign loads campaign, catalog and policy files, checks them against the
// schema and against each other, and decodes them strictly into Go values.
package campaign

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/load"
	"cuelang.org/go/cue/parser"

	"github.com/llmsweep/llmsweep/catalog"
	"github.com/llmsweep/llmsweep/schema"
)

// MaxFileSize bounds one input file. Campaigns are small; a larger file is almost
// certainly generated output given by mistake, and CUE would take minutes on it.
const MaxFileSize = 16 << 20

// ModulePath is the CUE module that the schema package belongs to.
const ModulePath = "github.com/llmsweep/llmsweep@v0"

// Sections are the top-level fields of a document, in the order they are checked.
var Sections = []string{"hardware", "frameworks", "quantizations", "workloads", "models", "campaigns", "policies"}

// Options control Load.
type Options struct {
	// Catalog is the catalog directory. When empty, Load uses the catalog/ folder of
	// the CUE module the first path is in, or else the catalog built into the binary.
	Catalog string
	// NoCatalog loads only the paths given.
	NoCatalog bool
	// Dir is the directory that relative paths and reported positions are relative
	// to; the working directory when empty.
	Dir string
	// Impossible, when set, is asked about every campaign that passes the other
	// checks and reports what the compiler would prune from it whatever the
	// config (a sequence longer than a model's context, weights that fit no GPU).
	// Package matrix provides it (matrix.Impossible); this package cannot import
	// the compiler, which imports it.
	Impossible func(s *Set, c Campaign) Problems
}

// Set is everything loaded: the unified CUE value and its Go mirror.
type Set struct {
	Value         cue.Value
	Hardware      map[string]Hardware
	Frameworks    map[string]Framework
	Quantizations map[string]Quantization
	Workloads     map[string]Workload
	Models        map[string]Model
	Campaigns     map[string]Campaign
	Policies      map[string]Policy
	// Files are the input files that were loaded, catalog included.
	Files []string
	// CatalogDir is where the catalog came from ("" when none was loaded).
	CatalogDir string

	defs       map[string]Position // section NUL name: where an input file defines it
	embeds     Problems            // top-level values without a field name
	pos        positioner
	impossible func(*Set, Campaign) Problems
}

// Load reads the given files and directories (directories recursively), plus the
// catalog, unifies them with the schema and checks cross-references. It returns the
// set even when there are problems, so that callers can report as much as possible;
// problems come back as Problems.
//
// Every file is loaded into one CUE instance, whatever its package clause: catalog,
// campaigns and policies are parts of one document. (Unifying separately built
// instances in Go is orders of magnitude slower in CUE v0.17.)
func Load(ctx *cue.Context, paths []string, opt Options) (*Set, error) {
	cwd := opt.Dir
	if cwd == "" {
		var err error
		if cwd, err = os.Getwd(); err != nil {
			return nil, err
		}
	}
	cwd, _ = filepath.Abs(cwd)
	s := &Set{pos: positioner{cwd: cwd}, impossible: opt.Impossible}
	files, probs := collect(cwd, paths)

	root, ours := moduleRoot(cwd)
	if len(files) > 0 {
		root, ours = moduleRoot(filepath.Dir(files[0]))
	}
	foreign := root != "" && !ours
	if root == "" {
		// No CUE module: a virtual one rooted where the working directory and
		// every input meet (commonDir takes file paths, hence the "x").
		root = commonDir(append([]string{filepath.Join(cwd, "x")}, files...))
	}
	overlay := map[string]load.Source{}
	embedded := embeddedFiles()
	if !ours && !foreign {
		overlay[filepath.Join(root, "cue.mod", "module.cue")] = load.FromString(moduleFile)
	}
	if m, _ := filepath.Glob(filepath.Join(root, "schema", "*.cue")); len(m) == 0 || !ours {
		for name, b := range embedded["schema"] {
			overlay[filepath.Join(root, "schema", name)] = load.FromBytes(b)
		}
		s.pos.embedded = true
	}
	doc := filepath.Join(root, documentFile)
	overlay[doc] = load.FromString(document)
	s.pos.schema = []string{filepath.Join(root, "schema") + string(filepath.Separator), doc}
	all := []string{doc}

	if !opt.NoCatalog {
		cat, ps := s.catalogFiles(cwd, root, ours, opt.Catalog, files, embedded, overlay)
		probs = append(probs, ps...)
		all = append(all, cat...)
	}
	all = append(all, files...)
	s.Files = all[1:]
	if len(probs) > 0 && len(files) == 0 {
		return s, probs.sort()
	}

	inputs := map[string]bool{}
	for _, f := range all {
		inputs[f] = true
	}
	cfg := &load.Config{
		Dir:        root,
		ModuleRoot: root,
		Overlay:    overlay,
		// One package for every input file; the schema keeps its own. CUE also
		// reads the files of the schema's ancestor folders, looking for more of
		// package schema: those are not the schema, and their syntax errors are
		// not the schema's either.
		ParseFile: func(name string, src any, pc parser.Config) (*ast.File, error) {
			if !inputs[name] && !s.pos.isSchema(name) {
				return &ast.File{Filename: name, Decls: []ast.Decl{&ast.Package{Name: ast.NewIdent("_")}}}, nil
			}
			f, err := parser.ParseFile(name, src, pc)
			if f != nil && inputs[name] {
				setPackage(f, "llmsweep")
			}
			return f, err
		},
	}
	insts := load.Instances(all, cfg)
	inst := insts[0]
	if inst.Err != nil {
		probs = append(probs, s.locate(s.pos.fromCUE(inst.Err))...)
		if foreign {
			probs = append(probs, Problem{Message: fmt.Sprintf("the files are in the CUE module at %s, which is not %s: llmsweep can lend its schema only to its own module or to files outside any module", root, ModulePath)})
		}
		return s, probs.sort()
	}
	v := ctx.BuildInstance(inst)
	s.Value = v
	probs = append(probs, s.duplicates(inst.Files)...)
	probs = append(probs, s.embeds...)
	probs = append(probs, s.topLevel()...)
	if err := v.Validate(cue.Concrete(true), cue.Hidden(true)); err != nil {
		probs = append(probs, s.locate(s.pos.fromCUE(err))...)
	}
	probs = append(probs, s.decode()...)
	probs = append(probs, s.locate(s.check())...)
	if len(probs) > 0 {
		return s, probs.sort()
	}
	return s, nil
}

// documentFile is the synthetic input file that binds each section to its schema
// definition, so that files need not import the schema themselves.
const documentFile = "llmsweep-document.cue"

var document = func() string {
	defs := []string{"Hardware", "Framework", "Quantization", "Workload", "Model", "Campaign", "Policy"}
	var b strings.Builder
	b.WriteString("package llmsweep\n\nimport \"" + schema.ImportPath + "\"\n\n")
	for i, sec := range Sections {
		fmt.Fprintf(&b, "%s: [N=string]: schema.#%s & {name: N}\n", sec, defs[i])
	}
	return b.String()
}()

const moduleFile = "module: \"" + ModulePath + "\"\nlanguage: version: \"v0.17.0\"\n"

// setPackage replaces or adds the package clause.
func setPackage(f *ast.File, name string) {
	for _, d := range f.Decls {
		if p, ok := d.(*ast.Package); ok {
			p.Name = ast.NewIdent(name)
			return
		}
	}
	f.Decls = append([]ast.Decl{&ast.Package{Name: ast.NewIdent(name)}}, f.Decls...)
}

// embeddedFiles returns the schema and catalog built into the binary, by folder.
func embeddedFiles() map[string]map[string][]byte {
	out := map[string]map[string][]byte{}
	add := func(fsys fs.FS, dir string) {
		out[dir] = map[string][]byte{}
		names, _ := fs.Glob(fsys, "*.cue")
		for _, n := range names {
			b, _ := fs.ReadFile(fsys, n)
			out[dir][n] = b
		}
	}
	add(schema.FS, "schema")
	add(catalog.FS, "catalog")
	return out
}

// commonDir returns the deepest directory containing every path.
func commonDir(paths []string) string {
	dir := filepath.Dir(paths[0])
	for _, p := range paths[1:] {
		for !strings.HasPrefix(p, dir+string(filepath.Separator)) && dir != filepath.Dir(dir) {
			dir = filepath.Dir(dir)
		}
	}
	return dir
}

// collect expands the arguments into CUE files, checking each file before CUE sees
// it.
func collect(cwd string, paths []string) ([]string, Problems) {
	var probs Problems
	var files []string
	seen := map[string]bool{}
	add := func(file string) {
		if seen[file] {
			return
		}
		seen[file] = true
		if p, ok := checkFile(cwd, file); !ok {
			probs = append(probs, p)
			return
		}
		files = append(files, file)
	}
	rel := positioner{cwd: cwd}.rel
	for _, p := range paths {
		abs := p
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(cwd, p)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			probs = append(probs, Problem{Message: fmt.Sprintf("cannot read %s: %v", p, unwrapPathError(err))})
			continue
		}
		if !fi.IsDir() {
			if filepath.Ext(abs) != ".cue" {
				probs = append(probs, Problem{Message: fmt.Sprintf("%s is not a CUE file (want a .cue file or a directory)", p)})
				continue
			}
			add(abs)
			continue
		}
		n := 0
		filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				probs = append(probs, Problem{Message: fmt.Sprintf("cannot read %s: %v", rel(path), unwrapPathError(err))})
				return nil
			}
			name := d.Name()
			if d.IsDir() {
				if path != abs && (name == "cue.mod" || name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
					return filepath.SkipDir
				}
				return nil
			}
			if filepath.Ext(name) == ".cue" && !strings.HasPrefix(name, ".") {
				n++
				add(path)
			}
			return nil
		})
		if n == 0 {
			probs = append(probs, Problem{Message: fmt.Sprintf("%s: directory holds no CUE files (searched recursively)", p)})
		}
	}
	return files, probs
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// checkFile rejects files that are too large or not UTF-8 before CUE parses them.
func checkFile(cwd, file string) (Problem, bool) {
	name := positioner{cwd: cwd}.rel(file)
	fi, err := os.Stat(file)
	if err != nil {
		return Problem{Message: fmt.Sprintf("cannot read %s: %v", name, unwrapPathError(err))}, false
	}
	if fi.Size() > MaxFileSize {
		return Problem{
			Message:   fmt.Sprintf("file is %.1f MiB, over the %d MiB limit for one input file; split it, or check that it is not generated output", float64(fi.Size())/(1<<20), MaxFileSize>>20),
			Positions: []Position{{File: name, Line: 1, Column: 1}},
		}, false
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return Problem{Message: fmt.Sprintf("cannot read %s: %v", name, unwrapPathError(err))}, false
	}
	if !utf8.Valid(b) {
		line, col := 1, 1
		for i := 0; i < len(b); {
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size <= 1 {
				return Problem{
					Message:   fmt.Sprintf("invalid UTF-8 byte 0x%02x: CUE files must be UTF-8 encoded", b[i]),
					Positions: []Position{{File: name, Line: line, Column: col}},
				}, false
			}
			if r == '\n' {
				line, col = line+1, 1
			} else {
				col += size
			}
			i += size
		}
	}
	return Problem{}, true
}

// catalogFiles returns the catalog files to load alongside the arguments: --catalog,
// else catalog/ of this module, else the catalog built into the binary.
func (s *Set) catalogFiles(cwd, root string, ours bool, dir string, args []string, embedded map[string]map[string][]byte, overlay map[string]load.Source) ([]string, Problems) {
	if dir == "" && ours {
		if fi, err := os.Stat(filepath.Join(root, "catalog")); err == nil && fi.IsDir() {
			dir = filepath.Join(root, "catalog")
		}
	}
	if dir == "" {
		s.CatalogDir = "(built in)"
		var files []string
		for name, b := range embedded["catalog"] {
			f := filepath.Join(root, builtinCatalog, name)
			overlay[f] = load.FromBytes(b)
			files = append(files, f)
		}
		sort.Strings(files)
		return files, nil
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(cwd, dir)
	}
	s.CatalogDir = positioner{cwd: cwd}.rel(dir)
	for _, f := range args {
		if strings.HasPrefix(f, dir+string(filepath.Separator)) {
			return nil, nil // given as an argument already
		}
	}
	files, probs := collect(cwd, []string{dir})
	for _, f := range files {
		if !strings.HasPrefix(f, root+string(filepath.Separator)) {
			return nil, append(probs, Problem{Message: fmt.Sprintf("catalog %s is outside the CUE module at %s; move it inside", dir, root)})
		}
	}
	return files, probs
}

// builtinCatalog is the virtual folder, under the module root, of the catalog built
// into the binary; positions in it name this folder.
const builtinCatalog = "llmsweep-builtin-catalog"

// moduleRoot finds the directory holding cue.mod at or above dir, and whether it is
// this module.
func moduleRoot(dir string) (root string, ours bool) {
	for {
		b, err := os.ReadFile(filepath.Join(dir, "cue.mod", "module.cue"))
		if err == nil {
			return dir, bytes.Contains(b, []byte(`"`+ModulePath+`"`))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// topLevel reports fields that are not one of the sections.
func (s *Set) topLevel() Problems {
	var probs Problems
	it, err := s.Value.Fields(cue.All())
	for err == nil && it.Next() {
		name := it.Selector().String()
		if !isSection(name) && !strings.HasPrefix(name, "_") {
			probs = append(probs, s.pos.at(it.Value(), "unknown top-level field %s: want one of %s", name, strings.Join(Sections, ", ")))
		}
	}
	return probs
}

// locate makes every problem lead with a position in an input file. CUE lists the
// schema's positions too, and for a constraint that fails inside the schema (a
// derived field, say) it may name no input position at all: then the nearest
// enclosing field in an input file stands in.
func (s *Set) locate(probs Problems) Problems {
	out := probs[:0]
	for _, p := range probs {
		if strings.HasSuffix(p.Message, "errors in empty disjunction:") {
			continue // CUE follows it with one problem per disjunct
		}
		if p.Message == "import failed" && len(probs) > 1 {
			continue // the parse error that made it fail follows
		}
		var in, sch []Position
		for _, pos := range p.Positions {
			switch {
			case pos.File == s.pos.rel(s.pos.schema[1]):
			case s.pos.inSchema(pos.File):
				sch = append(sch, pos)
			default:
				in = append(in, pos)
			}
		}
		if len(in)+len(sch) == 0 && p.Path == "" && len(s.embeds) > 0 {
			continue // a top-level value conflicting with the document: reported at the value
		}
		if len(in) == 0 {
			for sels := p.sels; len(sels) > 0; sels = sels[:len(sels)-1] {
				if pos, ok := s.inputPos(sels); ok {
					in = append(in, pos)
					break
				}
			}
		}
		p.Positions = append(in, sch...)
		p.input = len(in)
		out = append(out, p)
	}
	out = mergeDisjuncts(out)
	// A value that fails a constraint also fails the default beside it (95 for
	// gpu_memory_utilization: >0 & <=0.98 | *0.9); the constraint is the news.
	// CUE may place the constraint's failure at the enclosing struct and the
	// default's at the value itself: the value's position is the better one.
	failed := map[string]bool{}
	at := map[string]Position{}
	for _, p := range out {
		if p.input > 0 && !fromDefault(p) {
			failed[p.Path] = true
		} else if p.input > 0 {
			at[p.Path] = p.Positions[0]
		}
	}
	kept := out[:0]
	for _, p := range out {
		if p.input > 0 && fromDefault(p) && failed[p.Path] {
			continue
		}
		if pos, ok := at[p.Path]; ok && p.input > 0 && failed[p.Path] {
			p.Positions = append([]Position{pos}, p.Positions[1:]...)
		}
		if p.Message == "field not allowed" {
			p.Message += s.suggestField(p.sels)
		}
		kept = append(kept, plain(p))
	}
	return kept
}

// suggestField says which allowed field an unknown one is closest to.
func (s *Set) suggestField(sels []string) string {
	for len(sels) > 0 && sels[len(sels)-1] != "" && sels[len(sels)-1][0] >= '0' && sels[len(sels)-1][0] <= '9' {
		sels = sels[:len(sels)-1] // an element of the unknown field's list
	}
	if len(sels) < 2 || !s.Value.Exists() {
		return ""
	}
	name := sels[len(sels)-1]
	parent := s.Value.LookupPath(cue.ParsePath(strings.Join(sels[:len(sels)-1], ".")))
	var known []string
	nested := map[string]string{} // a field one level down, by name: its path
	var inner []string
	it, err := parent.Fields(cue.Optional(true))
	for err == nil && it.Next() {
		f := it.Selector().Unquoted()
		if f == name {
			continue
		}
		known = append(known, f)
		sub, err := it.Value().Fields(cue.Optional(true))
		for err == nil && sub.Next() {
			g := sub.Selector().Unquoted()
			if _, ok := nested[g]; !ok {
				nested[g] = f + "." + g
				inner = append(inner, g)
			}
		}
	}
	if sg := suggest(name, known); sg != "" {
		return sg
	}
	// concurency at the campaign's top meant grid.concurrency.
	if g, ok := closest(name, inner); ok {
		return fmt.Sprintf(" (did you mean %q?)", nested[g])
	}
	return ""
}

// conflict matches CUE's message for two values that do not unify.
var conflict = regexp.MustCompile(`^conflicting values (.+?) and (.+?)( \(mismatched types [a-z]+ and [a-z]+\))?$`)

// mergeDisjuncts turns CUE's one-problem-per-disjunct into one problem per field.
// A field that fails against a disjunction (count: 1 | 2 | 4 | 8, or a constraint
// with a default) yields a problem for each disjunct at the same input position.
// The default's is noise when another disjunct failed too; a list of literals that
// all conflict with the same value becomes "invalid value X (want one of ...)".
func mergeDisjuncts(probs Problems) Problems {
	key := func(p Problem) string {
		if p.input == 0 {
			return ""
		}
		return p.Path + "\x00" + p.Positions[0].String()
	}
	groups := map[string][]int{}
	for i, p := range probs {
		if k := key(p); k != "" {
			groups[k] = append(groups[k], i)
		}
	}
	drop := map[int]bool{}
	for _, idx := range groups {
		if len(idx) < 2 {
			continue
		}
		var rest []int
		for _, i := range idx {
			if fromDefault(probs[i]) {
				drop[i] = true
			} else {
				rest = append(rest, i)
			}
		}
		if len(rest) == 0 {
			rest, drop[idx[0]] = idx[:1], false
		}
		if len(rest) < 2 {
			continue
		}
		// Literal alternatives: the user's value is the side common to all.
		var left, right []string
		for _, i := range rest {
			m := conflict.FindStringSubmatch(probs[i].Message)
			if m == nil {
				left = nil
				break
			}
			left, right = append(left, m[1]), append(right, m[2])
		}
		if left == nil {
			continue
		}
		value, alts := "", []string(nil)
		switch {
		case allSame(right):
			value, alts = right[0], left
		case allSame(left):
			value, alts = left[0], right
		default:
			continue
		}
		first := &probs[rest[0]]
		first.Message = fmt.Sprintf("invalid value %s (want one of %s)", value, strings.Join(alts, ", "))
		for _, i := range rest[1:] {
			drop[i] = true
		}
	}
	out := probs[:0]
	for i, p := range probs {
		if !drop[i] {
			out = append(out, p)
		}
	}
	return out
}

func allSame(s []string) bool {
	for _, x := range s[1:] {
		if x != s[0] {
			return false
		}
	}
	return true
}

// fromDefault reports whether a problem comes from a default disjunct (*value) of
// the schema: its schema position is just after a '*'.
func fromDefault(p Problem) bool {
	for _, pos := range p.Positions[p.input:] {
		b, err := fs.ReadFile(schema.FS, filepath.Base(pos.File))
		if err != nil {
			continue
		}
		lines := strings.Split(string(b), "\n")
		if pos.Line-1 < len(lines) && pos.Column >= 2 {
			line := lines[pos.Line-1]
			if pos.Column-2 < len(line) && line[pos.Column-2] == '*' {
				return true
			}
		}
	}
	return false
}

// FieldPos is where an input file (the catalog included) defines the field
// at path, e.g. "models", `"deepseek-r1"`, "mla", "kv_lora_rank"; labels that
// are not identifiers are quoted, as in a CUE path.
func (s *Set) FieldPos(path ...string) (Position, bool) {
	if len(path) == 0 {
		return Position{}, false
	}
	return s.inputPos(path)
}

// inputPos finds where an input file defines the field at sels.
func (s *Set) inputPos(sels []string) (Position, bool) {
	if !s.Value.Exists() || strings.HasPrefix(sels[len(sels)-1], "_") {
		return Position{}, false
	}
	if len(sels) == 2 {
		name := sels[1]
		if u, err := strconv.Unquote(name); err == nil {
			name = u
		}
		if pos, ok := s.defs[sels[0]+"\x00"+name]; ok {
			return pos, true
		}
	}
	v := s.Value.LookupPath(cue.ParsePath(strings.Join(sels, ".")))
	if !v.Exists() {
		return Position{}, false
	}
	if pos, ok := s.pos.pos(v.Pos()); ok && !s.pos.isSchema(v.Pos().Filename()) {
		return pos, true
	}
	// A struct's own position may be the schema's pattern; its fields tell where
	// the input defines it.
	it, err := v.Fields()
	for err == nil && it.Next() {
		if tp := it.Value().Pos(); !s.pos.isSchema(tp.Filename()) {
			if pos, ok := s.pos.pos(tp); ok {
				return pos, true
			}
		}
	}
	return Position{}, false
}

// duplicates reports catalog entries, campaigns and policies that more than one file
// defines. CUE would silently merge two compatible definitions, which hides a
// copy-and-paste mistake.
//
// It also records where each entry is defined, for problems about a whole entry.
func (s *Set) duplicates(files []*ast.File) Problems {
	r := s.pos
	s.defs = map[string]Position{}
	type def struct {
		file string
		pos  Position
	}
	defs := map[string][]def{}
	var keys []string
	for _, f := range files {
		for _, decl := range f.Decls {
			if e, ok := decl.(*ast.EmbedDecl); ok && !r.isSchema(f.Filename) {
				p := Problem{Message: "value without a field name at the top level: a file holds fields such as campaigns: or models:"}
				if pos, ok := r.pos(e.Pos()); ok {
					p.Positions = []Position{pos}
				}
				s.embeds = append(s.embeds, p)
			}
			field, ok := decl.(*ast.Field)
			if !ok {
				continue
			}
			section, _, _ := ast.LabelName(field.Label)
			if !isSection(section) {
				continue
			}
			st, ok := field.Value.(*ast.StructLit)
			if !ok {
				continue
			}
			for _, e := range st.Elts {
				entry, ok := e.(*ast.Field)
				if !ok {
					continue
				}
				name, _, err := ast.LabelName(entry.Label)
				if err != nil {
					continue
				}
				k := section + "\x00" + name
				pos, _ := r.pos(entry.Label.Pos())
				if _, ok := s.defs[k]; !ok {
					s.defs[k] = pos
				}
				if ds := defs[k]; len(ds) > 0 && ds[len(ds)-1].file == f.Filename {
					continue
				}
				if defs[k] == nil {
					keys = append(keys, k)
				}
				defs[k] = append(defs[k], def{file: f.Filename, pos: pos})
			}
		}
	}
	var probs Problems
	for _, k := range keys {
		ds := defs[k]
		if len(ds) < 2 {
			continue
		}
		section, name, _ := strings.Cut(k, "\x00")
		p := Problem{
			Path:    section + "." + quoteLabel(name),
			Message: fmt.Sprintf("duplicate name %q: %d files define it; give each entry one file, or rename one", name, len(ds)),
			cause:   true,
		}
		for _, d := range ds {
			p.Positions = append(p.Positions, d.pos)
		}
		probs = append(probs, p)
	}
	return probs
}

func isSection(s string) bool {
	for _, x := range Sections {
		if s == x {
			return true
		}
	}
	return false
}

// quoteLabel writes a label as CUE would in a path.
func quoteLabel(s string) string {
	return cue.Str(s).String()
}

// decode fills the Go mirror from every entry that validated.
func (s *Set) decode() Problems {
	s.Hardware = map[string]Hardware{}
	s.Frameworks = map[string]Framework{}
	s.Quantizations = map[string]Quantization{}
	s.Workloads = map[string]Workload{}
	s.Models = map[string]Model{}
	s.Campaigns = map[string]Campaign{}
	s.Policies = map[string]Policy{}
	var probs Problems
	each := func(section string, put func(name string, b []byte) error) {
		it, err := s.Value.LookupPath(cue.ParsePath(section)).Fields()
		if err != nil {
			return
		}
		for it.Next() {
			v := it.Value()
			if v.Validate(cue.Concrete(true)) != nil {
				continue // reported by Validate on the whole value
			}
			b, err := v.MarshalJSON()
			if err == nil {
				err = put(it.Selector().Unquoted(), b)
			}
			if err != nil {
				probs = append(probs, s.pos.at(v, "cannot decode: %v", err))
			}
		}
	}
	each("hardware", into(s.Hardware))
	each("frameworks", into(s.Frameworks))
	each("quantizations", into(s.Quantizations))
	each("workloads", into(s.Workloads))
	each("models", into(s.Models))
	each("campaigns", into(s.Campaigns))
	each("policies", into(s.Policies))
	return probs
}

func into[T any](m map[string]T) func(string, []byte) error {
	return func(name string, b []byte) error {
		var v T
		if err := strictDecode(b, &v); err != nil {
			return err
		}
		m[name] = v
		return nil
	}
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
