package diff

import (
	"fmt"
	"testing"

	"github.com/llmsweep/llmsweep/internal/matrix"
)

// catalog450k is a catalog-wide sweep: 50 models × 6 GPUs × 3 framework
// versions × 2 quantizations × 250 load points = 450,000 configs, about 450
// bytes a line, batched 100 at most per server as compile does.
func catalog450k() []matrix.Config {
	hw := []server{h100, a100,
		{hardware: "h200-sxm-x1", gpu: "H200-SXM-141GB", gpus: 1},
		{hardware: "l40s-x1", gpu: "L40S-48GB", gpus: 1},
		{hardware: "h100-sxm-x2", gpu: "H100-SXM5-80GB", gpus: 2},
		{hardware: "mi300x-x1", gpu: "MI300X-192GB", gpus: 1}}
	var servers []server
	for m := range 50 {
		for _, h := range hw {
			s := h.with(fmt.Sprintf("model-%02d-8b-instruct", m), fmt.Sprintf("example-org/Model-%02d-8B-Instruct", m))
			for _, f := range [][2]string{{"vllm", "0.11.2"}, {"tgi", "3.3.6"}, {"lmdeploy", "0.9.2"}} {
				for _, q := range []string{"bf16", "fp8"} {
					servers = append(servers, s.on(f[0], f[1], q))
				}
			}
		}
	}
	var points []point
	for _, w := range []string{"chat", "code-completion", "summarization", "rag-long-context", "agentic-tool-use"} {
		for _, c := range []int{1, 8, 16, 64, 128} {
			for i := range 10 {
				points = append(points, point{workload: w, concurrency: c, input: 256 << (i % 5), output: 128 << (i / 5)})
			}
		}
	}
	return build(servers, points, 100)
}

// mutate returns the two sides of a change to a campaign: n configs removed,
// n added, n changed (a new server digest) and n moved to another batch.
func mutate(all []matrix.Config, n int) (old, new []matrix.Config) {
	stride := len(all) / (4 * n)
	old = make([]matrix.Config, 0, len(all))
	new = make([]matrix.Config, 0, len(all))
	for i, c := range all {
		switch k := i / stride; {
		case i%stride != 0 || k >= 4*n:
			old, new = append(old, c), append(new, c)
		case k%4 == 0: // removed
			old = append(old, c)
		case k%4 == 1: // added
			new = append(new, c)
		case k%4 == 2: // changed
			old = append(old, c)
			c.ServerDigest = "0000" + c.ServerDigest[4:]
			new = append(new, fingerprinted(c))
		case k%4 == 3: // moved
			old = append(old, c)
			c.Batch += "-moved"
			new = append(new, c)
		}
	}
	return old, new
}

func TestMutate(t *testing.T) {
	all := build([]server{h100.with("m", "o/m").on("vllm", "0.11.2", "bf16")},
		[]point{{workload: "chat", concurrency: 1}, {workload: "chat", concurrency: 2}, {workload: "chat", concurrency: 4}, {workload: "chat", concurrency: 8}}, 100)
	old, new := mutate(all, 1)
	r, err := Compare("m", map[string][]byte{MatrixFile: jsonl(old)}, map[string][]byte{MatrixFile: jsonl(new)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Summary(), "m: 1 added, 1 removed, 1 changed, 1 moved between batches"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// BenchmarkCompare450k diffs two 450,000-config matrices that differ by 200
// configs of each kind. The requirement is at most 1 s an op on 2 cores.
func BenchmarkCompare450k(b *testing.B) {
	old, new := mutate(catalog450k(), 200)
	a := map[string][]byte{MatrixFile: jsonl(old)}
	z := map[string][]byte{MatrixFile: jsonl(new)}
	b.SetBytes(int64(len(a[MatrixFile]) + len(z[MatrixFile])))
	b.ReportMetric(float64(len(a[MatrixFile]))/float64(len(old)), "bytes/line")
	for b.Loop() {
		r, err := Compare("catalog", a, z)
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Added) != 200 || len(r.Removed) != 200 || len(r.Changed) != 200 || len(r.Moved) != 200 {
			b.Fatal(r.Summary())
		}
	}
}

// BenchmarkCompareNew450k diffs a new 450,000-config campaign against nothing:
// the worst case, where every line is decoded.
func BenchmarkCompareNew450k(b *testing.B) {
	z := map[string][]byte{MatrixFile: jsonl(catalog450k())}
	b.SetBytes(int64(len(z[MatrixFile])))
	for b.Loop() {
		r, err := Compare("catalog", nil, z)
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Added) != 450000 {
			b.Fatal(r.Summary())
		}
	}
}
