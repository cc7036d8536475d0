package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// Options control Apply and Diff.
type Options struct {
	// Namespace overrides the campaign's own (--namespace).
	Namespace string
	// DryRun sends every write as a server-side dry run.
	DryRun bool
	// Force takes over fields another field manager owns (--force-conflicts).
	Force bool
	// Prune deletes objects of the campaign it no longer generates, and its
	// old Workflows that have finished.
	Prune bool
	// Replace deletes the campaign's old Workflows even while they run.
	Replace bool
	// CatalogImage, when set, applies the catalog service (Catalog) running
	// this image beside the campaign.
	CatalogImage string
}

// Action is what happened, or would happen, to one object.
type Action string

const (
	Created   Action = "created"
	Changed   Action = "configured"
	Unchanged Action = "unchanged"
	Pruned    Action = "pruned"
	Kept      Action = "kept"    // no longer generated; pruning not asked for, or it still runs
	Skipped   Action = "skipped" // its CRD is not installed
	Existing  Action = "exists"  // not ours to change (a PriorityClass made by someone else)
)

// Result is one object's outcome.
type Result struct {
	Object string `json:"object"` // kind/name
	Action Action `json:"action"`
	Note   string `json:"note,omitempty"`
}

func (r Result) String() string {
	s := r.Object + " " + string(r.Action)
	if r.Note != "" {
		s += " (" + r.Note + ")"
	}
	return s
}

// monitoringGroup holds optional kinds (PrometheusRule): applied only where
// their CRDs exist.
const monitoringGroup = "monitoring.coreos.com"

// order applies what others refer to first, and Workflows, which start work,
// last.
var order = map[string]int{
	"Namespace": 0, "PriorityClass": 1, "ServiceAccount": 2, "Role": 3, "RoleBinding": 4,
	"ConfigMap": 5, "WorkflowTemplate": 6, "CronWorkflow": 7, "Workflow": 8,
}

func rank(o *unstructured.Unstructured) int {
	if r, ok := order[o.GetKind()]; ok {
		return r
	}
	return 9
}

// plan is the full list of objects to apply: the campaign's, the executor's
// RBAC, and its PriorityClass when it names one that does not exist.
func (c *Client) plan(ctx context.Context, s *Set, opt Options) (string, []*unstructured.Unstructured, []Result, error) {
	ns, objs, err := s.Target(opt.Namespace)
	if err != nil {
		return "", nil, nil, err
	}
	objs = append(Executor(ns), objs...)
	if opt.CatalogImage != "" {
		objs = append(objs, Catalog(ns, opt.CatalogImage)...)
	}
	var early []Result
	if s.PriorityClass != "" {
		pc := PriorityClass(s.PriorityClass)
		live, err := c.get(ctx, pc)
		switch {
		case err == nil && live.GetLabels()[LabelManaged] != managedBy:
			early = append(early, Result{Object: describe(pc), Action: Existing, Note: "made outside llmsweep; left as it is"})
		case err == nil || apierrors.IsNotFound(err):
			objs = append(objs, pc)
		case apierrors.IsForbidden(err):
			early = append(early, Result{Object: describe(pc), Action: Existing, Note: "cannot be read with this identity; assumed to exist"})
		default:
			return "", nil, nil, c.explain("get "+describe(pc), err)
		}
	}
	sort.SliceStable(objs, func(i, j int) bool { return rank(objs[i]) < rank(objs[j]) })
	return ns, objs, early, nil
}

// resource maps an object to its REST resource. ok is false when its kind is
// an optional one whose CRD is absent.
func (c *Client) resource(o *unstructured.Unstructured) (dynamic.ResourceInterface, bool, error) {
	gvk := o.GroupVersionKind()
	m, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		switch gvk.Group {
		case monitoringGroup:
			return nil, false, nil
		case "argoproj.io":
			return nil, false, ErrArgoCRDs
		}
		return nil, false, fmt.Errorf("%s: the cluster does not serve %s: install the CRD that defines it", describe(o), gvk)
	}
	if err != nil {
		return nil, false, c.explain("discover "+gvk.String(), err)
	}
	if m.Scope.Name() == meta.RESTScopeNameRoot {
		return c.Dynamic.Resource(m.Resource), true, nil
	}
	return c.Dynamic.Resource(m.Resource).Namespace(o.GetNamespace()), true, nil
}

