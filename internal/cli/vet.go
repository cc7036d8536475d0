package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"cuelang.org/go/cue/cuecontext"
	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

func newVet() *cobra.Command {
	var inv invocation
	var quiet, online bool
	var hf hubFlags
	cmd := &cobra.Command{
		Use:   "vet [paths...]",
		Short: "Check campaigns, policies and the catalog against the schema and each other",
		Long: `vet loads the given CUE files and directories (recursively) together with the
catalog, unifies them with the schema and checks every cross-reference. It prints
every problem with its file:line:col and field path, and exits 1 if there is any.

With no paths it vets campaigns/ in the current directory.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"campaigns"}
			}
			set, err := campaign.Load(cuecontext.New(), args, campaign.Options{Catalog: inv.catalog})
			var probs campaign.Problems
			if err != nil && !errors.As(err, &probs) {
				return err
			}
			out := cmd.OutOrStdout()
			if inv.output == "json" {
				return writeJSON(out, probs)
			}
			if len(probs) > 0 {
				for _, p := range probs {
					fmt.Fprintln(cmd.ErrOrStderr(), p.Error())
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%d problem%s found\n", len(probs), plural(len(probs)))
				return exitError{exitFail}
			}
			if !quiet {
				summary(out, set)
			}
			if online {
				bad, err := validateModels(cmd.Context(), cmd, hf.client(), onlineModels(set))
				if err != nil {
					return err
				}
				if bad > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "%d model%s differ from the Hub\n", bad, plural(bad))
					return exitError{exitFail}
				}
			}
			return nil
		},
	}
	inv.addOutput(cmd, "text", "json")
	inv.addCatalog(cmd)
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print nothing when the input is clean")
	cmd.Flags().BoolVar(&online, "online", false, "also check the campaigns' models against the Hugging Face Hub (validate-model)")
	hf.register(cmd)
	return cmd
}

// jsonProblem flattens the primary position for CI annotation tools.
type jsonProblem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
	// Positions are every position that contributed, primary first.
	Positions []campaign.Position `json:"positions,omitempty"`
}

func writeJSON(w io.Writer, probs campaign.Problems) error {
	out := struct {
		OK       bool          `json:"ok"`
		Problems []jsonProblem `json:"problems"`
	}{OK: len(probs) == 0, Problems: []jsonProblem{}}
	for _, p := range probs {
		j := jsonProblem{Path: p.Path, Message: p.Message, Positions: p.Positions}
		if len(p.Positions) > 0 {
			j.File, j.Line, j.Column = p.Positions[0].File, p.Positions[0].Line, p.Positions[0].Column
		}
		out.Problems = append(out.Problems, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	if !out.OK {
		return exitError{exitFail}
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// summary shows what was loaded and, per campaign, the size of each dimension.
func summary(w io.Writer, s *campaign.Set) {
	fmt.Fprintf(w, "catalog %s: %d hardware, %d frameworks, %d quantizations, %d workloads, %d models\n",
		s.CatalogDir, len(s.Hardware), len(s.Frameworks), len(s.Quantizations), len(s.Workloads), len(s.Models))
	if len(s.Policies) > 0 {
		fmt.Fprintf(w, "policies: %s\n", strings.Join(keys(s.Policies), ", "))
	}
	if len(s.Campaigns) == 0 {
		fmt.Fprintln(w, "no campaigns")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CAMPAIGN\tMODELS\tHARDWARE\tFRAMEWORKS\tQUANTIZATIONS\tWORKLOADS\tCONFIGS\tSCHEDULE")
	for _, name := range keys(s.Campaigns) {
		c := s.Campaigns[name]
		sel := s.Select(c)
		n, _ := s.Count(c)
		sched := "-"
		if c.Schedule != nil {
			sched = c.Schedule.Cron
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", name, len(sel.Models), len(sel.Hardware),
			len(sel.Frameworks), len(sel.Quantizations), len(sel.Workloads), n, sched)
	}
	tw.Flush()
	fmt.Fprintln(w, "CONFIGS counts supported combinations × grid points, before the memory-fit pruning of compile.")
}

func keys[T any](m map[string]T) []string { return campaign.SortedKeys(m) }
