package argoenv_test

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/llmsweep/llmsweep/internal/kube/argoenv"
)

const ns = "llmsweep"

// cluster starts the environment with spot and on-demand nodes (count each)
// for every pool the campaign's batches select, plus a CPU node.
func cluster(t *testing.T, campaign string, b argoenv.Behaviour, spot, onDemand int) (*argoenv.Env, *argoenv.Recorder) {
	t.Helper()
	e := argoenv.Start(t, ns, b)
	pools, err := argoenv.Pools(filepath.Join(e.Root(), "generated", campaign, "workflow.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pools) == 0 {
		t.Fatalf("no batch template of %s requests nvidia.com/gpu", campaign)
	}
	for _, p := range pools {
		for i := range spot {
			e.AddNode(t, p.Node(true, i))
		}
		for i := range onDemand {
			e.AddNode(t, p.Node(false, i))
		}
	}
	e.AddNode(t, argoenv.Node{Name: "cpu-0"})
	return e, e.RecordPods(t)
}

// workflowsOf returns the names of the campaign's Workflows.
func workflowsOf(t *testing.T, e *argoenv.Env, campaign string) []string {
	t.Helper()
	wfs, err := e.Workflows(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, wf := range wfs {
		if wf.Labels["llmsweep.dev/campaign"] == campaign {
			names = append(names, wf.Name)
		}
	}
	sort.Strings(names)
	return names
}

// step is a DAG task or the exit handler as the controller recorded it.
type step struct {
	name             string
	started, finshed time.Time
	phase            wfv1.NodePhase
}

// steps returns the Workflow's DAG tasks (and the exit handler, as
// "on-exit") by their task names, from the controller's node map: a task's
// node is named <workflow>.<task>, whatever its type (a pod, a retry, or the
// steps that hold a batch's semaphore).
func steps(wf *wfv1.Workflow) map[string]step {
	out := map[string]step{}
	for _, n := range wf.Status.Nodes {
		name, ok := strings.CutPrefix(n.Name, wf.Name+".")
		if !ok || strings.ContainsAny(name, ".([") {
			continue // the DAG itself, or a node inside a task
		}
		if name == "onExit" {
			name = "on-exit"
		}
		out[name] = step{name: name, started: n.StartedAt.Time, finshed: n.FinishedAt.Time, phase: n.Phase}
	}
	return out
}

// checkDAGOrder checks, from the node times the controller wrote, that no
// task started before each of its dependencies finished, that the pipeline's
// named steps ran in the documented order, and that on-exit ran last.
func checkDAGOrder(t *testing.T, wf *wfv1.Workflow) {
	t.Helper()
	got := steps(wf)
	for _, tmpl := range wf.Spec.Templates {
		if tmpl.DAG == nil {
			continue
		}
		for _, task := range tmpl.DAG.Tasks {
			s, ok := got[task.Name]
			if !ok {
				t.Errorf("%s: task %s has no node in the status", wf.Name, task.Name)
				continue
			}
			for _, d := range task.Dependencies {
				if dep, ok := got[d]; ok && s.started.Before(dep.finshed) {
					t.Errorf("%s: %s started at %s, before its dependency %s finished at %s", wf.Name, task.Name, s.started, d, dep.finshed)
				}
			}
		}
	}
	order := []string{"validate-model", "fetch-model", "matrix", "batch-", "aggregate", "refresh-views", "invalidate-cache", "report", "notify", "archive", "on-exit"}
	var last step
	for _, want := range order {
		var these []step
		for name, s := range got {
			if name == want || strings.HasSuffix(want, "-") && strings.HasPrefix(name, want) {
				these = append(these, s)
			}
		}
		if len(these) == 0 {
			continue
		}
		for _, s := range these {
			if !last.finshed.IsZero() && s.started.Before(last.finshed) {
				t.Errorf("%s: %s started at %s, before %s finished at %s", wf.Name, s.name, s.started, last.name, last.finshed)
			}
		}
		last = these[0]
		for _, s := range these[1:] {
			if s.finshed.After(last.finshed) {
				last = s
			}
		}
	}
	if _, ok := got["on-exit"]; !ok {
		t.Errorf("%s: the exit handler did not run", wf.Name)
	}
}

func nodeOf(t *testing.T, e *argoenv.Env, name string) *corev1.Node {
	t.Helper()
	n, err := e.Kube.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("node %s: %v", name, err)
	}
	return n
}

// TestQuickstartSucceeds applies the compiled quickstart campaign and lets
// the controller run it: Succeeded, the DAG in order, the batch on spot.
func TestQuickstartSucceeds(t *testing.T) {
	e, rec := cluster(t, "quickstart", argoenv.Behaviour{StepRun: 200 * time.Millisecond, BatchRun: 2 * time.Second}, 1, 1)
	start := time.Now()
	e.Apply(t, "generated/quickstart")
	names := workflowsOf(t, e, "quickstart")
	if len(names) != 1 {
		t.Fatalf("apply made Workflows %v, want one", names)
	}
	wf := e.WaitFinished(t, names[0], 3*time.Minute)
	if wf.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("%s: %s (%s), want Succeeded", wf.Name, wf.Status.Phase, wf.Status.Message)
	}
	t.Logf("%s Succeeded in %s", wf.Name, time.Since(start).Round(time.Second))
	checkDAGOrder(t, wf)
	batches := 0
	for _, p := range rec.Pods() {
		if p.Batch == "" {
			continue
		}
		batches++
		if !argoenv.Spot(nodeOf(t, e, p.Node)) {
			t.Errorf("batch pod %s ran on %s, not on a spot node, with spot left", p.Name, p.Node)
		}
	}
	if batches != 1 {
		t.Errorf("%d batch pods ran, want 1", batches)
	}
}

