package kube_test

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/llmsweep/llmsweep/internal/kube"
)

// TestCatalogObjectsDecode decodes the catalog's objects strictly into the
// Kubernetes API types, so that a misspelt field fails here as well as in
// TestCatalog against a real API server (make test-k8s).
func TestCatalogObjectsDecode(t *testing.T) {
	objs := kube.Catalog("ns", "img:1")
	if len(objs) != 3 {
		t.Fatalf("%d objects, want a Deployment, a Service and a PodDisruptionBudget", len(objs))
	}
	var dep appsv1.Deployment
	var svc corev1.Service
	var pdb policyv1.PodDisruptionBudget
	for i, into := range []any{&dep, &svc, &pdb} {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(objs[i].Object, into, true); err != nil {
			t.Fatalf("%s: %v", objs[i].GetKind(), err)
		}
	}
	pod := dep.Spec.Template.Spec
	c := pod.Containers[0]
	switch {
	case pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot:
		t.Error("the pod may run as root")
	case c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz":
		t.Error("probes: want /readyz for readiness and /healthz for liveness")
	case c.Env[0].ValueFrom.SecretKeyRef.Name != kube.StoreSecret || c.Env[1].ValueFrom.SecretKeyRef.Name != kube.CacheSecret:
		t.Errorf("env %+v: want the store and cache URLs from Secrets", c.Env)
	case !selects(t, dep.Spec.Selector, dep.Spec.Template.Labels) || !selects(t, pdb.Spec.Selector, dep.Spec.Template.Labels) ||
		!labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(dep.Spec.Template.Labels)):
		t.Error("the selectors do not pick the Deployment's pods")
	case pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1:
		t.Error("the PodDisruptionBudget does not keep one replica")
	}
}

func selects(t *testing.T, sel *metav1.LabelSelector, l map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatal(err)
	}
	return s.Matches(labels.Set(l))
}
