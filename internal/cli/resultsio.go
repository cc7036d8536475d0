package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/benchfmt"
	"github.com/llmsweep/llmsweep/internal/ingest"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/pipeline"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
)

func newResultsImport(inv *invocation) *cobra.Command {
	var (
		opt      ingest.Options
		config   string
		match    bool
		campaign string
	)
	cmd := &cobra.Command{
		Use:   "import FILE...",
		Short: "Import other tools' result files (vLLM, GenAI-Perf, AIPerf, GuideLLM, inference-perf) into the store",
		Long: `import reads the result files of vLLM "bench serve" (--save-result, and bench sweep's
run and summary files), GenAI-Perf (profile_export_genai_perf.json), AIPerf
(profile_export_aiperf.json and the per-request profile_export.jsonl), GuideLLM
(benchmarks.json or .yaml, one result per benchmark) and inference-perf
(summary_ and stage_N_lifecycle_metrics.json, per_request_lifecycle_metrics.json),
each told by its own keys. Each result is stored as a run of its own (campaign
"imported" unless --campaign says otherwise), its provenance "imported from TOOL".

The figures keep the tool's definitions; import says where they differ from
llmsweep's, and names each figure the file does not carry (it is stored as
absent, never as 0). Per-request values become records, which compare tests.
A result whose every request failed is stored as a failed run with the reason.
A per-request file given with its run's summary file (same tool, same
directory) gives that summary's records.

A file's "backend" is the benchmark client's; the server is --framework and
--server-version (or what the file's metadata says). To compare or rank an
imported result with llmsweep's own, match it to a config:
  --config FINGERPRINT    the config (from the store, or a campaign under campaigns/)
  --campaign C --match    the config of campaign C (campaigns/) with the file's model
                          (catalog name or checkpoint) and load point, narrowed by
                          --framework, --server-version, --hardware, --quantization
A result stored under a config's fingerprint is compared with that config's
measured results by compare, and ranked with them by rank.

Every file is tried; each that fails is named with its error, and import
exits 1 when any failed.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if match && config != "" {
				return errors.New("give --config or --match, not both")
			}
			if match && campaign == "" {
				return errors.New("--match needs --campaign: the campaign whose matrix to find the configs in")
			}
			opt.Campaign = campaign
			st, _, err := inv.openStore(cmd.Context(), nil)
			if err != nil {
				return err
			}
			defer st.Close()
			switch {
			case config != "":
				c, err := findConfig(cmd, inv, st, config, campaign)
				if err != nil {
					return err
				}
				opt.Config = c
			case match:
				inv.names = []string{campaign}
				set, c, err := inv.campaign(cmd, nil)
				if err != nil {
					return err
				}
				compiled, err := pipeline.Compile(set, c, "")
				if err != nil {
					return err
				}
				opt.Match = ingest.Matcher(compiled.Configs, opt)
			}
			outs, errs := ingest.Files(cmd.Context(), st, args, opt)
			if inv.output == "json" {
				if err := writeJSON(cmd.OutOrStdout(), importsOf(outs, errs)); err != nil {
					return err
				}
			} else {
				printImports(cmd.OutOrStdout(), outs)
			}
			for _, e := range errs {
				fmt.Fprintln(diag(cmd, slog.LevelWarn), e)
			}
			if len(errs) > 0 {
				fmt.Fprintf(diag(cmd, slog.LevelWarn), "%d of %d files not imported\n", len(errs), len(args))
				return exitError{exitFail}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&campaign, "campaign", "", "the `campaign` the imported runs belong to (default \"imported\"); with --match, whose configs to match")
	f.StringVar(&opt.Framework, "framework", "", "the server `framework` that served the requests (the files name the client's backend)")
	f.StringVar(&opt.ServerVersion, "server-version", "", "the server framework's `version`")
	f.StringVar(&opt.Model, "model", "", "the `model`, where a file does not name it (AIPerf's per-request file, GuideLLM without one)")
	f.StringVar(&opt.Hardware, "hardware", "", "the `hardware` (a catalog name) the server ran on")
	f.StringVar(&opt.Quantization, "quantization", "", "the `quantization` (a catalog name) the server ran")
	f.StringVar(&config, "config", "", "store every result under this config `fingerprint` (or a unique prefix): from the store, or campaigns/")
	f.BoolVar(&match, "match", false, "find each result's config in --campaign's matrix by model and load point")
	inv.addCatalog(cmd)
	inv.addOutput(cmd, "table", "json")
	return cmd
}

// imports is what results import did, for -o json: each result stored (or
// stored as a failure), and each file that could not be imported.
type imports struct {
	Results []importedResult `json:"results"`
	Errors  []string         `json:"errors"`
}

// importedResult is one result of a file, as the store now has it.
type importedResult struct {
	File  string `json:"file"`
	Index int    `json:"index"`
	// Format is the file's format; Name tells results of one file apart.
	Format      string `json:"format"`
	Name        string `json:"name,omitempty"`
	Run         string `json:"run"`
	Fingerprint string `json:"fingerprint"`
	// Matched says how the config was found: "config" (--config),
	// "campaign" (--match), or "" for a config of the file's own.
	Matched     string   `json:"matched"`
	Label       string   `json:"label"`
	Requests    int      `json:"requests"`
	Records     int      `json:"records"`
	RecordsFrom string   `json:"records_from,omitempty"`
	Missing     []string `json:"missing,omitempty"`
	Notes       []string `json:"notes,omitempty"`
	// Failed is why the result was stored as a failure.
	Failed string `json:"failed,omitempty"`
}

func importsOf(outs []ingest.Outcome, errs []error) imports {
	out := imports{Results: []importedResult{}, Errors: []string{}}
	for _, o := range outs {
		r := importedResult{File: o.File, Index: o.Index, Run: o.Run, Fingerprint: o.Fingerprint, Matched: o.Matched,
			Label: o.Label, Records: o.Records, RecordsFrom: o.RecordsFrom, Failed: o.Failed}
		if im := o.Imported; im != nil {
			r.Format, r.Name, r.Requests, r.Missing, r.Notes = string(im.Format), im.Name, im.Summary.Requests, im.Missing, im.Notes
		}
		out.Results = append(out.Results, r)
	}
	for _, e := range errs {
		out.Errors = append(out.Errors, e.Error())
	}
	return out
}

// printImports says what became of each result.
func printImports(w io.Writer, outs []ingest.Outcome) {
	for _, o := range outs {
		im := o.Imported
		what := string(im.Format) + " result"
		if im.Name != "" {
			what += " " + im.Name
		}
		if o.Failed != "" {
			fmt.Fprintf(w, "%s: %s stored as run %s, FAILED: %s\n", o.File, what, o.Run, o.Failed)
			continue
		}
		counts := fmt.Sprintf("%d requests", im.Summary.Requests)
		if im.Summary.Requests == 0 && containsStr(im.Missing, "requests") {
			counts = "request count not in the file"
		}
		if o.Records > 0 {
			counts += fmt.Sprintf(", %d records", o.Records)
			if o.RecordsFrom != "" {
				counts += " from " + o.RecordsFrom
			}
		}
		fmt.Fprintf(w, "%s: %s stored as run %s (%s)\n", o.File, what, o.Run, counts)
		switch o.Matched {
		case "config":
			fmt.Fprintf(w, "  config %s (given): %s\n", short(o.Fingerprint), o.Label)
		case "campaign":
			fmt.Fprintf(w, "  config %s (matched in the campaign): %s\n", short(o.Fingerprint), o.Label)
		default:
			fmt.Fprintf(w, "  config %s (its own, from the file): %s\n", short(o.Fingerprint), o.Label)
		}
		if len(im.Missing) > 0 {
			fmt.Fprintf(w, "  not in the file: %s\n", strings.Join(im.Missing, ", "))
		}
		for _, n := range im.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
	}
}

func short(fp string) string { return fp[:min(12, len(fp))] }

func containsStr(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// findConfig resolves --config: a config with a result in the store (by its
// whole fingerprint), else the config of the campaigns under campaigns/
// (--campaign narrows which) whose fingerprint starts with fp.
func findConfig(cmd *cobra.Command, inv *invocation, st store.Store, fp, campaign string) (*matrix.Config, error) {
	rs, err := st.Results(cmd.Context(), store.Filter{Fingerprint: fp, Newest: true})
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r.Engine == "" && r.Config.Fingerprint == fp {
			c := r.Config
			return &c, nil
		}
	}
	if campaign != "" {
		inv.names = []string{campaign}
	}
	set, cs, err := inv.campaigns(cmd, nil)
	if err != nil {
		return nil, fmt.Errorf("--config %s is not a config with a result in the store (give the whole fingerprint for one), "+
			"and the campaigns could not be loaded: %w", fp, err)
	}
	var found []matrix.Config
	for _, c := range cs {
		compiled, err := pipeline.Compile(set, c, "")
		if err != nil {
			return nil, err
		}
		for _, cfg := range compiled.Configs {
			if strings.HasPrefix(cfg.Fingerprint, fp) {
				found = append(found, cfg)
			}
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("--config %s: no config of that fingerprint in the store or in the campaigns", fp)
	case 1:
		return &found[0], nil
	}
	return nil, fmt.Errorf("--config %s is ambiguous: %d configs start so; give more of the fingerprint", fp, len(found))
}

func newResultsExport(inv *invocation) *cobra.Command {
	var format, runID, fingerprint, out string
	cmd := &cobra.Command{
		Use:   "export --format vllm|aiperf --run RUN --config FINGERPRINT",
		Short: "Export a stored result in vLLM's or AIPerf's format",
		Long: `export writes one config's result of one run as vLLM "bench serve" result JSON
(with the per-request arrays when the store has every request's record) or as
AIPerf's profile_export_aiperf.json. A figure the result does not have (an
imported file that lacked it) is left out, never written as 0; an imported
result keeps its file's client backend, label and labels.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "vllm" && format != "aiperf" {
				return fmt.Errorf("--format must be vllm or aiperf, not %q", format)
			}
			if runID == "" || fingerprint == "" {
				return errors.New("export needs --run and --config (see llmsweep results -o json)")
			}
			st, _, err := inv.openStore(cmd.Context(), nil)
			if err != nil {
				return err
			}
			defer st.Close()
			res, err := resultOf(cmd.Context(), st, runID, fingerprint)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if out != "" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			meta := benchfmt.MetaOf(res)
			if format == "aiperf" {
				return benchfmt.ExportAIPerf(w, meta, res.Summary)
			}
			recs, err := st.Records(cmd.Context(), runID, res.Fingerprint)
			if err != nil {
				return err
			}
			var reqs []benchfmt.Request
			if len(recs) > 0 && len(recs) == res.Summary.Requests {
				reqs = benchfmt.RequestsOf(recs)
			}
			return benchfmt.ExportVLLM(w, meta, res.Summary, reqs...)
		},
	}
	cmd.Flags().StringVar(&format, "format", "vllm", "the format to write: vllm or aiperf")
	cmd.Flags().StringVar(&runID, "run", "", "the run")
	cmd.Flags().StringVar(&fingerprint, "config", "", "the config's fingerprint, or a unique prefix of it")
	cmd.Flags().StringVarP(&out, "out", "O", "", "write to this `file` instead of standard output")
	// Both formats are JSON; -o says so. Its own invocation: a default set
	// here must not become results' default.
	var o invocation
	o.addOutput(cmd, "json")
	return cmd
}

// resultOf is the result of the config whose fingerprint starts with fp in a run.
func resultOf(ctx context.Context, st store.Store, runID, fp string) (*result.Result, error) {
	rs, err := st.Results(ctx, store.Filter{RunID: runID})
	if err != nil {
		return nil, err
	}
	var res *result.Result
	for i := range rs {
		if strings.HasPrefix(rs[i].Fingerprint, fp) {
			if res != nil {
				return nil, fmt.Errorf("config %q is ambiguous in run %s: give more of the fingerprint", fp, runID)
			}
			res = &rs[i]
		}
	}
	if res == nil {
		return nil, fmt.Errorf("run %s has no result of config %q", runID, fp)
	}
	return res, nil
}
