package argoenv

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// These need no binaries: they check what the harness derives from the
// compiled output and hands to kwok.

func TestPoolsFromQuickstart(t *testing.T) {
	pools, err := Pools(filepath.Join("..", "..", "..", "generated", "quickstart", "workflow.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Pool{{
		Labels:  map[string]string{"node.kubernetes.io/instance-type": "g6.xlarge", "nvidia.com/gpu.count": "1", "nvidia.com/gpu.product": "NVIDIA-L4"},
		GPUs:    1,
		SpotKey: "karpenter.sh/capacity-type",
	}}
	if d := cmp.Diff(want, pools); d != "" {
		t.Fatalf("pools (-want +got):\n%s", d)
	}
	spot, od := pools[0].Node(true, 0), pools[0].Node(false, 1)
	if spot.Name != "g6-xlarge-spot-0" || spot.Labels["karpenter.sh/capacity-type"] != "spot" || len(spot.Taints) != 0 {
		t.Errorf("spot node: %+v", spot)
	}
	if od.Name != "g6-xlarge-ondemand-1" || od.Labels["karpenter.sh/capacity-type"] != "on-demand" {
		t.Errorf("on-demand node: %+v", od)
	}
}

func TestGKESpotNodesAreTainted(t *testing.T) {
	p := Pool{Labels: map[string]string{"cloud.google.com/gke-accelerator": "nvidia-h100-80gb"}, GPUs: 1, SpotKey: "cloud.google.com/gke-spot"}
	spot, od := p.Node(true, 0), p.Node(false, 0)
	want := []corev1.Taint{{Key: "cloud.google.com/gke-spot", Value: "true", Effect: corev1.TaintEffectNoSchedule}}
	if d := cmp.Diff(want, spot.Taints); d != "" || spot.Labels["cloud.google.com/gke-spot"] != "true" {
		t.Errorf("GKE spot node %+v (-want +got taints):\n%s", spot, d)
	}
	if _, ok := od.Labels["cloud.google.com/gke-spot"]; ok || len(od.Taints) != 0 {
		t.Errorf("GKE on-demand node carries the spot label or a taint: %+v", od)
	}
	if Spot(&corev1.Node{}) {
		t.Error("a node without labels counts as spot")
	}
}

func TestStagesRender(t *testing.T) {
	b := Behaviour{StepRun: 200 * time.Millisecond, BatchRun: 3 * time.Second, Fail: []string{"b1-0"}}
	out, err := b.stages()
	if err != nil {
		t.Fatal(err)
	}
	type stage struct {
		Kind     string
		Metadata struct{ Name string }
		Spec     struct {
			Selector struct {
				MatchExpressions []struct {
					Key, Operator string
					Values        []string
				}
			}
			Delay struct{ DurationMilliseconds int64 }
			Next  struct {
				StatusTemplate string
				Delete         bool
			}
		}
	}
	var got []string
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	for {
		var s stage
		if err := dec.Decode(&s); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%v in:\n%s", err, out)
		}
		if s.Kind != "Stage" {
			t.Errorf("a %q document", s.Kind)
		}
		got = append(got, s.Metadata.Name)
		if s.Metadata.Name == "batch-fail" {
			last := s.Spec.Selector.MatchExpressions[len(s.Spec.Selector.MatchExpressions)-1]
			if last.Operator != "In" || !cmp.Equal(last.Values, []string{"b1-0"}) || s.Spec.Delay.DurationMilliseconds != 3000 {
				t.Errorf("batch-fail selects %+v after %d ms", last, s.Spec.Delay.DurationMilliseconds)
			}
		}
	}
	want := []string{"node-initialize", "pod-ready", "step-complete", "batch-complete", "batch-fail", "pod-delete"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("stages (-want +got):\n%s", d)
	}
}

func TestMaxRunning(t *testing.T) {
	t0 := time.Now()
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	pods := []Pod{
		{Name: "a", Batch: "x", Running: at(0), Ended: at(10)},
		{Name: "b", Batch: "x", Running: at(5), Ended: at(15)},
		{Name: "c", Batch: "x", Running: at(10), Ended: at(20)}, // starts as a ends: 2, not 3
		{Name: "d", Batch: "y", Running: at(0), Ended: at(1)},
		{Name: "e", Batch: "x"}, // never ran
	}
	got := MaxRunning(pods, func(p Pod) string { return p.Batch })
	if d := cmp.Diff(map[string]int{"x": 2, "y": 1}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
