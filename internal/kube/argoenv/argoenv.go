// Package argoenv runs the compiled pipeline under Argo's real
// workflow-controller on one machine: testenv's etcd and kube-apiserver, the
// real kube-scheduler, and kwok, which plays the nodes and the pods' lifecycle
// (Stage objects: a pod starts, then succeeds or fails after a delay). The
// tests arrange nodes and stages and read the Workflow status the controller
// writes; no controller logic is reproduced here. tools/k8s/build.sh and
// tools/argo/build.sh build the binaries into ~/.cache/llmsweep.
package argoenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/llmsweep/llmsweep/internal/cli"
	"github.com/llmsweep/llmsweep/internal/kube/testenv"
)

// CacheKey is where tools/argo/build.sh puts workflow-controller and kwok,
// under the llmsweep cache; keep it in step with tools/argo.
const CacheKey = "argo/v3.7.4-kwok0.8.0"

// Resources of the Argo kinds the tests read.
var (
	WorkflowRes     = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflows"}
	CronWorkflowRes = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "cronworkflows"}
)

func cacheDir() (string, error) {
	if c := os.Getenv("LLMSWEEP_CACHE"); c != "" {
		return c, nil
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "llmsweep"), nil
}

// assets returns the folders of the Kubernetes binaries and of Argo's.
func assets() (k8s, argo string, err error) {
	if k8s, err = testenv.Assets(); err != nil {
		return "", "", err
	}
	if _, err := os.Stat(filepath.Join(k8s, "kube-scheduler")); err != nil {
		return "", "", fmt.Errorf("no kube-scheduler in %s: run tools/k8s/build.sh (make test-argo does)", k8s)
	}
	argo = os.Getenv("LLMSWEEP_ARGO_ASSETS")
	if argo == "" {
		c, err := cacheDir()
		if err != nil {
			return "", "", err
		}
		argo = filepath.Join(c, filepath.FromSlash(CacheKey))
	}
	for _, b := range []string{"workflow-controller", "kwok"} {
		if _, err := os.Stat(filepath.Join(argo, b)); err != nil {
			return "", "", fmt.Errorf("no %s in %s: run tools/argo/build.sh (make test-argo does), or set LLMSWEEP_ARGO_ASSETS", b, argo)
		}
	}
	return k8s, argo, nil
}

// Env is a running cluster with Argo's controller watching Namespace.
type Env struct {
	Cluster *testenv.Cluster
	// Namespace is the campaign's namespace, where the controller runs
	// namespaced.
	Namespace string
	// Kubeconfig is an admin kubeconfig for llmsweep apply.
	Kubeconfig string
	Kube       kubernetes.Interface
	Dyn        dynamic.Interface
	// Metrics is the URL of the controller's Prometheus endpoint.
	Metrics string
	dir     string
	root    string
}

