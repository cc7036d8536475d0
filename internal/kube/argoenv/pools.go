package argoenv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// spotLabels are the providers' spot labels, spelled as the compiler's
// presets (internal/argo) spell them. Karpenter labels both kinds of node;
// GKE labels and taints only spot nodes.
var spotLabels = []struct {
	Key, Spot, OnDemand string
	Taint               bool
}{
	{Key: "karpenter.sh/capacity-type", Spot: "spot", OnDemand: "on-demand"},
	{Key: "cloud.google.com/gke-spot", Spot: "true", Taint: true},
	{Key: "kubernetes.azure.com/scalesetpriority", Spot: "spot", Taint: true},
}

// Pool is a node shape that batch templates select: the labels of their
// nodeSelector (or required node affinity) other than the spot label, and
// the GPUs a pod requests.
type Pool struct {
	Labels  map[string]string
	GPUs    int
	SpotKey string
}

// Name is a short name for the pool's nodes.
func (p Pool) Name() string {
	for _, k := range []string{"node.kubernetes.io/instance-type", "cloud.google.com/gke-accelerator", "nvidia.com/gpu.product"} {
		if v := p.Labels[k]; v != "" {
			return strings.ToLower(strings.NewReplacer(".", "-", "_", "-").Replace(v))
		}
	}
	return "gpu"
}

// Node returns node i of the pool, spot or on-demand, with the provider's
// labels and taints.
func (p Pool) Node(spot bool, i int) Node {
	n := Node{Labels: maps.Clone(p.Labels), GPUs: p.GPUs}
	kind := "ondemand"
	if spot {
		kind = "spot"
	}
	n.Name = fmt.Sprintf("%s-%s-%d", p.Name(), kind, i)
	for _, l := range spotLabels {
		if l.Key != p.SpotKey {
			continue
		}
		switch {
		case spot:
			n.Labels[l.Key] = l.Spot
			if l.Taint {
				n.Taints = append(n.Taints, corev1.Taint{Key: l.Key, Value: l.Spot, Effect: corev1.TaintEffectNoSchedule})
			}
		case l.OnDemand != "":
			n.Labels[l.Key] = l.OnDemand
		}
	}
	return n
}

// Spot reports whether node carries the pool's spot label at its spot value.
func Spot(node *corev1.Node) bool {
	for _, l := range spotLabels {
		if node.Labels[l.Key] == l.Spot {
			return true
		}
	}
	return false
}

type manifest struct {
	Kind string            `json:"kind"`
	Spec wfv1.WorkflowSpec `json:"spec"`
}

// Templates returns the templates of the Workflows and WorkflowTemplates in
// a generated workflow.yaml.
func Templates(path string) ([]wfv1.Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []wfv1.Template
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		var m manifest
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if m.Kind == "Workflow" || m.Kind == "WorkflowTemplate" {
			out = append(out, m.Spec.Templates...)
		}
	}
	return out, nil
}

// Pools returns the node shapes that the batch templates in the generated
// workflow.yaml files select, each once.
func Pools(paths ...string) ([]Pool, error) {
	seen := map[string]bool{}
	var pools []Pool
	for _, path := range paths {
		ts, err := Templates(path)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			gpus := 0
			for _, c := range append([]wfv1.UserContainer{{Container: containerOf(t)}}, t.Sidecars...) {
				if q, ok := c.Resources.Limits["nvidia.com/gpu"]; ok {
					gpus += int(q.Value())
				}
			}
			if gpus == 0 {
				continue
			}
			p := Pool{Labels: map[string]string{}, GPUs: gpus}
			for k, v := range t.NodeSelector {
				p.Labels[k] = v
			}
			if a := t.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
				for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
					for _, e := range term.MatchExpressions {
						if e.Operator == corev1.NodeSelectorOpIn && len(e.Values) == 1 {
							p.Labels[e.Key] = e.Values[0]
						}
					}
				}
			}
			for _, l := range spotLabels {
				if _, ok := p.Labels[l.Key]; ok || strings.Contains(t.PodSpecPatch, l.Key) || affinityMentions(t, l.Key) {
					p.SpotKey = l.Key
					delete(p.Labels, l.Key)
				}
			}
			key := fmt.Sprint(gpus, p.SpotKey, slices.Sorted(maps.Keys(p.Labels)), p.Labels)
			if !seen[key] {
				seen[key] = true
				pools = append(pools, p)
			}
		}
	}
	return pools, nil
}

func containerOf(t wfv1.Template) corev1.Container {
	if t.Container != nil {
		return *t.Container
	}
	return corev1.Container{}
}

func affinityMentions(t wfv1.Template, key string) bool {
	if t.Affinity == nil || t.Affinity.NodeAffinity == nil {
		return false
	}
	na := t.Affinity.NodeAffinity
	for _, p := range na.PreferredDuringSchedulingIgnoredDuringExecution {
		for _, e := range p.Preference.MatchExpressions {
			if e.Key == key {
				return true
			}
		}
	}
	if r := na.RequiredDuringSchedulingIgnoredDuringExecution; r != nil {
		for _, term := range r.NodeSelectorTerms {
			for _, e := range term.MatchExpressions {
				if e.Key == key {
					return true
				}
			}
		}
	}
	return false
}
