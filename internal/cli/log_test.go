package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/internal/logging"
)

// The package's tests compare stderr with the text a person reads; a
// bytes.Buffer is not a terminal, which would mean JSON. TestLogFormat unsets it.
func TestMain(m *testing.M) {
	os.Setenv(logging.EnvFormat, "text")
	os.Exit(m.Run())
}

// Without a terminal or $LLMSWEEP_LOG_FORMAT, a command's diagnostics and its
// error are JSON records; --log-format text gives the text lines.
func TestLogFormat(t *testing.T) {
	t.Setenv(logging.EnvFormat, "")
	var stdout, stderr bytes.Buffer
	if code := Run([]string{"results", "--store", "mysql://x"}, &stdout, &stderr); code != exitUsage {
		t.Fatalf("exit %d", code)
	}
	var rec struct{ Time, Level, Msg string }
	if err := json.Unmarshal(stderr.Bytes(), &rec); err != nil || rec.Time == "" || rec.Level != "ERROR" ||
		!strings.HasPrefix(rec.Msg, "llmsweep: results store mysql://x: ") {
		t.Errorf("stderr %q: %+v, %v", stderr.String(), rec, err)
	}
	stderr.Reset()
	Run([]string{"results", "--store", "mysql://x", "--log-format", "text"}, &stdout, &stderr)
	if !strings.HasPrefix(stderr.String(), "llmsweep: results store mysql://x: ") {
		t.Errorf("text stderr %q", stderr.String())
	}
}
