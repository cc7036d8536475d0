package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

func TestBenchmarkSpec(t *testing.T) {
	w := campaign.Workload{Name: "w", Arrival: campaign.Arrival{Kind: "poisson", Burstiness: 0.5}, Requests: 100, Warmup: 3,
		InputTokens:  campaign.Distribution{Kind: "uniform", Min: 10, Max: 20},
		OutputTokens: campaign.Distribution{Kind: "fixed", Value: 64}}
	w.Prompts.Seed = 9
	srv := &sdk.Server{BaseUrl: "http://x", ServedModel: "m"}
	spec, err := benchmarkSpec(w, &matrix.Config{Fingerprint: "fp", RequestRate: 4, InputTokens: 128}, srv)
	if err != nil {
		t.Fatal(err)
	}
	if spec.GetArrival() != "poisson" || spec.GetBurstiness() != 0.5 || spec.GetRequestRate() != 4 || spec.GetWarmup() != 3 ||
		spec.GetInputTokens().GetKind() != "fixed" || spec.GetInputTokens().GetValue() != 128 || // the grid fixes it
		spec.GetOutputTokens().GetValue() != 64 || spec.GetSeed() != 9 || !spec.GetIgnoreEos() || spec.GetServedModel() != "m" {
		t.Errorf("spec %v", spec)
	}

	// ShareGPT prompts come from the file, and a bad file is a clear error.
	dir := t.TempDir()
	w.Prompts.Source, w.Prompts.Path = "sharegpt", filepath.Join(dir, "sg.json")
	os.WriteFile(w.Prompts.Path, []byte(`[{"conversations":[{"from":"human","value":"tell me a long story please now"},{"from":"gpt","value":"once upon a time there"}]}]`), 0o644)
	spec, err = benchmarkSpec(w, &matrix.Config{}, srv)
	if err != nil || len(spec.GetPrompts()) != 1 || spec.GetPrompts()[0].GetOutputTokens() != 5 {
		t.Errorf("sharegpt: %v %v", spec.GetPrompts(), err)
	}
	os.WriteFile(w.Prompts.Path, []byte(`[{"conversations": 3}]`), 0o644)
	if _, err := benchmarkSpec(w, &matrix.Config{}, srv); err == nil || !strings.Contains(err.Error(), "workload w: "+w.Prompts.Path+":1:") {
		t.Errorf("bad file: %v", err)
	}
	w.Prompts.Source, w.Duration = "synthetic", "2m"
	if spec, _ := benchmarkSpec(w, &matrix.Config{}, srv); spec.GetDurationSeconds() != 120 {
		t.Errorf("duration %v", spec.GetDurationSeconds())
	}
}
