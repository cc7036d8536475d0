package argo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// templates resolves workflowTemplateRef against the manifests being validated:
// offline, the only templates that exist are the ones compiled with them.
type templates map[string]*wfv1.WorkflowTemplate

func (t templates) Get(name string) (*wfv1.WorkflowTemplate, error) {
	if w, ok := t[name]; ok {
		return w, nil
	}
	return nil, fmt.Errorf("workflow template %q is not among the generated manifests", name)
}

// overlay is the templates with one of them replaced by the piece being
// validated.
type overlay struct {
	templates
	name  string
	piece *wfv1.WorkflowTemplate
}

func (o overlay) Get(name string) (*wfv1.WorkflowTemplate, error) {
	if name == o.name {
		return o.piece, nil
	}
	return o.templates.Get(name)
}

type noClusterTemplates struct{}

func (noClusterTemplates) Get(name string) (*wfv1.ClusterWorkflowTemplate, error) {
	return nil, fmt.Errorf("cluster workflow template %q: llmsweep generates none", name)
}

// argoRuns counts the objects handed to Argo's validator, for the tests.
var argoRuns atomic.Int64

// Object name limits of Argo's validator: the only use it makes of a name.
const (
	maxObjectName = 63
	maxCronName   = 52
)

// validating serializes Validate: Argo's validator keeps a package-level
// placeholder counter (the race detector found it under concurrent compiles).
var validating sync.Mutex

