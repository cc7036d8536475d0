package plugins_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/internal/plugins"
	"github.com/llmsweep/llmsweep/internal/testing/snaptest"
	"github.com/llmsweep/llmsweep/plugins/sdk/conformance"
)

var shipped = []string{"vllm", "tgi", "lmdeploy", "openai", "sim"}

// Every shipped plugin, built and launched as the host launches it, passes the
// conformance kit.
func TestShippedPluginsConform(t *testing.T) {
	dir := t.TempDir()
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range shipped {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, plugins.Prefix+name), "./plugins/"+name)
		cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", name, err, out)
		}
	}
	h := &plugins.Host{Dirs: []string{filepath.Join(dir, "missing"), dir}}
	for _, name := range shipped {
		t.Run(name, func(t *testing.T) {
			f, err := h.Find(name)
			if err != nil {
				t.Fatal(err)
			}
			conformance.Run(t, conformance.Target{Binary: f.Path, Config: snaptest.Conformance(name)})
		})
	}
}