// Start starts the API server (with the full Argo CRDs), the scheduler, kwok
// playing b, and Argo's controller installed into namespace as
// docs/kubernetes.md tells users. Everything stops when the test ends. The
// test skips without LLMSWEEP_ARGO=1 (make test-argo), and fails when that is
// set but a binary is missing.
func Start(t *testing.T, namespace string, b Behaviour) *Env {
	t.Helper()
	if os.Getenv("LLMSWEEP_ARGO") != "1" {
		t.Skip("runs under make test-argo (LLMSWEEP_ARGO=1): it needs Argo's controller, kube-scheduler and kwok")
	}
	_, argoBin, err := assets()
	if err != nil {
		t.Fatal(err)
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cl, err := testenv.Start(dir)
	if err != nil {
		t.Fatalf("start etcd and kube-apiserver: %v", err)
	}
	t.Cleanup(cl.Stop)
	e := &Env{Cluster: cl, Namespace: namespace, dir: dir, root: root}
	// Registered before the components start, so it runs after they stop:
	// any failure of the test, not only of Start, shows their logs.
	t.Cleanup(func() {
		if t.Failed() {
			e.dumpLogs(t)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	crds, err := testenv.ArgoCRDs()
	if err != nil {
		t.Fatal(err)
	}
	if err := testenv.InstallCRDs(ctx, cl.Admin, crds...); err != nil {
		t.Fatalf("install the Argo CRDs: %v", err)
	}
	if e.Kube, err = kubernetes.NewForConfig(cl.Admin); err != nil {
		t.Fatal(err)
	}
	if e.Dyn, err = dynamic.NewForConfig(cl.Admin); err != nil {
		t.Fatal(err)
	}
	e.Kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	if err := testenv.WriteKubeconfig(e.Kubeconfig, "admin", "", cl.Admin); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.installArgo(ctx, port); err != nil {
		t.Fatalf("install Argo's controller as docs/kubernetes.md says: %v", err)
	}
	e.Metrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", port)

	// The scheduler authenticates as the user its bootstrap ClusterRoles name.
	sched, err := e.kubeconfig("scheduler", "", "system:kube-scheduler")
	if err != nil {
		t.Fatal(err)
	}
	schedPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	k8sBin, _, _ := assets()
	e.spawn(t, filepath.Join(k8sBin, "kube-scheduler"), nil, "--kubeconfig="+sched, "--leader-elect=false",
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", schedPort),
		"--authentication-kubeconfig="+sched, "--authorization-kubeconfig="+sched, "--v=2")

	stages, err := b.stages()
	if err != nil {
		t.Fatal(err)
	}
	stagesFile := filepath.Join(dir, "kwok-stages.yaml")
	if err := os.WriteFile(stagesFile, stages, 0o644); err != nil {
		t.Fatal(err)
	}
	// kwok plays every node's kubelet, so it acts as an admin.
	e.spawn(t, filepath.Join(argoBin, "kwok"), nil, "--kubeconfig="+e.Kubeconfig, "--config="+stagesFile,
		"--manage-all-nodes=true", "--cidr=10.0.0.1/16", "--node-ip=10.0.0.1")

	// The controller runs as the service account the docs' RBAC binds.
	ctrl, err := e.kubeconfig("workflow-controller", namespace, "system:serviceaccount:"+namespace+":argo", "system:serviceaccounts", "system:serviceaccounts:"+namespace)
	if err != nil {
		t.Fatal(err)
	}
	// RECENTLY_DELETED_POD_DURATION as docs/kubernetes.md sets it for spot.
	e.spawn(t, filepath.Join(argoBin, "workflow-controller"), []string{"LEADER_ELECTION_DISABLE=true", "RECENTLY_DELETED_POD_DURATION=10s"},
		"--kubeconfig="+ctrl, "--namespaced", "--managed-namespace="+namespace, "--loglevel=info")
	if err := waitHTTP(ctx, e.Metrics); err != nil {
		t.Fatalf("the controller's metrics endpoint: %v", err)
	}
	// The metrics endpoint answers before the controller's informers have
	// synced and its CronWorkflow controller has started. A CronWorkflow
	// applied in between is validated before the controller sees its
	// WorkflowTemplate, marked invalid and left until the informer's
	// 20-minute resync: wait for the cron controller first.
	if err := waitLog(ctx, filepath.Join(e.dir, "workflow-controller.log"), "Starting CronWorkflow controller"); err != nil {
		t.Fatalf("the controller: %v", err)
	}
	return e
}

// waitLog waits until the log at path holds line.
func waitLog(ctx context.Context, path, line string) error {
	for {
		if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, []byte(line)) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never logged %q", filepath.Base(path), line)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// kubeconfig writes a kubeconfig for a client certificate of user in groups.
func (e *Env) kubeconfig(name, namespace, user string, groups ...string) (string, error) {
	rc, err := e.Cluster.User(user, groups...)
	if err != nil {
		return "", err
	}
	path := filepath.Join(e.dir, name+".kubeconfig")
	return path, testenv.WriteKubeconfig(path, name, namespace, rc)
}

// spawn starts a binary in its own process group, logging to dir/<name>.log;
// the test's cleanup kills the group.
func (e *Env) spawn(t *testing.T, bin string, env []string, args ...string) {
	t.Helper()
	name := filepath.Base(bin)
	log, err := os.Create(filepath.Join(e.dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	// Its own group, so that the cleanup reaches any child; Pdeathsig, so that
	// a killed test binary takes it along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); log.Close(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
}

// dumpLogs logs the end of each component's log, for a failed test.
func (e *Env) dumpLogs(t *testing.T) {
	for _, n := range []string{"workflow-controller", "kube-scheduler", "kwok"} {
		b, err := os.ReadFile(filepath.Join(e.dir, n+".log"))
		if err != nil {
			continue
		}
		if len(b) > 6000 {
			b = b[len(b)-6000:]
		}
		t.Logf("--- end of %s.log:\n%s", n, b)
	}
}

// Log returns a component's whole log: workflow-controller, kube-scheduler or kwok.
func (e *Env) Log(name string) string {
	b, _ := os.ReadFile(filepath.Join(e.dir, name+".log"))
	return string(b)
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m: %v", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// argoModuleDir is the argo-workflows module that go.mod requires.
func argoModuleDir() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/argoproj/argo-workflows/v3").Output()
	if err != nil {
		return "", fmt.Errorf("go list the argo-workflows module: %v", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// controllerConfigMap is the YAML block of docs/kubernetes.md that holds the
// workflow-controller-configmap: the test installs what the docs give.
var controllerConfigMap = regexp.MustCompile("(?s)```yaml\n(apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: workflow-controller-configmap\n.*?)```")

// installArgo applies, into e.Namespace, what docs/kubernetes.md installs:
// Argo's namespace-install RBAC for the controller (its service account, Role
// and RoleBinding, from the argo-workflows module at go.mod's version) and the
// controller ConfigMap from the docs, with the metrics port moved to port.
func (e *Env) installArgo(ctx context.Context, port int) error {
	mod, err := argoModuleDir()
	if err != nil {
		return err
	}
	var docs [][]byte
	for _, f := range []string{
		"manifests/base/workflow-controller/workflow-controller-sa.yaml",
		"manifests/namespace-install/workflow-controller-rbac/workflow-controller-role.yaml",
		"manifests/namespace-install/workflow-controller-rbac/workflow-controller-rolebinding.yaml",
	} {
		b, err := os.ReadFile(filepath.Join(mod, f))
		if err != nil {
			return err
		}
		docs = append(docs, b)
	}
	md, err := os.ReadFile(filepath.Join(e.root, "docs", "kubernetes.md"))
	if err != nil {
		return err
	}
	m := controllerConfigMap.FindSubmatch(md)
	if m == nil {
		return errors.New("docs/kubernetes.md has no ```yaml block with the workflow-controller-configmap ConfigMap")
	}
	cm := regexp.MustCompile(`port: \d+`).ReplaceAll(m[1], fmt.Appendf(nil, "port: %d", port))
	docs = append(docs, cm)
	for _, d := range docs {
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(d), 4096)
		for {
			var obj map[string]any
			if err := dec.Decode(&obj); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return err
			}
			if obj == nil {
				continue
			}
			if err := e.apply(ctx, &unstructured.Unstructured{Object: obj}); err != nil {
				return err
			}
		}
	}
	return nil
}

var kinds = map[string]schema.GroupVersionResource{
	"ServiceAccount": {Version: "v1", Resource: "serviceaccounts"},
	"ConfigMap":      {Version: "v1", Resource: "configmaps"},
	"Role":           {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	"RoleBinding":    {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
}

func (e *Env) apply(ctx context.Context, o *unstructured.Unstructured) error {
	res, ok := kinds[o.GetKind()]
	if !ok {
		return fmt.Errorf("argoenv cannot install a %s", o.GetKind())
	}
	o.SetNamespace(e.Namespace)
	body, err := o.MarshalJSON()
	if err != nil {
		return err
	}
	force := true
	_, err = e.Dyn.Resource(res).Namespace(e.Namespace).Patch(ctx, o.GetName(), types.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: "argoenv", Force: &force})
	if err != nil {
		return fmt.Errorf("apply %s %s: %v", o.GetKind(), o.GetName(), err)
	}
	return nil
}

func waitHTTP(ctx context.Context, url string) error {
	var last error
	for {
		if _, last = Scrape(ctx, url); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer: %v", url, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Scrape reads a Prometheus endpoint's text.
func Scrape(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(b), nil
}

// Node is one kwok node.
type Node struct {
	Name   string
	Labels map[string]string
	Taints []corev1.Taint
	// GPUs is its allocatable nvidia.com/gpu.
	GPUs int
}

// AddNode creates a kwok node; kwok marks it Ready.
func (e *Env) AddNode(t *testing.T, n Node) {
	t.Helper()
	labels := map[string]string{"kubernetes.io/hostname": n.Name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "kwok"}
	for k, v := range n.Labels {
		labels[k] = v
	}
	alloc := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("64"),
		corev1.ResourceMemory: resource.MustParse("512Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	if n.GPUs > 0 {
		alloc["nvidia.com/gpu"] = *resource.NewQuantity(int64(n.GPUs), resource.DecimalSI)
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: labels, Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"}},
		Spec:       corev1.NodeSpec{Taints: n.Taints},
		Status:     corev1.NodeStatus{Allocatable: alloc, Capacity: alloc},
	}
	if _, err := e.Kube.CoreV1().Nodes().Create(context.Background(), node, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create node %s: %v", n.Name, err)
	}
}

// Apply runs `llmsweep apply args...` against the cluster, from the
// repository root, and returns its output.
func (e *Env) Apply(t *testing.T, args ...string) string {
	t.Helper()
	t.Chdir(e.root)
	t.Setenv("LLMSWEEP_STORE", "")
	var out, errb bytes.Buffer
	code := cli.Run(append(append([]string{"apply"}, args...), "--kubeconfig", e.Kubeconfig), &out, &errb)
	if code != 0 {
		t.Fatalf("llmsweep apply %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String()
}

// Workflow reads a Workflow as the controller last wrote it.
func (e *Env) Workflow(ctx context.Context, name string) (*wfv1.Workflow, error) {
	u, err := e.Dyn.Resource(WorkflowRes).Namespace(e.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	var wf wfv1.Workflow
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &wf); err != nil {
		return nil, fmt.Errorf("decode Workflow %s: %v", name, err)
	}
	return &wf, nil
}

// Workflows lists the namespace's Workflows.
func (e *Env) Workflows(ctx context.Context) ([]wfv1.Workflow, error) {
	l, err := e.Dyn.Resource(WorkflowRes).Namespace(e.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]wfv1.Workflow, len(l.Items))
	for i, u := range l.Items {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &out[i]); err != nil {
			return nil, fmt.Errorf("decode Workflow %s: %v", u.GetName(), err)
		}
	}
	return out, nil
}

// WaitFinished waits until the controller marks the Workflow finished and
// returns it.
func (e *Env) WaitFinished(t *testing.T, name string, limit time.Duration) *wfv1.Workflow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var last *wfv1.Workflow
	for {
		wf, err := e.Workflow(ctx, name)
		if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			t.Fatal(err)
		}
		if wf != nil {
			last = wf
			if wf.Status.Fulfilled() && wf.Status.FinishedAt.Time.After(time.Time{}) {
				return wf
			}
		}
		select {
		case <-ctx.Done():
			phase := "not found"
			if last != nil {
				phase = fmt.Sprintf("%s (%s)", last.Status.Phase, last.Status.Message)
			}
			e.dumpLogs(t)
			t.Fatalf("Workflow %s did not finish within %s: %s", name, limit, phase)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Root is the repository root, where llmsweep apply runs.
func (e *Env) Root() string { return e.root }

// CronWorkflows lists the namespace's CronWorkflows.
func (e *Env) CronWorkflows(ctx context.Context) ([]wfv1.CronWorkflow, error) {
	l, err := e.Dyn.Resource(CronWorkflowRes).Namespace(e.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]wfv1.CronWorkflow, len(l.Items))
	for i, u := range l.Items {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &out[i]); err != nil {
			return nil, fmt.Errorf("decode CronWorkflow %s: %v", u.GetName(), err)
		}
	}
	return out, nil
}

// PatchCron merge-patches a CronWorkflow, as an operator's kubectl patch does.
func (e *Env) PatchCron(ctx context.Context, name, patch string) error {
	_, err := e.Dyn.Resource(CronWorkflowRes).Namespace(e.Namespace).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "kubectl-patch"})
	return err
}

// CreateWorkflow creates wf in e.Namespace and returns its name (the server
// fills a generateName).
func (e *Env) CreateWorkflow(ctx context.Context, wf *wfv1.Workflow) (string, error) {
	wf.APIVersion, wf.Kind = "argoproj.io/v1alpha1", "Workflow"
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(wf)
	if err != nil {
		return "", err
	}
	u, err := e.Dyn.Resource(WorkflowRes).Namespace(e.Namespace).Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return u.GetName(), nil
}
