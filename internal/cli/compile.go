package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/generated"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/pipeline"
)

func newCompile() *cobra.Command {
	var inv invocation
	var out, image, model, hash string
	var explain, force, verify, overBudget bool
	cmd := &cobra.Command{
		Use:   "compile [paths...]",
		Short: "Expand campaigns into configs and Argo Workflows manifests under generated/",
		Long: `compile expands each campaign into its configs, prunes those that cannot run,
fingerprints and batches the rest, and writes generated/<campaign>/: workflow.yaml,
configmap.yaml, matrix.jsonl and summary.json. The manifests are checked with Argo's
own validator. Output is byte-identical for the same input.

A campaign that plan predicts over its budget is refused (exit 1) unless
--allow-over-budget is given; then summary.json records the overrun, and apply
refuses the folder unless it is given --allow-over-budget too.

With --verify (the matrix step of the workflow), compile re-derives one model's
matrix from a bundle and checks it against --matrix-hash instead of writing.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if verify {
				return verifyBundle(cmd.OutOrStdout(), inv.bundle, model, hash)
			}
			set, cs, err := inv.campaigns(cmd, args)
			if err != nil {
				return err
			}
			examples := 0
			if explain {
				examples = 3
			}
			w := cmd.OutOrStdout()
			type written struct {
				Dir     string         `json:"dir"`
				Summary matrix.Summary `json:"summary"`
			}
			var done []written
			failed := 0
			// A campaign that fails does not stop the others; the exit code says.
			fail := func(err error) {
				failed++
				fmt.Fprintf(diag(cmd, slog.LevelWarn), "llmsweep: %v\n", err)
			}
			// Campaigns compile and write concurrently (catalog-wide alone is
			// most of the time); what they print follows in order. A folder
			// edited by hand is refused before its campaign is compiled.
			type compiled struct {
				res *matrix.Result
				err error
			}
			outs := make([]compiled, len(cs))
			var g errgroup.Group
			g.SetLimit(runtime.GOMAXPROCS(0))
			for i, c := range cs {
				g.Go(func() error {
					o := &outs[i]
					dir := filepath.Join(out, c.Name)
					if _, err := generated.Read(dir); errors.Is(err, generated.ErrEdited) && !force {
						o.err = fmt.Errorf("%v\nrefusing to overwrite a hand edit: undo it, or pass --force", err)
						return nil
					}
					var files map[string][]byte
					files, o.res, o.err = generated.Files(set, c, generated.Options{Image: image, Examples: examples, Budget: !overBudget})
					if o.err == nil {
						o.err = generated.Write(dir, files)
					}
					o.err = budgetHint(o.err, "compile")
					return nil // each campaign's error is its own
				})
			}
			g.Wait()
			for i, c := range cs {
				dir := filepath.Join(out, c.Name)
				res, err := outs[i].res, outs[i].err
				if explain && res != nil {
					printExplain(w, res)
				}
				if err != nil {
					fail(err)
					continue
				}
				s := res.Summary
				if inv.output == "json" {
					done = append(done, written{dir, s})
					continue
				}
				fmt.Fprintf(w, "%s: %d configs in %d batches (%d groups), %d pruned → %s\n",
					c.Name, s.Configs, s.Batches, s.Groups, s.Expanded-s.Configs, dir)
			}
			if inv.output == "json" {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(done); err != nil {
					return err
				}
			}
			if failed > 0 {
				return exitError{exitFail}
			}
			return nil
		},
	}
	f := cmd.Flags()
	inv.addOutput(cmd, "table", "json")
	f.StringVar(&out, "out", "generated", "output folder")
	f.BoolVar(&explain, "explain", false, "count pruned configs by reason, with examples")
	f.BoolVar(&force, "force", false, "overwrite a generated folder that was edited by hand")
	f.BoolVar(&overBudget, "allow-over-budget", false, allowOverBudgetHelp)
	f.StringVar(&image, "image", generated.DefaultImage, "llmsweep image for the workflow steps")
	inv.addCatalog(cmd)
	inv.addCampaign(cmd, true)
	inv.addBundle(cmd)
	f.BoolVar(&verify, "verify", false, "verify a model's matrix from --bundle against --matrix-hash")
	f.StringVar(&model, "model", "", "model to verify, with --verify")
	f.StringVar(&hash, "matrix-hash", "", "expected sha256 of the model's matrix lines, with --verify")
	return cmd
}

const allowOverBudgetHelp = "go ahead with a campaign that plan predicts over its budget"

// budgetHint adds to an over-budget error the flag that lets the command go
// ahead; other errors pass unchanged.
func budgetHint(err error, command string) error {
	var ob *generated.OverBudgetError
	if errors.As(err, &ob) {
		return fmt.Errorf("%w\n%s refuses it: lower the grid or raise the budget, or pass --allow-over-budget", err, command)
	}
	return err
}

func printExplain(w io.Writer, res *matrix.Result) {
	e := res.Explain
	fmt.Fprintf(w, "%s: %d of %d configs pruned\n", res.Summary.Campaign, res.Summary.Expanded-res.Summary.Configs, res.Summary.Expanded)
	for _, r := range e.Reasons() {
		fmt.Fprintf(w, "  %-15s %7d\n", r, e.Counts[r])
		for _, p := range e.Samples[r] {
			c := p.Config
			load := fmt.Sprintf("concurrency %d", c.Concurrency)
			if c.RequestRate != 0 {
				load = fmt.Sprintf("rate %g/s", c.RequestRate)
			}
			fmt.Fprintf(w, "      e.g. %s on %s, %s %s, %s, %s, %s: %s\n", c.Model, c.Hardware, c.Framework, c.Version, c.Quantization, c.Workload, load, p.Detail)
		}
	}
}

func verifyBundle(w io.Writer, path, model, hash string) error {
	if path == "" || model == "" || hash == "" {
		return errors.New("--verify needs --bundle, --model and --matrix-hash")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	set, c, err := campaign.ReadBundle(b)
	if err != nil {
		return err
	}
	m, err := pipeline.Compile(set, c, model)
	if err != nil {
		return err
	}
	if m.Hash != hash {
		fmt.Fprintf(w, "matrix hash mismatch for %s: compiled %s, manifest says %s; the llmsweep image and the compiler that wrote the manifests differ\n", model, m.Hash, hash)
		return exitError{exitFail}
	}
	fmt.Fprintf(w, "%s: %d configs, matrix hash %s verified\n", model, m.Summary.Configs, hash)
	return nil
}
