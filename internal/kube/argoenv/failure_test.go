package argoenv_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/llmsweep/llmsweep/internal/kube/argoenv"
)

// attempts returns the pod nodes of one batch task (its retry attempts,
// directly under the task or under the steps that hold its semaphore), in
// the order they started.
func attempts(wf *wfv1.Workflow, task string) []wfv1.NodeStatus {
	var out []wfv1.NodeStatus
	prefix := wf.Name + "." + task
	for _, n := range wf.Status.Nodes {
		if rest, ok := strings.CutPrefix(n.Name, prefix); ok && n.Type == wfv1.NodeTypePod && strings.HasPrefix(rest, "(") || ok && n.Type == wfv1.NodeTypePod && strings.HasPrefix(rest, "[") {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartedAt.Before(&out[j].StartedAt) })
	return out
}

// TestBatchFailsEveryRetry makes quickstart's batch fail on every attempt:
// Argo retries it with the backoff, continueOn lets aggregate, refresh-views
// and report run, and the exit handler gets the failure. Then the
// controller's metrics endpoint is scraped and every Argo metric that the
// generated dashboard and PrometheusRule query must be there, with the
// labels they use.
func TestBatchFailsEveryRetry(t *testing.T) {
	ids := quickstartBatches(t)
	e, _ := cluster(t, "quickstart", argoenv.Behaviour{StepRun: 200 * time.Millisecond, BatchRun: time.Second, Fail: ids}, 4, 1)
	e.Apply(t, "generated/quickstart")
	names := workflowsOf(t, e, "quickstart")
	if len(names) != 1 {
		t.Fatalf("apply made Workflows %v, want one", names)
	}
	wf := e.WaitFinished(t, names[0], 4*time.Minute)
	t.Logf("%s: phase %s (%s)", wf.Name, wf.Status.Phase, wf.Status.Message)
	// docs/kubernetes.md promises this phase: continueOn: failed makes the DAG
	// pass over a failed batch, so the Workflow ends Succeeded, and the
	// failure shows in the batch's node, in on-exit's --failures and in the
	// benchmark_batch_failures metric.
	if wf.Status.Phase != wfv1.WorkflowSucceeded {
		t.Errorf("%s: phase %s, want Succeeded (the docs' promise for a batch that failed every retry)", wf.Name, wf.Status.Phase)
	}
	got := steps(wf)
	task := "batch-" + ids[0]
	if got[task].phase != wfv1.NodeFailed {
		t.Errorf("%s: %s is %s, want Failed", wf.Name, task, got[task].phase)
	}
	for _, s := range []string{"aggregate", "refresh-views", "report", "on-exit"} {
		if got[s].phase != wfv1.NodeSucceeded {
			t.Errorf("%s: %s is %q after the failed batch, want Succeeded (continueOn)", wf.Name, s, got[s].phase)
		}
	}
	checkDAGOrder(t, wf)
	as := attempts(wf, task)
	limit := 3
	if len(as) != limit+1 {
		t.Errorf("%s ran %d attempts, want %d (retryStrategy limit %d)", task, len(as), limit+1, limit)
	}
	for i := 1; i < len(as); i++ {
		gap := as[i].StartedAt.Sub(as[i-1].FinishedAt.Time)
		t.Logf("attempt %d started %s after attempt %d ended", i, gap, i-1)
	}
	// The exit handler's pod got the failures as Argo rendered them.
	pods, err := e.Kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var failures string
	for _, p := range pods.Items {
		if p.Annotations["workflows.argoproj.io/node-name"] != wf.Name+".onExit" {
			continue
		}
		for _, c := range p.Spec.Containers {
			if c.Name == "main" {
				if i := slices.Index(c.Args, "--failures"); i >= 0 && i+1 < len(c.Args) {
					failures = c.Args[i+1]
				}
			}
		}
	}
	var fs []struct {
		DisplayName, Phase, Message string
	}
	// The controller quotes the JSON (strconv.Quote) so that substitution
	// keeps its quotes; the argument may arrive quoted.
	if u, err := strconv.Unquote(failures); err == nil {
		failures = u
	}
	if err := json.Unmarshal([]byte(failures), &fs); err != nil {
		t.Fatalf("on-exit's --failures %q: %v", failures, err)
	}
	listed := false
	for _, f := range fs {
		listed = listed || strings.HasPrefix(f.DisplayName, task)
	}
	if !listed {
		t.Errorf("on-exit's --failures does not list %s: %s", task, failures)
	}
	checkMetrics(t, e, "quickstart")
}

