package kube_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/llmsweep/llmsweep/internal/kube"
)

func rbacRes(resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: resource}
}

// setPhase writes a Workflow's status the way Argo's controller does: the
// Workflow CRD has no status subresource, so the controller updates the whole
// object, as field manager workflow-controller. nodes are Argo NodeStatus
// objects keyed by node ID.
func setPhase(t *testing.T, d dynamic.Interface, ns, name, phase string, nodes map[string]any, message ...string) {
	t.Helper()
	ctx := context.Background()
	wf, err := d.Resource(wfRes).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]any{"phase": phase, "startedAt": "2026-01-01T00:00:00Z"}
	if nodes != nil {
		status["nodes"] = nodes
	}
	if len(message) > 0 {
		status["message"] = message[0]
	}
	wf.Object["status"] = status
	labels := wf.GetLabels()
	labels["workflows.argoproj.io/phase"] = phase
	wf.SetLabels(labels)
	if _, err := d.Resource(wfRes).Namespace(ns).Update(ctx, wf, metav1.UpdateOptions{FieldManager: "workflow-controller"}); err != nil {
		t.Fatalf("write status as the controller: %v", err)
	}
}

// node is an Argo NodeStatus.
func node(wf, display, typ, phase string, children ...string) map[string]any {
	n := map[string]any{"id": wf + "-" + display, "name": wf + "." + display, "displayName": display, "type": typ, "phase": phase, "templateName": "t"}
	if len(children) > 0 {
		var c []any
		for _, x := range children {
			c = append(c, wf+"-"+x)
		}
		n["children"] = c
	}
	return n
}

func nodes(ns ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, n := range ns {
		out[n["id"].(string)] = n
	}
	return out
}

func TestStatusFollowsTheWorkflow(t *testing.T) {
	cl := cluster(t)
	ctx := context.Background()
	c := client(t, cl.Admin)
	d := dyn(t, cl.Admin)
	ns := "t-status"
	s := quickstart(t)
	// Two batches, so that one can fail while the other runs.
	wf := find(t, s, "Workflow")
	tasks, _, _ := unstructured.NestedSlice(wf.Object, "spec", "templates")
	dag := tasks[0].(map[string]any)["dag"].(map[string]any)
	var batch map[string]any
	for _, task := range dag["tasks"].([]any) {
		if m := task.(map[string]any); len(m["name"].(string)) > 6 && m["name"].(string)[:6] == "batch-" {
			batch = m
		}
	}
	second := map[string]any{}
	for k, v := range batch {
		second[k] = v
	}
	second["name"] = "batch-second"
	dag["tasks"] = append(dag["tasks"].([]any), second)
	unstructured.SetNestedSlice(wf.Object, tasks, "spec", "templates")
	if _, err := c.Apply(ctx, s, kube.Options{Namespace: ns}); err != nil {
		t.Fatal(err)
	}
	name := wf.GetName()
	first := batch["name"].(string)

	st, err := c.Status(ctx, "quickstart", ns)
	if err != nil {
		t.Fatal(err)
	}
	want := []kube.WorkflowStatus{{Name: name, Batches: 2}}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("before the controller (-want +got):\n%s", diff)
	}

	setPhase(t, d, ns, name, "Running", nodes(
		node(name, "matrix", "Pod", "Succeeded"),
		node(name, first, "Retry", "Running", first+"(0)", first+"(1)"),
		node(name, first+"(0)", "Pod", "Failed"),
		node(name, first+"(1)", "Pod", "Running"),
		node(name, "batch-second", "Pod", "Succeeded"),
	))
	st, err = c.Status(ctx, "quickstart", ns)
	if err != nil {
		t.Fatal(err)
	}
	want = []kube.WorkflowStatus{{Name: name, Phase: "Running", Batches: 2, Done: 1, Running: 1, Retried: 1}}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("running (-want +got):\n%s", diff)
	}

	// --wait gives up at its timeout while the Workflow runs.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = c.Watch(short, "quickstart", ns, func([]kube.WorkflowStatus) {})
	if !errors.Is(err, kube.ErrWaitTimeout) {
		t.Errorf("wait on a running Workflow past its timeout: %v", err)
	}

	// The controller finishes it while status waits.
	reported := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		final, err := c.Watch(ctx, "quickstart", ns, func([]kube.WorkflowStatus) {
			select {
			case reported <- struct{}{}:
			default:
			}
		})
		if err != nil {
			t.Errorf("watch: %v", err)
			return
		}
		want := []kube.WorkflowStatus{{Name: name, Phase: "Failed", Message: "child failed", Batches: 2, Done: 1, Failed: 1, Retried: 1}}
		if diff := cmp.Diff(want, final); diff != "" {
			t.Errorf("finished (-want +got):\n%s", diff)
		}
	}()
	// The watch's first report is the running state; the update follows it.
	select {
	case <-reported:
	case <-time.After(time.Minute):
		t.Fatal("status --wait reported nothing")
	}
	setPhase(t, d, ns, name, "Failed", nodes(
		node(name, "matrix", "Pod", "Succeeded"),
		node(name, first, "Retry", "Failed", first+"(0)", first+"(1)"),
		node(name, first+"(0)", "Pod", "Failed"),
		node(name, first+"(1)", "Pod", "Failed"),
		node(name, "batch-second", "Pod", "Succeeded"),
	), "child failed")
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("status --wait did not return after the Workflow failed")
	}
}
