package diff_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/llmsweep/llmsweep/internal/diff"
	"github.com/llmsweep/llmsweep/internal/matrix"
)

// matrixOf writes configs as matrix.jsonl, numbering their fingerprints in
// place of the sha256 compile computes.
func matrixOf(first int, cs ...matrix.Config) []byte {
	var b strings.Builder
	for i, c := range cs {
		c.Fingerprint = fmt.Sprintf("%064x", first+i)
		b.Write(c.JSON())
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

func ExampleCompare() {
	vllm := func(version string, concurrency int) matrix.Config {
		return matrix.Config{
			Batch: "b-" + version, Model: "llama-3.1-8b-instruct", Hardware: "h100-sxm-x1",
			Framework: "vllm", Version: version, Image: "vllm/vllm-openai:v" + version,
			Quantization: "bf16", Workload: "chat", Concurrency: concurrency,
		}
	}
	old := map[string][]byte{
		"matrix.jsonl":  matrixOf(0, vllm("0.11.0", 1), vllm("0.11.0", 16)),
		"workflow.yaml": []byte("image: vllm/vllm-openai:v0.11.0\n"),
	}
	new := map[string][]byte{
		"matrix.jsonl":  matrixOf(100, vllm("0.11.2", 1), vllm("0.11.2", 16), vllm("0.11.2", 64)),
		"workflow.yaml": []byte("image: vllm/vllm-openai:v0.11.2\n"),
	}
	r, err := diff.Compare("nightly", old, new)
	if err != nil {
		fmt.Println(err)
		return
	}
	r.WriteText(os.Stdout, 10)
	// Output:
	// Added (1):
	//   + llama-3.1-8b-instruct on h100-sxm-x1, vllm 0.11.2, bf16, chat, concurrency 64
	//
	// Changed (2):
	//   ~ llama-3.1-8b-instruct on h100-sxm-x1, vllm 0.11.0, bf16, chat, concurrency 1
	//       version: 0.11.0 → 0.11.2
	//       image: vllm/vllm-openai:v0.11.0 → vllm/vllm-openai:v0.11.2
	//   ~ llama-3.1-8b-instruct on h100-sxm-x1, vllm 0.11.0, bf16, chat, concurrency 16
	//       version: 0.11.0 → 0.11.2
	//       image: vllm/vllm-openai:v0.11.0 → vllm/vllm-openai:v0.11.2
	//
	// Manifests changed (1):
	// diff a/workflow.yaml b/workflow.yaml
	// --- a/workflow.yaml
	// +++ b/workflow.yaml
	// @@ -1,1 +1,1 @@
	// -image: vllm/vllm-openai:v0.11.0
	// +image: vllm/vllm-openai:v0.11.2
	//
	// nightly: 1 added, 2 changed, 1 manifest changed
}
