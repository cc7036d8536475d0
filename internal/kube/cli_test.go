package kube_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/llmsweep/llmsweep/internal/cli"
	"github.com/llmsweep/llmsweep/internal/kube/testenv"
)

// run runs the llmsweep CLI as a user would, from the repository root.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestCLIApplyDiffStatus drives apply, diff --live and status through the CLI
// against the API server, and checks diff --live's exit codes: 0 no change,
// 1 changes, 2 error.
func TestCLIApplyDiffStatus(t *testing.T) {
	cl := cluster(t)
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	if err := testenv.WriteKubeconfig(kc, "admin", "", cl.Admin); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join("..", ".."))
	t.Setenv("LLMSWEEP_STORE", "")
	ns := "t-cli"
	flags := []string{"--kubeconfig", kc, "--namespace", ns}

	code, out, errs := run(t, append([]string{"apply", "quickstart"}, flags...)...)
	if code != 0 || !strings.Contains(out, "created") || !strings.Contains(out, "campaign quickstart in namespace t-cli:") {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = run(t, append([]string{"apply", "--dry-run=server", "quickstart"}, flags...)...)
	if code != 0 || !strings.Contains(out, "unchanged (server dry run)") || strings.Contains(out, " created") {
		t.Fatalf("apply --dry-run=server: exit %d\n%s%s", code, out, errs)
	}

	diff := append([]string{"diff", "--live", "--campaign", "quickstart"}, flags...)
	code, out, errs = run(t, diff...)
	if code != 0 || !strings.Contains(out, "0 of 1 campaigns differ from the cluster") {
		t.Fatalf("diff --live with no change: exit %d, want 0\n%s%s", code, out, errs)
	}

	d := dyn(t, cl.Admin)
	if _, err := d.Resource(cmRes).Namespace(ns).Patch(context.Background(), "quickstart-campaign", types.MergePatchType,
		[]byte(`{"data":{"matrix-hash":"edited"}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	code, out, errs = run(t, diff...)
	if code != 1 || !strings.Contains(out, "-  matrix-hash: edited") || !strings.Contains(out, "1 of 1 campaigns differ from the cluster") {
		t.Fatalf("diff --live with a change: exit %d, want 1\n%s%s", code, out, errs)
	}

	bad := filepath.Join(dir, "bad-kubeconfig")
	if err := testenv.WriteKubeconfig(bad, "gone", "", &rest.Config{Host: "https://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	code, _, errs = run(t, "diff", "--live", "--campaign", "quickstart", "--kubeconfig", bad)
	if code != 2 || !strings.Contains(errs, "cannot reach the Kubernetes API server") {
		t.Fatalf("diff --live against no server: exit %d, want 2\n%s", code, errs)
	}

	code, out, errs = run(t, append([]string{"status", "quickstart"}, flags...)...)
	if code != 0 || !strings.Contains(out, " Pending: batches 0 done, 0 running, 0 failed, 0 retried, of ") {
		t.Fatalf("status: exit %d\n%s%s", code, out, errs)
	}
	name := strings.Fields(out)[0]
	setPhase(t, d, ns, name, "Succeeded", nodes(node(name, "batch-b", "Pod", "Succeeded")))
	code, out, errs = run(t, append([]string{"status", "--wait", "--timeout", "1m", "quickstart"}, flags...)...)
	if code != 0 || !strings.Contains(out, name+" Succeeded: batches 1 done") {
		t.Fatalf("status --wait on a finished Workflow: exit %d\n%s%s", code, out, errs)
	}
	setPhase(t, d, ns, name, "Failed", nodes(node(name, "batch-b", "Pod", "Failed")))
	code, out, errs = run(t, append([]string{"status", "quickstart"}, flags...)...)
	if code != 1 || !strings.Contains(out, name+" Failed: batches 0 done, 0 running, 1 failed") {
		t.Fatalf("status of a failed Workflow: exit %d, want 1\n%s%s", code, out, errs)
	}
}
