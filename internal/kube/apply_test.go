package kube_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/llmsweep/llmsweep/internal/kube"
)

func TestApplyThenReapplyIsNoOp(t *testing.T) {
	cl := cluster(t)
	ctx := context.Background()
	c := client(t, cl.Admin)
	s := quickstart(t)
	opt := kube.Options{Namespace: "t-apply"}
	res, err := c.Apply(ctx, s, opt)
	if err != nil {
		t.Fatal(err)
	}
	wf := find(t, s, "Workflow")
	got := actions(res)
	for _, o := range []string{"serviceaccount/llmsweep-executor", "role/llmsweep-executor", "rolebinding/llmsweep-executor",
		"configmap/quickstart-campaign", "configmap/quickstart-gpu-quota", "workflow/" + wf.GetName()} {
		if got[o] != kube.Created {
			t.Errorf("%s: %q, want created (all: %v)", o, got[o], res)
		}
	}
	d := dyn(t, cl.Admin)
	live, err := d.Resource(wfRes).Namespace("t-apply").Get(ctx, wf.GetName(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sa, _, _ := unstructured.NestedString(live.Object, "spec", "serviceAccountName"); sa != kube.ExecutorAccount {
		t.Errorf("the Workflow runs as %q, want %q", sa, kube.ExecutorAccount)
	}
	if m := live.GetManagedFields(); len(m) != 1 || m[0].Manager != kube.FieldManager || m[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Errorf("managed fields: %+v, want one Apply by %s", m, kube.FieldManager)
	}

	before := versions(t, d, "t-apply")
	res, err = c.Apply(ctx, s, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		// The PrometheusRule is skipped both times: this cluster has no
		// monitoring.coreos.com CRDs.
		if r.Action != kube.Unchanged && r.Action != kube.Skipped {
			t.Errorf("re-apply: %s", r)
		}
	}
	if diff := cmp.Diff(before, versions(t, d, "t-apply")); diff != "" {
		t.Errorf("re-apply changed resourceVersions (-before +after):\n%s", diff)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	cl := cluster(t)
	ctx := context.Background()
	c := client(t, cl.Admin)
	d := dyn(t, cl.Admin)
	s := quickstart(t)

	// A dry run cannot look inside a namespace that does not exist yet, and says so.
	_, err := c.Apply(ctx, s, kube.Options{Namespace: "t-dry", DryRun: true})
	if err == nil || !strings.Contains(err.Error(), "namespace t-dry does not exist") {
		t.Fatalf("dry run into a missing namespace: %v", err)
	}
	if _, err := c.Apply(ctx, s, kube.Options{Namespace: "t-dry"}); err != nil {
		t.Fatal(err)
	}
	before := versions(t, d, "t-dry")

	cm := find(t, s, "ConfigMap")
	unstructured.SetNestedField(cm.Object, "changed", "data", "matrix-hash")
	res, err := c.Apply(ctx, s, kube.Options{Namespace: "t-dry", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if a := actions(res)["configmap/"+cm.GetName()]; a != kube.Changed {
		t.Errorf("dry run of a changed ConfigMap: %q, want configured (%v)", a, res)
	}
	if diff := cmp.Diff(before, versions(t, d, "t-dry")); diff != "" {
		t.Errorf("the dry run wrote (-before +after):\n%s", diff)
	}
	live, err := d.Resource(cmRes).Namespace("t-dry").Get(ctx, cm.GetName(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v, _, _ := unstructured.NestedString(live.Object, "data", "matrix-hash"); v == "changed" {
		t.Error("the dry run changed the live ConfigMap")
	}
}

func TestDiffLive(t *testing.T) {
	cl := cluster(t)
	ctx := context.Background()
	c := client(t, cl.Admin)
	s := quickstart(t)
	opt := kube.Options{Namespace: "t-diff"}
	if _, err := c.Apply(ctx, s, opt); err != nil {
		t.Fatal(err)
	}
	changed, stale, err := c.Diff(ctx, s, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 0 || len(stale) != 0 {
		t.Fatalf("diff right after apply: %+v, stale %v", changed, stale)
	}

	// Someone else edits a field llmsweep owns; the diff shows it restored.
	d := dyn(t, cl.Admin)
	patch := []byte(`{"data":{"matrix-hash":"edited"}}`)
	cm := find(t, s, "ConfigMap")
	if _, err := d.Resource(cmRes).Namespace("t-diff").Patch(ctx, cm.GetName(), types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	changed, _, err = c.Diff(ctx, s, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 1 || changed[0].Object != "configmap/"+cm.GetName() {
		t.Fatalf("diff after an edit: %+v", changed)
	}
	if !strings.Contains(changed[0].Note, `apply needs --force-conflicts: Apply failed with 1 conflict: conflict with "kubectl-edit"`) {
		t.Errorf("the diff does not say that apply would conflict: %q", changed[0].Note)
	}
	want := cm.Object["data"].(map[string]any)["matrix-hash"].(string)
	for _, line := range []string{"-  matrix-hash: edited", "+  matrix-hash: " + want} {
		if !strings.Contains(changed[0].Unified, line) {
			t.Errorf("the diff lacks %q:\n%s", line, changed[0].Unified)
		}
	}
	for _, server := range []string{"managedFields", "resourceVersion", "uid:", "creationTimestamp"} {
		if strings.Contains(changed[0].Unified, server) {
			t.Errorf("the diff shows the server-set %s:\n%s", server, changed[0].Unified)
		}
	}
}

func TestPruneOnlyTheCampaignsOwnObjects(t *testing.T) {
	cl := cluster(t)
	ctx := context.Background()
	c := client(t, cl.Admin)
	d := dyn(t, cl.Admin)
	ns := "t-prune"
	s := quickstart(t)
	if _, err := c.Apply(ctx, s, kube.Options{Namespace: ns}); err != nil {
		t.Fatal(err)
	}
	// Bystanders: a ConfigMap with the campaign's labels that someone made by
	// hand, and another campaign's ConfigMap.
	for name, campaign := range map[string]string{"by-hand": "quickstart", "other-campaign": "other"} {
		cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "labels": map[string]any{kube.LabelCampaign: campaign, kube.LabelManaged: "llmsweep"}}}}
		if _, err := d.Resource(cmRes).Namespace(ns).Create(ctx, cm, metav1.CreateOptions{FieldManager: "kubectl-create"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Apply(ctx, otherCampaign(t), kube.Options{Namespace: ns}); err != nil {
		t.Fatal(err)
	}

	// The campaign changes: a new matrix hash renames its Workflow, and the
	// GPU quota ConfigMap is no longer generated.
	next := quickstart(t)
	oldWF := find(t, next, "Workflow").GetName()
	var objs []*unstructured.Unstructured
	for _, o := range next.Objects {
		if strings.HasSuffix(o.GetName(), "-gpu-quota") {
			continue
		}
		if o.GetKind() == "Workflow" {
			o.SetName(oldWF[:len(oldWF)-8] + "0badcafe")
		}
		objs = append(objs, o)
	}
	next.Objects = objs

	res, err := c.Apply(ctx, next, kube.Options{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	got := actions(res)
	if got["configmap/quickstart-gpu-quota"] != kube.Kept || got["workflow/"+oldWF] != kube.Kept {
		t.Errorf("without --prune: %v", res)
	}
	res, err = c.Apply(ctx, next, kube.Options{Namespace: ns, Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	got = actions(res)
	if got["configmap/quickstart-gpu-quota"] != kube.Pruned {
		t.Errorf("--prune kept the quota ConfigMap: %v", res)
	}
	if got["workflow/"+oldWF] != kube.Kept {
		t.Errorf("--prune deleted the old Workflow while it runs: %v", res)
	}
	if _, err := d.Resource(cmRes).Namespace(ns).Get(ctx, "quickstart-gpu-quota", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the quota ConfigMap is still there: %v", err)
	}
	for _, name := range []string{"by-hand", "other-campaign", "other-campaign-campaign"} {
		if _, err := d.Resource(cmRes).Namespace(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("prune touched %s, which is not the campaign's: %v", name, err)
		}
	}
	for _, o := range []string{"configmap/by-hand", "configmap/other-campaign", "configmap/other-campaign-campaign"} {
		if _, ok := got[o]; ok {
			t.Errorf("prune considered %s", o)
		}
	}

	// --replace deletes the old Workflow although it runs.
	setPhase(t, d, ns, oldWF, "Running", nil)
	res, err = c.Apply(ctx, next, kube.Options{Namespace: ns, Prune: true, Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	if a := actions(res)["workflow/"+oldWF]; a != kube.Pruned {
		t.Errorf("--replace: old Workflow %q: %v", a, res)
	}
	if _, err := d.Resource(wfRes).Namespace(ns).Get(ctx, oldWF, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the old Workflow is still there: %v", err)
	}
}

// otherCampaign is quickstart renamed "other-campaign", as a neighbour.
func otherCampaign(t *testing.T) *kube.Set {
	s := quickstart(t)
	s.Campaign = "other-campaign"
	for _, o := range s.Objects {
		labels := o.GetLabels()
		labels[kube.LabelCampaign] = "other-campaign"
		o.SetLabels(labels)
		o.SetName(strings.Replace(o.GetName(), "quickstart", "other-campaign", 1))
	}
	return s
}

func TestPruneDeletesFinishedOldWorkflows(t *testing.T) {
	cl := cluster(t)
	ctx := context.Background()
	c := client(t, cl.Admin)
	d := dyn(t, cl.Admin)
	ns := "t-prune-done"
	s := quickstart(t)
	if _, err := c.Apply(ctx, s, kube.Options{Namespace: ns}); err != nil {
		t.Fatal(err)
	}
	wf := find(t, s, "Workflow")
	old := wf.GetName()
	setPhase(t, d, ns, old, "Succeeded", nil)
	wf.SetName(old[:len(old)-8] + "0badcafe")
	res, err := c.Apply(ctx, s, kube.Options{Namespace: ns, Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	got := actions(res)
	if got["workflow/"+old] != kube.Pruned || got["workflow/"+wf.GetName()] != kube.Created {
		t.Errorf("prune of a finished old Workflow: %v", res)
	}
}

func TestConflictWithAnotherFieldManager(t *testing.T) {
	cl := cluster(t)
	ctx := context.Background()
	c := client(t, cl.Admin)
	d := dyn(t, cl.Admin)
	ns := "t-conflict"
	s := quickstart(t)
	if _, err := c.Apply(ctx, s, kube.Options{Namespace: ns}); err != nil {
		t.Fatal(err)
	}
	cm := find(t, s, "ConfigMap")
	theirs := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"` + cm.GetName() + `"},"data":{"matrix-hash":"theirs"}}`
	force := true
	if _, err := d.Resource(cmRes).Namespace(ns).Patch(ctx, cm.GetName(), types.ApplyPatchType, []byte(theirs),
		metav1.PatchOptions{FieldManager: "other-tool", Force: &force}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Apply(ctx, s, kube.Options{Namespace: ns})
	if err == nil {
		t.Fatal("apply over another manager's field succeeded without --force-conflicts")
	}
	for _, want := range []string{"other-tool", ".data.matrix-hash", "--force-conflicts", "configmap/" + cm.GetName()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the conflict error lacks %q: %v", want, err)
		}
	}
	if _, err := c.Apply(ctx, s, kube.Options{Namespace: ns, Force: true}); err != nil {
		t.Fatalf("--force-conflicts: %v", err)
	}
	live, err := d.Resource(cmRes).Namespace(ns).Get(ctx, cm.GetName(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v, _, _ := unstructured.NestedString(live.Object, "data", "matrix-hash"); v == "theirs" {
		t.Error("--force-conflicts left the other manager's value")
	}
}

func TestSchemaRejectsBadWorkflow(t *testing.T) {
	cl := cluster(t)
	c := client(t, cl.Admin)
	s := quickstart(t)
	wf := find(t, s, "Workflow")
	unstructured.SetNestedField(wf.Object, "yes", "spec", "bogusField")
	_, err := c.Apply(context.Background(), s, kube.Options{Namespace: "t-schema"})
	if err == nil {
		t.Fatal("the API server accepted a Workflow with spec.bogusField")
	}
	for _, want := range []string{"workflow/" + wf.GetName(), "the API server rejected it", ".spec.bogusField", "field not declared in schema"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q: %v", want, err)
		}
	}
	// The same through a server dry run.
	_, err = c.Apply(context.Background(), s, kube.Options{Namespace: "t-schema", DryRun: true})
	if err == nil || !strings.Contains(err.Error(), "bogusField") {
		t.Errorf("dry run: %v", err)
	}
}

func TestRBACLimitedIdentityIsRefused(t *testing.T) {
	cl := cluster(t)
	ctx := context.Background()
	d := dyn(t, cl.Admin)
	ns := "t-rbac"
	admin := client(t, cl.Admin)
	if _, err := admin.Apply(ctx, quickstart(t), kube.Options{Namespace: ns}); err != nil {
		t.Fatal(err)
	}
	// The identity may read ConfigMaps and nothing else.
	for _, o := range []string{
		`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"reader"},"rules":[{"apiGroups":[""],"resources":["configmaps","serviceaccounts"],"verbs":["get","list"]}]}`,
		`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"reader"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"reader"},"subjects":[{"kind":"User","name":"limited"}]}`,
	} {
		var u unstructured.Unstructured
		if err := json.Unmarshal([]byte(o), &u.Object); err != nil {
			t.Fatal(err)
		}
		res := map[string]string{"Role": "roles", "RoleBinding": "rolebindings"}[u.GetKind()]
		if _, err := d.Resource(rbacRes(res)).Namespace(ns).Create(ctx, &u, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rc, err := cl.User("limited")
	if err != nil {
		t.Fatal(err)
	}
	_, err = client(t, rc).Apply(ctx, quickstart(t), kube.Options{Namespace: ns})
	if err == nil {
		t.Fatal("a read-only identity applied the campaign")
	}
	for _, want := range []string{`User "limited" cannot`, "the API server refused", "needs RBAC permission"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q: %v", want, err)
		}
	}
}

// TestAPIServerStoppedMidApply stops kube-apiserver right after the second
// object is written: apply fails with a clear error, and once the server is
// back, running it again finishes the job.
func TestAPIServerStoppedMidApply(t *testing.T) {
	cl := cluster(t)
	ctx := context.Background()
	ns := "t-outage"
	// The namespace first, so that the outage falls between campaign objects.
	if _, err := client(t, cl.Admin).Apply(ctx, otherCampaign(t), kube.Options{Namespace: ns}); err != nil {
		t.Fatal(err)
	}
	rc := rest.CopyConfig(cl.Admin)
	var patches atomic.Int32
	var stopErr error
	rc.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			resp, err := rt.RoundTrip(r)
			if err == nil && r.Method == http.MethodPatch && patches.Add(1) == 5 {
				// The whole answer first, so that the fifth object is applied for sure.
				body, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				resp.Body = io.NopCloser(bytes.NewReader(body))
				if rerr != nil {
					return nil, rerr
				}
				stopErr = cl.StopAPIServer()
			}
			return resp, err
		})
	}
	s := quickstart(t)
	restarted := false
	defer func() {
		if !restarted { // leave the shared cluster running for the other tests
			cl.StartAPIServer()
		}
	}()
	res, err := client(t, rc).Apply(ctx, s, kube.Options{Namespace: ns})
	if stopErr != nil {
		t.Fatal(stopErr)
	}
	var unreachable *kube.UnreachableError
	if !errors.As(err, &unreachable) {
		t.Fatalf("apply with the API server stopped: %v (results %v)", err, res)
	}
	for _, want := range []string{"cannot reach the Kubernetes API server at " + cl.Host, "connection refused", "check that the cluster is running", "run again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q: %v", want, err)
		}
	}
	if len(res) != 5 {
		t.Errorf("%d objects applied before the outage, want 5: %v", len(res), res)
	}
	restarted = true
	if err := cl.StartAPIServer(); err != nil {
		t.Fatal(err)
	}
	res, err = client(t, cl.Admin).Apply(ctx, s, kube.Options{Namespace: ns})
	if err != nil {
		t.Fatalf("retry after the restart: %v", err)
	}
	got := actions(res)
	if got["workflow/"+find(t, s, "Workflow").GetName()] != kube.Created || got["configmap/quickstart-campaign"] != kube.Unchanged {
		t.Errorf("retry: %v", res)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestPriorityClass(t *testing.T) {
	cl := cluster(t)
	ctx := context.Background()
	c := client(t, cl.Admin)
	s := quickstart(t)
	s.PriorityClass = "llmsweep-batch"
	res, err := c.Apply(ctx, s, kube.Options{Namespace: "t-priority"})
	if err != nil {
		t.Fatal(err)
	}
	if a := actions(res)["priorityclass/llmsweep-batch"]; a != kube.Created {
		t.Errorf("a missing PriorityClass: %q, want created (%v)", a, res)
	}
	pcRes := schema.GroupVersionResource{Group: "scheduling.k8s.io", Version: "v1", Resource: "priorityclasses"}
	pc, err := dyn(t, cl.Admin).Resource(pcRes).Get(ctx, "llmsweep-batch", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v, _, _ := unstructured.NestedInt64(pc.Object, "value"); v != 0 || pc.Object["preemptionPolicy"] != "Never" {
		t.Errorf("PriorityClass: value %d, preemptionPolicy %v; want 0, Never", v, pc.Object["preemptionPolicy"])
	}
	// One the cluster has already (the API server makes this one) is left alone.
	s.PriorityClass = "system-cluster-critical"
	res, err = c.Apply(ctx, s, kube.Options{Namespace: "t-priority"})
	if err != nil {
		t.Fatal(err)
	}
	if a := actions(res)["priorityclass/system-cluster-critical"]; a != kube.Existing {
		t.Errorf("an existing PriorityClass: %q, want exists (%v)", a, res)
	}
}

// TestCatalog applies the catalog service beside a campaign: its Deployment
// runs non-root with both probes and the URLs from Secrets, the API server
// accepts all three objects, and a second apply changes nothing.
func TestCatalog(t *testing.T) {
	cl := cluster(t)
	ctx := context.Background()
	c := client(t, cl.Admin)
	s := quickstart(t)
	opt := kube.Options{Namespace: "t-catalog", CatalogImage: "ghcr.io/llmsweep/llmsweep:test"}
	res, err := c.Apply(ctx, s, opt)
	if err != nil {
		t.Fatal(err)
	}
	got := actions(res)
	for _, o := range []string{"deployment/llmsweep-catalog", "service/llmsweep-catalog", "poddisruptionbudget/llmsweep-catalog"} {
		if got[o] != kube.Created {
			t.Errorf("%s: %q, want created (all: %v)", o, got[o], res)
		}
	}
	d := dyn(t, cl.Admin)
	dep, err := d.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}).
		Namespace("t-catalog").Get(ctx, kube.CatalogName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := dep.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	ctr := spec["containers"].([]any)[0].(map[string]any)
	if nonRoot, _, _ := unstructured.NestedBool(spec, "securityContext", "runAsNonRoot"); !nonRoot {
		t.Error("the catalog pod may run as root")
	}
	for _, p := range []string{"readinessProbe", "livenessProbe"} {
		if path, _, _ := unstructured.NestedString(ctr, p, "httpGet", "path"); path == "" {
			t.Errorf("the catalog container has no %s", p)
		}
	}
	env, _ := json.Marshal(ctr["env"])
	for _, want := range []string{`"name":"llmsweep-store"`, `"name":"llmsweep-cache"`} {
		if !bytes.Contains(env, []byte(want)) {
			t.Errorf("the catalog's env %s does not read Secret %s", env, want)
		}
	}
	if _, err := d.Resource(schema.GroupVersionResource{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"}).
		Namespace("t-catalog").Get(ctx, kube.CatalogName, metav1.GetOptions{}); err != nil {
		t.Error(err)
	}
	res, err = c.Apply(ctx, s, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		// The PrometheusRule is skipped: no monitoring.coreos.com CRDs here.
		if r.Action != kube.Unchanged && r.Action != kube.Skipped {
			t.Errorf("second apply: %v", r)
		}
	}
}
