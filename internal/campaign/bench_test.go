package campaign

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"cuelang.org/go/cue/cuecontext"
)

// BenchmarkVetSize vets one file of n small campaigns against the built-in
// catalog, for growing n: ns/campaign and B/campaign against n show whether vet
// stays linear in its input (issue 23 measured 280 s and 9.2 GB at 71,646
// campaigns). On a shared machine, compare CPU time (time -f %U) rather than
// wall time.
func BenchmarkVetSize(b *testing.B) {
	for _, n := range []int{50, 200, 800, 3200} {
		b.Run(fmt.Sprintf("campaigns=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			var src strings.Builder
			for i := range n {
				fmt.Fprintf(&src, "campaigns: \"c%d\": {\n\tdescription: \"bench %d\"\n\tmodels: [\"llama-3.1-8b-instruct\"]\n\tselect: {hardware: [\"h100-sxm-x1\"], workloads: [\"chat\"]}\n\tgrid: concurrency: [1, %d]\n}\n", i, i, i+2)
			}
			file := filepath.Join(dir, "many.cue")
			if err := os.WriteFile(file, []byte(src.String()), 0o644); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(src.Len()))
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for range b.N {
				s, err := Load(cuecontext.New(), []string{file}, Options{Dir: dir})
				if err != nil {
					b.Fatal(err)
				}
				if len(s.Campaigns) != n {
					b.Fatalf("loaded %d campaigns, want %d", len(s.Campaigns), n)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/campaign")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N*n), "B/campaign")
		})
	}
}