func (c *Client) get(ctx context.Context, o *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	ri, ok, err := c.resource(o)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: o.GroupVersionKind().Group, Resource: o.GetKind()}, o.GetName())
	}
	return ri.Get(ctx, o.GetName(), metav1.GetOptions{})
}

// ssa server-side applies o, as a dry run when dryRun is set.
func (c *Client) ssa(ctx context.Context, ri dynamic.ResourceInterface, o *unstructured.Unstructured, force, dryRun bool) (*unstructured.Unstructured, error) {
	body, err := json.Marshal(o.Object)
	if err != nil {
		return nil, err
	}
	po := metav1.PatchOptions{FieldManager: FieldManager, Force: &force, FieldValidation: "Strict"}
	if dryRun {
		po.DryRun = []string{metav1.DryRunAll}
	}
	return ri.Patch(ctx, o.GetName(), types.ApplyPatchType, body, po)
}

// Apply server-side applies a campaign and returns what happened to each
// object, in order. On an error, the results so far come back with it: apply
// is idempotent, so running it again finishes the job.
func (c *Client) Apply(ctx context.Context, s *Set, opt Options) ([]Result, error) {
	ns, objs, out, err := c.plan(ctx, s, opt)
	if err != nil {
		return nil, err
	}
	if err := c.ensureNamespace(ctx, ns, opt.DryRun); err != nil {
		return out, err
	}
	want := map[string]bool{}
	for _, o := range objs {
		want[key(o.GroupVersionKind().GroupKind(), o.GetName())] = true
		ri, ok, err := c.resource(o)
		if err != nil {
			return out, err
		}
		if !ok {
			out = append(out, Result{Object: describe(o), Action: Skipped, Note: "its CRD (" + o.GroupVersionKind().Group + ") is not installed"})
			continue
		}
		before, err := ri.Get(ctx, o.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			before, err = nil, nil
		}
		if err != nil {
			return out, c.explain("get "+describe(o), err)
		}
		after, err := c.ssa(ctx, ri, o, opt.Force, opt.DryRun)
		if err != nil {
			return out, c.explain("apply "+describe(o), err)
		}
		r := Result{Object: describe(o), Action: Changed}
		switch {
		case before == nil:
			r.Action = Created
		case reflect.DeepEqual(Normalize(before), Normalize(after)):
			r.Action = Unchanged
		}
		out = append(out, r)
	}
	pruned, err := c.prune(ctx, s.Campaign, ns, objs, want, opt)
	return append(out, pruned...), err
}

var nsResource = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

func key(gk schema.GroupKind, name string) string { return gk.String() + "/" + name }

// ensureNamespace creates the target namespace when it is missing. An identity
// that may not read namespaces is assumed to work in one that exists.
func (c *Client) ensureNamespace(ctx context.Context, ns string, dryRun bool) error {
	o := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": ns, "labels": map[string]any{LabelManaged: managedBy}}}}
	ri, _, err := c.resource(o)
	if err != nil {
		return err
	}
	_, err = ri.Get(ctx, ns, metav1.GetOptions{})
	if err == nil || apierrors.IsForbidden(err) {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return c.explain("get namespace/"+ns, err)
	}
	if dryRun {
		return fmt.Errorf("namespace %s does not exist, so a server dry run cannot check objects in it: apply without --dry-run (it creates the namespace), or create it first", ns)
	}
	if _, err := c.ssa(ctx, ri, o, false, dryRun); err != nil {
		return c.explain("create namespace/"+ns+" (it does not exist)", err)
	}
	return nil
}

// pruneKinds are the namespaced kinds the compiler has ever generated; prune
// looks for a campaign's leftovers among them and the kinds it applies now.
var pruneKinds = []schema.GroupVersionKind{
	{Version: "v1", Kind: "ConfigMap"},
	{Group: "argoproj.io", Version: "v1alpha1", Kind: "Workflow"},
	{Group: "argoproj.io", Version: "v1alpha1", Kind: "WorkflowTemplate"},
	{Group: "argoproj.io", Version: "v1alpha1", Kind: "CronWorkflow"},
	{Group: monitoringGroup, Version: "v1", Kind: "PrometheusRule"},
}

