package cli

import (
	"io"
	"testing"
)

// BenchmarkCompileCommand is `llmsweep compile` of every shipped campaign as a
// user runs it from the repository: loading campaigns/ and catalog/,
// compiling, Argo's validation and writing generated/ (issue 23: at most 2 s).
func BenchmarkCompileCommand(b *testing.B) {
	b.Chdir("../..")
	out := b.TempDir()
	for b.Loop() {
		if rc := Run([]string{"compile", "--out", out}, io.Discard, io.Discard); rc != 0 {
			b.Fatalf("compile exit %d", rc)
		}
	}
}
