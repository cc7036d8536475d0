// Package argo builds the Argo Workflows manifests of a compiled campaign as typed
// wfv1 objects: one Workflow per (campaign, model), or a WorkflowTemplate plus a
// CronWorkflow when the campaign has a schedule, the ConfigMap that carries the
// campaign to the pods, and the ConfigMap that sizes the per-GPU semaphores.
package argo

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/modelcache"
)

// Labels the compiler sets on everything it generates; apply finds a campaign's
// objects by them.
const (
	LabelCampaign = "llmsweep.dev/campaign"
	LabelModel    = "llmsweep.dev/model"
	LabelPartOf   = "app.kubernetes.io/part-of"
	LabelManaged  = "app.kubernetes.io/managed-by"
)

// Mount paths inside the pods.
const (
	campaignMount = "/etc/llmsweep"
	// modelsMount holds the model cache (internal/modelcache's layout).
	modelsMount = "/models"
)

// Input is what the manifests are built from.
type Input struct {
	Campaign campaign.Campaign
	Set      *campaign.Set
	Result   *matrix.Result
	// Bundle is the campaign and the catalog entries it uses, as JSON: the
	// ConfigMap's payload, from which pods re-derive their batch.
	Bundle []byte
	// Image is the llmsweep image every step runs.
	Image string
	// BatchSeconds is plan's predicted wall time of each batch, by batch ID
	// (internal/sim): the batch templates' timeouts derive from it.
	BatchSeconds map[string]float64
}

// Timeout margin of a batch attempt over its predicted wall time: twice the
// prediction (plan's interval spans about 0.5 to 2 times the measurement)
// plus ten minutes for scheduling, the image pull and a cold model cache.
const (
	TimeoutFactor = 2
	TimeoutSlack  = 10 * time.Minute
)

// BatchTimeout is the template timeout of a batch predicted to take seconds,
// rounded up to whole minutes.
func BatchTimeout(seconds float64) string {
	d := time.Duration(seconds*TimeoutFactor*float64(time.Second)) + TimeoutSlack
	return fmt.Sprintf("%dm", int64(math.Ceil(d.Minutes())))
}

// Manifests are the generated objects.
type Manifests struct {
	ConfigMap *corev1.ConfigMap
	// Quota sizes the semaphore of each GPU type.
	Quota *corev1.ConfigMap
	// Workflows for an unscheduled campaign; Templates and Crons for a scheduled one.
	Workflows []*wfv1.Workflow
	Templates []*wfv1.WorkflowTemplate
	Crons     []*wfv1.CronWorkflow

	// shapeVarying holds, for the i-th Workflow (or WorkflowTemplate), the
	// strings that differ between models (the model and its matrix hash),
	// which Validate leaves out of an object's shape.
	shapeVarying [][]string
}

// spotPreset is the node label that marks spot capacity per provider.
var spotPreset = map[string]campaign.SpotLabel{
	"karpenter": {Key: "karpenter.sh/capacity-type", Spot: "spot", OnDemand: "on-demand"},
	"gke":       {Key: "cloud.google.com/gke-spot", Spot: "true", Taint: true},
	"aks":       {Key: "kubernetes.azure.com/scalesetpriority", Spot: "spot", Taint: true},
}

// Metric names the pipeline exports through Argo's template metrics.
const (
	MetricCompletion    = "benchmark_completion_rate"
	MetricDuration      = "average_benchmark_duration"
	MetricInterruptions = "spot_instance_interruptions"
	MetricFailures      = "benchmark_batch_failures"
)

// dnsName makes a Kubernetes object name of at most max characters: lower case,
// dots and other characters replaced, with a hash suffix when truncated.
func dnsName(s string, max int, suffix string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if suffix != "" {
		max -= len(suffix) + 1
	}
	if len(out) > max {
		out = strings.TrimRight(out[:max], "-")
	}
	if suffix != "" {
		out += "-" + suffix
	}
	return out
}

