package result

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/llmsweep/llmsweep/internal/metrics"
)

// columns are the metrics the table and the CSV show.
var columns = []struct {
	head, csv string
	format    string
	get       func(*metrics.Summary) metrics.Value
}{
	{"TTFT P50", "ttft_p50_ms", "%.1f", func(s *metrics.Summary) metrics.Value { return s.TTFT.P50 }},
	{"TTFT P99", "ttft_p99_ms", "%.1f", func(s *metrics.Summary) metrics.Value { return s.TTFT.P99 }},
	{"TPOT P50", "tpot_p50_ms", "%.2f", func(s *metrics.Summary) metrics.Value { return s.TPOT.P50 }},
	{"TPOT P99", "tpot_p99_ms", "%.2f", func(s *metrics.Summary) metrics.Value { return s.TPOT.P99 }},
	{"ITL P50", "itl_p50_ms", "%.2f", func(s *metrics.Summary) metrics.Value { return s.ITL.P50 }},
	{"E2E P99", "e2e_p99_ms", "%.1f", func(s *metrics.Summary) metrics.Value { return s.E2E.P99 }},
	{"OUT tok/s", "output_throughput", "%.1f", func(s *metrics.Summary) metrics.Value { return s.OutputThroughput }},
	{"req/s", "request_throughput", "%.2f", func(s *metrics.Summary) metrics.Value { return s.RequestThroughput }},
	{"GOODPUT", "goodput", "%.2f", func(s *metrics.Summary) metrics.Value { return s.Goodput }},
}

// WriteTable writes results as a table for people, one line each (latencies
// in ms), with a note under it when some were not measured by llmsweep on
// their configs' own servers. A metric not measured is "–".
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "RUN\tCONFIG\tMODEL\tHARDWARE\tFRAMEWORK\tQUANT\tWORKLOAD\tLOAD\tOK\tFAIL")
	for _, c := range columns {
		fmt.Fprint(tw, "\t"+c.head)
	}
	fmt.Fprintln(tw, "\tACCURACY\tUTILIZATION\tSOURCE")
	marked := false
	for i := range results {
		r := &results[i]
		c, s := &r.Config, &r.Summary
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s %s\t%s\t%s\t%s\t%d\t%d", r.Run, short(r.Fingerprint), c.Model, c.Hardware, c.Framework,
			c.Version, c.Quantization, c.Workload, r.Load(), s.Succeeded, s.Failed)
		for _, col := range columns {
			fmt.Fprintf(tw, "\t"+col.format, col.get(s))
		}
		acc := "–"
		if a := r.Accuracy; a != nil && a.Samples > 0 {
			acc = fmt.Sprintf("%.0f%% of %d", 100*a.Accuracy, a.Samples)
		}
		fmt.Fprintf(tw, "\t%s\t%s\t%s\n", acc, r.Utilization, r.Source())
		marked = marked || r.Provenance.Kind != Measured || r.Engine != ""
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if marked {
		fmt.Fprintln(w, "SOURCE says how a result was made: predicted ones were not measured (the sim engine emulated their "+
			"frameworks and GPUs from a performance model), imported ones were measured by another tool, and @ENGINE ones were "+
			"served by that engine, not by the framework and hardware named: each is kept apart from the configs' own measurements.")
	}
	return nil
}

// Source is the result's provenance, and the engine that served it when it
// was not its config's own: "measured", "predicted by llmsweep-sim 1 @sim".
func (r *Result) Source() string {
	if r.Engine != "" {
		return r.Provenance.String() + " @" + r.Engine
	}
	return r.Provenance.String()
}

func short(fp string) string { return fp[:min(12, len(fp))] }

// WriteCSV writes results as CSV, one row each; a metric not measured is an
// empty cell.
func WriteCSV(w io.Writer, results []Result) error {
	cw := csv.NewWriter(w)
	head := []string{"run", "fingerprint", "model", "hardware", "framework", "version", "quantization", "workload",
		"concurrency", "request_rate", "engine", "provenance", "requests", "succeeded", "failed"}
	for _, c := range columns {
		head = append(head, c.csv)
	}
	cw.Write(append(head, "accuracy", "gpu_util_mean_pct", "gpu_mem_peak_bytes", "cpu_mean_pct", "rss_peak_bytes", "served_by"))
	cell := func(v metrics.Value) string {
		if x, ok := v.Get(); ok {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
		return ""
	}
	for i := range results {
		r := &results[i]
		c, s := &r.Config, &r.Summary
		row := []string{r.Run, r.Fingerprint, c.Model, c.Hardware, c.Framework, c.Version, c.Quantization, c.Workload,
			strconv.Itoa(c.Concurrency), strconv.FormatFloat(c.RequestRate, 'g', -1, 64), r.Engine, r.Provenance.String(),
			strconv.Itoa(s.Requests), strconv.Itoa(s.Succeeded), strconv.Itoa(s.Failed)}
		for _, col := range columns {
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
