package plugins

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/llmsweep/llmsweep/internal/logging"
)

// go-plugin's records reach the command's logger: warnings and worse, with
// their key-value pairs as attributes, under the names go-plugin gives.
func TestHostLogsThroughSlog(t *testing.T) {
	var buf bytes.Buffer
	h, err := NewHost(logging.New(&buf, logging.JSON, slog.LevelDebug).With(logging.Campaign, "c"), "")
	if err != nil {
		t.Fatal(err)
	}
	l := h.Logger.Named("sim")
	l.Debug("plugin chatter")
	l.Info("started", "pid", 7)
	l.Warn("plugin stderr", "line", "oops")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %q", err, buf.String())
	}
	if rec["level"] != "WARN" || rec["msg"] != "plugin.sim: plugin stderr" || rec["line"] != "oops" || rec["campaign"] != "c" {
		t.Errorf("record %v", rec)
	}
}
