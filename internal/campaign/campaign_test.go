package campaign_test

import (
	"errors"
	"fmt"
	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cuelang.org/go/cue/cuecontext"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// TestCatalog checks the shipped catalog against what the issue promises: it is
// real data of the stated size, and every entry decodes strictly into Go.
func TestCatalog(t *testing.T) {
	s := campaigntest.Repo(t)
	if n := len(s.Hardware); n < 15 {
		t.Errorf("%d hardware configurations, want at least 15", n)
	}
	if n := len(s.Models); n < 50 {
		t.Errorf("%d models, want at least 50", n)
	}
	for _, f := range []string{"vllm", "tgi", "lmdeploy"} {
		if _, ok := s.Frameworks[f]; !ok {
			t.Errorf("framework %s missing", f)
		}
	}
	methods := map[string]bool{}
	for _, q := range s.Quantizations {
		methods[q.Method] = true
	}
	for _, m := range []string{"fp16", "bf16", "fp8", "w8a8", "awq", "gptq"} {
		if !methods[m] {
			t.Errorf("no quantization with method %s", m)
		}
	}
	for _, w := range []string{"chat", "summarization", "code-completion", "long-context-rag", "offline-batch"} {
		if _, ok := s.Workloads[w]; !ok {
			t.Errorf("workload %s missing", w)
		}
	}
	// Architecture metadata the performance model relies on.
	m := s.Models["llama-3.1-8b-instruct"]
	if m.Layers != 32 || m.HiddenSize != 4096 || m.AttentionHeads != 32 || m.KVHeads != 8 || m.HeadDim != 128 || m.VocabSize != 128256 {
		t.Errorf("llama-3.1-8b-instruct metadata is off: %+v", m)
	}
	for name, h := range s.Hardware {
		if h.Price.SpotUSDHour > h.Price.OnDemandUSDHour {
			t.Errorf("%s: spot price above on-demand", name)
		}
		if h.GPU.Arch == "hopper" && h.GPU.DenseTFLOPS["fp8"] == 0 {
			t.Errorf("%s: Hopper without an FP8 peak", name)
		}
	}
	p := s.Policies["balanced"]
	want := map[string]float64{"accuracy": 0.3, "latency": 0.25, "throughput": 0.2, "cost": 0.15, "memory": 0.1}
	for k, w := range want {
		if p.Criteria[k].Weight != w {
			t.Errorf("balanced policy: %s weight %v, want %v", k, p.Criteria[k].Weight, w)
		}
	}
}

// TestFullCampaignSize checks that the full-catalog campaign selects enough
// configurations for the compiler to keep at least 9,000 after the memory fit.
func TestFullCampaignSize(t *testing.T) {
	s := campaigntest.Repo(t)
	c := s.Campaigns["llama3-8b-full"]
	if n, _ := s.Count(c); n < 9000 {
		t.Errorf("llama3-8b-full selects %d configs before the fit, want well over 9,000", n)
	}
	sel := s.Select(c)
	// Every serving workload: not the CPU smoke tests, nor the workloads that
	// exist for their accuracy task (nightly's).
	serving := 0
	for name, w := range s.Workloads {
		if !strings.HasPrefix(name, "smoke") && (w.Accuracy == nil || (w.Accuracy.Task != "gsm8k" && w.Accuracy.Task != "mmlu")) {
			serving++
		}
	}
	if len(sel.Hardware) != len(s.Hardware) || len(sel.Workloads) != serving || slices.Contains(sel.Workloads, "smoke") {
		t.Errorf("llama3-8b-full should span the whole catalog's serving workloads, got %+v", sel)
	}
}

// Nightly checks accuracy on a data set (GSM8K or MMLU) for every
// quantization it runs.
func TestNightlyChecksAccuracy(t *testing.T) {
	s := campaigntest.Repo(t)
	sel := s.Select(s.Campaigns["nightly"])
	var tasks []string
	for _, name := range sel.Workloads {
		if a := s.Workloads[name].Accuracy; a != nil && (a.Task == "gsm8k" || a.Task == "mmlu") {
			tasks = append(tasks, a.Task)
		}
	}
	// Workloads cross every quantization in the matrix, so one is enough.
	if len(tasks) == 0 || len(sel.Quantizations) < 2 {
		t.Errorf("nightly: quantizations %v, data-set accuracy tasks %v", sel.Quantizations, tasks)
	}
}

// TestProblemsSorted checks that problems come out in file, line and column order,
// whatever order CUE and the checks found them in.
func TestProblemsSorted(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "b.cue", "campaigns: b: {description: \"b\", models: [\"nope\"]}\n")
	write(t, dir, "a.cue", "campaigns: a: {description: \"a\", models: [\"nope\"]}\ncampaigns: c: {description: 1, models: [\"x\"]}\n")
	_, err := campaign.Load(cuecontext.New(), []string{dir}, campaign.Options{Dir: dir})
	var probs campaign.Problems
	if !errors.As(err, &probs) {
		t.Fatalf("want problems, got %v", err)
	}
	var got []string
	for _, p := range probs {
		got = append(got, p.Positions[0].String())
	}
	if !slices.IsSorted(got) || len(got) != 4 {
		t.Errorf("positions not sorted or not 4: %v\n%v", got, probs)
	}
}

func write(t testing.TB, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Load reads campaign files with the catalog built into the binary when they are
// outside a checkout, and reports problems the way cue vet does.
func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "c.cue"), []byte(`campaigns: demo: {
	description: "demo"
	models: ["qwen2.5-7b-instrct"]
}
`), 0o644)
	_, err := campaign.Load(cuecontext.New(), []string{"c.cue"}, campaign.Options{Dir: dir})
	fmt.Println(strings.TrimSpace(err.Error()))
	// Output:
	// campaigns.demo.models[0]: unknown model "qwen2.5-7b-instrct" (did you mean "qwen2.5-7b-instruct"?):
	//     ./c.cue:3:11
}
