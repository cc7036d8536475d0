package generated

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cuecmd "cuelang.org/go/cmd/cue/cmd"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// wide is llama3-8b-full over n models shaped like Llama 3.1 8B (each about
// 9,500 configs): the 50 models × 9,000. The copies are named
// bench-00, bench-01, ...
func wide(s *campaign.Set, n int) campaign.Campaign {
	c := s.Campaigns["llama3-8b-full"]
	c.Name = "bench-wide"
	c.Models = nil
	for i := range n {
		m := s.Models["llama-3.1-8b-instruct"]
		m.Name = fmt.Sprintf("bench-%02d", i)
		s.Models[m.Name] = m
		c.Models = append(c.Models, m.Name)
	}
	return c
}

// peakRSS is the process's peak resident set (VmHWM) in MB.
func peakRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkCompile450k compiles 50 models × the full catalog through expansion,
// pruning, fingerprints, batches and manifests (YAML included; Argo's validator,
// which the tests run on every manifest, is not timed). The matrix is hashed but
// not kept (it is over MaxMatrix). Targets: 2 s, 500 MB peak RSS.
func BenchmarkCompile450k(b *testing.B) {
	s := campaigntest.Repo(b)
	c := wide(s, 50)
	for b.Loop() {
		files, res, err := Files(s, c, Options{SkipValidation: true})
		if err != nil {
			b.Fatal(err)
		}
		if res.Summary.Configs < 450_000 {
			b.Fatalf("only %d configs", res.Summary.Configs)
		}
		b.ReportMetric(float64(res.Summary.Configs), "configs")
		b.ReportMetric(float64(len(files["workflow.yaml"])), "workflow-bytes")
	}
	b.ReportMetric(peakRSS(), "peak-RSS-MB")
}

// BenchmarkCompileVsCueExport times, in one run, cue export of the equivalent
// comprehension in testdata/bench (45,900 configs) against compiling a campaign of
// at least as many configs, and reports how many times faster compile is.
func BenchmarkCompileVsCueExport(b *testing.B) {
	s := campaigntest.Repo(b)
	c := wide(s, 5)
	b.Chdir("../..")
	for b.Loop() {
		runtime.GC() // neither side pays for the other's garbage
		t0 := time.Now()
		_, res, err := Files(s, c, Options{SkipValidation: true})
		if err != nil {
			b.Fatal(err)
		}
		ours := time.Since(t0)
		cmd, err := cuecmd.New([]string{"export", "./testdata/bench/comprehension.cue", "-e", "len(configs)"})
		if err != nil {
			b.Fatal(err)
		}
		var out bytes.Buffer
		cmd.SetOut(&out)
		runtime.GC()
		t1 := time.Now()
		if err := cmd.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		theirs := time.Since(t1)
		n, _ := strconv.Atoi(strings.TrimSpace(out.String()))
		if res.Summary.Configs < n {
			b.Fatalf("compiled %d configs, fewer than cue's %d", res.Summary.Configs, n)
		}
		b.ReportMetric(float64(res.Summary.Configs), "configs")
		b.ReportMetric(ours.Seconds(), "compile-s")
		b.ReportMetric(theirs.Seconds(), "cue-export-s")
		b.ReportMetric(theirs.Seconds()/ours.Seconds(), "x-faster")
	}
}

// BenchmarkCompileShipped compiles every shipped campaign, Argo validation
// included, as `llmsweep compile` does (issue 23: at most 2 s in all).
func BenchmarkCompileShipped(b *testing.B) {
	s := campaigntest.Repo(b)
	var names []string
	for n := range s.Campaigns {
		names = append(names, n)
	}
	slices.Sort(names)
	for b.Loop() {
		for _, n := range names {
			if _, _, err := Files(s, s.Campaigns[n], Options{}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
