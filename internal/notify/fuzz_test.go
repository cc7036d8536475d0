package notify

import (
	"strings"
	"testing"
)

// FuzzParseArgoFailures: whatever Argo (or a user) passes as --failures, the
// parser returns failures or an error naming the flag, and never panics.
func FuzzParseArgoFailures(f *testing.F) {
	for _, s := range []string{"", "null", "{{workflow.failures}}", "[]",
		`[{"displayName":"batch-a","message":"OOMKilled","templateName":"serve","phase":"Failed","podName":"p","finishedAt":"2026-11-27T00:00:00Z"}]`,
		`[{"templateName":"t","phase":"Error"}]`, `{"not":"an array"}`, `[1,2]`, `[{"message":3}]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fs, err := ParseArgoFailures(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "--failures is not the JSON array") {
				t.Fatalf("error does not say what is wrong: %v", err)
			}
			return
		}
		for _, x := range fs {
			if x.Reason == "" {
				t.Fatalf("a failure without a reason from %q", s)
			}
		}
	})
}
