package cli

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/modelcache"
)

func newFetchModel() *cobra.Command {
	var inv invocation
	var hf hubFlags
	var model, dir string
	var hubOnly bool
	cmd := &cobra.Command{
		Use:   "fetch-model --model NAME --cache-dir DIR [paths...]",
		Short: "Download a model's checkpoints into the shared model cache, once, and check them against the Hub",
		Long: `fetch-model makes every checkpoint the campaign runs of --model (its weights,
and the pre-quantized checkpoints of the campaign's quantizations) whole in
--cache-dir, at the catalog's pinned revisions (with HF_TOKEN; rate limits are
retried with backoff). It reads each revision's file list with sizes from the
Hub (GET /api/models/{repo}/revision/{rev}?blobs=true); a checkpoint already
whole in the cache is not downloaded again, and each file fetched is checked
against its size and, for Git LFS files, its sha256. The files go where
huggingface_hub's cache keeps them (DIR/huggingface/hub), so that a server with
HF_HOME=DIR/huggingface and HF_HUB_OFFLINE=1 loads them. It then fetches the
campaign's accuracy task data into DIR/llmsweep-hub, as fetch-task-data does.

On Argo it is the workflow's fetch-model step, with the campaign's --bundle;
--hub-only checks the revisions and fetches the task data without weights
(the step's job when each node keeps its own cache).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if model == "" || dir == "" {
				return fmt.Errorf("fetch-model needs --model and --cache-dir")
			}
			set, c, err := inv.campaign(cmd, args)
			if err != nil {
				return err
			}
			if !slices.Contains(set.Select(c).Models, model) {
				return fmt.Errorf("campaign %s does not run model %q", c.Name, model)
			}
			h := hf.client()
			if hf.cache == "" {
				h.CacheDir = filepath.Join(dir, modelcache.HubCache)
			}
			cache := &modelcache.Cache{Dir: dir, Hub: h}
			done := fetched{Campaign: c.Name, Model: model, HubOnly: hubOnly}
			for _, ck := range checkpoints(set, c, model) {
				res, err := cache.Fetch(cmd.Context(), ck.Repo, ck.Revision, hubOnly)
				if err != nil {
					return hubError(err)
				}
				done.Checkpoints = append(done.Checkpoints, *res)
			}
			if done.TaskData, err = fetchTaskData(cmd, set, c, h); err != nil {
				return err
			}
			return done.write(cmd.OutOrStdout(), inv.output)
		},
	}
	hf.register(cmd)
	inv.addOutput(cmd, "table", "json")
	inv.addBundle(cmd)
	inv.addCampaign(cmd, false)
	inv.addCatalog(cmd)
	cmd.Flags().StringVar(&model, "model", "", "the catalog `model` whose checkpoints to fetch")
	cmd.Flags().StringVar(&dir, "cache-dir", "", "the model cache `folder` (the shared volume's mount)")
	cmd.Flags().BoolVar(&hubOnly, "hub-only", false, "check the pinned revisions on the Hub and fetch task data, without downloading weights")
	return cmd
}

// checkpoints are the Hub checkpoints a campaign runs of a model: its own
// weights, and the pre-quantized ones of the quantizations it selects.
func checkpoints(set *campaign.Set, c campaign.Campaign, model string) []campaign.Checkpoint {
	m := set.Models[model]
	var out []campaign.Checkpoint
	for _, q := range set.Select(c).Quantizations {
		ck, ok := m.Checkpoints[q]
		if !ok {
			ck = m.HF.Checkpoint // quantized at load time, or not at all
		}
		if !slices.Contains(out, ck) {
			out = append(out, ck)
		}
	}
	return out
}