// submitFromCrons creates one Workflow from each of the campaign's
// CronWorkflows through Argo's own conversion, as `argo submit --from
// cronwf/NAME` does, and returns their names.
func submitFromCrons(t *testing.T, e *argoenv.Env, campaign string) []string {
	t.Helper()
	ctx := context.Background()
	crons, err := e.CronWorkflows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, cw := range crons {
		if cw.Labels["llmsweep.dev/campaign"] != campaign {
			continue
		}
		wf := common.ConvertCronWorkflowToWorkflow(&cw)
		name, err := e.CreateWorkflow(ctx, wf)
		if err != nil {
			t.Fatalf("submit from %s: %v", cw.Name, err)
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		t.Fatalf("apply made no CronWorkflow for %s", campaign)
	}
	return names
}

// semaphores maps each batch's hardware label to the GPU-quota key of the
// semaphore that the template holding it (or the pod template itself) takes.
func semaphores(t *testing.T, e *argoenv.Env, campaign string) map[string]string {
	t.Helper()
	ts, err := argoenv.Templates(filepath.Join(e.Root(), "generated", campaign, "workflow.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	hw := map[string]string{} // template name -> hardware label of its pods
	for _, tmpl := range ts {
		if h := tmpl.Metadata.Labels["llmsweep.dev/hardware"]; h != "" {
			hw[tmpl.Name] = h
		}
	}
	out := map[string]string{}
	for _, tmpl := range ts {
		if tmpl.Synchronization == nil {
			continue
		}
		var key string
		for _, s := range tmpl.Synchronization.Semaphores {
			if s.ConfigMapKeyRef != nil {
				key = s.ConfigMapKeyRef.Key
			}
		}
		if h := hw[tmpl.Name]; h != "" {
			out[h] = key
		}
		for _, group := range tmpl.Steps {
			for _, st := range group.Steps {
				if h := hw[st.Template]; h != "" {
					out[h] = key
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no batch template of %s takes a semaphore", campaign)
	}
	return out
}

// TestNightlySucceeds applies the scheduled nightly campaign, starts one
// Workflow from each CronWorkflow, and checks that they succeed with the DAG
// in order, at most parallelism batch pods per Workflow, and at most the GPU
// quota's semaphore size per GPU type across Workflows, and one fetch-model
// per model Workflow however many batches it has. One quota is cut to 2
// (the ConfigMap is the operator's knob), so that the semaphore binds.
func TestNightlySucceeds(t *testing.T) {
	e, rec := cluster(t, "nightly", argoenv.Behaviour{StepRun: 200 * time.Millisecond, BatchRun: 3 * time.Second}, 4, 1)
	e.Apply(t, "generated/nightly")
	sem := semaphores(t, e, "nightly")
	quota, err := e.Kube.CoreV1().ConfigMaps(ns).Get(context.Background(), "nightly-gpu-quota", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	limit := map[string]int{}
	var cut string
	for _, k := range slices.Sorted(maps.Keys(quota.Data)) {
		n, err := strconv.Atoi(quota.Data[k])
		if err != nil {
			t.Fatalf("quota %s=%q: %v", k, quota.Data[k], err)
		}
		limit[k] = n
		if cut == "" {
			cut = k
		}
	}
	quota.Data[cut], limit[cut] = "2", 2
	if _, err := e.Kube.CoreV1().ConfigMaps(ns).Update(context.Background(), quota, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	names := submitFromCrons(t, e, "nightly")
	parallelism := map[string]int{}
	for _, name := range names {
		wf := e.WaitFinished(t, name, 5*time.Minute)
		if wf.Status.Phase != wfv1.WorkflowSucceeded {
			t.Errorf("%s: %s (%s), want Succeeded", wf.Name, wf.Status.Phase, wf.Status.Message)
		}
		checkDAGOrder(t, wf)
		checkOneFetch(t, wf)
		p := wf.Spec.Parallelism
		if wf.Status.StoredWorkflowSpec != nil && wf.Status.StoredWorkflowSpec.Parallelism != nil {
			p = wf.Status.StoredWorkflowSpec.Parallelism
		}
		if p == nil {
			t.Fatalf("%s has no parallelism", wf.Name)
		}
		parallelism[wf.Name] = int(*p)
	}
	t.Logf("%d nightly Workflows finished in %s", len(names), time.Since(start).Round(time.Second))
	pods := rec.Pods()
	batch := func(key func(argoenv.Pod) string) func(argoenv.Pod) string {
		return func(p argoenv.Pod) string {
			if p.Batch == "" {
				return ""
			}
			return key(p)
		}
	}
	for wf, n := range argoenv.MaxRunning(pods, batch(func(p argoenv.Pod) string { return p.Workflow })) {
		t.Logf("%s: at most %d batch pods at once (parallelism %d)", wf, n, parallelism[wf])
		if n > parallelism[wf] {
			t.Errorf("%s ran %d batch pods at once, over its parallelism %d", wf, n, parallelism[wf])
		}
	}
	perGPU := argoenv.MaxRunning(pods, batch(func(p argoenv.Pod) string { return sem[p.Hardware] }))
	for gpu, n := range perGPU {
		t.Logf("GPU type %s: at most %d batch pods at once (semaphore %d)", gpu, n, limit[gpu])
		if n > limit[gpu] {
			t.Errorf("GPU type %s ran %d batch pods at once, over its semaphore %d", gpu, n, limit[gpu])
		}
	}
	if perGPU[cut] != 2 {
		t.Errorf("GPU type %s peaked at %d batch pods at once; with 4 spot nodes and the semaphore cut to 2, want exactly 2", cut, perGPU[cut])
	}
}

// TestScheduleCreatesWorkflows gives one nightly CronWorkflow a per-minute
// schedule and checks that the controller creates a Workflow from it, and
// that concurrencyPolicy Forbid keeps it from starting a second one while
// the first runs.
func TestScheduleCreatesWorkflows(t *testing.T) {
	e, _ := cluster(t, "nightly", argoenv.Behaviour{StepRun: 200 * time.Millisecond, BatchRun: 100 * time.Second}, 4, 1)
	e.Apply(t, "generated/nightly")
	ctx := context.Background()
	crons, err := e.CronWorkflows(ctx)
	if err != nil || len(crons) == 0 {
		t.Fatalf("CronWorkflows: %v (%d)", err, len(crons))
	}
	cw := crons[0]
	if cw.Spec.ConcurrencyPolicy != wfv1.ForbidConcurrent {
		t.Fatalf("%s: concurrencyPolicy %q, want Forbid", cw.Name, cw.Spec.ConcurrencyPolicy)
	}
	if err := e.PatchCron(ctx, cw.Name, `{"spec":{"schedules":["* * * * *"]}}`); err != nil {
		t.Fatal(err)
	}
	patched := time.Now()
	var first []string
	deadline := time.Now().Add(90 * time.Second)
	for len(first) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Second)
		first = createdBy(t, e, cw.Name)
	}
	if len(first) == 0 {
		t.Fatalf("the controller created no Workflow from %s within 90 s of a per-minute schedule", cw.Name)
	}
	t.Logf("the controller created %s %s after the schedule changed", first[0], time.Since(patched).Round(time.Second))
	// The next minute's tick comes while the first Workflow's batches run.
	next := time.Now().Truncate(time.Minute).Add(time.Minute + 15*time.Second)
	time.Sleep(time.Until(next))
	wf, err := e.Workflow(ctx, first[0])
	if err != nil {
		t.Fatal(err)
	}
	if wf.Status.Fulfilled() {
		t.Fatalf("%s finished (%s) before the next tick; the test needs it running", wf.Name, wf.Status.Phase)
	}
	if got := createdBy(t, e, cw.Name); len(got) != 1 {
		t.Errorf("with concurrencyPolicy Forbid and %s running, the controller created %v at the next tick", first[0], got)
	}
}

// createdBy lists the Workflows the controller created from a CronWorkflow.
func createdBy(t *testing.T, e *argoenv.Env, cron string) []string {
	t.Helper()
	wfs, err := e.Workflows(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, wf := range wfs {
		if wf.Labels["workflows.argoproj.io/cron-workflow"] == cron {
			out = append(out, wf.Name)
		}
	}
	return out
}

// checkOneFetch checks that a model's Workflow ran its fetch-model step once,
// however many batches it has, and every batch after it. kwok runs no
// container, so whether the step downloads or finds the checkpoint cached is
// the fetch-model command's own test (internal/cli), not this one's.
func checkOneFetch(t *testing.T, wf *wfv1.Workflow) {
	t.Helper()
	fetches, batches := 0, 0
	var fetched time.Time
	for _, n := range wf.Status.Nodes {
		if n.Type != wfv1.NodeTypePod {
			continue
		}
		switch {
		case strings.HasPrefix(n.Name, wf.Name+".fetch-model"):
			fetches++
			fetched = n.FinishedAt.Time
		case strings.HasPrefix(n.Name, wf.Name+".batch-"):
			batches++
		}
	}
	if fetches != 1 {
		t.Errorf("%s ran fetch-model %d times for %d batch attempts of its one model, want once", wf.Name, fetches, batches)
		return
	}
	for _, n := range wf.Status.Nodes {
		if n.Type == wfv1.NodeTypePod && strings.HasPrefix(n.Name, wf.Name+".batch-") && n.StartedAt.Time.Before(fetched) {
			t.Errorf("%s: %s started at %s, before fetch-model finished at %s", wf.Name, n.DisplayName, n.StartedAt, fetched)
		}
	}
	t.Logf("%s: fetch-model ran once for %d batch pods", wf.Name, batches)
}
