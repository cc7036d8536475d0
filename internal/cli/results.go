package cli

import (
	"encoding/json"
	"io"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/result"
)

func newResults() *cobra.Command {
	var inv invocation
	var ff filterFlags
	var newest bool
	cmd := &cobra.Command{
		Use:   "results",
		Short: "Query the results store",
		Long: `results lists the stored per-config results, oldest first, filtered by
campaign, run, model, hardware, framework, quantization, workload and
provenance, as a table, JSON (each result whole: config, summary, accuracy,
utilization, provenance) or CSV. --newest keeps each config's newest result.
Metrics that were not measured are "–" in the table, empty in CSV and absent
in JSON.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs, err := ff.filters()
			if err != nil {
				return err
			}
			st, _, err := inv.readStore(cmd.Context(), nil)
			if err != nil {
				return err
			}
			defer st.Close()
			var results []result.Result
			for _, f := range fs {
				if err := checkFilter(cmd.Context(), st, &f); err != nil {
					return err
				}
				f.Newest = newest
				rs, err := st.Results(cmd.Context(), f)
				if err != nil {
					return err
				}
				results = append(results, rs...)
			}
			return writeResults(cmd.OutOrStdout(), inv.output, results)
		},
	}
	inv.addStore(cmd)
	inv.addOutput(cmd, "table", "json", "csv")
	ff.add(cmd, true)
	cmd.Flags().BoolVar(&newest, "newest", false, "only each config's newest result")
	cmd.AddCommand(newResultsImport(&inv), newResultsExport(&inv))
	return cmd
}

func writeResults(w io.Writer, output string, results []result.Result) error {
	switch output {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	case "csv":
		return result.WriteCSV(w, results)
	}
	return result.WriteTable(w, results)
}
