package argoenv_test

import (
	"path/filepath"
	"regexp"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/llmsweep/llmsweep/internal/kube/argoenv"
)

// batchTimeout returns the template timeout the compiler gave quickstart's
// batch: the deadline within which a batch must be running. A timeout that
// names an input parameter is read from the batch task's argument.
func batchTimeout(t *testing.T, root string) time.Duration {
	t.Helper()
	ts, err := argoenv.Templates(filepath.Join(root, "generated", "quickstart", "workflow.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]wfv1.Template{}
	for _, tmpl := range ts {
		byName[tmpl.Name] = tmpl
	}
	for _, dag := range ts {
		if dag.DAG == nil {
			continue
		}
		for _, task := range dag.DAG.Tasks {
			tmpl := byName[task.Template]
			if task.Arguments.GetParameterByName("batch") == nil {
				continue
			}
			// The GPU semaphore's wrapper runs the pod template as its one
			// step, passing the task's timeout argument down by name.
			for tmpl.Timeout == "" && len(tmpl.Steps) == 1 && len(tmpl.Steps[0].Steps) == 1 {
				tmpl = byName[tmpl.Steps[0].Steps[0].Template]
			}
			timeout := tmpl.Timeout
			if timeout == "" {
				t.Fatalf("batch template %s sets no timeout: with no spot capacity its pod stays Pending and Argo never retries it (issue 16, defect 1)", tmpl.Name)
			}
			if m := inputRef.FindStringSubmatch(timeout); m != nil {
				p := task.Arguments.GetParameterByName(m[1])
				if p == nil || p.Value == nil {
					t.Fatalf("batch template %s: timeout %s, but task %s passes no %s", tmpl.Name, timeout, task.Name, m[1])
				}
				timeout = p.Value.String()
			}
			d, err := time.ParseDuration(timeout)
			if err != nil {
				t.Fatalf("batch task %s: timeout %q: %v", task.Name, timeout, err)
			}
			return d
		}
	}
	t.Fatal("quickstart has no batch task")
	return 0
}

var inputRef = regexp.MustCompile(`^\{\{\s*inputs\.parameters\.([A-Za-z0-9_-]+)\s*\}\}$`)

// TestSpotShortage runs quickstart on a cluster with on-demand GPU nodes and
// no spot node at all: the batch must run on on-demand within the deadline
// the compiler set (the batch template's timeout), and the Workflow must
// succeed. The log gives the time to fallback.
func TestSpotShortage(t *testing.T) {
	e, rec := cluster(t, "quickstart", argoenv.Behaviour{StepRun: 200 * time.Millisecond, BatchRun: 2 * time.Second}, 0, 1)
	deadline := batchTimeout(t, e.Root())
	e.Apply(t, "generated/quickstart")
	names := workflowsOf(t, e, "quickstart")
	if len(names) != 1 {
		t.Fatalf("apply made Workflows %v, want one", names)
	}
	limit := min(deadline*4+time.Minute, 10*time.Minute)
	wf := e.WaitFinished(t, names[0], limit)
	var first, onDemand time.Time
	for _, p := range rec.Pods() {
		if p.Batch == "" {
			continue
		}
		if first.IsZero() {
			first = p.Created
		}
		if !p.Running.IsZero() && !argoenv.Spot(nodeOf(t, e, p.Node)) && onDemand.IsZero() {
			onDemand = p.Running
		}
	}
	if onDemand.IsZero() {
		t.Fatalf("no batch pod ran on on-demand; %s ended %s (%s)", wf.Name, wf.Status.Phase, wf.Status.Message)
	}
	fallback := onDemand.Sub(first)
	t.Logf("time to fallback: %s from the first batch pod's creation to a batch pod running on on-demand (compiled deadline %s)", fallback.Round(time.Millisecond), deadline)
	if fallback > deadline {
		t.Errorf("fallback took %s, over the compiled deadline %s", fallback, deadline)
	}
	if wf.Status.Phase != wfv1.WorkflowSucceeded {
		t.Errorf("%s: %s (%s), want Succeeded", wf.Name, wf.Status.Phase, wf.Status.Message)
	}
}
