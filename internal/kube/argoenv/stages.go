package argoenv

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
	"time"
)

// Behaviour is how kwok plays the pods: a pod bound to a node starts at
// once, and later succeeds or fails. Batch pods are told apart by the
// llmsweep.dev/batch label the compiler puts on them.
type Behaviour struct {
	// StepRun is how long a pod that is not a batch runs (validate-model,
	// matrix, aggregate, report, on-exit...).
	StepRun time.Duration
	// BatchRun is how long a batch pod runs before it succeeds or fails.
	BatchRun time.Duration
	// Fail lists batches (llmsweep.dev/batch values) whose every pod fails
	// with exit code 1 after BatchRun.
	Fail []string
}

// stagesTemplate is kwok's Stage configuration. node-initialize, pod-ready
// and pod-delete follow kwok v0.8.0's kustomize/stage "fast" set; the complete
// and fail stages mark every container, Argo's wait container included,
// terminated, which is what the controller waits for before it reads a pod's
// outcome (FACTS: Argo/kwok probe).
const stagesTemplate = `
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-initialize
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values: ['True']
  next:
    statusTemplate: |
      {{"{{"}} $now := Now {{"}}"}}
      conditions:
      {{"{{"}} range NodeConditions {{"}}"}}
      - lastHeartbeatTime: {{"{{"}} $now | Quote {{"}}"}}
        lastTransitionTime: {{"{{"}} $now | Quote {{"}}"}}
        message: {{"{{"}} .message | Quote {{"}}"}}
        reason: {{"{{"}} .reason | Quote {{"}}"}}
        status: {{"{{"}} .status | Quote {{"}}"}}
        type: {{"{{"}} .type | Quote {{"}}"}}
      {{"{{"}} end {{"}}"}}
      addresses:
      - address: {{"{{"}} NodeIP | Quote {{"}}"}}
        type: InternalIP
      - address: {{"{{"}} NodeName | Quote {{"}}"}}
        type: Hostname
      allocatable:
      {{"{{"}} YAML .status.allocatable 1 {{"}}"}}
      capacity:
      {{"{{"}} YAML .status.capacity 1 {{"}}"}}
      nodeInfo:
        architecture: amd64
        operatingSystem: linux
        kubeletVersion: kwok
      phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.spec.nodeName'
      operator: 'Exists'
    - key: '.status.phase'
      operator: 'In'
      values: ['Pending']
  next:
    statusTemplate: |
      {{"{{"}} $now := Now {{"}}"}}
      conditions:
      - lastTransitionTime: {{"{{"}} $now | Quote {{"}}"}}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{"{{"}} $now | Quote {{"}}"}}
        status: "True"
        type: Ready
      - lastTransitionTime: {{"{{"}} $now | Quote {{"}}"}}
        status: "True"
        type: ContainersReady
      containerStatuses:
      {{"{{"}} range .spec.containers {{"}}"}}
      - image: {{"{{"}} .image | Quote {{"}}"}}
        name: {{"{{"}} .name | Quote {{"}}"}}
        ready: true
        restartCount: 0
        started: true
        state:
          running:
            startedAt: {{"{{"}} $now | Quote {{"}}"}}
      {{"{{"}} end {{"}}"}}
      initContainerStatuses:
      {{"{{"}} range .spec.initContainers {{"}}"}}
      - image: {{"{{"}} .image | Quote {{"}}"}}
        name: {{"{{"}} .name | Quote {{"}}"}}
        ready: true
        restartCount: 0
        state:
          terminated:
            exitCode: 0
            finishedAt: {{"{{"}} $now | Quote {{"}}"}}
            reason: Completed
            startedAt: {{"{{"}} $now | Quote {{"}}"}}
      {{"{{"}} end {{"}}"}}
      hostIP: {{"{{"}} NodeIPWith .spec.nodeName | Quote {{"}}"}}
      podIP: {{"{{"}} PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote {{"}}"}}
      phase: Running
      startTime: {{"{{"}} $now | Quote {{"}}"}}
---
{{- range .Ends}}
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: {{.Name}}
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
{{- if ne .Op "DoesNotExist"}}
    - key: '.metadata.labels["llmsweep.dev/batch"]'
      operator: 'Exists'
{{- end}}
    - key: '.metadata.labels["llmsweep.dev/batch"]'
      operator: '{{.Op}}'
{{- if .Values}}
      values: [{{.Values}}]
{{- end}}
  delay:
    durationMilliseconds: {{.Delay}}
  next:
    statusTemplate: |
      {{"{{"}} $now := Now {{"}}"}}
      conditions:
      - lastTransitionTime: {{"{{"}} $now | Quote {{"}}"}}
        status: "False"
        type: Ready
      - lastTransitionTime: {{"{{"}} $now | Quote {{"}}"}}
        status: "False"
        type: ContainersReady
      containerStatuses:
      {{"{{"}} range .spec.containers {{"}}"}}
      - image: {{"{{"}} .image | Quote {{"}}"}}
        name: {{"{{"}} .name | Quote {{"}}"}}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: {{if eq .Phase "Failed"}}{{"{{"}} if eq .name "main" {{"}}"}}1{{"{{"}} else {{"}}"}}0{{"{{"}} end {{"}}"}}{{else}}0{{end}}
            finishedAt: {{"{{"}} $now | Quote {{"}}"}}
            reason: {{if eq .Phase "Failed"}}{{"{{"}} if eq .name "main" {{"}}"}}Error{{"{{"}} else {{"}}"}}Completed{{"{{"}} end {{"}}"}}{{else}}Completed{{end}}
            startedAt: {{"{{"}} $now | Quote {{"}}"}}
      {{"{{"}} end {{"}}"}}
      phase: {{.Phase}}
---
{{- end}}
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-delete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
  next:
    delete: true
`

type end struct {
	Name, Op, Values, Phase string
	Delay                   int64
}

// stages renders kwok's Stage objects for b. A batch end stage also
// requires the label, since NotIn matches pods without it.
func (b Behaviour) stages() ([]byte, error) {
	quoted := func(vs []string) string {
		q := make([]string, len(vs))
		for i, v := range vs {
			q[i] = fmt.Sprintf("%q", v)
		}
		return strings.Join(q, ", ")
	}
	ends := []end{
		{Name: "step-complete", Op: "DoesNotExist", Phase: "Succeeded", Delay: b.StepRun.Milliseconds()},
	}
	if len(b.Fail) == 0 {
		ends = append(ends, end{Name: "batch-complete", Op: "Exists", Phase: "Succeeded", Delay: b.BatchRun.Milliseconds()})
	} else {
		ends = append(ends,
			end{Name: "batch-complete", Op: "NotIn", Values: quoted(b.Fail), Phase: "Succeeded", Delay: b.BatchRun.Milliseconds()},
			end{Name: "batch-fail", Op: "In", Values: quoted(b.Fail), Phase: "Failed", Delay: b.BatchRun.Milliseconds()})
	}
	t, err := template.New("stages").Parse(stagesTemplate)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := t.Execute(&out, struct{ Ends []end }{ends}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
