// Package shipped names the plugins this repository ships and builds them for
// tests that run them as the host does. Only tests import it.
package shipped

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Names are the shipped plugins: plugins/<name> builds llmsweep-plugin-<name>.
// The Makefile's PLUGINS lists the same names (a test holds them equal).
var Names = []string{"vllm", "tgi", "lmdeploy", "sglang", "trtllm", "openai", "sim"}

// Root is the main module's directory.
func Root() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// Build builds the named plugins (all shipped ones when none are named) into
// dir as llmsweep-plugin-<name>.
func Build(dir string, names ...string) error {
	root, err := Root()
	if err != nil {
		return err
	}
	if len(names) == 0 {
		names = Names
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, n := range names {
		args = append(args, "./plugins/"+n)
	}
	// One go build of several main packages into a directory names each binary
	// after its package directory; they are renamed after.
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building plugins %v: %v\n%s", names, err, out)
	}
	for _, n := range names {
		if err := os.Rename(filepath.Join(dir, n), filepath.Join(dir, Prefix+n)); err != nil {
			return err
		}
	}
	return nil
}

// Prefix is the file name prefix of a plugin binary (internal/plugins.Prefix,
// which this test-only package does not import).
const Prefix = "llmsweep-plugin-"