// Build makes the manifests. Its output depends only on its input.
func Build(in Input) (*Manifests, error) {
	c := in.Campaign
	res := in.Result
	for _, b := range res.Batches {
		if in.BatchSeconds[b.ID] <= 0 {
			return nil, fmt.Errorf("campaign %s: batch %s has no predicted duration to derive its timeout from", c.Name, b.ID)
		}
	}
	if c.ModelCache.PVC == "" && c.ModelCache.HostPath == "" {
		return nil, fmt.Errorf("campaign %s: model_cache names neither a pvc nor a host_path", c.Name)
	}
	labels := map[string]string{LabelCampaign: c.Name, LabelPartOf: "llmsweep", LabelManaged: "llmsweep"}
	cmName := dnsName(c.Name, 53, "") + "-campaign"
	summary, err := json.MarshalIndent(res.Summary, "", "  ")
	if err != nil {
		return nil, err
	}
	m := &Manifests{
		ConfigMap: &corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Name: cmName, Namespace: c.Namespace, Labels: labels},
			Data: map[string]string{
				"bundle.json":  string(in.Bundle),
				"summary.json": string(summary),
				"matrix-hash":  res.Summary.MatrixHash,
			},
		},
	}
	quota := map[string]string{}
	for _, b := range res.Batches {
		quota[gpuKey(b.GPU)] = strconv.Itoa(c.Parallelism)
	}
	m.Quota = &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: dnsName(c.Name, 52, "") + "-gpu-quota", Namespace: c.Namespace, Labels: labels},
		Data:       quota,
	}
	byModel := map[string][]matrix.Batch{}
	for _, b := range res.Batches {
		byModel[b.Model] = append(byModel[b.Model], b)
	}
	for _, model := range res.Models {
		// 52: the longest CronWorkflow name Argo accepts.
		name := dnsName(c.Name+"-"+model, 52, res.ModelHashes[model][:8])
		ml := map[string]string{LabelModel: dnsName(model, 63, "")}
		for k, v := range labels {
			ml[k] = v
		}
		spec := workflowSpec(in, model, byModel[model], cmName, m.Quota.Name, ml)
		m.shapeVarying = append(m.shapeVarying, []string{model, res.ModelHashes[model]})
		meta := metav1.ObjectMeta{Name: name, Namespace: c.Namespace, Labels: ml,
			Annotations: map[string]string{"llmsweep.dev/matrix-hash": res.ModelHashes[model]}}
		if c.Schedule == nil {
			m.Workflows = append(m.Workflows, &wfv1.Workflow{
				TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow"},
				ObjectMeta: meta, Spec: spec,
			})
			continue
		}
		m.Templates = append(m.Templates, &wfv1.WorkflowTemplate{
			TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "WorkflowTemplate"},
			ObjectMeta: meta, Spec: spec,
		})
		m.Crons = append(m.Crons, &wfv1.CronWorkflow{
			TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "CronWorkflow"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.Namespace, Labels: ml},
			Spec: wfv1.CronWorkflowSpec{
				Schedules:         []string{c.Schedule.Cron},
				Timezone:          c.Schedule.Timezone,
				ConcurrencyPolicy: wfv1.ForbidConcurrent,
				WorkflowSpec:      wfv1.WorkflowSpec{WorkflowTemplateRef: &wfv1.WorkflowTemplateRef{Name: name}},
				WorkflowMetadata:  &metav1.ObjectMeta{Labels: ml},
			},
		})
	}
	return m, nil
}

// gpuKey is a GPU model as a ConfigMap key.
func gpuKey(gpu string) string { return dnsName(gpu, 63, "") }

// serviceAccount runs every pod; apply creates it with least-privilege RBAC.
const serviceAccount = "llmsweep-executor"

