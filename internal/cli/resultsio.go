package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/benchfmt"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
)

func newResultsImport(inv *invocation) *cobra.Command {
	var campaignName string
	cmd := &cobra.Command{
		Use:   "import FILE...",
		Short: "Import vLLM bench serve or GenAI-Perf result files into the store",
		Long: `import reads vLLM "bench serve" result JSON (--save-result) and GenAI-Perf
profile_export_genai_perf.json files, and stores each result as a run of its own
(campaign "imported" unless --campaign says otherwise). The figures keep the
source's definitions; where they differ from llmsweep's, import says so.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, _, err := inv.openStore(cmd.Context(), nil)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, path := range args {
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				all, err := benchfmt.Parse(path, b)
				if err != nil {
					return err
				}
				sum := sha256.Sum256(b)
				for i, im := range all {
					id, err := importResult(cmd, st, campaignName, path, hex.EncodeToString(sum[:]), i, im)
					if err != nil {
						return fmt.Errorf("%s: %w", path, err)
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s result of %s stored as run %s (%d requests)\n",
						path, im.Format, im.Source.Model, id, im.Summary.Requests)
					for _, n := range im.Notes {
						fmt.Fprintf(cmd.OutOrStdout(), "  note: %s\n", n)
					}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&campaignName, "campaign", "imported", "the campaign the imported runs belong to")
	return cmd
}

// importResult stores one imported result as a finished run of one config.
// Importing the same file again stores nothing new.
func importResult(cmd *cobra.Command, st store.Store, campaignName, path, fileSum string, i int, im *benchfmt.Imported) (string, error) {
	ctx := cmd.Context()
	cfg := matrix.Config{Model: im.Source.Model, Framework: im.Source.Backend, Workload: "imported:" + string(im.Format),
		Concurrency: im.Source.Concurrency}
	if r := im.Source.RequestRate; r > 0 && !math.IsInf(r, 0) {
		cfg.RequestRate = r
	}
	key, _ := json.Marshal(struct {
		matrix.Config
		File  string `json:"file"`
		Index int    `json:"index"`
	}{cfg, fileSum, i})
	fp := sha256.Sum256(key)
	cfg.Fingerprint = hex.EncodeToString(fp[:])
	id := fmt.Sprintf("import-%s-%d", fileSum[:12], i)
	started := im.Source.Time
	if started.IsZero() {
		started = time.Now()
	}
	run, err := st.CreateRun(ctx, result.Run{ID: id, Campaign: campaignName, MatrixHash: fileSum, Configs: 1, Started: started})
	if err != nil {
		return "", err
	}
	if err := st.PutResult(ctx, result.Result{Run: run.ID, Fingerprint: cfg.Fingerprint, Attempts: 1, Config: cfg, Summary: im.Summary,
		Provenance: result.Provenance{Kind: result.Imported, Tool: im.Source.Tool},
		ServedBy:   "imported from " + filepath.Base(path), Finished: started}); err != nil {
		return "", err
	}
	return run.ID, st.FinishRun(ctx, run.ID, started)
}

func newResultsExport(inv *invocation) *cobra.Command {
	var format, runID, fingerprint, out string
	cmd := &cobra.Command{
		Use:   "export --format vllm --run RUN --config FINGERPRINT",
		Short: "Export a stored result in another tool's format",
		Long: `export writes one config's result of one run as vLLM "bench serve" result JSON,
with the per-request arrays when the store has every request's record.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "vllm" {
				return fmt.Errorf("--format must be vllm, not %q", format)
			}
			if runID == "" || fingerprint == "" {
				return errors.New("export needs --run and --config (see llmsweep results -o json)")
			}
			st, _, err := inv.openStore(cmd.Context(), nil)
			if err != nil {
				return err
			}
			defer st.Close()
			ctx := cmd.Context()
			rs, err := st.Results(ctx, store.Filter{RunID: runID})
			if err != nil {
				return err
			}
			var res *result.Result
			for i := range rs {
				if strings.HasPrefix(rs[i].Fingerprint, fingerprint) {
					if res != nil {
						return fmt.Errorf("config %q is ambiguous in run %s: give more of the fingerprint", fingerprint, runID)
					}
					res = &rs[i]
				}
			}
			if res == nil {
				return fmt.Errorf("run %s has no result of config %q", runID, fingerprint)
			}
			cfg, sum := res.Config, res.Summary
			recs, err := st.Records(ctx, runID, res.Fingerprint)
			if err != nil {
				return err
			}
			var reqs []benchfmt.Request
			if len(recs) == sum.Requests {
				var first int64
				for _, r := range recs {
					if first == 0 || r.GetStartNs() < first {
						first = r.GetStartNs()
					}
				}
				for _, r := range recs {
					q := benchfmt.Request{InputTokens: int64(r.GetPromptTokens()), OutputTokens: int64(r.GetOutputTokens()),
						E2Ems: float64(r.GetEndNs()-r.GetStartNs()) / 1e6, StartS: float64(r.GetStartNs()-first) / 1e9,
						Error: r.GetError(), Failed: r.GetErrorClass() != ""}
					if q.Failed && q.Error == "" {
						q.Error = r.GetErrorClass()
					}
					if r.GetFirstTokenNs() > 0 {
						q.TTFTms = float64(r.GetFirstTokenNs()-r.GetStartNs()) / 1e6
					}
					for _, g := range r.GetItlNs() {
						q.ITLms = append(q.ITLms, float64(g)/1e6)
					}
					if q.Failed {
						q.OutputTokens = 0
					}
					reqs = append(reqs, q)
				}
			}
			meta := benchfmt.ExportMeta{Model: cfg.Model, Backend: "openai", Date: res.Finished, NumPrompts: sum.Requests,
				RequestRate: cfg.RequestRate, MaxConcurrency: cfg.Concurrency, Label: "llmsweep " + runID}
			w := cmd.OutOrStdout()
			if out != "" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			return benchfmt.ExportVLLM(w, meta, sum, reqs...)
		},
	}
	cmd.Flags().StringVar(&format, "format", "vllm", "the format to write: vllm")
	cmd.Flags().StringVar(&runID, "run", "", "the run")
	cmd.Flags().StringVar(&fingerprint, "config", "", "the config's fingerprint, or a unique prefix of it")
	cmd.Flags().StringVarP(&out, "out", "O", "", "write to this `file` instead of standard output")
	return cmd
}
