// Package campaigntest loads the repository's campaigns for tests and benchmarks.
// Only tests import it.
package campaigntest

import (
	"os"
	"path/filepath"
	"testing"

	"cuelang.org/go/cue/cuecontext"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// Repo loads campaigns/ of the repository with its catalog, failing the test if
// they do not vet. The repository is found from the working directory upwards.
func Repo(tb testing.TB) *campaign.Set {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("campaigntest: no go.mod above the working directory")
		}
		dir = parent
	}
	s, err := campaign.Load(cuecontext.New(), []string{"campaigns"}, campaign.Options{Dir: dir})
	if err != nil {
		tb.Fatalf("the repository's campaigns do not vet:\n%v", err)
	}
	return s
}
