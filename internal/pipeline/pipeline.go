// Package pipeline runs a campaign's configs and the steps that follow them,
// the way `llmsweep run` does on one machine and `llmsweep exec` does in a
// batch pod (DESIGN 6 and 12): which engine serves the configs, which configs
// a stored result stands in for (the reuse rule, DESIGN 3), the run itself
// through internal/runner with its run log and store, and the local tail
// (views, cache, report, archive). The CLI parses flags, calls it and prints.
package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
)

// Compiled is a campaign's matrix, or one model's.
type Compiled struct {
	Configs []matrix.Config
	// Hash is the matrix hash: the whole campaign's, or the one model's.
	Hash    string
	Summary matrix.Summary
}

// Compile expands a campaign into its configs in matrix order. With model set,
// only that model's configs, and Hash is that model's hash, which the
// workflow's steps check (a batch pod derives nothing else).
func Compile(set *campaign.Set, c campaign.Campaign, model string) (*Compiled, error) {
	if model != "" {
		if !slices.Contains(set.Select(c).Models, model) {
			return nil, fmt.Errorf("model %s is not in campaign %s", model, c.Name)
		}
		c.Models = []string{model}
	}
	// The matrix lines, as the compiler writes them, carry the batches.
	var buf bytes.Buffer
	res, err := (&matrix.Compiler{Set: set}).Compile(c, &buf)
	if err != nil {
		return nil, err
	}
	out := &Compiled{Hash: res.Summary.MatrixHash, Summary: res.Summary}
	if model != "" {
		out.Hash = res.ModelHashes[model]
	}
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	for dec.More() {
		var cfg matrix.Config
		if err := dec.Decode(&cfg); err != nil {
			return nil, fmt.Errorf("campaign %s: matrix line %d: %w", c.Name, len(out.Configs)+1, err)
		}
		out.Configs = append(out.Configs, cfg)
	}
	return out, nil
}
