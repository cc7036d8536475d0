package kube_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/llmsweep/llmsweep/internal/kube"
	"github.com/llmsweep/llmsweep/internal/kube/testenv"
)

const dashboard = `{"title": "llmsweep", "panels": [{"type": "timeseries"}]}`

const promRule = `apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: quickstart-alerts
  namespace: llmsweep
  labels:
    llmsweep.dev/campaign: quickstart
    app.kubernetes.io/managed-by: llmsweep
spec:
  groups:
  - name: llmsweep
    rules:
    - alert: BenchmarkFailing
      expr: benchmark_completion_rate < 1
`

// withMonitoring is quickstart plus the monitoring files another compiler
// stage writes: a Grafana dashboard (not a Kubernetes object) and a
// PrometheusRule.
func withMonitoring(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, name := range []string{"workflow.yaml", "configmap.yaml", "summary.json", "matrix.jsonl"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "generated", "quickstart", name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	files["monitoring/dashboard.json"] = []byte(dashboard)
	files["monitoring/prometheusrule.yaml"] = []byte(promRule)
	return files
}

func TestLoadSkipsWhatIsNotKubernetes(t *testing.T) {
	s, err := kube.Load("quickstart", withMonitoring(t))
	if err != nil {
		t.Fatal(err)
	}
	if s.Namespace != "llmsweep" {
		t.Errorf("namespace %q, want the campaign's llmsweep", s.Namespace)
	}
	var kinds []string
	for _, o := range s.Objects {
		kinds = append(kinds, o.GetKind())
	}
	if got, want := strings.Join(kinds, ","), "ConfigMap,ConfigMap,PrometheusRule,Workflow"; got != want {
		t.Errorf("kinds %s, want %s", got, want)
	}
	if len(s.Skipped) != 1 || !strings.HasPrefix(s.Skipped[0], "monitoring/dashboard.json") {
		t.Errorf("skipped %q, want the dashboard", s.Skipped)
	}
}

func TestLoadReportsBadYAML(t *testing.T) {
	files := withMonitoring(t)
	files["monitoring/prometheusrule.yaml"] = []byte("apiVersion: v1\nkind: [oops\n")
	_, err := kube.Load("quickstart", files)
	if err == nil || !strings.Contains(err.Error(), "monitoring/prometheusrule.yaml: document 1") {
		t.Errorf("bad YAML: %v", err)
	}
}

func TestNamespaceTheCampaignDoesNotDeclareIsRefused(t *testing.T) {
	files := withMonitoring(t)
	files["monitoring/prometheusrule.yaml"] = []byte(strings.Replace(promRule, "namespace: llmsweep", "namespace: kube-system", 1))
	s, err := kube.Load("quickstart", files)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Target("")
	want := `prometheusrule/quickstart-alerts is in namespace "kube-system", which campaign quickstart does not declare (it declares "llmsweep"); pass --namespace kube-system to apply there`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	ns, objs, err := s.Target("kube-system")
	if err != nil || ns != "kube-system" {
		t.Fatalf("--namespace kube-system: %q, %v", ns, err)
	}
	for _, o := range objs {
		if o.GetNamespace() != "kube-system" {
			t.Errorf("%s/%s stays in %q", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
	if s.Objects[0].GetNamespace() != "llmsweep" {
		t.Error("Target changed the loaded objects")
	}
}

func TestMissingKubeconfig(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	_, err := kube.RESTConfig(kube.Config{})
	want := "no kubeconfig found ($KUBECONFIG and ~/.kube/config are absent, and this is not a pod in a cluster): pass --kubeconfig FILE or set KUBECONFIG to the cluster's kubeconfig"
	if err == nil || err.Error() != want {
		t.Errorf("no kubeconfig:\ngot  %v\nwant %s", err, want)
	}
	_, err = kube.RESTConfig(kube.Config{Kubeconfig: filepath.Join(dir, "nope")})
	if err == nil || !strings.Contains(err.Error(), "nope cannot be read") || !strings.Contains(err.Error(), "pass --kubeconfig") {
		t.Errorf("--kubeconfig to a missing file: %v", err)
	}
}

func TestUnreachableServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	c, err := kube.Connect(&rest.Config{Host: "https://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Apply(context.Background(), quickstart(t), kube.Options{})
	var u *kube.UnreachableError
	if !errors.As(err, &u) {
		t.Fatalf("got %v, want an UnreachableError", err)
	}
	want := fmt.Sprintf("cannot reach the Kubernetes API server at https://%s (connect: connection refused): check that the cluster is running and that the kubeconfig or --context points at it, then run again (apply is idempotent)", addr)
	if err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

// TestWithoutArgoCRDs runs on a cluster of its own, which has neither the
// Argo CRDs nor Prometheus's: the monitoring objects are skipped, and the
// missing Argo CRDs get one sentence that says what to install.
func TestWithoutArgoCRDs(t *testing.T) {
	cl := startCluster(t, t.TempDir())
	defer cl.Stop()
	ctx := context.Background()
	c := client(t, cl.Admin)
	s, err := kube.Load("quickstart", withMonitoring(t))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Apply(ctx, s, kube.Options{})
	if !errors.Is(err, kube.ErrArgoCRDs) {
		t.Fatalf("got %v, want ErrArgoCRDs", err)
	}
	if !strings.Contains(err.Error(), "the Argo Workflows CRDs are not installed in this cluster: install Argo Workflows") {
		t.Errorf("message: %v", err)
	}
	got := actions(res)
	if got["prometheusrule/quickstart-alerts"] != "" {
		t.Errorf("the PrometheusRule comes after the Workflow in apply order: %v", res)
	}
	if _, _, err := c.Diff(ctx, s, kube.Options{}); !errors.Is(err, kube.ErrArgoCRDs) {
		t.Errorf("diff: %v", err)
	}
	if _, err := c.Status(ctx, "quickstart", "llmsweep"); !errors.Is(err, kube.ErrArgoCRDs) {
		t.Errorf("status: %v", err)
	}

	// With the Argo CRDs, the campaign applies; the PrometheusRule is skipped
	// until its CRD exists.
	files, err := testenv.ArgoCRDs()
	if err != nil {
		t.Fatal(err)
	}
	if err := testenv.InstallCRDs(ctx, cl.Admin, files...); err != nil {
		t.Fatal(err)
	}
	c = client(t, cl.Admin) // a fresh discovery cache
	res, err = c.Apply(ctx, s, kube.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a := actions(res)["prometheusrule/quickstart-alerts"]; a != kube.Skipped {
		t.Errorf("PrometheusRule without its CRD: %q (%v)", a, res)
	}
	if err := testenv.InstallCRDs(ctx, cl.Admin, filepath.Join("testdata", "prometheusrule-crd.yaml")); err != nil {
		t.Fatal(err)
	}
	res, err = client(t, cl.Admin).Apply(ctx, s, kube.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a := actions(res)["prometheusrule/quickstart-alerts"]; a != kube.Created {
		t.Errorf("PrometheusRule with its CRD: %q (%v)", a, res)
	}
}
