package argo

import (
	"context"
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
)

// templates resolves workflowTemplateRef against the manifests being validated:
// offline, the only templates that exist are the ones compiled with them.
type templates map[string]*wfv1.WorkflowTemplate

func (t templates) Get(name string) (*wfv1.WorkflowTemplate, error) {
	if w, ok := t[name]; ok {
		return w, nil
	}
	return nil, fmt.Errorf("workflow template %q is not among the generated manifests", name)
}

type noClusterTemplates struct{}

func (noClusterTemplates) Get(name string) (*wfv1.ClusterWorkflowTemplate, error) {
	return nil, fmt.Errorf("cluster workflow template %q: llmsweep generates none", name)
}

// Validate checks every generated object with Argo's own offline validator, the
// one `argo lint` and the API server's admission use.
func (m *Manifests) Validate() error {
	tmpls := templates{}
	for _, t := range m.Templates {
		tmpls[t.Name] = t
	}
	opts := validate.ValidateOpts{}
	for _, w := range m.Workflows {
		if err := validate.ValidateWorkflow(tmpls, noClusterTemplates{}, w, nil, opts); err != nil {
			return fmt.Errorf("workflow %s: %w", w.Name, err)
		}
	}
	for _, t := range m.Templates {
		if err := validate.ValidateWorkflowTemplate(tmpls, noClusterTemplates{}, t, nil, opts); err != nil {
			return fmt.Errorf("workflow template %s: %w", t.Name, err)
		}
	}
	for _, c := range m.Crons {
		if err := validate.ValidateCronWorkflow(context.Background(), tmpls, noClusterTemplates{}, c, nil); err != nil {
			return fmt.Errorf("cron workflow %s: %w", c.Name, err)
		}
	}
	return nil
}
