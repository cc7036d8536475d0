package sim

import (
	"testing"

	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
)

// BenchmarkPlanFull plans campaigns/llama3-8b-full.cue (about 9,600 configs):
// expansion, a simulation of every config, both cuts and their makespans. The
// catalog is loaded once, outside the loop. It reports the makespans of the
// count cut and of the balanced cut at the campaign's parallelism. It plans
// as the CLI does: with the published fit and its intervals.
func BenchmarkPlanFull(b *testing.B) {
	set := campaigntest.Repo(b)
	tab, pub, err := Fitted(set)
	if err != nil {
		b.Fatal(err)
	}
	c := set.Campaigns["llama3-8b-full"]
	var p *Plan
	for b.Loop() {
		if p, err = Build(set, c, Options{Table: tab, Intervals: &pub}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(p.Totals.Configs), "configs")
	b.ReportMetric(p.Makespan.NaiveS/3600, "naive-makespan-h")
	b.ReportMetric(p.Makespan.BalancedS/3600, "balanced-makespan-h")
	b.ReportMetric(float64(p.Makespan.BalancedBatches), "balanced-batches")
}

// BenchmarkSimulate is one config: Llama-3-8B BF16 on one H100, the chat
// workload's 210 requests at concurrency 64.
func BenchmarkSimulate(b *testing.B) {
	set := campaigntest.Repo(b)
	m, err := FromConfig(set, Table{}, "llama-3.1-8b-instruct", "h100-sxm-x1", "vllm", "bf16")
	if err != nil {
		b.Fatal(err)
	}
	l := LoadFor(set.Workloads["chat"], 64, 0, 0, 0)
	l.KVTokens = m.KVCapacityTokens(0.9)
	for b.Loop() {
		m.Simulate(l)
	}
}
