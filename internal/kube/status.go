package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// WorkflowStatus is one Workflow's progress, read from the status the Argo
// controller writes: its phase and its batch tasks' nodes.
type WorkflowStatus struct {
	Name    string `json:"name"`
	Phase   string `json:"phase"`
	Message string `json:"message,omitempty"`
	// Batches is the number of batch tasks in the Workflow's DAG.
	Batches int `json:"batches"`
	Done    int `json:"done"`
	Running int `json:"running"`
	Failed  int `json:"failed"`
	// Retried counts batches that took more than one attempt.
	Retried int `json:"retried"`
}

// Finished reports whether the Workflow has ended.
func (w WorkflowStatus) Finished() bool {
	return w.Phase == "Succeeded" || w.Phase == "Failed" || w.Phase == "Error"
}

func (w WorkflowStatus) String() string {
	phase := w.Phase
	if phase == "" {
		phase = "Pending" // the controller has not picked it up yet
	}
	s := fmt.Sprintf("%s %s: batches %d done, %d running, %d failed, %d retried, of %d", w.Name, phase, w.Done, w.Running, w.Failed, w.Retried, w.Batches)
	if w.Message != "" {
		s += " (" + w.Message + ")"
	}
	return s
}

var workflowGVK = schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Workflow"}

// batchPrefix starts the name of every batch task (internal/argo).
const batchPrefix = "batch-"

// Summarize reads a Workflow's progress.
func Summarize(o *unstructured.Unstructured) WorkflowStatus {
	w := WorkflowStatus{Name: o.GetName()}
	w.Phase, _, _ = unstructured.NestedString(o.Object, "status", "phase")
	w.Message, _, _ = unstructured.NestedString(o.Object, "status", "message")
	templates, _, _ := unstructured.NestedSlice(o.Object, "spec", "templates")
	for _, t := range templates {
		tasks, _, _ := unstructured.NestedSlice(asMap(t), "dag", "tasks")
		for _, task := range tasks {
			if name, _ := asMap(task)["name"].(string); strings.HasPrefix(name, batchPrefix) {
				w.Batches++
			}
		}
	}
	nodes, _, _ := unstructured.NestedMap(o.Object, "status", "nodes")
	for _, n := range nodes {
		node := asMap(n)
		name, _ := node["displayName"].(string)
		// A batch's own node; its attempts under a retry are "name(0)", "name(1)".
		if !strings.HasPrefix(name, batchPrefix) || strings.Contains(name, "(") {
			continue
		}
		phase, _ := node["phase"].(string)
		switch phase {
		case "Succeeded", "Skipped", "Omitted":
			w.Done++
		case "Running", "Pending":
			w.Running++
		case "Failed", "Error":
			w.Failed++
		}
		if children, _ := node["children"].([]any); node["type"] == "Retry" && len(children) > 1 {
			w.Retried++
		}
	}
	return w
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// Status lists the progress of the campaign's Workflows in ns, by name.
func (c *Client) Status(ctx context.Context, campaign, ns string) ([]WorkflowStatus, error) {
	list, err := c.listWorkflows(ctx, campaign, ns)
	if err != nil {
		return nil, err
	}
	return summarizeAll(list.Items), nil
}

func summarizeAll(items []unstructured.Unstructured) []WorkflowStatus {
	out := make([]WorkflowStatus, 0, len(items))
	for i := range items {
		out = append(out, Summarize(&items[i]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (c *Client) listWorkflows(ctx context.Context, campaign, ns string) (*unstructured.UnstructuredList, error) {
	probe := &unstructured.Unstructured{}
	probe.SetGroupVersionKind(workflowGVK)
	probe.SetNamespace(ns)
	ri, _, err := c.resource(probe)
	if err != nil {
		return nil, err
	}
	list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: LabelCampaign + "=" + campaign})
	if err != nil {
		return nil, c.explain("list the Workflows of campaign "+campaign, err)
	}
	if len(list.Items) == 0 {
		return nil, fmt.Errorf("campaign %s has no Workflows in namespace %s: apply it first (llmsweep apply %s), or name its namespace with --namespace", campaign, ns, campaign)
	}
	return list, nil
}

// ErrWaitTimeout is returned by Watch when its context ends first.
var ErrWaitTimeout = errors.New("timed out before the Workflows finished")

// Watch calls report with the campaign's Workflows' progress each time it
// changes, and returns when all have finished, or ErrWaitTimeout when ctx ends
// first. It follows a watch on the Workflows, listing again whenever the watch
// ends.
func (c *Client) Watch(ctx context.Context, campaign, ns string, report func([]WorkflowStatus)) ([]WorkflowStatus, error) {
	var last string
	for {
		list, err := c.listWorkflows(ctx, campaign, ns)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ErrWaitTimeout
			}
			return nil, err
		}
		st := summarizeAll(list.Items)
		if s := fmt.Sprint(st); s != last {
			last = s
			report(st)
		}
		done := true
		for _, w := range st {
			done = done && w.Finished()
		}
		if done {
			return st, nil
		}
		probe := &unstructured.Unstructured{}
		probe.SetGroupVersionKind(workflowGVK)
		probe.SetNamespace(ns)
		ri, _, err := c.resource(probe)
		if err != nil {
			return st, err
		}
		w, err := ri.Watch(ctx, metav1.ListOptions{LabelSelector: LabelCampaign + "=" + campaign, ResourceVersion: list.GetResourceVersion()})
		if err != nil {
			if ctx.Err() != nil {
				return st, ErrWaitTimeout
			}
			return st, c.explain("watch the Workflows of campaign "+campaign, err)
		}
		// Any event means another look; the list above is the one source of truth.
		select {
		case <-w.ResultChan():
		case <-ctx.Done():
			w.Stop()
			return st, ErrWaitTimeout
		}
		w.Stop()
	}
}
