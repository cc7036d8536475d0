package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/candidates"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/runner"
	"github.com/llmsweep/llmsweep/internal/store"
)

// resultRowOut is one stored result as results prints it.
type resultRowOut struct {
	Run          string   `json:"run"`
	Fingerprint  string   `json:"fingerprint"`
	Model        string   `json:"model"`
	Hardware     string   `json:"hardware"`
	Framework    string   `json:"framework"`
	Version      string   `json:"version"`
	Quantization string   `json:"quantization"`
	Workload     string   `json:"workload"`
	Concurrency  int      `json:"concurrency,omitempty"`
	RequestRate  float64  `json:"request_rate,omitempty"`
	Requests     int      `json:"requests"`
	Succeeded    int      `json:"succeeded"`
	Failed       int      `json:"failed"`
	TTFTP50      float64  `json:"ttft_p50_ms"`
	TTFTP99      float64  `json:"ttft_p99_ms"`
	TPOTP50      float64  `json:"tpot_p50_ms"`
	TPOTP99      float64  `json:"tpot_p99_ms"`
	ITLP50       float64  `json:"itl_p50_ms"`
	E2EP99       float64  `json:"e2e_p99_ms"`
	OutputTPS    float64  `json:"output_throughput"`
	RequestTPS   float64  `json:"request_throughput"`
	Goodput      float64  `json:"goodput"`
	Accuracy     *float64 `json:"accuracy,omitempty"`
	ServedBy     string   `json:"served_by"`
	// Source is measured, predicted (the sim engine) or imported.
	Source string `json:"source"`
}

// resultSource says where a result's numbers come from, by what served it.
func resultSource(servedBy string) string {
	switch {
	case strings.HasPrefix(servedBy, runner.SimEngine+" "), servedBy == runner.SimEngine:
		return "predicted"
	case strings.HasPrefix(servedBy, "imported"):
		return "imported"
	}
	return "measured"
}