// Validate checks every generated object with Argo's own offline validator, the
// one `argo lint` and the API server's admission use.
//
// Argo's validator costs about a second per large workflow, and a campaign's
// workflows (one per model) mostly differ only in values the validator treats
// alike. So each object is first reduced to its shapes: batch tasks that differ
// only in their name and in parameter values of the same class collapse into
// one (reduceDAGs), and the DAG splits into one piece per batch template
// (split). A piece's key leaves out the object's name, its label and
// annotation values, the task names and values of the same class, and the
// model-specific strings Build recorded (shapeKey, keyed). Argo validates each
// distinct piece once; what the reduction leaves out is checked per object
// here, as Argo checks it (name lengths, task names, dependencies, cycles).
func (m *Manifests) Validate() error {
	all := templates{}
	for _, t := range m.Templates {
		all[t.Name] = t
	}
	// Pieces pay off across models: one object is validated whole, where
	// Argo's own cache validates each template once.
	many := len(m.Workflows)+len(m.Templates) > 1
	// Every object's pieces and keys first, objects in parallel: our own
	// work, and all of it done before Argo's validator writes into a piece.
	type object struct {
		specs []*wfv1.WorkflowSpec
		keys  [][32]byte
		err   error
	}
	objs := make([]object, len(m.Workflows)+len(m.Templates))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range objs {
		g.Go(func() error {
			o := &objs[i]
			kind, meta, spec, at := "Workflow", metav1.ObjectMeta{}, wfv1.WorkflowSpec{}, i
			if i < len(m.Workflows) {
				meta, spec = m.Workflows[i].ObjectMeta, m.Workflows[i].Spec
			} else {
				at = i - len(m.Workflows)
				kind, meta, spec = "WorkflowTemplate", m.Templates[at].ObjectMeta, m.Templates[at].Spec
			}
			if len(meta.Name) > maxObjectName {
				o.err = fmt.Errorf("%s name %q must not be more than %d characters long (currently %d)", kindName(kind), meta.Name, maxObjectName, len(meta.Name))
				return nil
			}
			o.specs, o.err = shapes(spec, many)
			if o.err == nil {
				o.keys = shapeKeys(kind, meta, o.specs, m.varying(at))
			}
			return nil
		})
	}
	crons := map[string][]*wfv1.CronWorkflow{}
	cronKeys := map[*wfv1.CronWorkflow][32]byte{}
	for _, c := range m.Crons {
		if ref := c.Spec.WorkflowSpec.WorkflowTemplateRef; len(c.Name) <= maxCronName && ref != nil && !ref.ClusterScope && all[ref.Name] != nil {
			crons[ref.Name] = append(crons[ref.Name], c)
			n := c.DeepCopy()
			n.Spec.WorkflowSpec.WorkflowTemplateRef = &wfv1.WorkflowTemplateRef{}
			cronKeys[c] = shapeKey("CronWorkflow", n.ObjectMeta, n.Spec, nil)
		}
	}
	g.Wait()

	// Argo's validator, one distinct piece at a time.
	validating.Lock()
	defer validating.Unlock()
	seen := map[[32]byte]bool{}
	opts := validate.ValidateOpts{}
	check := func(key [32]byte, f func() error) error {
		if seen[key] {
			return nil
		}
		argoRuns.Add(1)
		if err := f(); err != nil {
			return err
		}
		seen[key] = true
		return nil
	}
	for i, w := range m.Workflows {
		o := objs[i]
		if o.err != nil {
			return fmt.Errorf("workflow %s: %w", w.Name, o.err)
		}
		for j, spec := range o.specs {
			r := &wfv1.Workflow{TypeMeta: w.TypeMeta, ObjectMeta: *w.ObjectMeta.DeepCopy(), Spec: *spec}
			err := check(o.keys[j], func() error {
				return validate.ValidateWorkflow(all, noClusterTemplates{}, r, nil, opts)
			})
			if err != nil {
				return fmt.Errorf("workflow %s: %w", w.Name, err)
			}
		}
	}
	for _, c := range m.Crons {
		if len(c.Name) > maxCronName {
			return fmt.Errorf("cron workflow %s: cron workflow name %q must not be more than %d characters long (currently %d)", c.Name, c.Name, maxCronName, len(c.Name))
		}
		if _, ok := cronKeys[c]; ok {
			continue
		}
		// Referring to nothing generated: Argo says why.
		if err := validate.ValidateCronWorkflow(context.Background(), all, noClusterTemplates{}, c, nil); err != nil {
			return fmt.Errorf("cron workflow %s: %w", c.Name, err)
		}
	}
	for i, t := range m.Templates {
		o := objs[len(m.Workflows)+i]
		if o.err != nil {
			return fmt.Errorf("workflow template %s: %w", t.Name, o.err)
		}
		for j, spec := range o.specs {
			r := &wfv1.WorkflowTemplate{TypeMeta: t.TypeMeta, ObjectMeta: *t.ObjectMeta.DeepCopy(), Spec: *spec}
			get := overlay{all, t.Name, r}
			k := o.keys[j]
			err := check(k, func() error {
				return validate.ValidateWorkflowTemplate(get, noClusterTemplates{}, r, nil, opts)
			})
			if err != nil {
				return fmt.Errorf("workflow template %s: %w", t.Name, err)
			}
			// A cron runs the template it names: it is validated against each
			// piece of that template, keyed by the piece's shape.
			for _, c := range crons[t.Name] {
				ck := cronKeys[c]
				err := check(sha256.Sum256(append(ck[:], k[:]...)), func() error {
					return validate.ValidateCronWorkflow(context.Background(), get, noClusterTemplates{}, c, nil)
				})
				if err != nil {
					return fmt.Errorf("cron workflow %s: %w", c.Name, err)
				}
			}
		}
	}
	return nil
}

// kindName is how Argo's messages name a kind.
func kindName(kind string) string {
	if kind == "WorkflowTemplate" {
		return "workflow template"
	}
	return "workflow"
}

// shapeKeys are the keys of an object's pieces (a piece of a split spec is
// keyed), all taken before Argo's validator runs on any: it writes into what
// it validates, and pieces share templates.
func shapeKeys(kind string, meta metav1.ObjectMeta, specs []*wfv1.WorkflowSpec, varying []string) [][32]byte {
	keys := make([][32]byte, len(specs))
	for i, spec := range specs {
		if len(specs) > 1 {
			spec = keyed(spec)
		}
		keys[i] = shapeKey(kind, meta, spec, varying)
	}
	return keys
}