func workflowSpec(in Input, model string, batches []matrix.Batch, cmName, quotaName string, labels map[string]string) wfv1.WorkflowSpec {
	c := in.Campaign
	par := int64(c.Parallelism)
	spec := wfv1.WorkflowSpec{
		Entrypoint:         "pipeline",
		ServiceAccountName: serviceAccount,
		Parallelism:        &par,
		OnExit:             "on-exit",
		PodMetadata:        &wfv1.Metadata{Labels: labels},
		SecurityContext:    podSecurity(),
		Volumes: []corev1.Volume{{
			Name:         "campaign",
			VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cmName}}},
		}, modelsVolume(c.ModelCache)},
	}
	if c.PriorityClass != "" {
		spec.PodPriorityClassName = c.PriorityClass
	}
	step := func(name string, args ...string) wfv1.Template {
		t := wfv1.Template{Name: name, Container: container(in.Image, args)}
		if len(args) > 0 && args[0] == "notify" {
			t.Container.Env = append(t.Container.Env, notifyEnv(c)...)
		}
		return t
	}
	bundle := campaignMount + "/bundle.json"
	dag := &wfv1.DAGTemplate{}
	add := func(name, tmpl string, deps ...string) {
		dag.Tasks = append(dag.Tasks, wfv1.DAGTask{Name: name, Template: tmpl, Dependencies: deps})
	}
	// fetch-model fills a shared cache (a PVC) once per model; with a
	// node-local cache it checks the Hub only, and each node's first batch
	// pod fetches in its init container.
	fetch := step("fetch-model", fetchArgs(c, model, c.ModelCache.PVC == "")...)
	fetch.Container.VolumeMounts = append(fetch.Container.VolumeMounts, corev1.VolumeMount{Name: "models", MountPath: modelsMount})
	fetch.Container.Env = append(fetch.Container.Env, secretEnv("HF_TOKEN", "llmsweep-hf-token", "token"))
	spec.Templates = append(spec.Templates,
		step("validate-model", "validate-model", model, "--bundle", bundle),
		fetch,
		step("matrix", "compile", "--verify", "--bundle", bundle, "--model", model, "--matrix-hash", in.Result.ModelHashes[model]),
	)
	add("validate-model", "validate-model")
	add("fetch-model", "fetch-model", "validate-model")
	add("matrix", "matrix", "fetch-model")
	// One pod template per hardware shape and server image; each batch task passes
	// its batch and its server's command line as parameters, which keeps the
	// Workflow small (etcd holds objects up to about 1 MB).
	var batchTasks []string
	made := map[string]bool{}
	for _, b := range batches {
		srv := in.Result.Servers[b.Group]
		digest := matrix.Digest(b.Hardware, srv.Image)[:8]
		tname := dnsName("batch-"+b.Hardware+"-"+srv.Image, 63, digest)
		if !made[tname] {
			made[tname] = true
			pod := dnsName("serve-"+b.Hardware+"-"+srv.Image, 63, digest)
			spec.Templates = append(spec.Templates, slotTemplate(b, tname, pod, quotaName), batchTemplate(in, b, pod))
		}
		task := wfv1.DAGTask{
			Name: "batch-" + b.ID, Template: tname, Dependencies: []string{"matrix"},
			ContinueOn: &wfv1.ContinueOn{Failed: true},
			Arguments: wfv1.Arguments{Parameters: []wfv1.Parameter{
				{Name: "batch", Value: wfv1.AnyStringPtr(b.ID)},
				{Name: "server", Value: wfv1.AnyStringPtr(shellQuote(srv.Args))},
				{Name: "timeout", Value: wfv1.AnyStringPtr(BatchTimeout(in.BatchSeconds[b.ID]))},
			}},
		}
		dag.Tasks = append(dag.Tasks, task)
		batchTasks = append(batchTasks, task.Name)
	}
	tail := []struct {
		name string
		args []string
		when bool
	}{
		{"aggregate", []string{"aggregate", "--bundle", bundle, "--run", "{{workflow.uid}}"}, true},
		{"refresh-views", []string{"refresh-views", "--bundle", bundle}, true},
		{"invalidate-cache", []string{"invalidate-cache", "--bundle", bundle}, c.Cache != nil},
		{"report", []string{"report", "--bundle", bundle, "--run", "{{workflow.uid}}"}, true},
		{"notify", notifyArgs(c, model, "--status", "success"), len(c.Notifications) > 0},
		{"archive", []string{"archive", "--bundle", bundle, "--run", "{{workflow.uid}}"}, c.Archive != nil},
	}
	prev := batchTasks
	for _, s := range tail {
		if !s.when {
			continue
		}
		spec.Templates = append(spec.Templates, step(s.name, s.args...))
		add(s.name, s.name, prev...)
		prev = []string{s.name}
	}
	spec.Templates = append(spec.Templates,
		wfv1.Template{Name: "pipeline", DAG: dag},
		step("on-exit", notifyArgs(c, model, "--status", "{{workflow.status}}", "--failures", "{{workflow.failures}}", "--on-exit")...),
	)
	sort.SliceStable(spec.Templates, func(i, j int) bool {
		return spec.Templates[i].Name == "pipeline" && spec.Templates[j].Name != "pipeline"
	})
	return spec
}