// Stale lists the objects of the campaign in ns that objs no longer includes:
// those labelled with its name, managed by llmsweep, and last applied by the
// llmsweep field manager. Nothing else is ever returned.
func (c *Client) stale(ctx context.Context, campaign, ns string, objs []*unstructured.Unstructured, want map[string]bool) ([]*unstructured.Unstructured, error) {
	kinds := map[schema.GroupKind]schema.GroupVersionKind{}
	for _, g := range pruneKinds {
		kinds[g.GroupKind()] = g
	}
	for _, o := range objs {
		if o.GetLabels()[LabelCampaign] == campaign {
			kinds[o.GroupVersionKind().GroupKind()] = o.GroupVersionKind()
		}
	}
	gks := make([]schema.GroupKind, 0, len(kinds))
	for gk := range kinds {
		gks = append(gks, gk)
	}
	sort.Slice(gks, func(i, j int) bool { return gks[i].String() < gks[j].String() })
	sel := fmt.Sprintf("%s=%s,%s=%s", LabelCampaign, campaign, LabelManaged, managedBy)
	var out []*unstructured.Unstructured
	for _, gk := range gks {
		probe := &unstructured.Unstructured{}
		probe.SetGroupVersionKind(kinds[gk])
		probe.SetNamespace(ns)
		ri, ok, err := c.resource(probe)
		if errors.Is(err, ErrArgoCRDs) || err == nil && !ok {
			continue
		}
		if err != nil {
			return nil, err
		}
		list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return nil, c.explain("list "+gk.String()+" for prune", err)
		}
		for i := range list.Items {
			item := &list.Items[i]
			if want[key(gk, item.GetName())] || !appliedByUs(item) {
				continue
			}
			item.SetGroupVersionKind(kinds[gk])
			out = append(out, item)
		}
	}
	return out, nil
}

func appliedByUs(o *unstructured.Unstructured) bool {
	for _, m := range o.GetManagedFields() {
		if m.Manager == FieldManager && m.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

// finished reports whether a Workflow has ended.
func finished(o *unstructured.Unstructured) bool {
	phase, _, _ := unstructured.NestedString(o.Object, "status", "phase")
	return phase == "Succeeded" || phase == "Failed" || phase == "Error"
}

func (c *Client) prune(ctx context.Context, campaign, ns string, objs []*unstructured.Unstructured, want map[string]bool, opt Options) ([]Result, error) {
	old, err := c.stale(ctx, campaign, ns, objs, want)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, o := range old {
		r := Result{Object: describe(o), Action: Kept, Note: "no longer generated; --prune deletes it"}
		del := opt.Prune
		if o.GetKind() == "Workflow" {
			switch {
			case opt.Replace:
				del = true
			case !finished(o):
				del = false
				r.Note = "an older matrix, left to finish; --replace deletes it"
			}
		}
		if del {
			ri, _, err := c.resource(o)
			if err != nil {
				return out, err
			}
			bg := metav1.DeletePropagationBackground
			do := metav1.DeleteOptions{PropagationPolicy: &bg, Preconditions: &metav1.Preconditions{UID: ptr(o.GetUID())}}
			if opt.DryRun {
				do.DryRun = []string{metav1.DryRunAll}
			}
			if err := ri.Delete(ctx, o.GetName(), do); err != nil && !apierrors.IsNotFound(err) {
				return out, c.explain("prune "+describe(o), err)
			}
			r = Result{Object: describe(o), Action: Pruned}
		}
		out = append(out, r)
	}
	return out, nil
}

func ptr[T any](v T) *T { return &v }

// Normalize drops what the server sets, so that a live object and the same
// object after a dry-run apply compare equal when the apply changes nothing.
func Normalize(o *unstructured.Unstructured) map[string]any {
	if o == nil {
		return nil
	}
	c := o.DeepCopy().Object
	for _, f := range []string{"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink"} {
		unstructured.RemoveNestedField(c, "metadata", f)
	}
	unstructured.RemoveNestedField(c, "status")
	return c
}