// varying is what Build recorded as model-specific in the i-th workflow or
// template.
func (m *Manifests) varying(i int) []string {
	if i < len(m.shapeVarying) {
		return m.shapeVarying[i]
	}
	return nil
}

// shapeKey hashes what Argo's validator sees of an object: everything but its
// name (whose length is checked per object), its label and annotation values
// (never read by the validator, unless they hold a {{tag}}) and the strings in
// varying, which are replaced wherever they occur whole. Build records there
// only strings it writes into container arguments, labels and annotations,
// which the validator treats as opaque text.
func shapeKey(kind string, meta metav1.ObjectMeta, spec any, varying []string) [32]byte {
	meta.Name = ""
	meta.Labels = blankValues(meta.Labels)
	meta.Annotations = blankValues(meta.Annotations)
	if s, ok := spec.(*wfv1.WorkflowSpec); ok {
		c := *s
		if c.PodMetadata != nil {
			c.PodMetadata = &wfv1.Metadata{Labels: blankValues(c.PodMetadata.Labels), Annotations: blankValues(c.PodMetadata.Annotations)}
		}
		spec = &c
	}
	if s, ok := spec.(wfv1.CronWorkflowSpec); ok && s.WorkflowMetadata != nil {
		wm := *s.WorkflowMetadata
		wm.Labels, wm.Annotations = blankValues(wm.Labels), blankValues(wm.Annotations)
		s.WorkflowMetadata = &wm
		spec = s
	}
	b, err := json.Marshal(struct {
		Kind string
		Meta metav1.ObjectMeta
		Spec any
	}{kind, meta, spec})
	if err != nil {
		// Unreachable for API types; a unique key validates the object alone.
		return sha256.Sum256([]byte(err.Error() + kind + meta.String()))
	}
	// A whole string is its quoted JSON form: a string starting with a letter
	// or digit cannot match across a quote that closes another.
	for i, v := range varying {
		if v == "" || !untagged(v) || !isAlnum(v[0]) {
			continue
		}
		q, err := json.Marshal(v)
		if err != nil {
			continue
		}
		b = bytes.ReplaceAll(b, q, []byte(`"\u0000varying-`+strconv.Itoa(i)+`"`))
	}
	return sha256.Sum256(b)
}

// blankValues keeps a map's keys and the values that hold a template tag.
func blankValues(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if !untagged(v) {
			out[k] = v
		} else {
			out[k] = ""
		}
	}
	return out
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// untagged is a string that Argo's templating copies as it is: no tag, and
// nothing strconv.Quote escapes beyond what JSON allows.
func untagged(s string) bool {
	if strings.Contains(s, "{{") || strings.Contains(s, "}}") || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return false
		}
	}
	return true
}

// valueClass groups parameter values that every check of Argo's validator
// treats alike once substituted: a tag or an unusual character keeps the
// value itself; otherwise what matters is whether it is empty and what it
// parses as (a whole number is not a valid timeout, a podSpecPatch must be
// JSON, durations and quantities are parsed).
func valueClass(v *wfv1.AnyString) string {
	if v == nil {
		return "nil"
	}
	s := v.String()
	if !untagged(s) {
		return "exact:" + s
	}
	c := []byte("plain:")
	if s == "" {
		c = append(c, 'e')
	}
	if _, err := strconv.Atoi(s); err == nil {
		c = append(c, 'i')
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		c = append(c, 'f')
	}
	if _, err := time.ParseDuration(s); err == nil {
		c = append(c, 'd')
	}
	if json.Valid([]byte(s)) {
		c = append(c, 'j')
	}
	if s == "true" || s == "false" {
		c = append(c, 'b')
	}
	return string(c)
}

// Argo's rule for DAG task names (validateWorkflowFieldNames).
var taskNameRE = regexp.MustCompile(`^[a-zA-Z0-9][-a-zA-Z0-9]*$`)

const maxTaskName = 128

