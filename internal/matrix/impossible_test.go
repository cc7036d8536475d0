package matrix

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"testing"

	"cuelang.org/go/cue/cuecontext"
	"github.com/google/go-cmp/cmp"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
)

// TestImpossibleAgreesWithCompile holds vet's config-independent findings to
// compile's pruning on the campaigns of testdata/impossible.cue: a model is
// reported as fitting nowhere exactly when compile keeps none of its configs and
// prunes them for memory, and a sequence length is reported for a model exactly
// when compile prunes that model's configs of that length for context.
func TestImpossibleAgreesWithCompile(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	s, err := campaign.Load(cuecontext.New(), []string{"internal/matrix/testdata/impossible.cue"}, campaign.Options{Dir: root})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Campaigns) != 3 {
		t.Fatalf("loaded %d campaigns, want 3", len(s.Campaigns))
	}
	model := regexp.MustCompile(`model (\S+?)('s)? `)
	for _, name := range campaign.SortedKeys(s.Campaigns) {
		c := s.Campaigns[name]
		var vet []string
		for _, p := range Impossible(s, c) {
			m := model.FindStringSubmatch(p.Message)
			if m == nil {
				t.Fatalf("%s: no model named in %q", name, p.Message)
			}
			vet = append(vet, p.Path+" "+m[1])
		}
		var compile []string
		x := &Compiler{Set: s}
		for _, m := range s.Select(c).Models {
			kept, reasons := 0, map[string]bool{}
			x.Model(c, m, func(g *Group) { kept += len(g.Configs) }, func(p pruned) {
				reasons[p.reason] = true
				if p.reason == ReasonContext {
					i := slices.Index(c.Grid.SequenceLengths, campaign.SequenceLength{InputTokens: p.config.InputTokens, OutputTokens: p.config.OutputTokens})
					f := fmt.Sprintf("campaigns.%q.grid.sequence_lengths[%d] %s", name, i, m)
					if !slices.Contains(compile, f) {
						compile = append(compile, f)
					}
				}
			})
			if kept == 0 && reasons[ReasonMemory] {
				compile = append(compile, fmt.Sprintf("campaigns.%q.models[%d] %s", name, slices.Index(c.Models, m), m))
			}
		}
		sort.Strings(vet)
		sort.Strings(compile)
		if diff := cmp.Diff(compile, vet); diff != "" {
			t.Errorf("%s: vet's findings differ from compile's pruning (-compile +vet):\n%s", name, diff)
		}
	}
}

// TestImpossibleRepo expects no finding on the shipped campaigns, which compile.
// catalog-wide selects its models by filters: compile prunes some of them for
// context and memory, and that is the sweep working as meant.
func TestImpossibleRepo(t *testing.T) {
	s := campaigntest.Repo(t)
	for _, name := range campaign.SortedKeys(s.Campaigns) {
		if probs := Impossible(s, s.Campaigns[name]); len(probs) > 0 {
			t.Errorf("%s: %v", name, probs)
		}
	}
}