func newResults() *cobra.Command {
	var url, output string
	var f store.Filter
	cmd := &cobra.Command{
		Use:   "results",
		Short: "Query the results store",
		Long: `results lists the stored per-config results, newest run first, filtered by
campaign, run, model, hardware, framework, quantization and workload, as a table,
JSON or CSV. The store is --store, else $LLMSWEEP_STORE, else the default SQLite
file .llmsweep/results.db.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" && output != "csv" && output != "rank" {
				return fmt.Errorf("--output must be table, json, csv or rank, not %q", output)
			}
			st, err := openStore(cmd, url)
			if err != nil {
				return err
			}
			defer st.Close()
			results, err := st.Results(cmd.Context(), f)
			if err != nil {
				return err
			}
			rows := make([]resultRowOut, 0, len(results))
			for _, r := range results {
				var cfg matrix.Config
				if err := json.Unmarshal(r.Config, &cfg); err != nil {
					return fmt.Errorf("run %s, config %s: %v", r.RunID, r.Fingerprint, err)
				}
				m := r.Metrics
				rows = append(rows, resultRowOut{Run: r.RunID, Fingerprint: r.Fingerprint, Model: cfg.Model, Hardware: cfg.Hardware,
					Framework: cfg.Framework, Version: cfg.Version, Quantization: cfg.Quantization, Workload: cfg.Workload,
					Concurrency: cfg.Concurrency, RequestRate: cfg.RequestRate, Requests: m.Requests, Succeeded: m.Succeeded,
					Failed: m.Failed, TTFTP50: m.TTFTP50, TTFTP99: m.TTFTP99, TPOTP50: m.TPOTP50, TPOTP99: m.TPOTP99,
					ITLP50: m.ITLP50, E2EP99: m.E2EP99, OutputTPS: m.OutputThroughput, RequestTPS: m.RequestThroughput,
					Goodput: m.Goodput, Accuracy: m.Accuracy, ServedBy: r.ServedBy, Source: resultSource(r.ServedBy)})
			}
			if output == "rank" {
				return writeRankInput(cmd.OutOrStdout(), f.Campaign, results)
			}
			return writeResultRows(cmd.OutOrStdout(), output, rows)
		},
	}
	cmd.PersistentFlags().StringVar(&url, "store", os.Getenv("LLMSWEEP_STORE"), "the results store `URL` (sqlite://FILE or postgres://…)")
	cmd.AddCommand(newResultsImport(&url), newResultsExport(&url))
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table, json, csv, or rank (JSON lines for llmsweep rank --input: each config's newest result)")
	cmd.Flags().StringVar(&f.Campaign, "campaign", "", "only this campaign")
	cmd.Flags().StringVar(&f.RunID, "run", "", "only this run")
	cmd.Flags().StringVar(&f.Model, "model", "", "only this model")
	cmd.Flags().StringVar(&f.Hardware, "hardware", "", "only this hardware")
	cmd.Flags().StringVar(&f.Framework, "framework", "", "only this framework")
	cmd.Flags().StringVar(&f.Quantization, "quantization", "", "only this quantization")
	cmd.Flags().StringVar(&f.Workload, "workload", "", "only this workload")
	return cmd
}

// writeRankInput writes each config's newest result as a line of llmsweep
// rank's input, derived as rank --run derives it from the store.
func writeRankInput(w io.Writer, campaign string, results []store.Result) error {
	var newest []store.Result
	seen := map[string]bool{}
	for i := len(results) - 1; i >= 0; i-- { // results come oldest first
		if r := results[i]; !seen[r.Fingerprint] {
			seen[r.Fingerprint] = true
			newest = append(newest, r)
		}
	}
	slices.Reverse(newest)
	rows, _, err := candidates.FromStore(campaign, newest)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

func writeResultRows(w io.Writer, output string, rows []resultRowOut) error {
	switch output {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{"run", "fingerprint", "model", "hardware", "framework", "version", "quantization", "workload",
			"concurrency", "request_rate", "requests", "succeeded", "failed", "ttft_p50_ms", "ttft_p99_ms", "tpot_p50_ms",
			"tpot_p99_ms", "itl_p50_ms", "e2e_p99_ms", "output_throughput", "request_throughput", "goodput", "accuracy", "served_by", "source"})
		ff := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
		for _, r := range rows {
			acc := ""
			if r.Accuracy != nil {
				acc = ff(*r.Accuracy)
			}
			cw.Write([]string{r.Run, r.Fingerprint, r.Model, r.Hardware, r.Framework, r.Version, r.Quantization, r.Workload,
				strconv.Itoa(r.Concurrency), ff(r.RequestRate), strconv.Itoa(r.Requests), strconv.Itoa(r.Succeeded),
				strconv.Itoa(r.Failed), ff(r.TTFTP50), ff(r.TTFTP99), ff(r.TPOTP50), ff(r.TPOTP99), ff(r.ITLP50), ff(r.E2EP99),
				ff(r.OutputTPS), ff(r.RequestTPS), ff(r.Goodput), acc, r.ServedBy, r.Source})
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tCONFIG\tMODEL\tHARDWARE\tFRAMEWORK\tQUANT\tWORKLOAD\tLOAD\tOK\tFAIL\tTTFT P50\tTTFT P99\tTPOT P50\tE2E P99\tOUT tok/s\tGOODPUT\tSOURCE")
	predicted := false
	for _, r := range rows {
		load := matrix.Load(r.Concurrency, r.RequestRate)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s %s\t%s\t%s\t%s\t%d\t%d\t%.1f\t%.1f\t%.2f\t%.1f\t%.1f\t%.2f\t%s\n",
			r.Run, r.Fingerprint[:12], r.Model, r.Hardware, r.Framework, r.Version, r.Quantization, r.Workload, load,
			r.Succeeded, r.Failed, r.TTFTP50, r.TTFTP99, r.TPOTP50, r.E2EP99, r.OutputTPS, r.Goodput, r.Source)
		predicted = predicted || r.Source == "predicted"
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if predicted {
		fmt.Fprintln(w, "PREDICTED rows were not measured: the sim engine emulated their frameworks and GPUs from a performance model")
	}
	return nil
}