func container(image string, args []string) *corev1.Container {
	return &corev1.Container{
		Image:   image,
		Command: []string{"llmsweep"},
		Args:    args,
		Env: []corev1.EnvVar{
			secretEnv("LLMSWEEP_STORE", "llmsweep-store", "url"),
		},
		VolumeMounts:    []corev1.VolumeMount{{Name: "campaign", MountPath: campaignMount, ReadOnly: true}},
		SecurityContext: containerSecurity(),
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi"),
		}},
	}
}

// notifyArgs is the notify step's command line. With a PagerDuty
// notification it names the Workflow's model, which scopes the alert's dedup
// key, so that one model's failure is not resolved by another's success.
func notifyArgs(c campaign.Campaign, model string, more ...string) []string {
	args := []string{"notify", "--bundle", campaignMount + "/bundle.json", "--run", "{{workflow.uid}}"}
	for _, n := range c.Notifications {
		if n.Kind == "pagerduty" {
			args = append(args, "--model", model)
			break
		}
	}
	return append(args, more...)
}

// notifyEnv passes the notification secrets the campaign names (webhook_env,
// url_env, smtp_env) to the notify steps, from the llmsweep-notifications
// Secret, keyed by the variable's name.
func notifyEnv(c campaign.Campaign) []corev1.EnvVar {
	seen := map[string]bool{}
	var env []corev1.EnvVar
	for _, n := range c.Notifications {
		name := n.WebhookEnv + n.URLEnv + n.SMTPEnv + n.RoutingKeyEnv // one is set, by kind
		switch {
		case name != "":
		case n.Kind == "email":
			name = "LLMSWEEP_SMTP_URL"
		case n.Kind == "pagerduty":
			name = "LLMSWEEP_PAGERDUTY_ROUTING_KEY"
		}
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		env = append(env, secretEnv(name, "llmsweep-notifications", name))
	}
	return env
}

// secretEnv reads a secret by reference: no secret value is ever in a manifest.
func secretEnv(name, secret, key string) corev1.EnvVar {
	optional := true
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key, Optional: &optional,
	}}}
}

