package campaign

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"cuelang.org/go/cue"

	"github.com/llmsweep/llmsweep/campaigns/policies"
)

// PoliciesDir is where a checkout keeps the shipped ranking policies.
const PoliciesDir = "campaigns/policies"

// ShippedPolicies loads the ranking policies shipped with llmsweep: those of
// campaigns/policies in the CUE module of dir (the working directory when
// empty), so that a checkout's edits count, or else the copy built into the
// binary.
func ShippedPolicies(ctx *cue.Context, dir string) (map[string]Policy, error) {
	if dir == "" {
		var err error
		if dir, err = os.Getwd(); err != nil {
			return nil, err
		}
	}
	src := ""
	if root, ours := moduleRoot(dir); ours {
		if st, err := os.Stat(filepath.Join(root, PoliciesDir)); err == nil && st.IsDir() {
			src = filepath.Join(root, PoliciesDir)
		}
	}
	if src == "" {
		tmp, err := os.MkdirTemp("", "llmsweep-policies-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		names, _ := fs.Glob(policies.FS, "*.cue")
		for _, n := range names {
			b, _ := fs.ReadFile(policies.FS, n)
			if err := os.WriteFile(filepath.Join(tmp, n), b, 0o644); err != nil {
				return nil, err
			}
		}
		src = tmp
	}
	set, err := Load(ctx, []string{src}, Options{NoCatalog: true, Dir: src})
	if err != nil {
		return nil, fmt.Errorf("the shipped policies (%s): %w", src, err)
	}
	return set.Policies, nil
}
