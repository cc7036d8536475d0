package generated

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/llmsweep/llmsweep/internal/argo"
	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/monitoring"
	"github.com/llmsweep/llmsweep/internal/sim"
)

// MaxMatrix is the largest matrix.jsonl committed whole (about 5 MB). A larger
// campaign commits per-model summaries instead; `diff --against git:REF`
// recompiles the old matrix from the campaign files at REF.
const MaxMatrix = 20000

// DefaultImage is the llmsweep image the manifests run.
const DefaultImage = "ghcr.io/llmsweep/llmsweep:v0.1.0"

// Options control Files.
type Options struct {
	Image string
	// Examples of pruned configs to keep per reason (compile --explain).
	Examples int
	// SkipValidation skips Argo's validator, which takes most of the time on very
	// large campaigns (the tests validate every manifest they generate).
	SkipValidation bool
	// Budget refuses a campaign that plan predicts over its budget, with an
	// *OverBudgetError (compile and apply). Without it an overrun is written
	// into summary.json, so that applying the folder can refuse it too.
	Budget bool
}

// OverBudgetError is a campaign predicted over its budget.
type OverBudgetError struct {
	Campaign string
	// Over says how, one line a limit (sim.Budget's Over).
	Over []string
}

func (e *OverBudgetError) Error() string {
	return fmt.Sprintf("campaign %s is predicted over its budget: %s", e.Campaign, strings.Join(e.Over, "; "))
}

// Files compiles a campaign into the files of generated/<campaign>/, validating the
// manifests with Argo's validator.
func Files(s *campaign.Set, c campaign.Campaign, opt Options) (map[string][]byte, *matrix.Result, error) {
	if opt.Image == "" {
		opt.Image = DefaultImage
	}
	// The matrix and plan's prediction of every batch (whose timeouts derive
	// from its wall time) each expand the campaign: side by side.
	var (
		p    *sim.Plan
		perr error
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		var tab sim.Table
		if tab, _, perr = sim.Fitted(s); perr == nil {
			p, perr = sim.Build(s, c, sim.Options{Table: tab, BatchesOnly: true})
		}
	}()
	lines := &capped{max: MaxMatrix * 1024}
	x := &matrix.Compiler{Set: s, Examples: opt.Examples}
	res, err := x.Compile(c, lines)
	<-done
	if err != nil {
		return nil, res, err
	}
	bundle, err := s.Bundle(c)
	if err != nil {
		return nil, res, err
	}
	if perr != nil {
		return nil, res, fmt.Errorf("campaign %s: predicting batch durations: %w", c.Name, perr)
	}
	var over []string
	if p.OverBudget() {
		if opt.Budget {
			return nil, res, &OverBudgetError{Campaign: c.Name, Over: p.Budget.Over}
		}
		over = p.Budget.Over
	}
	seconds := make(map[string]float64, len(p.Batches))
	for _, b := range p.Batches {
		seconds[b.ID] = b.WallS
	}
	m, err := argo.Build(argo.Input{Campaign: c, Set: s, Result: res, Bundle: bundle, Image: opt.Image, BatchSeconds: seconds})
	if err != nil {
		return nil, res, err
	}
	files := map[string][]byte{}
	if files["workflow.yaml"], err = m.WorkflowYAML(); err != nil {
		return nil, res, err
	}
	// After marshaling: Argo's validator fills in defaults as it goes.
	if opt.SkipValidation {
		// nothing
	} else if err := m.Validate(); err != nil {
		return nil, res, fmt.Errorf("campaign %s: Argo rejects the generated manifests: %w", c.Name, err)
	}
	if files["configmap.yaml"], err = m.ConfigMapYAML(); err != nil {
		return nil, res, err
	}
	summary := summaryFile{res.Summary, res.Batches, res.ModelHashes, over}
	if files["summary.json"], err = json.MarshalIndent(summary, "", "  "); err != nil {
		return nil, res, err
	}
	files["summary.json"] = append(files["summary.json"], '\n')
	mon, err := monitoring.Files(c)
	if err != nil {
		return nil, res, err
	}
	maps.Copy(files, mon)
	if res.Summary.Configs <= MaxMatrix && !lines.over {
		files["matrix.jsonl"] = lines.Bytes()
	}
	return files, res, nil
}

// summaryFile is summary.json.
type summaryFile struct {
	matrix.Summary
	Batches []matrix.Batch    `json:"batch_list"`
	Models  map[string]string `json:"model_hashes"`
	// OverBudget is how a campaign compiled with --allow-over-budget goes
	// over; absent within budget.
	OverBudget []string `json:"over_budget,omitempty"`
}

// CheckBudget returns an *OverBudgetError when the compiled files of a
// campaign record that it goes over its budget.
func CheckBudget(files map[string][]byte) error {
	b, ok := files["summary.json"]
	if !ok {
		return errors.New("no summary.json among the generated files: run llmsweep compile")
	}
	var s summaryFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return fmt.Errorf("summary.json: %w", err)
	}
	if len(s.OverBudget) > 0 {
		return &OverBudgetError{Campaign: s.Campaign, Over: s.OverBudget}
	}
	return nil
}

// capped keeps what is written until it passes max bytes, then keeps nothing: a
// large campaign's matrix is hashed but never held in memory.
type capped struct {
	bytes.Buffer
	max  int
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	if !c.over {
		if c.Len()+len(p) > c.max {
			c.over = true
			c.Buffer = bytes.Buffer{}
		} else {
			c.Buffer.Write(p)
		}
	}
	return len(p), nil
}