// reduceDAGs collapses, in each DAG template, the tasks that differ from an
// earlier one only in their name and in parameter values of the same class:
// Argo validates a task against its template with its arguments, and such
// tasks pass or fail together. Dependencies on a dropped task point to the one
// that stands for it, which keeps every cycle a cycle. The dropped tasks' names
// are checked here as Argo checks them. A DAG whose tasks may be referred to
// by name other than in dependencies (outputs, depends expressions, targets,
// expressions over inputs) is left whole.
func reduceDAGs(spec *wfv1.WorkflowSpec, whole bool) error {
	for ti := range spec.Templates {
		t := &spec.Templates[ti]
		if whole || t.DAG == nil || len(t.DAG.Tasks) < 2 || !collapsible(t) {
			continue
		}
		stand := map[string]string{} // dropped task -> the task that stands for it
		first := map[string]string{} // shape -> first task
		names := map[string]bool{}
		var kept []wfv1.DAGTask
		for i, task := range t.DAG.Tasks {
			if err := checkTaskName(t.Name, i, task, names); err != nil {
				return err
			}
			k := taskShape(task)
			if rep, ok := first[k]; ok {
				stand[task.Name] = rep
				continue
			}
			first[k] = task.Name
			kept = append(kept, task)
		}
		if len(stand) == 0 {
			continue
		}
		for i := range kept {
			deps := kept[i].Dependencies
			if len(deps) == 0 {
				continue
			}
			out := make([]string, 0, len(deps))
			had := map[string]bool{}
			for _, d := range deps {
				if r, ok := stand[d]; ok {
					d = r
				}
				if !had[d] {
					had[d] = true
					out = append(out, d)
				}
			}
			kept[i].Dependencies = out
		}
		t.DAG.Tasks = kept
	}
	return nil
}

// checkTaskName is Argo's check of a DAG task's name.
func checkTaskName(tmpl string, i int, task wfv1.DAGTask, names map[string]bool) error {
	switch {
	case task.Name == "":
		return fmt.Errorf("templates.%s.tasks[%d].name is required", tmpl, i)
	case len(task.Name) > maxTaskName || !taskNameRE.MatchString(task.Name):
		return fmt.Errorf("templates.%s.tasks[%d].name: '%s' is invalid: name must consist of alpha-numeric characters or '-', and must start with an alpha-numeric character, at most %d", tmpl, i, task.Name, maxTaskName)
	case names[task.Name]:
		return fmt.Errorf("templates.%s sorting failed: duplicated nodeName %s", tmpl, task.Name)
	case len(task.Dependencies) > 0 && task.Name[0] >= '0' && task.Name[0] <= '9':
		return fmt.Errorf("templates.%s.tasks.%s name cannot begin with a digit when using either 'depends' or 'dependencies'", tmpl, task.Name)
	}
	names[task.Name] = true
	return nil
}

// collapsible is a DAG whose tasks are referred to only in dependencies.
func collapsible(t *wfv1.Template) bool {
	if t.DAG.Target != "" {
		return false
	}
	for _, task := range t.DAG.Tasks {
		if task.Depends != "" || task.Hooks != nil || task.Inline != nil {
			return false
		}
	}
	return true
}

// collapsibleSpec is a spec that names no task output and evaluates no
// expression over its inputs, whose result could depend on a value's content.
func collapsibleSpec(spec *wfv1.WorkflowSpec) bool {
	b, err := json.Marshal(spec)
	if err != nil {
		return false
	}
	s := string(b)
	if strings.Contains(s, "tasks.") {
		return false
	}
	for {
		i := strings.Index(s, "{{=")
		if i < 0 {
			return true
		}
		s = s[i+3:]
		j := strings.Index(s, "}}")
		if j < 0 {
			j = len(s)
		}
		if strings.Contains(s[:j], "inputs") {
			return false
		}
		s = s[j:]
	}
}

