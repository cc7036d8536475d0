package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"cuelang.org/go/cue/cuecontext"
	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/diff"
	"github.com/llmsweep/llmsweep/internal/generated"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/pipeline"
	"github.com/llmsweep/llmsweep/internal/result"
)

func newDiff() *cobra.Command {
	var inv invocation
	var out, against string
	var max int
	var live, results bool
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
			if live {
				return diffLive(cmd, args, &inv, kf)
			}
			set, cs, err := inv.campaigns(cmd, args)
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
			// Campaign files (not folders) name the campaigns to compare: the
			// others in generated/ are not "removed" by leaving them out.
			if len(inv.names) == 0 && slices.ContainsFunc(args, func(a string) bool { return !isDir(a) }) {
				for _, c := range cs {
					inv.names = append(inv.names, c.Name)
				}
			}
			oldFiles, warnings, err := oldSide(against, out, args, &inv)
			if err != nil {
				return err
			}
			for _, w := range warnings {
				fmt.Fprintln(diag(cmd, slog.LevelWarn), "llmsweep: warning:", w)
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
			if inv.output == "json" {
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
			if results {
				if err := diffResults(cmd, &inv, cs, newFiles); err != nil {
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
	inv.addCampaign(cmd, true)
	inv.addOutput(cmd, "text", "json")
	f.IntVar(&max, "max", 20, "entries shown per section in text output")
	f.BoolVar(&results, "results", false, "also say, per campaign, how many configs a run would measure and why, and how many stored results (in --store) would stand in under its reuse policy")
	inv.addStore(cmd)
	inv.addCatalog(cmd)
	f.BoolVar(&live, "live", false, "compare with the live objects in the cluster through a server-side dry-run apply, as kubectl diff --server-side does")
	kf.add(f)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return err })
	return cmd
}

// oldSide returns the files each campaign had before: the committed generated/
// folders, or the campaigns compiled from a git revision. Hand edits in generated/
// are reported as warnings and compared as they are.
func oldSide(against, out string, args []string, inv *invocation) (map[string]map[string][]byte, []string, error) {
	old := map[string]map[string][]byte{}
	all := len(inv.names) == 0
	if against == "" {
		entries, err := os.ReadDir(out)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, nil, err
		}
		var warnings []string
		for _, e := range entries {
			if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || !all && !slices.Contains(inv.names, e.Name()) {
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
	set, err := campaign.LoadAtRef(cuecontext.New(), ref, args, campaign.Options{Catalog: inv.catalog})
	if err != nil {
		return nil, nil, err
	}
	for _, n := range keys(set.Campaigns) {
		if !all && !slices.Contains(inv.names, n) {
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

// diffResults says, per campaign, how many of its compiled configs a run on
// the cluster would measure, and why, under the campaign's reuse policy, and
// how many stored results would stand in. Without the campaign (status), it
// counts the configs that have a stored measurement.
func diffResults(cmd *cobra.Command, inv *invocation, cs []campaign.Campaign, files map[string]map[string][]byte) error {
	st, url, err := inv.openExisting(cmd.Context(), nil)
	if err != nil {
		return err
	}
	if st != nil {
		defer st.Close()
	}
	policies := map[string]campaign.Reuse{}
	for _, c := range cs {
		policies[c.Name] = c.Reuse
	}
	for _, name := range keys(files) {
		configs := matrixConfigs(files[name]["matrix.jsonl"])
		p, known := policies[name]
		if !known {
			p.Scope = campaign.ReuseAny
		}
		r, err := pipeline.Decide(cmd.Context(), st, configs, pipeline.ReuseOptions{Policy: p, Kind: result.Measured})
		if err != nil {
			return err
		}
		if !known {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d of %d configs have measured results in %s\n", name, len(configs)-len(r.Measure), len(configs), redact(url))
			continue
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s: of %d configs, a run on the cluster would have %s (results in %s)\n", name, len(configs), r, redact(url))
	}
	return nil
}

// matrixConfigs are the configs of a compiled matrix.jsonl.
func matrixConfigs(b []byte) []matrix.Config {
	var configs []matrix.Config
	for _, line := range bytes.Split(b, []byte("\n")) {
		var cfg matrix.Config
		if len(bytes.TrimSpace(line)) > 0 && json.Unmarshal(line, &cfg) == nil && cfg.Fingerprint != "" {
			configs = append(configs, cfg)
		}
	}
	return configs
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
