package argo

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	"sigs.k8s.io/yaml"
)

// golden reads the nightly campaign's golden manifests (three models, as
// WorkflowTemplates and CronWorkflows) and the same specs as plain Workflows.
func golden(t testing.TB) *Manifests {
	return manifests(t, "../generated/testdata/golden/nightly/workflow.yaml")
}

// manifests reads a compiled workflow.yaml, with the model strings Build
// records, and adds each template's spec as a plain Workflow too.
func manifests(t testing.TB, path string) *Manifests {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := &Manifests{}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatal(err)
		}
		switch meta.Kind {
		case "WorkflowTemplate":
			var w wfv1.WorkflowTemplate
			if err := yaml.UnmarshalStrict([]byte(doc), &w); err != nil {
				t.Fatal(err)
			}
			m.Templates = append(m.Templates, &w)
			m.shapeVarying = append(m.shapeVarying, []string{modelOf(t, &w.Spec), w.Annotations["llmsweep.dev/matrix-hash"]})
			m.Workflows = append(m.Workflows, &wfv1.Workflow{TypeMeta: w.TypeMeta, ObjectMeta: w.ObjectMeta, Spec: *w.Spec.DeepCopy()})
			m.Workflows[len(m.Workflows)-1].Kind = "Workflow"
		case "CronWorkflow":
			var c wfv1.CronWorkflow
			if err := yaml.UnmarshalStrict([]byte(doc), &c); err != nil {
				t.Fatal(err)
			}
			m.Crons = append(m.Crons, &c)
		}
	}
	if len(m.Templates) < 2 || len(m.Crons) != len(m.Templates) {
		t.Fatalf("golden nightly has %d templates and %d crons", len(m.Templates), len(m.Crons))
	}
	return m
}

// modelOf is the model a spec's validate-model step names, as Build records it.
func modelOf(t testing.TB, s *wfv1.WorkflowSpec) string {
	t.Helper()
	for _, tm := range s.Templates {
		if tm.Name == "validate-model" {
			return tm.Container.Args[1]
		}
	}
	t.Fatal("no validate-model template")
	return ""
}

// TestValidateShapes checks that the models' workflows share shapes: Argo
// runs on fewer objects than the pieces of every model.
func TestValidateShapes(t *testing.T) {
	m := golden(t)
	m.Workflows = nil
	pieces := 0
	for _, w := range m.Templates {
		p, err := shapes(w.Spec, true)
		if err != nil {
			t.Fatal(err)
		}
		pieces += len(p)
	}
	before := argoRuns.Load()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	runs := argoRuns.Load() - before
	// Each piece is validated as a template and as its cron.
	if runs >= int64(2*pieces) || pieces <= len(m.Templates) {
		t.Errorf("Argo ran on %d objects for %d pieces of %d templates: no shape was shared", runs, pieces, len(m.Templates))
	}
	t.Logf("Argo ran on %d objects for %d pieces of %d templates", runs, pieces, len(m.Templates))
}

// lastBatch is the last batch task of a spec's pipeline DAG, and that DAG.
func lastBatch(t *testing.T, s *wfv1.WorkflowSpec) (*wfv1.DAGTask, *wfv1.DAGTemplate) {
	t.Helper()
	for i := range s.Templates {
		if d := s.Templates[i].DAG; d != nil {
			for j := len(d.Tasks) - 1; j >= 0; j-- {
				if strings.HasPrefix(d.Tasks[j].Name, "batch-") {
					return &d.Tasks[j], d
				}
			}
		}
	}
	t.Fatal("no batch task")
	return nil, nil
}

func param(task *wfv1.DAGTask, name string) *wfv1.Parameter {
	for i := range task.Arguments.Parameters {
		if task.Arguments.Parameters[i].Name == name {
			return &task.Arguments.Parameters[i]
		}
	}
	return nil
}

