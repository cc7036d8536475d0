package matrix

import (
	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
	"io"
	"testing"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// wide is llama3-8b-full's grid over the first n models of the catalog.
func wide(s *campaign.Set, n int) campaign.Campaign {
	c := s.Campaigns["llama3-8b-full"]
	c.Name = "bench-wide"
	c.Models = sortedModels(s)[:n]
	return c
}

func sortedModels(s *campaign.Set) []string {
	var out []string
	for _, m := range s.Select(campaign.Campaign{}).Models {
		out = append(out, m)
	}
	return out
}

// BenchmarkCompile450k compiles 50 models × the full catalog (about 450,000
// configs) through expansion, pruning, fingerprints and batches, writing the
// matrix to io.Discard.
func BenchmarkCompile450k(b *testing.B) {
	s := campaigntest.Repo(b)
	c := wide(s, 50)
	b.ResetTimer()
	for b.Loop() {
		x := &Compiler{Set: s}
		r, err := x.Compile(c, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(r.Summary.Configs), "configs")
		b.ReportMetric(float64(r.Summary.Expanded), "expanded")
	}
}
