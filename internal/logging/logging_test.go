package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseFormat(t *testing.T) {
	var buf bytes.Buffer
	t.Setenv(EnvFormat, "")
	for _, c := range []struct {
		flag, env string
		want      Format
	}{
		{"", "", JSON}, // a buffer is not a terminal
		{"text", "", Text},
		{"", "text", Text},
		{"json", "text", JSON},
	} {
		t.Setenv(EnvFormat, c.env)
		if got, err := ParseFormat(c.flag, &buf); err != nil || got != c.want {
			t.Errorf("ParseFormat(%q) with $%s=%q = %q, %v; want %q", c.flag, EnvFormat, c.env, got, err, c.want)
		}
	}
	if _, err := ParseFormat("yaml", &buf); err == nil || err.Error() != `log format "yaml": want json or text` {
		t.Errorf("ParseFormat(yaml): %v", err)
	}
}

// JSON keeps every attribute, the logger's and the call's; text leaves out
// the campaign and the run, and quotes what has spaces.
func TestFormats(t *testing.T) {
	var j, x bytes.Buffer
	for _, l := range []*slog.Logger{New(&j, JSON, slog.LevelInfo), New(&x, Text, slog.LevelInfo)} {
		l = l.With(Campaign, "c", Run, "r1").With(Model, "m")
		l.Debug("hidden")
		l.Warn("attempt failed", Attempt, 2, ErrorClass, "connection", Error, errors.New("dial tcp: refused"))
	}
	var rec map[string]any
	if err := json.Unmarshal(j.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %s", err, j.String())
	}
	delete(rec, "time")
	want := map[string]any{"level": "WARN", "msg": "attempt failed", "campaign": "c", "run": "r1", "model": "m",
		"attempt": 2.0, "error_class": "connection", "error": "dial tcp: refused"}
	if d := cmp.Diff(want, rec); d != "" {
		t.Errorf("JSON (-want +got):\n%s", d)
	}
	if got := x.String(); got != "attempt failed model=m attempt=2 error_class=connection error=\"dial tcp: refused\"\n" {
		t.Errorf("text: %q", got)
	}
	var q bytes.Buffer
	AtLeast(New(&q, Text, slog.LevelInfo), slog.LevelWarn).With(Model, "m").Info("chatter")
	if q.Len() != 0 {
		t.Errorf("AtLeast let through %q", q.String())
	}
}
