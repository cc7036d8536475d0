package notify

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cenkalti/backoff/v5"
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

// FuzzPagerDutyOutcome: whatever the Events API answers, the sender accepts
// only a 202 with status "success", never retries a 4xx other than 429,
// always retries 429 and 5xx, keeps its message short, and never panics.
func FuzzPagerDutyOutcome(f *testing.F) {
	f.Add(202, `{"status":"success","message":"Event processed","dedup_key":"k"}`)
	f.Add(400, `{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect"]}`)
	f.Add(429, `{"status":"throttle event","message":"retry later"}`)
	f.Add(500, `<html>oops</html>`)
	f.Add(202, `{"status":"invalid"}`)
	f.Add(200, ``)
	f.Fuzz(func(t *testing.T, code int, body string) {
		if code < 100 || code > 999 {
			return
		}
		err := pagerDutyOutcome(code, []byte(body))
		var perm *backoff.PermanentError
		switch {
		case err == nil:
			if code != 202 {
				t.Fatalf("HTTP %d accepted", code)
			}
		case utf8.RuneCountInString(err.Error()) > 600:
			t.Fatalf("an error of %d characters", utf8.RuneCountInString(err.Error()))
		case code == 429 || code >= 500:
			if errors.As(err, &perm) {
				t.Fatalf("HTTP %d not retried: %v", code, err)
			}
		case !errors.As(err, &perm):
			t.Fatalf("HTTP %d retried: %v", code, err)
		}
	})
}
