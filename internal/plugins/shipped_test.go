package plugins_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/internal/plugins"
	"github.com/llmsweep/llmsweep/internal/testing/shipped"
	"github.com/llmsweep/llmsweep/internal/testing/snaptest"
	"github.com/llmsweep/llmsweep/plugins/sdk/conformance"
)

// Every shipped plugin, built and launched as the host launches it, passes the
// conformance kit.
func TestShippedPluginsConform(t *testing.T) {
	dir := t.TempDir()
	if err := shipped.Build(dir); err != nil {
		t.Fatal(err)
	}
	h := &plugins.Host{Dirs: []string{filepath.Join(dir, "missing"), dir}}
	for _, name := range shipped.Names {
		t.Run(name, func(t *testing.T) {
			f, err := h.Find(name)
			if err != nil {
				t.Fatal(err)
			}
			conformance.Run(t, conformance.Target{Binary: f.Path, Config: snaptest.Conformance(name)})
		})
	}
}

// The framework adapters are written as an outside author writes one: against
// the SDK module alone. Their packages (tests aside) import nothing else of this
// repository, internal/ least of all. The sim plugin is the exception: it is the
// toolchain's own emulator, built on internal/sim.
func TestAdaptersImportOnlyTheSDK(t *testing.T) {
	root, err := shipped.Root()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range shipped.Names {
		if name == "sim" {
			continue
		}
		cmd := exec.Command("go", "list", "-deps", "./plugins/"+name)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps ./plugins/%s: %v", name, err)
		}
		sdk := 0
		for _, p := range strings.Fields(string(out)) {
			switch {
			case strings.HasPrefix(p, "github.com/llmsweep/llmsweep/plugins/sdk"):
				sdk++
			case strings.HasPrefix(p, "github.com/llmsweep/llmsweep/") && p != "github.com/llmsweep/llmsweep/plugins/"+name:
				t.Errorf("plugins/%s imports %s: adapters may import the SDK module only", name, p)
			}
		}
		if sdk == 0 {
			t.Errorf("plugins/%s imports no SDK package: go list said\n%s", name, out)
		}
	}
}

// make build builds exactly the shipped plugins, and every plugin folder is one.
func TestMakefileBuildsTheShippedPlugins(t *testing.T) {
	root, err := shipped.Root()
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^PLUGINS\s*:=\s*(.*)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("the Makefile has no PLUGINS := line")
	}
	if got := strings.Fields(string(m[1])); !slices.Equal(got, shipped.Names) {
		t.Errorf("Makefile PLUGINS %v, shipped.Names %v", got, shipped.Names)
	}
	mains, _ := filepath.Glob(filepath.Join(root, "plugins", "*", "main.go"))
	for _, f := range mains {
		if name := filepath.Base(filepath.Dir(f)); !slices.Contains(shipped.Names, name) {
			t.Errorf("plugins/%s has a main but is not shipped", name)
		}
	}
}
