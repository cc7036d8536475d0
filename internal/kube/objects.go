package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Labels the compiler sets (internal/argo); prune finds a campaign's objects by
// the first two, and never looks at anything without them.
const (
	LabelCampaign = "llmsweep.dev/campaign"
	LabelManaged  = "app.kubernetes.io/managed-by"
	LabelPartOf   = "app.kubernetes.io/part-of"
	managedBy     = "llmsweep"
)

// FieldManager is the server-side apply field manager of every llmsweep write.
const FieldManager = "llmsweep"

// ExecutorAccount is the service account the generated pods run as
// (internal/argo sets it on every Workflow).
const ExecutorAccount = "llmsweep-executor"

// Set is what one campaign applies.
type Set struct {
	Campaign string
	// Namespace is the namespace the campaign declares.
	Namespace string
	// PriorityClass is the campaign's priority_class, or empty.
	PriorityClass string
	Objects       []*unstructured.Unstructured
	// Skipped lists files, or documents in them, that are not Kubernetes objects.
	Skipped []string
}

// notManifests are files of generated/<campaign>/ that never hold objects.
var notManifests = map[string]bool{"SUMS": true, "matrix.jsonl": true, "summary.json": true}

// Load reads the objects of a compiled campaign from its generated files, keyed
// by their path inside generated/<campaign>/. Files or documents without
// apiVersion and kind (a Grafana dashboard, say) are listed in Skipped.
func Load(campaign string, files map[string][]byte) (*Set, error) {
	s := &Set{Campaign: campaign}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		ext := path.Ext(name)
		if notManifests[name] || ext != ".yaml" && ext != ".yml" && ext != ".json" {
			continue
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(files[name]), 4096)
		for doc := 1; ; doc++ {
			var m map[string]any
			err := dec.Decode(&m)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: document %d: %v", name, doc, err)
			}
			if m == nil {
				continue
			}
			u := &unstructured.Unstructured{Object: m}
			if u.GetAPIVersion() == "" || u.GetKind() == "" {
				s.Skipped = append(s.Skipped, fmt.Sprintf("%s (document %d): not a Kubernetes object", name, doc))
				continue
			}
			if u.GetName() == "" {
				return nil, fmt.Errorf("%s: document %d: %s has no metadata.name", name, doc, u.GetKind())
			}
			s.Objects = append(s.Objects, u)
		}
	}
	if err := s.readBundle(); err != nil {
		return nil, err
	}
	if s.Namespace == "" {
		return nil, fmt.Errorf("campaign %s: no campaign ConfigMap (%s-campaign) among its generated files; run llmsweep compile", campaign, campaign)
	}
	return s, nil
}

// readBundle takes the campaign's declared namespace and priority class from the
// bundle in its ConfigMap, the same data the pods read.
func (s *Set) readBundle() error {
	for _, o := range s.Objects {
		if o.GetKind() != "ConfigMap" || o.GetLabels()[LabelCampaign] != s.Campaign || !strings.HasSuffix(o.GetName(), "-campaign") {
			continue
		}
		s.Namespace = o.GetNamespace()
		raw, _, _ := unstructured.NestedString(o.Object, "data", "bundle.json")
		if raw == "" {
			return nil
		}
		var b struct {
			Campaigns map[string]struct {
				Namespace     string `json:"namespace"`
				PriorityClass string `json:"priority_class"`
			} `json:"campaigns"`
		}
		if err := json.Unmarshal([]byte(raw), &b); err != nil {
			return fmt.Errorf("ConfigMap %s: bundle.json: %v", o.GetName(), err)
		}
		if c, ok := b.Campaigns[s.Campaign]; ok {
			if c.Namespace != "" {
				s.Namespace = c.Namespace
			}
			s.PriorityClass = c.PriorityClass
		}
		return nil
	}
	return nil
}

// Target returns copies of the objects, each namespaced one in the namespace
// it will be applied to: the campaign's own, or override when --namespace
// names one. An object in a namespace the campaign does not declare is refused
// unless override names it, so that a hand-edited manifest cannot write
// elsewhere unnoticed.
func (s *Set) Target(override string) (string, []*unstructured.Unstructured, error) {
	ns := s.Namespace
	if override != "" {
		ns = override
	}
	out := make([]*unstructured.Unstructured, 0, len(s.Objects))
	for _, o := range s.Objects {
		o = o.DeepCopy()
		out = append(out, o)
		if clusterScoped[o.GroupVersionKind().GroupKind()] {
			continue
		}
		if have := o.GetNamespace(); have != "" && have != s.Namespace && have != override {
			return "", nil, fmt.Errorf("%s is in namespace %q, which campaign %s does not declare (it declares %q); pass --namespace %s to apply there",
				describe(o), have, s.Campaign, s.Namespace, have)
		}
		o.SetNamespace(ns)
	}
	return ns, out, nil
}

// clusterScoped are the cluster-wide kinds llmsweep may write; the REST mapper
// decides for everything else, this only keeps Target from moving them.
var clusterScoped = map[schema.GroupKind]bool{
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}: true,
	{Kind: "Namespace"}: true,
}

// Executor returns the service account the generated pods run as, with the
// least privilege Argo's executor needs: creating and patching the
// WorkflowTaskResults that carry a step's outputs. The pods read the campaign
// from a mounted ConfigMap and the store URL from a Secret reference, which
// need no API access. These objects are shared by every campaign of the
// namespace, so they carry no campaign label and are never pruned.
func Executor(namespace string) []*unstructured.Unstructured {
	labels := map[string]any{LabelManaged: managedBy, LabelPartOf: managedBy}
	meta := func() map[string]any {
		return map[string]any{"name": ExecutorAccount, "namespace": namespace, "labels": copyMap(labels)}
	}
	return []*unstructured.Unstructured{
		{Object: map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta()}},
		{Object: map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta(),
			"rules": []any{map[string]any{
				"apiGroups": []any{"argoproj.io"},
				"resources": []any{"workflowtaskresults"},
				"verbs":     []any{"create", "patch"},
			}}}},
		{Object: map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta(),
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ExecutorAccount},
			"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": ExecutorAccount, "namespace": namespace}},
		}},
	}
}

// PriorityClass is created when the campaign names one that does not exist:
// priority 0 and never preempting, so benchmark pods queue behind other work
// instead of evicting it. One that exists is left as it is.
func PriorityClass(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
		"metadata":         map[string]any{"name": name, "labels": map[string]any{LabelManaged: managedBy, LabelPartOf: managedBy}},
		"value":            int64(0),
		"preemptionPolicy": "Never",
		"globalDefault":    false,
		"description":      "llmsweep benchmark pods: queued, never preempting",
	}}
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// describe names an object as kubectl does: kind/name.
func describe(o *unstructured.Unstructured) string {
	return strings.ToLower(o.GetKind()) + "/" + o.GetName()
}
