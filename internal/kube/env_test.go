package kube_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/llmsweep/llmsweep/internal/generated"
	"github.com/llmsweep/llmsweep/internal/kube"
	"github.com/llmsweep/llmsweep/internal/kube/testenv"
)

// The tests share one etcd and kube-apiserver with the full Argo CRDs, each
// test in its own namespace. Without the binaries they skip, unless
// LLMSWEEP_K8S=1 (make test-k8s) says they must run.
var (
	shared     *testenv.Cluster
	sharedErr  error
	sharedOnce sync.Once
	sharedDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}

// startCluster starts a cluster for one test, or skips or fails the test when
// the binaries are absent.
func startCluster(t *testing.T, dir string) *testenv.Cluster {
	t.Helper()
	if _, err := testenv.Assets(); err != nil {
		if os.Getenv("LLMSWEEP_K8S") == "1" {
			t.Fatalf("LLMSWEEP_K8S=1 but %v", err)
		}
		t.Skipf("no API server to test against (%v); make test-k8s builds one and runs these tests", err)
	}
	c, err := testenv.Start(dir)
	if err != nil {
		t.Fatalf("start etcd and kube-apiserver: %v", err)
	}
	return c
}

// cluster returns the shared cluster, with the Argo CRDs installed.
func cluster(t *testing.T) *testenv.Cluster {
	t.Helper()
	if _, err := testenv.Assets(); err != nil {
		startCluster(t, "") // skips or fails
	}
	sharedOnce.Do(func() {
		sharedDir, sharedErr = os.MkdirTemp("", "llmsweep-kube-")
		if sharedErr != nil {
			return
		}
		if shared, sharedErr = testenv.Start(sharedDir); sharedErr != nil {
			return
		}
		var files []string
		if files, sharedErr = testenv.ArgoCRDs(); sharedErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		sharedErr = testenv.InstallCRDs(ctx, shared.Admin, files...)
	})
	if sharedErr != nil {
		t.Fatalf("cluster: %v", sharedErr)
	}
	return shared
}

func client(t *testing.T, rc *rest.Config) *kube.Client {
	t.Helper()
	c, err := kube.Connect(rc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// quickstart is the committed compiler output of the quickstart campaign.
func quickstart(t *testing.T) *kube.Set {
	t.Helper()
	files, err := generated.Read(filepath.Join("..", "..", "generated", "quickstart"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := kube.Load("quickstart", files)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func find(t *testing.T, s *kube.Set, kind string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range s.Objects {
		if o.GetKind() == kind {
			return o
		}
	}
	t.Fatalf("no %s in %s", kind, s.Campaign)
	return nil
}

var (
	cmRes = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	wfRes = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflows"}
)

func dyn(t *testing.T, rc *rest.Config) dynamic.Interface {
	t.Helper()
	d, err := dynamic.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// versions returns kind/name -> resourceVersion of every object in ns that
// llmsweep manages.
func versions(t *testing.T, d dynamic.Interface, ns string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range []schema.GroupVersionResource{cmRes, wfRes,
		{Version: "v1", Resource: "serviceaccounts"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}} {
		list, err := d.Resource(r).Namespace(ns).List(context.Background(), metav1.ListOptions{LabelSelector: kube.LabelManaged + "=llmsweep"})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list.Items {
			out[fmt.Sprintf("%s/%s", r.Resource, o.GetName())] = o.GetResourceVersion()
		}
	}
	return out
}

func actions(res []kube.Result) map[string]kube.Action {
	out := map[string]kube.Action{}
	for _, r := range res {
		out[r.Object] = r.Action
	}
	return out
}
