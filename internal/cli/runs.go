package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
)

func newRuns() *cobra.Command {
	var inv invocation
	var name string
	cmd := &cobra.Command{
		Use:   "runs [--campaign NAME]",
		Short: "List the store's runs, newest first, with how far each got",
		Long: `runs lists the runs in the results store, newest first: each run's id, its
campaign, when it started and finished, its configs planned, those with a
result and those still failed, and the engine that served a local run. A run
id, or latest and latest~N (the newest run of --campaign, and the Nth before
it), is what compare, rank --run, report --run and aggregate --run take.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, _, err := inv.readStore(cmd.Context(), nil)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := checkFilter(cmd.Context(), st, &store.Filter{Campaign: name}); err != nil {
				return err
			}
			runs, err := st.Runs(cmd.Context(), name)
			if err != nil {
				return err
			}
			counts, err := st.RunCounts(cmd.Context(), name)
			if err != nil {
				return err
			}
			slices.Reverse(runs)
			w := cmd.OutOrStdout()
			if inv.output == "json" {
				type row struct {
					result.Run
					store.RunCount
				}
				var rows []row
				for _, r := range runs {
					rows = append(rows, row{r, counts[r.ID]})
				}
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tCAMPAIGN\tSTARTED\tFINISHED\tCONFIGS\tRESULTS\tFAILED\tENGINE")
			for _, r := range runs {
				finished := "unfinished"
				if !r.Finished.IsZero() {
					finished = r.Finished.UTC().Format(time.DateTime)
				}
				c := counts[r.ID]
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", r.ID, r.Campaign, r.Started.UTC().Format(time.DateTime), finished,
					r.Configs, c.Results, c.Failed, orDash(r.Engine))
			}
			return tw.Flush()
		},
	}
	inv.addStore(cmd)
	inv.addOutput(cmd, "table", "json")
	cmd.Flags().StringVar(&name, "campaign", "", "only this `campaign`'s runs")
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// resolveRun turns a run reference into a run id: an id as it is, or latest
// and latest~N, the newest run of campaign (every campaign when empty) and
// the Nth before it.
func resolveRun(ctx context.Context, st store.Store, campaign, ref string) (string, error) {
	rest, ok := strings.CutPrefix(ref, "latest")
	if !ok || (rest != "" && !strings.HasPrefix(rest, "~")) {
		return ref, nil
	}
	back := 0
	if rest != "" {
		n, err := strconv.Atoi(rest[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("run %q: want latest or latest~N, N a whole number", ref)
		}
		back = n
	}
	runs, err := st.Runs(ctx, campaign)
	if err != nil {
		return "", err
	}
	if back >= len(runs) {
		where := "the store"
		if campaign != "" {
			where = "campaign " + campaign
		}
		return "", fmt.Errorf("run %q: %s has %d runs", ref, where, len(runs))
	}
	return runs[len(runs)-1-back].ID, nil
}
