package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/hub"
)

// hubFlags configure the Hugging Face Hub client. The token only ever comes from
// the environment (HF_TOKEN), as huggingface_hub reads it.
type hubFlags struct {
	endpoint, cache string
}

func (f *hubFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.endpoint, "hub", "", "Hub endpoint (default: $HF_ENDPOINT, else https://huggingface.co)")
	cmd.Flags().StringVar(&f.cache, "hub-cache", "", "cache for fetched metadata and accuracy data sets (default: $XDG_CACHE_HOME/llmsweep/hub)")
}

func (f *hubFlags) client() *hub.Client {
	c := &hub.Client{BaseURL: f.endpoint, Token: os.Getenv("HF_TOKEN"), CacheDir: f.cache}
	if c.BaseURL == "" {
		c.BaseURL = os.Getenv("HF_ENDPOINT")
	}
	if c.CacheDir == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			c.CacheDir = filepath.Join(dir, "llmsweep", "hub")
		}
	}
	return c
}

// modelCheck is one model checked against the Hub: validate-model -o json
// writes them.
type modelCheck struct {
	Model      string         `json:"model"`
	Repo       string         `json:"repo"`
	SHA        string         `json:"sha"` // the commit the pinned revision resolved to
	Mismatches []hub.Mismatch `json:"mismatches"`
	set        *campaign.Set
}

// checkModels checks models against the Hub; it stops at the first fetch
// error.
func checkModels(ctx context.Context, c *hub.Client, set *campaign.Set, models []campaign.Model) ([]modelCheck, error) {
	var out []modelCheck
	for _, m := range models {
		ms, info, err := c.Validate(ctx, m)
		if err != nil {
			return out, hubError(err)
		}
		if ms == nil {
			ms = []hub.Mismatch{}
		}
		out = append(out, modelCheck{Model: m.Name, Repo: m.HF.Repo, SHA: info.SHA, Mismatches: ms, set: set})
	}
	return out, nil
}

// writeChecks writes a report per model with mismatches: one line per field at
// the position where the set defines it, as vet prints problems, then the
// table. It returns how many models mismatched.
func writeChecks(cmd *cobra.Command, checks []modelCheck) int {
	bad := 0
	for _, c := range checks {
		if len(c.Mismatches) > 0 {
			bad++
			w := diag(cmd, slog.LevelWarn)
			for _, mm := range c.Mismatches {
				fmt.Fprintln(w, mismatchLine(c.set, c.Model, mm))
			}
			fmt.Fprint(w, hub.Report(c.Model, c.Mismatches))
			continue
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s: %s@%s matches the catalog\n", c.Model, c.Repo, c.SHA)
	}
	return bad
}

// validateModels checks models against the Hub and writes the reports
// (writeChecks); it returns how many mismatched, or the first fetch error.
func validateModels(ctx context.Context, cmd *cobra.Command, c *hub.Client, set *campaign.Set, models []campaign.Model) (int, error) {
	checks, err := checkModels(ctx, c, set, models)
	bad := writeChecks(cmd, checks)
	return bad, err
}

func newValidateModel() *cobra.Command {
	var inv invocation
	var hf hubFlags
	cmd := &cobra.Command{
		Use:   "validate-model MODEL [paths...]",
		Short: "Check a catalog model's architecture against its config.json on the Hugging Face Hub",
		Long: `validate-model fetches the model's repo info and config.json at its pinned
revision (with HF_TOKEN for gated repos; rate limits are retried with backoff) and
compares the architecture fields with the catalog entry. It prints a field-by-field
report and exits 1 on any mismatch, 2 when the Hub cannot be read.

It is the first step of every campaign workflow, where it reads the campaign from
--bundle.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			var set *campaign.Set
			var err error
			if inv.bundle != "" {
				set, _, err = inv.campaign(cmd, args[1:])
			} else {
				set, err = inv.load(cmd, args[1:])
			}
			if err != nil {
				return err
			}
			m, ok := set.Models[name]
			if !ok {
				names := keys(set.Models)
				return fmt.Errorf("unknown model %q%s", name, campaign.Suggest(name, names))
			}
			checks, err := checkModels(cmd.Context(), hf.client(), set, []campaign.Model{m})
			if err != nil {
				return err
			}
			if inv.output == "json" {
				if err := writeJSON(cmd.OutOrStdout(), checks[0]); err != nil {
					return err
				}
				if len(checks[0].Mismatches) > 0 {
					return exitError{exitFail}
				}
				return nil
			}
			if writeChecks(cmd, checks) > 0 {
				return exitError{exitFail}
			}
			return nil
		},
	}
	hf.register(cmd)
	inv.addOutput(cmd, "table", "json")
	inv.addBundle(cmd)
	inv.addCatalog(cmd)
	return cmd
}

// hubError says what to do about a Hub failure.
func hubError(err error) error {
	switch {
	case errors.Is(err, hub.ErrAccess):
		return fmt.Errorf("%v\n(set HF_TOKEN in the environment; it is never read from a campaign)", err)
	default:
		return err
	}
}

// mismatchLine is one mismatch as a positioned problem: the catalog field's
// file:line:col (or the model entry's, for a field the entry leaves out),
// its path, and both values.
func mismatchLine(set *campaign.Set, model string, mm hub.Mismatch) string {
	path := append([]string{"models", strconv.Quote(model)}, strings.Split(mm.Field, ".")...)
	where := ""
	for n := len(path); n >= 2; n-- {
		if pos, ok := set.FieldPos(path[:n]...); ok {
			where = pos.String() + ": "
			break
		}
	}
	return fmt.Sprintf("%smodels.%s.%s: catalog has %s, config.json on the Hub has %s", where, strconv.Quote(model), mm.Field, mm.Catalog, mm.Hub)
}