// taskShape is a task as Argo's validator sees it, less its name, with each
// parameter value replaced by its class.
func taskShape(task wfv1.DAGTask) string {
	name := task.Name
	task.Name = ""
	params := make([]wfv1.Parameter, len(task.Arguments.Parameters))
	for i, p := range task.Arguments.Parameters {
		p.Value = wfv1.AnyStringPtr(valueClass(p.Value))
		params[i] = p
	}
	task.Arguments.Parameters = params
	b, err := json.Marshal(task)
	if err != nil {
		return "\x00unique:" + name // never shared
	}
	return string(b)
}

// shapes reduces a workflow spec (reduceDAGs) and splits it into the pieces
// Argo's validator sees separately: one per batch template. A piece keeps
// every other template and task, and the tasks that run its batch template;
// Argo checks each DAG task against its own template only, so the pieces
// pass together exactly when the whole does, but for the DAG-wide checks
// (dependencies defined, no cycle), made here on the whole. Pieces recur
// from model to model, where whole workflows rarely do.
func shapes(orig wfv1.WorkflowSpec, pieces bool) ([]*wfv1.WorkflowSpec, error) {
	spec := orig.DeepCopy()
	whole := !collapsibleSpec(spec)
	if err := reduceDAGs(spec, whole); err != nil {
		return nil, err
	}
	if whole || !pieces {
		return []*wfv1.WorkflowSpec{spec}, nil
	}
	return split(spec)
}

// split cuts a collapsible spec (collapsibleSpec) into pieces.
func split(spec *wfv1.WorkflowSpec) ([]*wfv1.WorkflowSpec, error) {
	whole := []*wfv1.WorkflowSpec{spec}
	index := map[string]int{}
	for i, t := range spec.Templates {
		index[t.Name] = i
	}
	di, ok := index[spec.Entrypoint]
	if !ok || spec.Hooks != nil {
		return whole, nil
	}
	dag := &spec.Templates[di]
	if dag.DAG == nil || !collapsible(dag) {
		return whole, nil
	}
	// Who refers to each template: the root, another template, or a task.
	refs := map[string][]string{}
	refs[spec.Entrypoint] = append(refs[spec.Entrypoint], "")
	if spec.OnExit != "" {
		refs[spec.OnExit] = append(refs[spec.OnExit], "")
	}
	for _, t := range spec.Templates {
		for _, par := range t.Steps {
			for _, st := range par.Steps {
				if st.Template == "" || st.Hooks != nil || st.Inline != nil {
					return whole, nil
				}
				refs[st.Template] = append(refs[st.Template], t.Name)
				if st.OnExit != "" {
					refs[st.OnExit] = append(refs[st.OnExit], t.Name)
				}
			}
		}
		if t.DAG != nil && t.Name != dag.Name {
			for _, task := range t.DAG.Tasks {
				refs[task.Template] = append(refs[task.Template], t.Name)
			}
		}
	}
	present := map[string]bool{}
	for _, task := range dag.DAG.Tasks {
		if task.Template == "" || task.OnExit != "" {
			return whole, nil
		}
		present[task.Name] = true
		refs[task.Template] = append(refs[task.Template], "task:"+task.Template)
	}
	if err := dagWellFormed(dag.Name, dag.DAG.Tasks, present); err != nil {
		return nil, err
	}
	// A batch template's closure: it and the templates its steps run.
	closure := func(x string) map[string]bool {
		in := map[string]bool{}
		todo := []string{x}
		for len(todo) > 0 {
			n := todo[len(todo)-1]
			todo = todo[:len(todo)-1]
			i, ok := index[n]
			if in[n] || !ok {
				if !ok {
					return nil
				}
				continue
			}
			in[n] = true
			for _, par := range spec.Templates[i].Steps {
				for _, st := range par.Steps {
					todo = append(todo, st.Template)
					if st.OnExit != "" {
						todo = append(todo, st.OnExit)
					}
				}
			}
		}
		return in
	}
	var order []string
	closures := map[string]map[string]bool{}
	owner := map[string]string{} // template -> the batch template whose closure holds it
	for _, task := range dag.DAG.Tasks {
		x := task.Template
		if _, done := closures[x]; done || x == dag.Name {
			continue
		}
		c := closure(x)
		ok := c != nil
		for n := range c {
			if spec.Templates[index[n]].DAG != nil {
				ok = false
			}
			for _, r := range refs[n] {
				if r != "task:"+x && !c[r] {
					ok = false
				}
			}
		}
		if !ok {
			closures[x] = nil
			continue
		}
		closures[x] = c
		order = append(order, x)
		for n := range c {
			owner[n] = x
		}
	}
	if len(order) < 2 {
		return whole, nil
	}
	pieces := make([]*wfv1.WorkflowSpec, 0, len(order))
	for _, x := range order {
		p := *spec
		p.Templates = nil
		for _, t := range spec.Templates {
			if o, ok := owner[t.Name]; ok && o != x {
				continue
			}
			if t.Name == dag.Name {
				d := *t.DAG
				d.Tasks = nil
				keep := map[string]bool{}
				for _, task := range t.DAG.Tasks {
					if o, ok := owner[task.Template]; !ok || o == x {
						keep[task.Name] = true
					}
				}
				for _, task := range t.DAG.Tasks {
					if !keep[task.Name] {
						continue
					}
					var deps []string
					for _, dep := range task.Dependencies {
						if keep[dep] {
							deps = append(deps, dep)
						}
					}
					task.Dependencies = deps
					d.Tasks = append(d.Tasks, task)
				}
				t.DAG = &d
			}
			p.Templates = append(p.Templates, t)
		}
		pieces = append(pieces, &p)
	}
	return pieces, nil
}