func podSecurity() *corev1.PodSecurityContext {
	yes := true
	uid := int64(65532)
	return &corev1.PodSecurityContext{RunAsNonRoot: &yes, RunAsUser: &uid, RunAsGroup: &uid, FSGroup: &uid,
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
}

func containerSecurity() *corev1.SecurityContext {
	no := false
	return &corev1.SecurityContext{AllowPrivilegeEscalation: &no,
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
}

// shellQuote joins args into one sh command line, each argument single-quoted.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// batchParams are the parameters a batch task passes down: its batch ID, its
// server's command line and its timeout.
func batchParams() []wfv1.Parameter {
	return []wfv1.Parameter{{Name: "batch"}, {Name: "server"}, {Name: "timeout"}}
}

// slotTemplate holds a GPU type's semaphore around the batch pod's template.
// The semaphore is taken here rather than on the pod's template because Argo
// counts a template's timeout from the node's creation, and a node waiting for
// a lock already exists: a batch queued behind others would time out before
// it ever ran.
func slotTemplate(b matrix.Batch, name, pod, quotaName string) wfv1.Template {
	var args []wfv1.Parameter
	for _, p := range batchParams() {
		args = append(args, wfv1.Parameter{Name: p.Name, Value: wfv1.AnyStringPtr("{{inputs.parameters." + p.Name + "}}")})
	}
	return wfv1.Template{
		Name:   name,
		Inputs: wfv1.Inputs{Parameters: batchParams()},
		Steps: []wfv1.ParallelSteps{{Steps: []wfv1.WorkflowStep{{
			Name: "serve", Template: pod, Arguments: wfv1.Arguments{Parameters: args},
		}}}},
		Synchronization: &wfv1.Synchronization{Semaphores: []*wfv1.SemaphoreRef{{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: quotaName}, Key: gpuKey(b.GPU),
		}}}},
	}
}

// modelsVolume is the model cache: the campaign's ReadWriteMany claim, or a
// folder on the node.
func modelsVolume(mc campaign.ModelCache) corev1.Volume {
	if mc.PVC != "" {
		return corev1.Volume{Name: "models", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: mc.PVC}}}
	}
	t := corev1.HostPathDirectoryOrCreate
	return corev1.Volume{Name: "models", VolumeSource: corev1.VolumeSource{
		HostPath: &corev1.HostPathVolumeSource{Path: mc.HostPath, Type: &t}}}
}

// fetchArgs is the command line of fetch-model; hubOnly checks the pinned
// revisions on the Hub and fetches the accuracy tasks' data without
// downloading weights.
func fetchArgs(c campaign.Campaign, model string, hubOnly bool) []string {
	args := []string{"fetch-model", "--bundle", campaignMount + "/bundle.json", "--model", model, "--cache-dir", modelsMount}
	if hubOnly {
		args = append(args, "--hub-only")
	}
	return args
}

