package schemadoc_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cuelang.org/go/cue"

	"github.com/llmsweep/llmsweep/internal/golden"
	"github.com/llmsweep/llmsweep/internal/schemadoc"
)

// TestCampaignReference keeps docs/campaign.md what the schema says; make
// generate rewrites it (-update).
func TestCampaignReference(t *testing.T) {
	defs, err := schemadoc.Defs()
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("..", "..", "docs", "campaign.md"), string(schemadoc.Markdown(defs)))
}

// TestEveryFieldDocumented checks the reference against the evaluated schema,
// not its source: every field that a campaign can set, at any depth, is there.
func TestEveryFieldDocumented(t *testing.T) {
	defs, err := schemadoc.Defs()
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range defs[0].Entries {
		paths = append(paths, e.Path)
	}
	v, err := schemadoc.Schema()
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	var visit func(prefix string, v cue.Value)
	visit = func(prefix string, v cue.Value) {
		it, err := v.Fields(cue.Optional(true))
		if err != nil {
			return
		}
		for it.Next() {
			p := strings.TrimRight(it.Selector().String(), "?!")
			if prefix != "" {
				p = prefix + "." + p
			}
			if !slices.Contains(paths, p) {
				missing = append(missing, p)
			}
			// A disjunction of structs (model_cache) is documented as its
			// expression.
			if op, _ := it.Value().Expr(); op != cue.OrOp && it.Value().IncompleteKind() == cue.StructKind {
				visit(p, it.Value())
			}
		}
	}
	visit("", v.LookupPath(cue.MakePath(cue.Def("#Campaign"))))
	if len(missing) > 0 {
		t.Errorf("fields of #Campaign missing from the reference: %v", missing)
	}
	if len(paths) < 40 {
		t.Errorf("the reference has %d fields of #Campaign; the schema has more", len(paths))
	}
}