func quickstartBatches(t *testing.T) []string {
	t.Helper()
	ts, err := argoenv.Templates(filepath.Join("..", "..", "..", "generated", "quickstart", "workflow.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tmpl := range ts {
		if tmpl.DAG == nil {
			continue
		}
		for _, task := range tmpl.DAG.Tasks {
			if p := task.Arguments.GetParameterByName("batch"); p != nil && p.Value != nil {
				ids = append(ids, p.Value.String())
			}
		}
	}
	if len(ids) == 0 {
		t.Fatal("quickstart has no batch task")
	}
	return ids
}

var (
	argoMetric = regexp.MustCompile(`\b(argo_workflows_[a-z_]+)(\{[^}]*\})?`)
	matcher    = regexp.MustCompile(`([a-z_]+)\s*(?:=|!=|=~|!~)\s*"`)
	byClause   = regexp.MustCompile(`\bby\s*\(([^)]*)\)`)
)

// exprs returns every "expr" string in a decoded JSON or YAML document.
func exprs(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "expr" {
				out = append(out, s)
			} else {
				out = append(out, exprs(x)...)
			}
		}
	case []any:
		for _, x := range v {
			out = append(out, exprs(x)...)
		}
	}
	return out
}

// checkMetrics scrapes the controller and checks every argo_workflows_
// metric that generated/<campaign>/monitoring queries: the name exists, and
// a series carries each label the query matches on or groups by.
func checkMetrics(t *testing.T, e *argoenv.Env, campaign string) {
	t.Helper()
	scrape, err := argoenv.Scrape(context.Background(), e.Metrics)
	if err != nil {
		t.Fatal(err)
	}
	series := map[string][]string{} // name -> sample lines
	var names []string
	for _, line := range strings.Split(scrape, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := line
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name = line[:i]
		}
		if _, ok := series[name]; !ok {
			names = append(names, name)
		}
		series[name] = append(series[name], line)
	}
	var argoNames []string
	for _, n := range names {
		if strings.HasPrefix(n, "argo_workflows_") {
			argoNames = append(argoNames, n)
		}
	}
	t.Logf("the controller serves %d argo_workflows_ series names: %s", len(argoNames), strings.Join(argoNames, " "))
	dir := filepath.Join(e.Root(), "generated", campaign, "monitoring")
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no monitoring files in %s: %v", dir, err)
	}
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, ex := range exprs(doc) {
			var by []string
			for _, m := range byClause.FindAllStringSubmatch(ex, -1) {
				for _, l := range strings.Split(m[1], ",") {
					by = append(by, strings.TrimSpace(l))
				}
			}
			for _, m := range argoMetric.FindAllStringSubmatch(ex, -1) {
				name := m[1]
				want := slices.Clone(by)
				for _, mm := range matcher.FindAllStringSubmatch(m[2], -1) {
					want = append(want, mm[1])
				}
				checked++
				lines := series[name]
				if len(lines) == 0 {
					t.Errorf("%s queries %s, which the controller does not serve (expr %q)", filepath.Base(f), name, ex)
					continue
				}
				ok := false
				for _, l := range lines {
					has := true
					for _, w := range want {
						if w == "instance" || w == "job" {
							continue // Prometheus adds these at scrape time
						}
						has = has && strings.Contains(l, w+`="`)
					}
					if has && strings.Contains(l, fmt.Sprintf(`campaign="%s"`, campaign)) {
						ok = true
						break
					}
				}
				if !ok {
					t.Errorf("%s queries %s by labels %v, but no series of it has them all for campaign %s:\n%s", filepath.Base(f), name, want, campaign, strings.Join(lines, "\n"))
				}
			}
		}
	}
	if checked == 0 {
		t.Errorf("no argo_workflows_ metric found in %s", dir)
	}
	t.Logf("%d metric references in %s checked against the scrape", checked, dir)
}