// batchTemplate is the pod of a batch on one hardware shape with one server image:
// llmsweep exec as the main container and the framework server as a sidecar
// holding the GPUs, started with the command line the task passes. Both read
// the model cache read-only.
func batchTemplate(in Input, b matrix.Batch, name string) wfv1.Template {
	c := in.Campaign
	h := in.Set.Hardware[b.Hardware]
	srv := in.Result.Servers[b.Group]
	gpus := resource.MustParse(strconv.Itoa(b.GPUs))
	gpuResource := corev1.ResourceName("nvidia.com/gpu")
	if h.GPU.Vendor == "amd" {
		gpuResource = "amd.com/gpu"
	}
	var env []corev1.EnvVar
	for _, k := range sortedKeys(srv.Env) {
		env = append(env, corev1.EnvVar{Name: k, Value: srv.Env[k]})
	}
	// The server finds the checkpoint in the Hugging Face cache that
	// fetch-model filled, and never downloads (the mount is read-only).
	env = append(env, corev1.EnvVar{Name: "HF_HOME", Value: modelsMount + "/" + modelcache.HFHome},
		corev1.EnvVar{Name: "HF_HUB_OFFLINE", Value: "1"},
		secretEnv("HF_TOKEN", "llmsweep-hf-token", "token"))
	readOnly := corev1.VolumeMount{Name: "models", MountPath: modelsMount, ReadOnly: true}
	port := intstr.FromInt32(int32(srv.Port))
	server := wfv1.UserContainer{Container: corev1.Container{
		Name:    "server",
		Image:   srv.Image,
		Command: []string{"/bin/sh", "-c"},
		Args:    []string{"exec {{inputs.parameters.server}}"},
		Env:     env,
		Ports:   []corev1.ContainerPort{{Name: "http", ContainerPort: int32(srv.Port)}},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: srv.ReadinessPath, Port: port}},
			PeriodSeconds:    5,
			FailureThreshold: 720, // model loads take minutes
		},
		Resources: corev1.ResourceRequirements{
			Limits:   corev1.ResourceList{gpuResource: gpus},
			Requests: corev1.ResourceList{gpuResource: gpus},
		},
		VolumeMounts:    []corev1.VolumeMount{readOnly, {Name: "shm", MountPath: "/dev/shm"}},
		SecurityContext: containerSecurity(),
	}}
	main := container(in.Image, []string{"exec", "--bundle", campaignMount + "/bundle.json",
		"--model", b.Model, "--matrix-hash", in.Result.ModelHashes[b.Model], "--batch", "{{inputs.parameters.batch}}",
		"--server", fmt.Sprintf("http://127.0.0.1:%d", srv.Port), "--run", "{{workflow.uid}}",
		"--hub-cache", modelsMount + "/" + modelcache.HubCache})
	main.VolumeMounts = append(main.VolumeMounts, readOnly)
	t := wfv1.Template{
		Name:         name,
		Inputs:       wfv1.Inputs{Parameters: batchParams()},
		Metadata:     wfv1.Metadata{Labels: map[string]string{"llmsweep.dev/batch": "{{inputs.parameters.batch}}", "llmsweep.dev/hardware": b.Hardware}},
		Container:    main,
		Sidecars:     []wfv1.UserContainer{server},
		NodeSelector: map[string]string{},
		Volumes: []corev1.Volume{
			{Name: "shm", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
		},
		PriorityClassName: c.PriorityClass,
		// Each attempt, Pending time included, ends at the batch's timeout;
		// the retry that follows it is the spot fallback's next step.
		Timeout: "{{inputs.parameters.timeout}}",
		RetryStrategy: &wfv1.RetryStrategy{
			Limit:       ptrIntstr(intstr.FromInt32(int32(c.Retry.Limit))),
			RetryPolicy: wfv1.RetryPolicyAlways,
			Backoff: &wfv1.Backoff{
				Duration: c.Retry.Backoff.Duration,
				Factor:   ptrIntstr(intstr.FromInt32(int32(c.Retry.Backoff.Factor))),
				Cap:      c.Retry.Backoff.Max,
			},
		},
		Metrics: batchMetrics(c.Name, b),
	}
	if c.ModelCache.PVC == "" {
		// A node-local cache is filled by the first batch pod on each node;
		// the others find the checkpoint there and fetch nothing.
		fetch := container(in.Image, fetchArgs(c, b.Model, false))
		fetch.Name = "fetch-model"
		fetch.Env = append(fetch.Env, secretEnv("HF_TOKEN", "llmsweep-hf-token", "token"))
		fetch.VolumeMounts = append(fetch.VolumeMounts, corev1.VolumeMount{Name: "models", MountPath: modelsMount})
		t.InitContainers = []wfv1.UserContainer{{Container: *fetch}}
	}
	for _, k := range sortedKeys(h.NodeLabels) {
		t.NodeSelector[k] = h.NodeLabels[k]
	}
	// terminationGracePeriodSeconds is the spot warning window: exec checkpoints
	// and exits within it.
	patch := `{"terminationGracePeriodSeconds":120}`
	if c.Spot.Enabled {
		l := spotPreset[c.Spot.Provider]
		if c.Spot.Label != nil {
			l = *c.Spot.Label
		}
		t.Affinity, t.Tolerations = spotPlacement(l)
		if c.Spot.FallbackToOnDemand && c.Retry.Limit > 0 {
			patch = fmt.Sprintf(`{{=sprig.int(retries) >= %d ? '%s' : '%s'}}`, c.Retry.Limit, onDemandPatch(l), patch)
		}
	}
	t.PodSpecPatch = patch
	return t
}