// TestValidateRejects breaks the golden manifests in the places that Validate
// leaves out of the shapes it hands to Argo (the last model, the last batch
// task, which stand for others) and in the shapes themselves: each must still
// be rejected, as Argo's validator run on every object rejects it.
func TestValidateRejects(t *testing.T) {
	if err := golden(t).Validate(); err != nil {
		t.Fatalf("the golden manifests do not validate: %v", err)
	}
	// Each break applies to the last Workflow and to the last WorkflowTemplate.
	breaks := []struct {
		name, want string
		spec       func(*wfv1.WorkflowSpec)
	}{
		{"parameter without value", "", func(s *wfv1.WorkflowSpec) {
			task, _ := lastBatch(t, s)
			param(task, "batch").Value = nil
		}},
		{"unresolved tag in a value", "failed to resolve", func(s *wfv1.WorkflowSpec) {
			task, _ := lastBatch(t, s)
			param(task, "server").Value = wfv1.AnyStringPtr("vllm {{inputs.parameters.nope}}")
		}},
		{"undefined template", "undefined", func(s *wfv1.WorkflowSpec) {
			task, _ := lastBatch(t, s)
			task.Template = "no-such-template"
		}},
		{"undefined dependency", "invalid dependency no-such-task", func(s *wfv1.WorkflowSpec) {
			task, _ := lastBatch(t, s)
			task.Dependencies = []string{"no-such-task"}
		}},
		{"dependency cycle", "cycle", func(s *wfv1.WorkflowSpec) {
			task, d := lastBatch(t, s)
			for i := range d.Tasks {
				if d.Tasks[i].Name == "matrix" {
					d.Tasks[i].Dependencies = append(d.Tasks[i].Dependencies, task.Name)
				}
			}
		}},
		{"duplicate task name", "duplicated nodeName", func(s *wfv1.WorkflowSpec) {
			task, d := lastBatch(t, s)
			for _, other := range d.Tasks {
				if strings.HasPrefix(other.Name, "batch-") && other.Name != task.Name {
					task.Name = other.Name
					return
				}
			}
			t.Fatal("one batch task only")
		}},
		{"invalid task name", "invalid", func(s *wfv1.WorkflowSpec) {
			task, _ := lastBatch(t, s)
			task.Name = "batch_" + task.Name
		}},
		{"invalid retry policy", "not a valid RetryPolicy", func(s *wfv1.WorkflowSpec) {
			for i := range s.Templates {
				if r := s.Templates[i].RetryStrategy; r != nil {
					r.RetryPolicy = "Sometimes"
				}
			}
		}},
		{"invalid metric name", "metric name", func(s *wfv1.WorkflowSpec) {
			for i := len(s.Templates) - 1; i >= 0; i-- {
				if m := s.Templates[i].Metrics; m != nil {
					m.Prometheus[0].Name = "batch-completion"
					return
				}
			}
		}},
	}
	for _, b := range breaks {
		t.Run("workflow/"+b.name, func(t *testing.T) {
			m := golden(t)
			m.Templates, m.Crons = nil, nil
			b.spec(&m.Workflows[len(m.Workflows)-1].Spec)
			rejected(t, m, b.want)
		})
		t.Run("template/"+b.name, func(t *testing.T) {
			m := golden(t)
			m.Workflows = nil
			b.spec(&m.Templates[len(m.Templates)-1].Spec)
			rejected(t, m, b.want)
		})
	}
	t.Run("workflow name too long", func(t *testing.T) {
		m := golden(t)
		m.Workflows[len(m.Workflows)-1].Name = strings.Repeat("a", 64)
		rejected(t, m, "must not be more than 63 characters")
	})
	t.Run("cron name too long", func(t *testing.T) {
		m := golden(t)
		m.Crons[len(m.Crons)-1].Name = strings.Repeat("a", 53)
		rejected(t, m, "must not be more than 52 characters")
	})
	t.Run("cron schedule malformed", func(t *testing.T) {
		m := golden(t)
		m.Crons[len(m.Crons)-1].Spec.Schedules = []string{"61 * * * *"}
		rejected(t, m, "malformed")
	})
	t.Run("cron names no template", func(t *testing.T) {
		m := golden(t)
		m.Crons[len(m.Crons)-1].Spec.WorkflowSpec.WorkflowTemplateRef.Name = "no-such-template"
		rejected(t, m, "not among the generated manifests")
	})
}

// validateEach is Validate as it was: Argo's validator on every object. It is
// the reference Validate must agree with, and the benchmark's baseline.
func validateEach(m *Manifests) error {
	all := templates{}
	for _, t := range m.Templates {
		all[t.Name] = t
	}
	opts := validate.ValidateOpts{}
	for _, w := range m.Workflows {
		if err := validate.ValidateWorkflow(all, noClusterTemplates{}, w, nil, opts); err != nil {
			return err
		}
	}
	for _, t := range m.Templates {
		if err := validate.ValidateWorkflowTemplate(all, noClusterTemplates{}, t, nil, opts); err != nil {
			return err
		}
	}
	for _, c := range m.Crons {
		if err := validate.ValidateCronWorkflow(context.Background(), all, noClusterTemplates{}, c, nil); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkValidate validates catalog-wide's committed manifests (72 models as
// templates and crons, and as plain workflows) object by object, as Validate
// did before, and by shape, in the same run, and reports the ratio.
func BenchmarkValidate(b *testing.B) {
	// Argo's validator writes into what it validates: each side gets a fresh copy.
	path := "../../generated/catalog-wide/workflow.yaml"
	for b.Loop() {
		b.StopTimer()
		m, ref := manifests(b, path), manifests(b, path)
		b.StartTimer()
		t0 := time.Now()
		if err := validateEach(ref); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := m.Validate(); err != nil {
			b.Fatal(err)
		}
		each, shaped := t1.Sub(t0), time.Since(t1)
		b.ReportMetric(each.Seconds(), "each-s")
		b.ReportMetric(shaped.Seconds(), "shapes-s")
		b.ReportMetric(each.Seconds()/shaped.Seconds(), "x-faster")
	}
}

func rejected(t *testing.T, m *Manifests, want string) {
	t.Helper()
	if validateEach(m) == nil {
		t.Fatal("the break is no break: Argo's validator accepts it")
	}
	err := m.Validate()
	if err == nil {
		t.Fatal("Validate accepted the broken manifests")
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("Validate: %v\nwant an error that says %q", err, want)
	}
}
