package argo

import (
	"bytes"
	"fmt"

	"sigs.k8s.io/yaml"
)

// WorkflowYAML renders the workflow objects (Workflows, or WorkflowTemplates then
// CronWorkflows) as one multi-document YAML file.
func (m *Manifests) WorkflowYAML() ([]byte, error) {
	var objs []any
	for _, w := range m.Workflows {
		objs = append(objs, w)
	}
	for _, t := range m.Templates {
		objs = append(objs, t)
	}
	for _, c := range m.Crons {
		objs = append(objs, c)
	}
	return docs(objs...)
}

// ConfigMapYAML renders the campaign ConfigMap and the GPU quota ConfigMap.
func (m *Manifests) ConfigMapYAML() ([]byte, error) { return docs(m.ConfigMap, m.Quota) }

// docs marshals objects as YAML documents. sigs.k8s.io/yaml goes through JSON, so
// keys are sorted and the output is byte-identical for equal input.
func docs(objs ...any) ([]byte, error) {
	var b bytes.Buffer
	for i, o := range objs {
		y, err := yaml.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("marshal manifest: %w", err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(bytes.ReplaceAll(y, []byte("  creationTimestamp: null\n"), nil))
	}
	return b.Bytes(), nil
}
