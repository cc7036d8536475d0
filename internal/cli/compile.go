package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"cuelang.org/go/cue/cuecontext"
	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/generated"
	"github.com/llmsweep/llmsweep/internal/matrix"
)

// loadSet loads and vets input as vet does, printing problems; it fails with exit
// code 1 when there are any.
func loadSet(cmd *cobra.Command, args []string, opt campaign.Options) (*campaign.Set, error) {
	if len(args) == 0 {
		args = []string{"campaigns"}
	}
	set, err := campaign.Load(cuecontext.New(), args, opt)
	var probs campaign.Problems
	if errors.As(err, &probs) {
		for _, p := range probs {
			fmt.Fprintln(cmd.ErrOrStderr(), p.Error())
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "%d problem%s found; run llmsweep vet for details\n", len(probs), plural(len(probs)))
		return nil, exitError{exitFail}
	}
	return set, err
}

// loadCampaigns loads input as loadSet does and picks the campaigns named, or all.
func loadCampaigns(cmd *cobra.Command, args []string, opt campaign.Options, names []string) (*campaign.Set, []campaign.Campaign, error) {
	set, err := loadSet(cmd, args, opt)
	if err != nil {
		return nil, nil, err
	}
	cs, err := pickCampaigns(set, names)
	return set, cs, err
}

// checkOutput validates an --output flag.
func checkOutput(output string) error {
	if output != "text" && output != "json" {
		return fmt.Errorf("--output must be text or json, not %q", output)
	}
	return nil
}

// pickCampaigns returns the campaigns to work on: those named, or all, sorted.
func pickCampaigns(set *campaign.Set, names []string) ([]campaign.Campaign, error) {
	all := keys(set.Campaigns)
	if len(names) == 0 {
		names = all
	}
	var out []campaign.Campaign
	for _, n := range names {
		c, ok := set.Campaigns[n]
		if !ok {
			return nil, fmt.Errorf("no campaign %q among %s", n, strings.Join(all, ", "))
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no campaigns to compile")
	}
	return out, nil
}

func newCompile() *cobra.Command {
	var opt campaign.Options
	var out, image, bundle, model, hash string
	var names []string
	var explain, force, verify bool
	cmd := &cobra.Command{
		Use:   "compile [paths...]",
		Short: "Expand campaigns into configs and Argo Workflows manifests under generated/",
		Long: `compile expands each campaign into its configs, prunes those that cannot run,
fingerprints and batches the rest, and writes generated/<campaign>/: workflow.yaml,
configmap.yaml, matrix.jsonl and summary.json. The manifests are checked with Argo's
own validator. Output is byte-identical for the same input.

With --verify (the matrix step of the workflow), compile re-derives one model's
matrix from a bundle and checks it against --matrix-hash instead of writing.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if verify {
				return verifyBundle(cmd.OutOrStdout(), bundle, model, hash)
			}
			set, cs, err := loadCampaigns(cmd, args, opt, names)
			if err != nil {
				return err
			}
			examples := 0
			if explain {
				examples = 3
			}
			w := cmd.OutOrStdout()
			failed := 0
			// A campaign that fails does not stop the others; the exit code says.
			fail := func(err error) {
				failed++
				fmt.Fprintf(cmd.ErrOrStderr(), "llmsweep: %v\n", err)
			}
			for _, c := range cs {
				dir := filepath.Join(out, c.Name)
				if _, err := generated.Read(dir); errors.Is(err, generated.ErrEdited) && !force {
					fail(fmt.Errorf("%v\nrefusing to overwrite a hand edit: undo it, or pass --force", err))
					continue
				}
				files, res, err := generated.Files(set, c, generated.Options{Image: image, Examples: examples})
				if explain && res != nil {
					printExplain(w, res)
				}
				if err == nil {
					err = generated.Write(dir, files)
				}
				if err != nil {
					fail(err)
					continue
				}
				s := res.Summary
				fmt.Fprintf(w, "%s: %d configs in %d batches (%d groups), %d pruned → %s\n",
					c.Name, s.Configs, s.Batches, s.Groups, s.Expanded-s.Configs, dir)
			}
			if failed > 0 {
				return exitError{exitFail}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "generated", "output folder")
	f.StringSliceVar(&names, "campaign", nil, "compile only these campaigns (default: all loaded)")
	f.BoolVar(&explain, "explain", false, "count pruned configs by reason, with examples")
	f.BoolVar(&force, "force", false, "overwrite a generated folder that was edited by hand")
	f.StringVar(&image, "image", generated.DefaultImage, "llmsweep image for the workflow steps")
	f.StringVar(&opt.Catalog, "catalog", "", "catalog directory (default: catalog/ of the CUE module, else the built-in catalog)")
	f.BoolVar(&verify, "verify", false, "verify a model's matrix from --bundle against --matrix-hash")
	f.StringVar(&bundle, "bundle", "", "campaign bundle (the ConfigMap's bundle.json), with --verify")
	f.StringVar(&model, "model", "", "model to verify, with --verify")
	f.StringVar(&hash, "matrix-hash", "", "expected sha256 of the model's matrix lines, with --verify")
	return cmd
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
	if !slices.Contains(set.Select(c).Models, model) {
		return fmt.Errorf("model %s is not in campaign %s", model, c.Name)
	}
	c.Models = []string{model}
	res, err := (&matrix.Compiler{Set: set}).Compile(c, io.Discard)
	if err != nil {
		return err
	}
	if got := res.ModelHashes[model]; got != hash {
		fmt.Fprintf(w, "matrix hash mismatch for %s: compiled %s, manifest says %s; the llmsweep image and the compiler that wrote the manifests differ\n", model, got, hash)
		return exitError{exitFail}
	}
	fmt.Fprintf(w, "%s: %d configs, matrix hash %s verified\n", model, res.Summary.Configs, hash)
	return nil
}
