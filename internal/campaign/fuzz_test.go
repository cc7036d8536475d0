package campaign_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cuelang.org/go/cue/cuecontext"
	"golang.org/x/tools/txtar"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// FuzzLoad feeds arbitrary bytes to the loader as a campaign file. Whatever the
// input, Load must not panic, and every problem it reports must say what is wrong
// and where. Crashers found are kept in testdata/fuzz/FuzzLoad.
func FuzzLoad(f *testing.F) {
	// Seeds: the shipped campaigns and policies, a catalog file, and every CUE file
	// of the CLI scripts, which are mostly bad input already.
	for _, pat := range []string{"../../campaigns/*.cue", "../../campaigns/policies/*.cue", "../../catalog/workloads.cue"} {
		files, _ := filepath.Glob(pat)
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	scripts, _ := filepath.Glob("../../testdata/script/*.txtar")
	for _, name := range scripts {
		ar, err := txtar.ParseFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range ar.Files {
			if strings.HasSuffix(file.Name, ".cue") {
				f.Add(file.Data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "in.cue"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := campaign.Load(cuecontext.New(), []string{"in.cue"}, campaign.Options{Dir: dir, NoCatalog: true})
		if err == nil {
			return
		}
		var probs campaign.Problems
		if !errors.As(err, &probs) {
			t.Fatalf("Load returned a bare error: %v", err)
		}
		for _, p := range probs {
			if p.Message == "" {
				t.Errorf("problem without a message: %+v", p)
			}
			if len(p.Positions) == 0 {
				t.Errorf("problem without a position: %v", p)
			}
		}
	})
}
