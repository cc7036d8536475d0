package cli

import (
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/accuracy"
	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/hub"
	"github.com/llmsweep/llmsweep/internal/modelcache"
	"github.com/llmsweep/llmsweep/internal/taskdata"
)

func newFetchTaskData() *cobra.Command {
	var inv invocation
	var hf hubFlags
	cmd := &cobra.Command{
		Use:   "fetch-task-data [paths...]",
		Short: "Download the data sets of a campaign's accuracy tasks (GSM8K, MMLU) into the Hub cache",
		Long: `fetch-task-data reads the Parquet files of every accuracy task the campaign's
workloads name from the Hugging Face Hub, at the pinned revisions (with HF_TOKEN,
retrying rate limits with backoff), into --hub-cache, and prints what it read.
A run that uses the same cache then reads them locally.

On Argo, the workflow's model-fetch step runs it with the campaign's --bundle
and the shared cache as --hub-cache, so that the pods that measure read the
data from the cache.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			set, c, err := inv.campaign(cmd, args)
			if err != nil {
				return err
			}
			done := fetched{Campaign: c.Name}
			if done.TaskData, err = fetchTaskData(cmd, set, c, hf.client()); err != nil {
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
	return cmd
}

// fetchTaskData reads the data sets of the campaign's accuracy tasks through
// h (into its cache).
func fetchTaskData(cmd *cobra.Command, set *campaign.Set, c campaign.Campaign, h *hub.Client) ([]taskdata.Files, error) {
	var specs []accuracy.Spec
	for _, name := range set.Select(c).Workloads {
		if s, ok := accuracy.FromWorkload(set.Workloads[name]); ok && !slices.ContainsFunc(specs, func(x accuracy.Spec) bool { return fmt.Sprint(x) == fmt.Sprint(s) }) {
			specs = append(specs, s)
		}
	}
	files, err := accuracy.Fetch(cmd.Context(), specs, &taskdata.Loader{Hub: h})
	if err != nil {
		return nil, hubError(err)
	}
	if files == nil {
		files = []taskdata.Files{}
	}
	return files, nil
}

// fetched is what fetch-model and fetch-task-data put in the caches: -o json
// writes it whole.
type fetched struct {
	Campaign string `json:"campaign"`
	Model    string `json:"model,omitempty"`
	// HubOnly: the checkpoints' revisions were checked on the Hub, not downloaded.
	HubOnly     bool                `json:"hub_only,omitempty"`
	Checkpoints []modelcache.Result `json:"checkpoints,omitempty"`
	TaskData    []taskdata.Files    `json:"task_data"`
}

func (f fetched) write(w io.Writer, output string) error {
	if output == "json" {
		return writeJSON(w, f)
	}
	for _, res := range f.Checkpoints {
		state := fmt.Sprintf("fetched %d files", res.Downloaded)
		switch {
		case f.HubOnly:
			state = "on the Hub"
		case res.Present:
			state = "already cached"
		}
		fmt.Fprintf(w, "%s@%s (%s): %d files, %d bytes, %s\n", res.Repo, res.Revision, res.SHA[:min(12, len(res.SHA))], res.Files, res.Bytes, state)
	}
	if len(f.TaskData) == 0 {
		fmt.Fprintf(w, "campaign %s: no accuracy task reads a data set\n", f.Campaign)
	}
	for _, t := range f.TaskData {
		for _, p := range t.Paths {
			fmt.Fprintf(w, "%s@%s %s\n", t.Repo, t.Revision, p)
		}
	}
	return nil
}
