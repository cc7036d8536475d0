package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/report"
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
			f, err := ff.filter()
			if err != nil {
				return err
			}
			f.Newest = newest
			st, _, err := inv.openStore(cmd.Context(), nil)
			if err != nil {
				return err
			}
			defer st.Close()
			results, err := st.Results(cmd.Context(), f)
			if err != nil {
				return err
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

// resultColumns are the table's and the CSV's metric columns.
var resultColumns = []struct {
	name string
	get  func(*metrics.Summary) metrics.Value
}{
	{"ttft_p50_ms", func(s *metrics.Summary) metrics.Value { return s.TTFT.P50 }},
	{"ttft_p99_ms", func(s *metrics.Summary) metrics.Value { return s.TTFT.P99 }},
	{"tpot_p50_ms", func(s *metrics.Summary) metrics.Value { return s.TPOT.P50 }},
	{"tpot_p99_ms", func(s *metrics.Summary) metrics.Value { return s.TPOT.P99 }},
	{"itl_p50_ms", func(s *metrics.Summary) metrics.Value { return s.ITL.P50 }},
	{"e2e_p99_ms", func(s *metrics.Summary) metrics.Value { return s.E2E.P99 }},
	{"output_throughput", func(s *metrics.Summary) metrics.Value { return s.OutputThroughput }},
	{"request_throughput", func(s *metrics.Summary) metrics.Value { return s.RequestThroughput }},
	{"goodput", func(s *metrics.Summary) metrics.Value { return s.Goodput }},
}

func writeResults(w io.Writer, output string, results []result.Result) error {
	switch output {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	case "csv":
		cw := csv.NewWriter(w)
		head := []string{"run", "fingerprint", "model", "hardware", "framework", "version", "quantization", "workload",
			"concurrency", "request_rate", "engine", "provenance", "requests", "succeeded", "failed"}
		for _, c := range resultColumns {
			head = append(head, c.name)
		}
		cw.Write(append(head, "accuracy", "gpu_util_mean_pct", "gpu_mem_peak_bytes", "cpu_mean_pct", "rss_peak_bytes", "served_by"))
		cell := func(v metrics.Value) string {
			if x, ok := v.Get(); ok {
				return strconv.FormatFloat(x, 'g', -1, 64)
			}
			return ""
		}
		for _, r := range results {
			c, s := r.Config, &r.Summary
			row := []string{r.Run, r.Fingerprint, c.Model, c.Hardware, c.Framework, c.Version, c.Quantization, c.Workload,
				strconv.Itoa(c.Concurrency), strconv.FormatFloat(c.RequestRate, 'g', -1, 64), r.Engine, r.Provenance.String(),
				strconv.Itoa(s.Requests), strconv.Itoa(s.Succeeded), strconv.Itoa(s.Failed)}
			for _, col := range resultColumns {
				row = append(row, cell(col.get(s)))
			}
			var acc metrics.Value
			if r.Accuracy != nil && r.Accuracy.Samples > 0 {
				acc = metrics.Of(r.Accuracy.Accuracy)
			}
			var u [4]metrics.Value
			if x := r.Utilization; x != nil {
				u = [4]metrics.Value{x.GPUUtilMean, x.MemUsedPeakBytes, x.CPUMeanPct, x.RSSPeakBytes}
			}
			cw.Write(append(row, cell(acc), cell(u[0]), cell(u[1]), cell(u[2]), cell(u[3]), r.ServedBy))
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tCONFIG\tMODEL\tHARDWARE\tFRAMEWORK\tQUANT\tWORKLOAD\tLOAD\tOK\tFAIL\tTTFT P50\tTTFT P99\tTPOT P50\tE2E P99\tOUT tok/s\tGOODPUT\tUTILIZATION\tSOURCE")
	marked := false
	for _, r := range results {
		c, s := r.Config, &r.Summary
		source := r.Provenance.String()
		if r.Engine != "" {
			source += " @" + r.Engine
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s %s\t%s\t%s\t%s\t%d\t%d\t%.1f\t%.1f\t%.2f\t%.1f\t%.1f\t%.2f\t%s\t%s\n",
			r.Run, r.Fingerprint[:min(12, len(r.Fingerprint))], c.Model, c.Hardware, c.Framework, c.Version, c.Quantization, c.Workload,
			matrix.Load(c.Concurrency, c.RequestRate), s.Succeeded, s.Failed, s.TTFT.P50, s.TTFT.P99, s.TPOT.P50, s.E2E.P99,
			s.OutputThroughput, s.Goodput, report.Utilization(r.Utilization), source)
		marked = marked || r.Provenance.Kind != result.Measured || r.Engine != ""
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if marked {
		fmt.Fprintln(w, "SOURCE says how a result was made: predicted rows were not measured (the sim engine emulated their frameworks and GPUs), imported ones were measured by another tool, and @ENGINE rows were served by that engine, not by the framework and hardware named.")
	}
	return nil
}
