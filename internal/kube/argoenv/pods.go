package argoenv

import (
	"sort"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// Pod is what the recorder saw of one pod: when kwok had it running and
// when it ended, to the millisecond (Argo's node times have whole seconds).
type Pod struct {
	Name, Node, Batch, Hardware, Workflow string
	// NodeID is the Workflow node the pod runs. Argo re-creates a pod under
	// the same name when it is deleted while its node is still Pending, so
	// the recorder tells pods apart by UID.
	NodeID string
	UID    types.UID
	// Selector is the pod's nodeSelector, as Argo created it (after the
	// template's podSpecPatch).
	Selector map[string]string
	Created  time.Time
	Running  time.Time
	Ended    time.Time
	Phase    corev1.PodPhase
	Deleted  bool
}

// Recorder records the namespace's pods through an informer.
type Recorder struct {
	mu   sync.Mutex
	pods map[types.UID]*Pod
}

// RecordPods starts recording the pods of e.Namespace until the test ends.
func (e *Env) RecordPods(t *testing.T) *Recorder {
	r := &Recorder{pods: map[types.UID]*Pod{}}
	f := informers.NewSharedInformerFactoryWithOptions(e.Kube, 0, informers.WithNamespace(e.Namespace))
	inf := f.Core().V1().Pods().Informer()
	inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { r.see(o, false) },
		UpdateFunc: func(_, o any) { r.see(o, false) },
		DeleteFunc: func(o any) {
			if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = d.Obj
			}
			r.see(o, true)
		},
	})
	stop := make(chan struct{})
	f.Start(stop)
	t.Cleanup(func() { close(stop); f.Shutdown() })
	cache.WaitForCacheSync(stop, inf.HasSynced)
	return r
}

func (r *Recorder) see(o any, deleted bool) {
	pod, ok := o.(*corev1.Pod)
	if !ok {
		return
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.pods[pod.UID]
	if p == nil {
		p = &Pod{Name: pod.Name, Created: now, Batch: pod.Labels["llmsweep.dev/batch"], Hardware: pod.Labels["llmsweep.dev/hardware"],
			Workflow: pod.Labels["workflows.argoproj.io/workflow"], NodeID: pod.Annotations["workflows.argoproj.io/node-id"], UID: pod.UID,
			Selector: pod.Spec.NodeSelector}
		r.pods[pod.UID] = p
	}
	if pod.Spec.NodeName != "" {
		p.Node = pod.Spec.NodeName
	}
	p.Phase = pod.Status.Phase
	if p.Running.IsZero() && pod.Status.Phase == corev1.PodRunning {
		p.Running = now
	}
	if p.Ended.IsZero() && (pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed || deleted || pod.DeletionTimestamp != nil) {
		p.Ended = now
	}
	if deleted {
		p.Deleted = true
	}
}

// Pods returns the recorded pods in the order they were created.
func (r *Recorder) Pods() []Pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Pod, 0, len(r.pods))
	for _, p := range r.pods {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

// MaxRunning is the most pods that ran at once in each group that key
// names; pods that never ran are left out, and "" keys too.
func MaxRunning(pods []Pod, key func(Pod) string) map[string]int {
	type edge struct {
		at    time.Time
		delta int
	}
	edges := map[string][]edge{}
	for _, p := range pods {
		k := key(p)
		if k == "" || p.Running.IsZero() {
			continue
		}
		end := p.Ended
		if end.IsZero() {
			end = time.Now()
		}
		edges[k] = append(edges[k], edge{p.Running, 1}, edge{end, -1})
	}
	out := map[string]int{}
	for k, es := range edges {
		// An end at the same instant as a start counts first: the slot is free.
		sort.Slice(es, func(i, j int) bool {
			if es[i].at.Equal(es[j].at) {
				return es[i].delta < es[j].delta
			}
			return es[i].at.Before(es[j].at)
		})
		n := 0
		for _, e := range es {
			n += e.delta
			out[k] = max(out[k], n)
		}
	}
	return out
}
