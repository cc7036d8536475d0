package sim

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
)

// FuzzReadPoints: a points file of any content, optional columns included, is
// read into points, skipped rows or an error, never a panic; no point carries a
// non-finite or non-positive value, a batching outside the three modes, or a
// load the simulation cannot run.
func FuzzReadPoints(f *testing.F) {
	if b, err := os.ReadFile("../../testdata/published/points.csv"); err == nil {
		lines := strings.SplitAfter(string(b), "\n")
		f.Add(strings.Join(lines[:min(len(lines), 4)], ""))
	}
	// The optional columns, in another order, with good and bad values.
	opt := "source,requests,kv_cache,scheduler_steps,batching,tool," + strings.Join(PointsHeader, ",") + "\n"
	row := "%s,vllm,0.6,H100-SXM5-80GB,1,meta-llama/Llama-3.1-8B-Instruct,fp16,128,64,%s,,tpot_ms,7,ms,https://github.com/o/r/blob/c/x.md,c,n\n"
	f.Add(opt + "doc,100,fp8,4,static,t," + fmt.Sprintf(row, "p1", "16"))
	f.Add(opt + ",,,,,," + fmt.Sprintf(row, "p2", "4"))
	f.Add(opt + "d,-1,int3,0,dynamic,," + fmt.Sprintf(row, "p3", "8"))
	f.Add("id,framework\n")
	f.Add("")
	f.Add("\"unterminated\n")
	set := campaigntest.Repo(f)
	f.Fuzz(func(t *testing.T, s string) {
		points, _, err := ReadPoints(strings.NewReader(s), "fuzz.csv", set)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.csv") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, p := range points {
			if !(p.Value > 0) || p.Value > 1e300 {
				t.Fatalf("point %+v from %q", p, s)
			}
			switch p.Batching {
			case BatchContinuous, BatchOffline, BatchStatic:
			default:
				t.Fatalf("batching %q from %q", p.Batching, s)
			}
			if p.Source == "" || p.Load.Requests <= 0 || p.Load.Requests > maxSimRequests || p.Load.AdmitSteps < 0 {
				t.Fatalf("source %q, %d requests, admit steps %d from %q", p.Source, p.Load.Requests, p.Load.AdmitSteps, s)
			}
		}
	})
}
