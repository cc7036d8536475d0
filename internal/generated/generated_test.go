package generated

import (
	"encoding/json"
	"errors"
	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
	"github.com/llmsweep/llmsweep/internal/golden"
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/util/template"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// goldenCampaigns are the repository's small campaigns plus variants that cover the
// spot providers, a cache and a custom spot label.
func goldenCampaigns(s *campaign.Set) []campaign.Campaign {
	quick := s.Campaigns["quickstart"]
	gke := quick
	gke.Name, gke.Spot.Provider = "quickstart-gke", "gke"
	gke.Cache = &struct {
		URL string `json:"url"`
	}{URL: "redis://cache:6379/0"}
	custom := quick
	custom.Name = "quickstart-custom-spot"
	custom.Spot.Label = &campaign.SpotLabel{Key: "example.com/lifecycle", Spot: "preemptible", OnDemand: "dedicated"}
	custom.Retry.Limit = 2
	return []campaign.Campaign{quick, gke, custom, s.Campaigns["nightly"]}
}

// TestGolden compiles the golden campaigns and compares every generated file with
// testdata/golden/<campaign>/; go test -update rewrites them.
func TestGolden(t *testing.T) {
	s := campaigntest.Repo(t)
	for _, c := range goldenCampaigns(s) {
		t.Run(c.Name, func(t *testing.T) {
			files, _, err := Files(s, c, Options{})
			if err != nil {
				t.Fatal(err)
			}
			// Every document must read back strictly into its Kubernetes type.
			for _, name := range []string{"workflow.yaml", "configmap.yaml"} {
				for _, doc := range strings.Split(string(files[name]), "\n---\n") {
					var meta struct{ Kind string }
					if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					var obj any
					switch meta.Kind {
					case "Workflow":
						obj = &wfv1.Workflow{}
					case "WorkflowTemplate":
						obj = &wfv1.WorkflowTemplate{}
					case "CronWorkflow":
						obj = &wfv1.CronWorkflow{}
					case "ConfigMap":
						obj = &corev1.ConfigMap{}
					default:
						t.Fatalf("%s: unexpected kind %q", name, meta.Kind)
					}
					if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
						t.Fatalf("%s: %s does not read back: %v", name, meta.Kind, err)
					}
				}
			}
			dir := filepath.Join("testdata", "golden", c.Name)
			if golden.Update() {
				if err := Write(dir, files); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			for name := range files {
				if diff := cmp.Diff(string(want[name]), string(files[name])); diff != "" {
					t.Errorf("%s differs from the golden file (-want +got); run go test -update if intended:\n%s", name, diff)
				}
			}
			if len(want) != len(files) {
				t.Errorf("golden has %d files, compile wrote %d", len(want), len(files))
			}
		})
	}
}

// TestSpotFallback evaluates the batch pods' podSpecPatch with Argo's own template
// engine: on spot until the last retry, then on-demand.
func TestSpotFallback(t *testing.T) {
	s := campaigntest.Repo(t)
	cases := map[string][2]map[string]any{
		// provider: {selector on a first attempt, selector on the last retry}
		"quickstart":             {{"karpenter.sh/capacity-type": "spot"}, {"karpenter.sh/capacity-type": "on-demand"}},
		"quickstart-gke":         {{"cloud.google.com/gke-spot": "true"}, {"cloud.google.com/gke-spot": nil}},
		"quickstart-custom-spot": {{"example.com/lifecycle": "preemptible"}, {"example.com/lifecycle": "dedicated"}},
	}
	for _, c := range goldenCampaigns(s) {
		want, ok := cases[c.Name]
		if !ok {
			continue
		}
		files, _, err := Files(s, c, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var wf wfv1.Workflow
		doc := strings.Split(string(files["workflow.yaml"]), "\n---\n")[0]
		if err := yaml.UnmarshalStrict([]byte(doc), &wf); err != nil {
			t.Fatal(err)
		}
		var patch string
		for _, tmpl := range wf.Spec.Templates {
			if len(tmpl.Sidecars) > 0 {
				patch = tmpl.PodSpecPatch
			}
		}
		for i, retries := range []string{"0", "3"} {
			if c.Retry.Limit == 2 && retries == "3" {
				retries = "2"
			}
			// As the controller does: replace within the JSON of the template, where
			// the patch is a string.
			quoted, _ := json.Marshal(patch)
			replaced, err := template.Replace(string(quoted), map[string]string{"retries": retries}, false)
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			var out string
			if err := json.Unmarshal([]byte(replaced), &out); err != nil {
				t.Fatal(err)
			}
			var got struct {
				Grace        int            `json:"terminationGracePeriodSeconds"`
				NodeSelector map[string]any `json:"nodeSelector"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%s: retries=%s: patch is not JSON: %v\n%s", c.Name, retries, err, out)
			}
			if got.Grace != 120 {
				t.Errorf("%s: terminationGracePeriodSeconds %d, want 120", c.Name, got.Grace)
			}
			if diff := cmp.Diff(want[i], got.NodeSelector); diff != "" {
				t.Errorf("%s: retries=%s: node selector (-want +got):\n%s", c.Name, retries, diff)
			}
		}
	}
}

// TestManifestFacts checks what the issue requires of every batch pod, on the
// parsed full campaign.
func TestManifestFacts(t *testing.T) {
	s := campaigntest.Repo(t)
	files, res, err := Files(s, s.Campaigns["llama3-8b-full"], Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(files["workflow.yaml"]); n > 900_000 {
		t.Errorf("workflow.yaml is %d bytes: too close to etcd's 1 MB object limit", n)
	}
	var wf wfv1.Workflow
	if err := yaml.UnmarshalStrict(files["workflow.yaml"], &wf); err != nil {
		t.Fatal(err)
	}
	batches := 0
	for _, task := range wf.Spec.Templates[0].DAG.Tasks {
		if strings.HasPrefix(task.Name, "batch-") {
			batches++
		}
	}
	if batches != res.Summary.Batches {
		t.Errorf("%d batch tasks, %d batches", batches, res.Summary.Batches)
	}
	for _, tmpl := range wf.Spec.Templates {
		if len(tmpl.Sidecars) == 0 {
			continue
		}
		side := tmpl.Sidecars[0]
		gpus := side.Resources.Limits["nvidia.com/gpu"]
		if gpus.IsZero() {
			gpus = side.Resources.Limits["amd.com/gpu"]
		}
		if gpus.IsZero() || tmpl.RetryStrategy == nil || tmpl.Synchronization == nil || tmpl.Metrics == nil ||
			tmpl.NodeSelector["karpenter.sh/capacity-type"] != "spot" || tmpl.Container.Command[0] != "llmsweep" {
			t.Errorf("batch template %s lacks GPUs, retries, semaphore, metrics or spot placement", tmpl.Name)
		}
		for _, e := range append(side.Env, tmpl.Container.Env...) {
			if e.Name == "HF_TOKEN" && (e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
				t.Errorf("HF_TOKEN must come from a secretKeyRef")
			}
		}
	}
	if wf.Spec.SecurityContext == nil || !*wf.Spec.SecurityContext.RunAsNonRoot {
		t.Error("pods must run as non-root")
	}
}

// TestWriteAtomic: an output path that cannot be written leaves nothing behind.
func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "generated")
	if err := os.WriteFile(blocker, []byte("a file, not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Write(filepath.Join(blocker, "c"), map[string][]byte{"a": []byte("x")})
	if err == nil {
		t.Fatal("writing under a file succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left files behind: %v", entries)
	}
	// A hand edit is detected.
	out := filepath.Join(dir, "ok", "c")
	if err := Write(out, map[string][]byte{"a.yaml": []byte("x: 1\n")}); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(out); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(out, "a.yaml"), []byte("x: 2\n"), 0o644)
	if _, err := Read(out); !errors.Is(err, ErrEdited) || !strings.Contains(err.Error(), "a.yaml") {
		t.Fatalf("hand edit not reported: %v", err)
	}
}
