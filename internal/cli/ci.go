package cli

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/prcomment"
)

func newCI() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ci",
		Short: "Helpers for the shipped CI integrations (ci/github, ci/gitlab)",
	}
	cmd.AddCommand(newCIComment(), newCIChanged())
	return cmd
}

func newCIComment() *cobra.Command {
	var inv invocation
	var in prcomment.Input
	var diffFile, planFile, liveFile string
	var steps []string
	cmd := &cobra.Command{
		Use:   "comment",
		Short: "Write the pull request comment's Markdown from diff -o json and plan -o json",
		Long: `comment writes the body of the comment that ci/run.sh posts on a pull or merge
request: each step's outcome (with its output when it failed), a table per changed
campaign (configs added, removed, changed and moved; GPU-hours and dollars at spot
and on-demand prices; budget), the semantic diff and the manifest diff, folded.
The first line is a hidden marker that the posting scripts use to update the
comment in place.

--step NAME=CODE[:FILE] records a step's exit code, and the file holding what it
printed; NAME=skip records a step that did not run. Steps are listed in order.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, s := range steps {
				st, err := parseStep(s)
				if err != nil {
					return err
				}
				in.Steps = append(in.Steps, st)
			}
			var err error
			if diffFile != "" {
				if in.Diffs, err = prcomment.ReadDiff(diffFile); err != nil {
					return err
				}
			}
			if planFile != "" {
				if in.Plans, err = prcomment.ReadPlan(planFile); err != nil {
					return err
				}
			}
			if liveFile != "" {
				b, err := os.ReadFile(liveFile)
				if err != nil {
					return err
				}
				in.Live, in.LiveRan = string(b), true
			}
			return prcomment.Write(cmd.OutOrStdout(), in)
		},
	}
	f := cmd.Flags()
	// The comment is Markdown, the one format the posting scripts take.
	inv.addOutput(cmd, "markdown")
	f.StringVar(&diffFile, "diff", "", "the output of `llmsweep diff -o json`")
	f.StringVar(&planFile, "plan", "", "the output of `llmsweep plan -o json` for the changed campaigns")
	f.StringVar(&liveFile, "live", "", "the output of `llmsweep diff --live`, when it ran")
	f.StringArrayVar(&steps, "step", nil, "a step's outcome as NAME=CODE[:FILE] or NAME=skip (repeatable, in order)")
	f.StringVar(&in.Base, "base", "", "the revision the diff compares with, as shown to the reader")
	f.BoolVar(&in.BudgetAllowed, "budget-allowed", false, "a label allows an over-budget plan")
	f.StringVar(&in.Marker, "marker", prcomment.Marker, "the hidden first line that finds the comment to update")
	return cmd
}

// parseStep reads NAME=CODE[:FILE] or NAME=skip.
func parseStep(s string) (prcomment.Step, error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return prcomment.Step{}, fmt.Errorf("--step %q: want NAME=CODE[:FILE] or NAME=skip", s)
	}
	if rest == "skip" {
		return prcomment.Step{Name: name, Skipped: true}, nil
	}
	codeText, file, _ := strings.Cut(rest, ":")
	code, err := strconv.Atoi(codeText)
	if err != nil || code < 0 {
		return prcomment.Step{}, fmt.Errorf("--step %q: the exit code %q is not a number", s, codeText)
	}
	st := prcomment.Step{Name: name, Code: code}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return prcomment.Step{}, fmt.Errorf("--step %s: %w", name, err)
		}
		st.Output = string(b)
	}
	return st, nil
}

func newCIChanged() *cobra.Command {
	var inv invocation
	cmd := &cobra.Command{
		Use:   "changed DIFF.json",
		Short: "Print the changed campaigns of a diff -o json file that still exist, comma-separated",
		Long: `changed prints the names of the campaigns that a diff -o json file reports
changes for and that still exist (the ones plan can predict), comma-separated on
one line (the form --campaign takes), or nothing; -o json writes them as a
JSON array.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reports, err := prcomment.ReadDiff(args[0])
			if err != nil {
				return err
			}
			names := prcomment.Changed(reports, true)
			if inv.output == "json" {
				if names == nil {
					names = []string{}
				}
				return writeJSON(cmd.OutOrStdout(), names)
			}
			if len(names) > 0 {
				fmt.Fprintln(cmd.OutOrStdout(), strings.Join(names, ","))
			}
			return nil
		},
	}
	inv.addOutput(cmd, "text", "json")
	return cmd
}
