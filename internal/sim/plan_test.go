package sim

import (
	"io"
	"math"
	"testing"

	"github.com/llmsweep/llmsweep/internal/matrix"

	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
)

func TestPlanFull(t *testing.T) {
	set := campaigntest.Repo(t)
	tab, err := Defaults(set)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab) == 0 {
		t.Fatal("the catalog's efficiency table is empty")
	}
	p, err := Build(set, set.Campaigns["llama3-8b-full"], Options{Table: tab})
	if err != nil {
		t.Fatal(err)
	}
	if p.Totals.Configs != len(p.Configs) || p.Totals.Configs == 0 {
		t.Fatalf("configs %d, plans %d", p.Totals.Configs, len(p.Configs))
	}
	for _, cp := range p.Configs {
		for _, v := range []float64{cp.TTFTP50, cp.TPOTP50, cp.OutputThroughput, cp.BenchS} {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				t.Fatalf("%s: bad prediction %+v", cp.Config.Fingerprint, cp.Prediction)
			}
		}
	}
	if p.Makespan.BalancedS > p.Makespan.NaiveS {
		t.Errorf("balanced makespan %.0f s is longer than the naive %.0f s", p.Makespan.BalancedS, p.Makespan.NaiveS)
	}
	t.Logf("totals %+v", p.Totals)
	t.Logf("makespan %+v", p.Makespan)
	t.Logf("pruned %v", p.Pruned)
}

// skip_predicted_slo_miss: plan skips what it flags, and the compiler's hook
// prunes the same configs.
func TestSkipPredictedSLOMiss(t *testing.T) {
	set := catalogSet(t)
	tab, _ := Defaults(set)
	c := set.Campaigns["nightly"]
	flag, err := Build(set, c, Options{Table: tab})
	if err != nil {
		t.Fatal(err)
	}
	if flag.Totals.SLOMisses == 0 {
		t.Skip("nightly has no predicted SLO miss to skip")
	}
	c.SkipPredictedSLOMiss = true
	skip, err := Build(set, c, Options{Table: tab})
	if err != nil {
		t.Fatal(err)
	}
	if skip.Totals.Skipped != flag.Totals.SLOMisses || skip.Totals.Configs != flag.Totals.Configs-flag.Totals.SLOMisses {
		t.Errorf("skipping: %+v; flagging: %+v", skip.Totals, flag.Totals)
	}
	x := &matrix.Compiler{Set: set, SLOMiss: SLOMiss(set, c, tab)}
	res, err := x.Compile(c, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Summary.Pruned[matrix.ReasonSLO]; got != flag.Totals.SLOMisses {
		t.Errorf("compiler pruned %d as %s, plan flagged %d", got, matrix.ReasonSLO, flag.Totals.SLOMisses)
	}
}
