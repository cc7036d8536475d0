package kube

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// The catalog service's objects (llmsweep serve), applied by apply --serve.
const (
	CatalogName = "llmsweep-catalog"
	// CatalogPort is the port the server listens on inside its pod.
	CatalogPort = 8080
	// StoreSecret and CacheSecret hold the store's and Redis' URLs under the
	// key "url": the store's is the one the pipeline's pods read too.
	StoreSecret = "llmsweep-store"
	CacheSecret = "llmsweep-cache"
)

// Catalog returns the catalog service's Deployment, Service and
// PodDisruptionBudget in namespace, running image. The server runs as a
// non-root user with a read-only root filesystem and no capabilities; it reads
// the store's URL from the llmsweep-store Secret (required) and Redis' from
// llmsweep-cache (optional: without it, no cache); /readyz (the store answers)
// and /healthz are its probes. Like the executor's objects, these serve every
// campaign of the namespace: they carry no campaign label and are never pruned.
func Catalog(namespace, image string) []*unstructured.Unstructured {
	labels := func() map[string]any {
		return map[string]any{LabelManaged: managedBy, LabelPartOf: managedBy, "app.kubernetes.io/name": CatalogName}
	}
	selector := map[string]any{"app.kubernetes.io/name": CatalogName}
	meta := func() map[string]any {
		return map[string]any{"name": CatalogName, "namespace": namespace, "labels": labels()}
	}
	secretEnv := func(name, secret string, optional bool) map[string]any {
		return map[string]any{"name": name, "valueFrom": map[string]any{
			"secretKeyRef": map[string]any{"name": secret, "key": "url", "optional": optional}}}
	}
	probe := func(path string, period int64) map[string]any {
		return map[string]any{"httpGet": map[string]any{"path": path, "port": "http"},
			"periodSeconds": period, "timeoutSeconds": int64(3), "failureThreshold": int64(3)}
	}
	container := map[string]any{
		"name":           "serve",
		"image":          image,
		"args":           []any{"serve", "--addr", ":8080"},
		"env":            []any{secretEnv("LLMSWEEP_STORE", StoreSecret, false), secretEnv("LLMSWEEP_CACHE", CacheSecret, true)},
		"ports":          []any{map[string]any{"name": "http", "containerPort": int64(CatalogPort), "protocol": "TCP"}},
		"readinessProbe": probe("/readyz", 5),
		"livenessProbe":  probe("/healthz", 10),
		"resources": map[string]any{
			"requests": map[string]any{"cpu": "100m", "memory": "128Mi"},
			"limits":   map[string]any{"memory": "512Mi"},
		},
		"securityContext": map[string]any{
			"runAsNonRoot": true, "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
			"capabilities": map[string]any{"drop": []any{"ALL"}},
		},
	}
	return []*unstructured.Unstructured{
		{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(),
			"spec": map[string]any{
				"replicas": int64(2),
				"selector": map[string]any{"matchLabels": selector},
				"template": map[string]any{
					"metadata": map[string]any{"labels": labels()},
					"spec": map[string]any{
						"automountServiceAccountToken": false,
						"securityContext": map[string]any{
							"runAsNonRoot": true, "runAsUser": int64(65532), "runAsGroup": int64(65532),
							"seccompProfile": map[string]any{"type": "RuntimeDefault"},
						},
						"containers": []any{container},
					},
				},
			}}},
		{Object: map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": meta(),
			"spec": map[string]any{
				"selector": selector,
				"ports":    []any{map[string]any{"name": "http", "port": int64(80), "targetPort": "http", "protocol": "TCP"}},
			}}},
		{Object: map[string]any{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(),
			"spec": map[string]any{
				"minAvailable": int64(1),
				"selector":     map[string]any{"matchLabels": selector},
			}}},
	}
}
