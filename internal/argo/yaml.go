package argo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
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

// docs marshals objects as YAML documents, converting in parallel. The output
// depends only on the objects.
func docs(objs ...any) ([]byte, error) {
	out := make([]bytes.Buffer, len(objs))
	errs := make([]error, len(objs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, o := range objs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			js, err := json.Marshal(o)
			if err == nil {
				err = jsonToYAML(&out[i], js)
			}
			if err != nil {
				errs[i] = fmt.Errorf("marshal manifest: %w", err)
			}
		}()
	}
	wg.Wait()
	var b bytes.Buffer
	for i := range out {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(out[i].Bytes())
	}
	return b.Bytes(), nil
}