// spotPlacement prefers spot nodes and still allows on-demand ones, so that a
// spot shortage never leaves a batch Pending: kube-scheduler (or Karpenter,
// which launches spot when a pod allows both) places it on on-demand capacity
// when no spot fits. Spot nodes' taint is tolerated.
func spotPlacement(l campaign.SpotLabel) (*corev1.Affinity, []corev1.Toleration) {
	na := &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{
		Weight: 100,
		Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
			{Key: l.Key, Operator: corev1.NodeSelectorOpIn, Values: []string{l.Spot}},
		}},
	}}}
	if l.OnDemand != "" {
		// With both values named, a node without the label (neither kind) is
		// not a GPU node this campaign targets.
		na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: l.Key, Operator: corev1.NodeSelectorOpIn, Values: []string{l.Spot, l.OnDemand}}},
		}}}
	}
	var tol []corev1.Toleration
	if l.Taint {
		tol = []corev1.Toleration{{Key: l.Key, Operator: corev1.TolerationOpEqual, Value: l.Spot, Effect: corev1.TaintEffectNoSchedule}}
	}
	return &corev1.Affinity{NodeAffinity: na}, tol
}

// onDemandPatch is the podSpecPatch of the last attempt: it requires
// on-demand capacity, the label's on-demand value, or nodes without the spot
// label when on-demand nodes lack it. A strategic merge patch replaces the
// required terms and keeps the preference, which no spot node can then meet.
func onDemandPatch(l campaign.SpotLabel) string {
	req := corev1.NodeSelectorRequirement{Key: l.Key, Operator: corev1.NodeSelectorOpDoesNotExist}
	if l.OnDemand != "" {
		req = corev1.NodeSelectorRequirement{Key: l.Key, Operator: corev1.NodeSelectorOpIn, Values: []string{l.OnDemand}}
	}
	patch := map[string]any{
		"terminationGracePeriodSeconds": 120,
		"affinity": map[string]any{"nodeAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{req}}},
		}}},
	}
	b, _ := json.Marshal(patch) // maps and plain structs always marshal
	// Argo's templates end an expression at the first "}}": space the braces
	// apart, which JSON allows.
	out := string(b)
	for strings.Contains(out, "}}") || strings.Contains(out, "{{") {
		out = strings.ReplaceAll(strings.ReplaceAll(out, "}}", "} }"), "{{", "{ {")
	}
	return out
}

// batchMetrics are the batch template's Argo metrics; the controller exports
// them prefixed with argo_workflows_, and generated/<campaign>/monitoring/
// queries them by the campaign label.
func batchMetrics(campaign string, b matrix.Batch) *wfv1.Metrics {
	labels := []*wfv1.MetricLabel{{Key: "batch", Value: "{{inputs.parameters.batch}}"}, {Key: "campaign", Value: campaign},
		{Key: "hardware", Value: b.Hardware}, {Key: "model", Value: b.Model}}
	return &wfv1.Metrics{Prometheus: []*wfv1.Prometheus{
		{
			Name: MetricCompletion, Help: "1 when the batch's configs completed, 0 when it failed.",
			Labels: labels, Gauge: &wfv1.Gauge{Value: `{{=status == "Succeeded" ? 1 : 0}}`, Realtime: new(bool)},
		},
		{
			Name: MetricDuration, Help: "Wall time of benchmark batches, in seconds.",
			Labels: labels[1:], Histogram: &wfv1.Histogram{Value: "{{duration}}",
				Buckets: []wfv1.Amount{{Value: "60"}, {Value: "300"}, {Value: "900"}, {Value: "1800"}, {Value: "3600"}, {Value: "7200"}, {Value: "14400"}}},
		},
		{
			Name: MetricInterruptions, Help: "Batch attempts that ended on a retry, as spot preemptions do.",
			Labels: labels[1:], When: "{{retries}} > 0", Counter: &wfv1.Counter{Value: "1"},
		},
		{
			Name: MetricFailures, Help: "Batches that failed every retry.",
			Labels: labels[1:], When: "{{status}} != Succeeded", Counter: &wfv1.Counter{Value: "1"},
		},
	}}
}

func ptrIntstr(v intstr.IntOrString) *intstr.IntOrString { return &v }

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
