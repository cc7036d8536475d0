package main

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The README's campaign example is the shipped quickstart, byte for byte, so a
// newcomer who copies it gets what make run ran.
func TestREADMEQuickstart(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../campaigns/quickstart.cue")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "## Writing a campaign")
	if ok {
		_, rest, ok = strings.Cut(rest, "```cue\n")
	}
	got, _, ok2 := strings.Cut(rest, "```\n")
	if !ok || !ok2 {
		t.Fatal("README.md: no ```cue block under \"## Writing a campaign\"")
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("README.md's campaign example differs from campaigns/quickstart.cue (-file +README):\n%s", d)
	}
}
