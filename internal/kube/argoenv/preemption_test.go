package argoenv_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/llmsweep/llmsweep/internal/kube/argoenv"
)

// TestPreemption removes the spot node under quickstart's running batch pod,
// three times. There is no kube-controller-manager, so the test also deletes
// the pod, as its pod garbage collector does for a pod bound to a node that
// is gone. Argo must retry with the backoff, on spot while a spot node is
// left, and on on-demand at the last attempt; the Workflow must succeed.
//
// A victim runs in kwok and the controller has recorded it Running, as any
// real batch (minutes to hours) would be when its node goes: a pod deleted
// while the controller still has its node Pending is re-created under the
// same name in the same attempt, not retried, which CI once hit under load.
// The controller batches pod updates into a workflow pass at most every
// DEFAULT_REQUEUE_TIME (10 s), so a batch runs 30 s: long enough to be seen
// Running before it ends.
func TestPreemption(t *testing.T) {
	const spotNodes = 3
	e, rec := cluster(t, "quickstart", argoenv.Behaviour{StepRun: 200 * time.Millisecond, BatchRun: 30 * time.Second}, spotNodes, 1)
	task := "batch-" + quickstartBatches(t)[0]
	start := time.Now()
	e.Apply(t, "generated/quickstart")
	names := workflowsOf(t, e, "quickstart")
	if len(names) != 1 {
		t.Fatalf("apply made Workflows %v, want one", names)
	}
	ctx := context.Background()
	preempted := map[types.UID]bool{}
	var timeline []string
	stamp := func(at time.Time) string { return fmt.Sprintf("%6.1fs", at.Sub(start).Seconds()) }
	defer func() {
		if t.Failed() {
			for _, p := range rec.Pods() {
				t.Logf("pod %s (node %s) on %s: created %s, running %s, ended %s, %s, deleted %v",
					p.Name, p.NodeID, p.Node, stamp(p.Created), stamp(p.Running), stamp(p.Ended), p.Phase, p.Deleted)
			}
			if wf, err := e.Workflow(ctx, names[0]); err == nil {
				for _, n := range wf.Status.Nodes {
					t.Logf("controller: %s %s %s: %s", n.ID, n.Type, n.Phase, n.Message)
				}
			}
		}
	}()
	for len(preempted) < spotNodes {
		var victim argoenv.Pod
		deadline := time.Now().Add(2 * time.Minute)
		for victim.Name == "" && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			wf, err := e.Workflow(ctx, names[0])
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range rec.Pods() {
				if p.Batch != "" && !preempted[p.UID] && !p.Running.IsZero() && p.Ended.IsZero() && wf.Status.Nodes[p.NodeID].Phase == wfv1.NodeRunning {
					victim = p
				}
			}
		}
		if victim.Name == "" {
			t.Fatalf("no batch pod that the controller has running to preempt after %d preemptions", len(preempted))
		}
		if !argoenv.Spot(nodeOf(t, e, victim.Node)) {
			t.Fatalf("attempt %d (%s) runs on %s, not spot, while %d spot nodes are left", len(preempted), victim.Name, victim.Node, spotNodes-len(preempted))
		}
		time.Sleep(time.Second) // let it run a little, as a real batch would
		now := time.Now()
		if err := e.Kube.CoreV1().Nodes().Delete(ctx, victim.Node, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := e.Kube.CoreV1().Pods(ns).Delete(ctx, victim.Name, *metav1.NewDeleteOptions(0)); err != nil {
			t.Fatal(err)
		}
		preempted[victim.UID] = true
		timeline = append(timeline, fmt.Sprintf("%s attempt %d: pod created %s, running %s on %s; node removed %s",
			task, len(preempted)-1, stamp(victim.Created), stamp(victim.Running), victim.Node, stamp(now)))
	}
	wf := e.WaitFinished(t, names[0], 4*time.Minute)
	for _, p := range rec.Pods() {
		if p.Batch != "" && !preempted[p.UID] {
			spot := argoenv.Spot(nodeOf(t, e, p.Node))
			timeline = append(timeline, fmt.Sprintf("%s attempt %d: pod created %s, running %s on %s (spot %v), ended %s %s",
				task, len(preempted), stamp(p.Created), stamp(p.Running), p.Node, spot, stamp(p.Ended), p.Phase))
			if spot {
				t.Errorf("the last attempt ran on spot node %s, want on-demand", p.Node)
			}
		}
	}
	t.Logf("retry timeline (seconds from apply):\n%s", strings.Join(timeline, "\n"))
	if wf.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("%s: %s (%s), want Succeeded", wf.Name, wf.Status.Phase, wf.Status.Message)
	}
	as := attempts(wf, task)
	if len(as) != spotNodes+1 {
		t.Errorf("the controller recorded %d attempts of %s, want %d", len(as), task, spotNodes+1)
	}
	for i, a := range as {
		t.Logf("controller: %s %s %s..%s on %s: %s", a.DisplayName, a.Phase, a.StartedAt.Format(time.TimeOnly), a.FinishedAt.Format(time.TimeOnly), a.HostNodeName, a.Message)
		if i > 0 {
			// Backoff 1 s, doubling: attempt i waits at least 2^(i-1) s
			// (the controller's times have whole seconds, hence the second off).
			want := time.Duration(1<<(i-1))*time.Second - time.Second
			if gap := a.StartedAt.Sub(as[i-1].FinishedAt.Time); gap < want {
				t.Errorf("attempt %d started %s after attempt %d ended, want at least %s of backoff", i, gap, i-1, want)
			}
		}
	}
}