// keyed is a piece as its shape key sees it: its entrypoint DAG's tasks named
// by position and their parameter values replaced by their class. Task names
// are checked on the whole (checkTaskName) and, in a DAG that split, are
// referred to only by dependencies, which are renamed alike.
func keyed(p *wfv1.WorkflowSpec) *wfv1.WorkflowSpec {
	k := *p
	k.Templates = slices.Clone(p.Templates)
	for i, t := range k.Templates {
		if t.Name != p.Entrypoint || t.DAG == nil {
			continue
		}
		d := *t.DAG
		d.Tasks = make([]wfv1.DAGTask, len(t.DAG.Tasks))
		rename := map[string]string{}
		for j, task := range t.DAG.Tasks {
			rename[task.Name] = "t" + strconv.Itoa(j)
		}
		for j, task := range t.DAG.Tasks {
			task.Name = rename[task.Name]
			deps := make([]string, len(task.Dependencies))
			for n, dep := range task.Dependencies {
				deps[n] = rename[dep]
			}
			task.Dependencies = deps
			params := make([]wfv1.Parameter, len(task.Arguments.Parameters))
			for n, par := range task.Arguments.Parameters {
				par.Value = wfv1.AnyStringPtr(valueClass(par.Value))
				params[n] = par
			}
			task.Arguments.Parameters = params
			d.Tasks[j] = task
		}
		t.DAG = &d
		k.Templates[i] = t
	}
	return &k
}

// dagWellFormed is Argo's check (sortDAGTasks, verifyNoCycles) that every dependency names a task, and that
// the dependencies have no cycle.
func dagWellFormed(tmpl string, tasks []wfv1.DAGTask, present map[string]bool) error {
	deps := map[string][]string{}
	for _, task := range tasks {
		for _, d := range task.Dependencies {
			if !present[d] {
				return fmt.Errorf("templates.%s sorting failed: invalid dependency %s", tmpl, d)
			}
		}
		deps[task.Name] = task.Dependencies
	}
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var visit func(n string) error
	visit = func(n string) error {
		switch state[n] {
		case visiting:
			return fmt.Errorf("templates.%s.tasks dependency cycle detected at %s", tmpl, n)
		case done:
			return nil
		}
		state[n] = visiting
		for _, d := range deps[n] {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[n] = done
		return nil
	}
	for _, task := range tasks {
		if err := visit(task.Name); err != nil {
			return err
		}
	}
	return nil
}
