package generated

import (
	"encoding/json"
	"errors"
	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
	"github.com/llmsweep/llmsweep/internal/golden"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/util/template"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"

	"github.com/llmsweep/llmsweep/internal/argo"
	"github.com/llmsweep/llmsweep/internal/campaign"
)

// goldenCampaigns are the repository's small campaigns plus variants that cover the
// spot providers, a cache, a custom spot label and a model cache on a PVC.
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
	custom.ModelCache = campaign.ModelCache{PVC: "llmsweep-models"}
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

// TestSpotFallback evaluates the batch pods' podSpecPatch with Argo's own
// template engine and applies it with Argo's own patcher: spot is preferred and
// on-demand allowed until the last retry, which requires on-demand capacity.
func TestSpotFallback(t *testing.T) {
	s := campaigntest.Repo(t)
	in := func(v ...string) corev1.NodeSelectorRequirement {
		return corev1.NodeSelectorRequirement{Key: "", Operator: corev1.NodeSelectorOpIn, Values: v}
	}
	type want struct {
		key       string
		preferred corev1.NodeSelectorRequirement
		required  corev1.NodeSelectorRequirement // before the last attempt; zero: none
		last      corev1.NodeSelectorRequirement // on the last attempt
		tolerates bool
	}
	cases := map[string]want{
		"quickstart":             {"karpenter.sh/capacity-type", in("spot"), in("spot", "on-demand"), in("on-demand"), false},
		"quickstart-gke":         {"cloud.google.com/gke-spot", in("true"), corev1.NodeSelectorRequirement{}, corev1.NodeSelectorRequirement{Operator: corev1.NodeSelectorOpDoesNotExist}, true},
		"quickstart-custom-spot": {"example.com/lifecycle", in("preemptible"), in("preemptible", "dedicated"), in("dedicated"), false},
	}
	for _, c := range goldenCampaigns(s) {
		w, ok := cases[c.Name]
		if !ok {
			continue
		}
		for _, r := range []*corev1.NodeSelectorRequirement{&w.preferred, &w.required, &w.last} {
			if r.Operator != "" {
				r.Key = w.key
			}
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
		var tmpl wfv1.Template
		for _, x := range wf.Spec.Templates {
			if len(x.Sidecars) > 0 {
				tmpl = x
			}
		}
		if tmpl.Affinity == nil || tmpl.Affinity.NodeAffinity == nil {
			t.Fatalf("%s: the batch template has no node affinity", c.Name)
		}
		if _, ok := tmpl.NodeSelector[w.key]; ok {
			t.Errorf("%s: nodeSelector requires %s: a spot shortage would leave the pod Pending", c.Name, w.key)
		}
		pref := tmpl.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution
		if len(pref) != 1 || len(pref[0].Preference.MatchExpressions) != 1 {
			t.Fatalf("%s: preferred terms %+v", c.Name, pref)
		}
		if diff := cmp.Diff(w.preferred, pref[0].Preference.MatchExpressions[0]); diff != "" {
			t.Errorf("%s: preference (-want +got):\n%s", c.Name, diff)
		}
		if got := len(tmpl.Tolerations) > 0 && tmpl.Tolerations[0].Key == w.key; got != w.tolerates {
			t.Errorf("%s: tolerates the spot taint: %v, want %v", c.Name, got, w.tolerates)
		}
		base := corev1.PodSpec{Affinity: tmpl.Affinity, NodeSelector: tmpl.NodeSelector}
		for _, retries := range []int{0, c.Retry.Limit - 1, c.Retry.Limit} {
			// As the controller does: replace within the JSON of the template,
			// where the patch is a string, then apply it strategically.
			quoted, _ := json.Marshal(tmpl.PodSpecPatch)
			replaced, err := template.Replace(string(quoted), map[string]string{"retries": strconv.Itoa(retries)}, false)
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			var patch string
			if err := json.Unmarshal([]byte(replaced), &patch); err != nil {
				t.Fatal(err)
			}
			spec, err := applyPodSpecPatch(base, patch)
			if err != nil {
				t.Fatalf("%s: retries=%d: Argo cannot apply the patch: %v\n%s", c.Name, retries, err, patch)
			}
			if spec.TerminationGracePeriodSeconds == nil || *spec.TerminationGracePeriodSeconds != 120 {
				t.Errorf("%s: retries=%d: terminationGracePeriodSeconds %v, want 120", c.Name, retries, spec.TerminationGracePeriodSeconds)
			}
			want := w.required
			if retries == c.Retry.Limit {
				want = w.last
			}
			var got corev1.NodeSelectorRequirement
			if req := spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution; req != nil {
				if len(req.NodeSelectorTerms) != 1 || len(req.NodeSelectorTerms[0].MatchExpressions) != 1 {
					t.Fatalf("%s: retries=%d: required terms %+v", c.Name, retries, req)
				}
				got = req.NodeSelectorTerms[0].MatchExpressions[0]
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: retries=%d: required node affinity (-want +got):\n%s", c.Name, retries, diff)
			}
			if len(spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
				t.Errorf("%s: retries=%d: the patch dropped the spot preference", c.Name, retries)
			}
		}
	}
}

// applyPodSpecPatch is the controller's util.ApplyPodSpecPatch (Argo v3.7.4,
// workflow/util), whose package this module cannot import: the patch must
// decode as a PodSpec and is applied as a strategic merge patch.
func applyPodSpecPatch(spec corev1.PodSpec, patch string) (*corev1.PodSpec, error) {
	if err := json.Unmarshal([]byte(patch), &corev1.PodSpec{}); err != nil {
		return nil, err
	}
	orig, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	out, err := strategicpatch.StrategicMergePatch(orig, []byte(patch), corev1.PodSpec{})
	if err != nil {
		return nil, err
	}
	var patched corev1.PodSpec
	return &patched, json.Unmarshal(out, &patched)
}

// TestModelCache: with a PVC, the DAG's fetch-model step downloads and batch
// pods only read; with a node folder, the step checks the Hub only and each
// batch pod's init container fetches. Batch pods never write the cache.
func TestModelCache(t *testing.T) {
	s := campaigntest.Repo(t)
	for _, c := range goldenCampaigns(s) {
		files, _, err := Files(s, c, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var wf wfv1.Workflow
		if err := yaml.UnmarshalStrict([]byte(strings.Split(string(files["workflow.yaml"]), "\n---\n")[0]), &wf); err != nil {
			t.Fatal(err)
		}
		pvc := c.ModelCache.PVC != ""
		var vol *corev1.Volume
		for i := range wf.Spec.Volumes {
			if wf.Spec.Volumes[i].Name == "models" {
				vol = &wf.Spec.Volumes[i]
			}
		}
		switch {
		case vol == nil:
			t.Fatalf("%s: no models volume", c.Name)
		case pvc && (vol.PersistentVolumeClaim == nil || vol.PersistentVolumeClaim.ClaimName != c.ModelCache.PVC):
			t.Errorf("%s: models volume %+v, want the claim %s", c.Name, vol.VolumeSource, c.ModelCache.PVC)
		case !pvc && (vol.HostPath == nil || vol.HostPath.Path != c.ModelCache.HostPath):
			t.Errorf("%s: models volume %+v, want the host path %s", c.Name, vol.VolumeSource, c.ModelCache.HostPath)
		}
		for _, tmpl := range wf.Spec.Templates {
			switch {
			case tmpl.Name == "fetch-model":
				if got := slices.Contains(tmpl.Container.Args, "--hub-only"); got == pvc {
					t.Errorf("%s: fetch-model step --hub-only = %v with pvc = %v", c.Name, got, pvc)
				}
			case len(tmpl.Sidecars) > 0:
				if got := len(tmpl.InitContainers) == 1 && tmpl.InitContainers[0].Args[0] == "fetch-model"; got == pvc {
					t.Errorf("%s: batch pod fetches in an init container: %v, with pvc = %v", c.Name, got, pvc)
				}
				for _, ctr := range append([]corev1.Container{*tmpl.Container}, tmpl.Sidecars[0].Container) {
					for _, m := range ctr.VolumeMounts {
						if m.Name == "models" && !m.ReadOnly {
							t.Errorf("%s: %s mounts the model cache writable", c.Name, ctr.Name)
						}
					}
				}
			}
		}
	}
}

// TestBatchTimeout: the stated margin, rounded up to minutes.
func TestBatchTimeout(t *testing.T) {
	for s, want := range map[float64]string{78.2: "13m", 600: "30m", 3600: "130m", 0.5: "11m"} {
		if got := argo.BatchTimeout(s); got != want {
			t.Errorf("BatchTimeout(%g) = %s, want %s", s, got, want)
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
	slots := map[string]bool{}
	for _, tmpl := range wf.Spec.Templates {
		if tmpl.Synchronization != nil && len(tmpl.Steps) == 1 {
			slots[tmpl.Name] = true
		}
	}
	for _, task := range wf.Spec.Templates[0].DAG.Tasks {
		if strings.HasPrefix(task.Name, "batch-") {
			batches++
			if !slots[task.Template] {
				t.Errorf("task %s runs %s, which holds no GPU semaphore", task.Name, task.Template)
			}
			if slices.ContainsFunc(task.Dependencies, func(d string) bool { return d != "matrix" }) || task.ContinueOn == nil || !task.ContinueOn.Failed {
				t.Errorf("task %s: dependencies %v, continueOn %+v", task.Name, task.Dependencies, task.ContinueOn)
			}
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
		if gpus.IsZero() || tmpl.RetryStrategy == nil || tmpl.Timeout == "" || tmpl.Metrics == nil || tmpl.Affinity == nil ||
			tmpl.Container.Command[0] != "llmsweep" || !slices.Contains(tmpl.Container.Args, "--model") {
			t.Errorf("batch template %s lacks GPUs, retries, a timeout, metrics, spot placement or exec --model", tmpl.Name)
		}
		for _, m := range append(side.VolumeMounts, tmpl.Container.VolumeMounts...) {
			if m.Name == "models" && !m.ReadOnly {
				t.Errorf("batch template %s mounts the model cache writable", tmpl.Name)
			}
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

// TestBudget: with Budget, a campaign over its budget is an *OverBudgetError
// and nothing is written; without it, summary.json records the overrun, which
// CheckBudget finds again, and a campaign within budget records none.
func TestBudget(t *testing.T) {
	s := campaigntest.Repo(t)
	c := s.Campaigns["quickstart"]
	c.Budget = &struct {
		MaxGPUHours float64 `json:"max_gpu_hours,omitempty"`
		MaxUSD      float64 `json:"max_usd,omitempty"`
	}{MaxGPUHours: 1e-6}
	files, _, err := Files(s, c, Options{Budget: true, SkipValidation: true})
	var ob *OverBudgetError
	if !errors.As(err, &ob) || files != nil {
		t.Fatalf("Files with Budget over it: %v, %d files; want an *OverBudgetError and none", err, len(files))
	}
	if ob.Campaign != "quickstart" || len(ob.Over) != 1 || !strings.Contains(ob.Over[0], "over max_gpu_hours 1e-06") {
		t.Errorf("OverBudgetError = %+v", ob)
	}
	files, _, err = Files(s, c, Options{SkipValidation: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckBudget(files); !errors.As(err, &ob) || ob.Error() != "campaign quickstart is predicted over its budget: "+ob.Over[0] {
		t.Errorf("CheckBudget of the files compiled over budget: %v", err)
	}
	files, _, err = Files(s, s.Campaigns["quickstart"], Options{Budget: true, SkipValidation: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckBudget(files); err != nil {
		t.Errorf("CheckBudget within budget: %v", err)
	}
	if strings.Contains(string(files["summary.json"]), "over_budget") {
		t.Error("summary.json within budget mentions over_budget")
	}
	delete(files, "summary.json")
	if err := CheckBudget(files); err == nil {
		t.Error("CheckBudget without summary.json: no error")
	}
}
