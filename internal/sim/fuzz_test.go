package sim

import (
	"os"
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
)

// FuzzReadPoints: a points file of any content is read into points, skipped
// rows or an error, never a panic, and no point carries a non-finite or
// non-positive value.
func FuzzReadPoints(f *testing.F) {
	if b, err := os.ReadFile("../../testdata/published/points.csv"); err == nil {
		lines := strings.SplitAfter(string(b), "\n")
		f.Add(strings.Join(lines[:min(len(lines), 4)], ""))
	}
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
		}
	})
}
