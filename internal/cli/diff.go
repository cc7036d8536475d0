package cli

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"cuelang.org/go/cue/cuecontext"
	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/diff"
	"github.com/llmsweep/llmsweep/internal/generated"
	"github.com/llmsweep/llmsweep/internal/store"
)

func newDiff() *cobra.Command {
	var opt campaign.Options
	var out, against, output, results string
	var names []string
	var max int
	var live bool
	var kf kubeFlags
	cmd := &cobra.Command{
		Use:   "diff [paths...]",
		Short: "Show what a campaign change does to the compiled configs and manifests",
		Long: `diff compiles the campaigns and compares them with the committed generated/
folder, or with the campaigns as they were at a git revision (--against git:REF).
It reports configs added, removed and changed (field by field), configs that moved
between batches, and the manifests' changes as unified diffs, then a one-line
summary. Exit codes follow kubectl diff: 0 no change, 1 changes, 2 error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if live {
				return diffLive(cmd, args, opt, names, kf, output)
			}
			set, cs, err := loadCampaigns(cmd, args, opt, names)
			if err != nil {
				return err
			}
			newFiles := map[string]map[string][]byte{}
			for _, c := range cs {
				files, _, err := generated.Files(set, c, generated.Options{SkipValidation: true})
				if err != nil {
					return err
				}
				newFiles[c.Name] = files
			}
			oldFiles, warnings, err := oldSide(cmd, against, out, args, opt, names, len(names) == 0)
			if err != nil {
				return err
			}
			for _, w := range warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "llmsweep: warning:", w)
			}
			all := map[string]bool{}
			for n := range newFiles {
				all[n] = true
			}
			for n := range oldFiles {
				all[n] = true
			}
			var reports []*diff.Report
			for _, n := range keys(all) {
				r, err := diff.Compare(n, oldFiles[n], newFiles[n])
				if err != nil {
					return err
				}
				reports = append(reports, r)
			}
			changed := 0
			for _, r := range reports {
				if !r.Empty() {
					changed++
				}
			}
			w := cmd.OutOrStdout()
			if output == "json" {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(reports); err != nil {
					return err
				}
			} else {
				for _, r := range reports {
					if r.Empty() {
						continue
					}
					if err := r.WriteText(w, max); err != nil {
						return err
					}
					fmt.Fprintln(w)
				}
				fmt.Fprintf(w, "%d of %d campaigns changed\n", changed, len(reports))
			}
			if results != "" {
				if err := diffResults(cmd, results, newFiles); err != nil {
					return err
				}
			}
			if changed > 0 {
				return exitError{exitFail}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "generated", "generated", "the committed output folder to compare with")
	f.StringVar(&against, "against", "", "compare with the campaigns at a git revision, as git:REF")
	f.StringSliceVar(&names, "campaign", nil, "diff only these campaigns (default: all)")
	f.StringVarP(&output, "output", "o", "text", "text or json")
	f.IntVar(&max, "max", 20, "entries shown per section in text output")
	f.StringVar(&results, "results", "", "also say how many of each campaign's configs already have results in this store `URL`")
	f.StringVar(&opt.Catalog, "catalog", "", "catalog directory (default: catalog/ of the CUE module, else the built-in catalog)")
	f.BoolVar(&live, "live", false, "compare with the live objects in the cluster through a server-side dry-run apply, as kubectl diff --server-side does")
	kf.add(f)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return err })
	return cmd
}

// oldSide returns the files each campaign had before: the committed generated/
// folders, or the campaigns compiled from a git revision. Hand edits in generated/
// are reported as warnings and compared as they are.
func oldSide(cmd *cobra.Command, against, out string, args []string, opt campaign.Options, names []string, all bool) (map[string]map[string][]byte, []string, error) {
	old := map[string]map[string][]byte{}
	if against == "" {
		entries, err := os.ReadDir(out)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, nil, err
		}
		var warnings []string
		for _, e := range entries {
			if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || !all && !contains(names, e.Name()) {
				continue
			}
			files, err := generated.Read(filepath.Join(out, e.Name()))
			if errors.Is(err, generated.ErrEdited) {
				warnings = append(warnings, err.Error()+"; comparing with the edited files")
			} else if err != nil {
				return nil, nil, err
			}
			old[e.Name()] = files
		}
		return old, warnings, nil
	}
	ref, ok := strings.CutPrefix(against, "git:")
	if !ok || ref == "" {
		return nil, nil, fmt.Errorf("--against takes git:REF, not %q", against)
	}
	dir, err := checkout(ref)
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	paths := args
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
	set, err := campaign.Load(cuecontext.New(), moved, opt)
	if err != nil {
		return nil, nil, fmt.Errorf("the campaigns at %s do not load:\n%w", ref, err)
	}
	for _, n := range keys(set.Campaigns) {
		if !all && !contains(names, n) {
			continue
		}
		files, _, err := generated.Files(set, set.Campaigns[n], generated.Options{SkipValidation: true})
		if err != nil {
			return nil, nil, fmt.Errorf("at %s: %w", ref, err)
		}
		old[n] = files
	}
	return old, nil, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkout writes the CUE inputs of the repository at ref into a temporary
// folder, through git archive, so that the old campaigns can be compiled.
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
	tr := tar.NewReader(pipe)
	var terr error
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			terr = err
			break
		}
		if h.Typeflag != tar.TypeReg || strings.Contains(h.Name, "..") {
			continue
		}
		path := filepath.Join(dir, filepath.FromSlash(h.Name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			terr = err
			break
		}
		b, err := io.ReadAll(tr)
		if err == nil {
			err = os.WriteFile(path, b, 0o644)
		}
		if err != nil {
			terr = err
			break
		}
	}
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

// diffResults says, per campaign, how many of its compiled configs already have
// results in the store, and how many have none yet.
func diffResults(cmd *cobra.Command, url string, files map[string]map[string][]byte) error {
	st, err := openStore(cmd, url)
	if err != nil {
		return err
	}
	defer st.Close()
	stored, err := st.Results(cmd.Context(), store.Filter{})
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(stored))
	for _, r := range stored {
		have[r.Fingerprint] = true
	}
	for _, name := range keys(files) {
		m := files[name]["matrix.jsonl"]
		total, done := 0, 0
		for _, line := range bytes.Split(m, []byte("\n")) {
			var cfg struct {
				Fingerprint string `json:"fingerprint"`
			}
			if len(bytes.TrimSpace(line)) == 0 || json.Unmarshal(line, &cfg) != nil || cfg.Fingerprint == "" {
				continue
			}
			total++
			if have[cfg.Fingerprint] {
				done++
			}
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s: %d of %d configs already have results in %s; %d have none\n", name, done, total, redact(url), total-done)
	}
	return nil
}
