package cli

import (
	"errors"
	"fmt"
	"log/slog"

	"cuelang.org/go/cue/cuecontext"
	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
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

With no paths it vets campaigns/ in the current directory. A campaign name
(vet quickstart) vets campaigns/, where it is looked up, and fails (exit 2)
when no campaign has that name.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			paths, err := inv.paths(args)
			if err != nil {
				return err
			}
			set, err := campaign.Load(cuecontext.New(), paths, campaign.Options{Catalog: inv.catalog, Impossible: matrix.Impossible})
			var probs campaign.Problems
			if err != nil && !errors.As(err, &probs) {
				return err
			}
			if len(probs) == 0 {
				if err := knownCampaigns(set, inv.names); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			if inv.output == "json" {
				if err := probs.WriteJSON(out); err != nil {
					return err
				}
				if len(probs) > 0 {
					return exitError{exitFail}
				}
				return nil
			}
			if len(probs) > 0 {
				for _, p := range probs {
					fmt.Fprintln(diag(cmd, slog.LevelWarn), p.Error())
				}
				fmt.Fprintf(diag(cmd, slog.LevelWarn), "%d problem%s found\n", len(probs), plural(len(probs)))
				return exitError{exitFail}
			}
			if !quiet {
				set.WriteSummary(out)
			}
			if online {
				bad, err := validateModels(cmd.Context(), cmd, hf.client(), set, set.UsedModels())
				if err != nil {
					return err
				}
				if bad > 0 {
					fmt.Fprintf(diag(cmd, slog.LevelWarn), "%d model%s differ from the Hub\n", bad, plural(bad))
					return exitError{exitFail}
				}
			}
			return nil
		},
	}
	inv.addOutput(cmd, "text", "json")
	inv.addCatalog(cmd)
	inv.addCampaign(cmd, true)
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print nothing when the input is clean")
	cmd.Flags().BoolVar(&online, "online", false, "also check the campaigns' models against the Hugging Face Hub (validate-model)")
	hf.register(cmd)
	return cmd
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func keys[T any](m map[string]T) []string { return campaign.SortedKeys(m) }
