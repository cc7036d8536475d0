package campaign

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"cuelang.org/go/cue"
)

// LoadAtRef loads paths (default campaigns) as they were at a git revision of
// the repository the working directory is the root of: the schema, catalog
// and campaigns at ref are written to a temporary folder through git archive,
// loaded, and removed. This is how diff --against compiles the old campaigns.
func LoadAtRef(ctx *cue.Context, ref string, paths []string, opt Options) (*Set, error) {
	dir, err := checkout(ref)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if len(paths) == 0 {
		paths = []string{"campaigns"}
	}
	var moved []string
	for _, p := range paths {
		moved = append(moved, filepath.Join(dir, p))
	}
	if opt.Catalog != "" {
		opt.Catalog = filepath.Join(dir, opt.Catalog)
	}
	opt.Dir = dir
	set, err := Load(ctx, moved, opt)
	if err != nil {
		return nil, fmt.Errorf("the campaigns at %s do not load:\n%w", ref, err)
	}
	return set, nil
}

// checkout writes the CUE inputs of the repository at ref into a temporary
// folder, through git archive.
func checkout(ref string) (string, error) {
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", fmt.Errorf("--against git:%s needs a git repository: %v", ref, err)
	}
	root := strings.TrimSpace(string(top))
	// Paths are resolved against the checkout's root as they are against the
	// working directory.
	if cwd, err := os.Getwd(); err == nil {
		if real, err := filepath.EvalSymlinks(cwd); err == nil && real != root {
			return "", fmt.Errorf("run diff --against from the repository root (%s)", root)
		}
	}
	// Only the inputs that exist at ref: git archive fails on a missing path.
	ls := exec.Command("git", "ls-tree", "--name-only", ref)
	ls.Dir = root
	names, err := ls.Output()
	if err != nil {
		return "", fmt.Errorf("--against git:%s: git cannot resolve %s to a tree", ref, ref)
	}
	paths := []string{"--format=tar", ref, "--"}
	for _, n := range strings.Fields(string(names)) {
		if n == "cue.mod" || n == "schema" || n == "catalog" || n == "campaigns" {
			paths = append(paths, n)
		}
	}
	arch := exec.Command("git", append([]string{"archive"}, paths...)...)
	arch.Dir = root
	var stderr strings.Builder
	arch.Stderr = &stderr
	pipe, err := arch.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := arch.Start(); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "llmsweep-against-")
	if err != nil {
		return "", err
	}
	terr := untar(tar.NewReader(pipe), dir)
	io.Copy(io.Discard, pipe)
	if err := arch.Wait(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("git archive %s: %s", ref, strings.TrimSpace(stderr.String()))
	}
	if terr != nil {
		os.RemoveAll(dir)
		return "", terr
	}
	return dir, nil
}

// untar writes the regular files of tr under dir.
func untar(tr *tar.Reader, dir string) error {
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg || strings.Contains(h.Name, "..") {
			continue
		}
		path := filepath.Join(dir, filepath.FromSlash(h.Name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		b, err := io.ReadAll(tr)
		if err == nil {
			err = os.WriteFile(path, b, 0o644)
		}
		if err != nil {
			return err
		}
	}
}
