package cli

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/accuracy"
	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/hub"
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
			return fetchTaskData(cmd, set, c, hf.client())
		},
	}
	hf.register(cmd)
	inv.addBundle(cmd)
	inv.addCampaign(cmd, false)
	inv.addCatalog(cmd)
	return cmd
}

// fetchTaskData reads the data sets of the campaign's accuracy tasks through
// h (into its cache) and prints what it read.
func fetchTaskData(cmd *cobra.Command, set *campaign.Set, c campaign.Campaign, h *hub.Client) error {
	var specs []accuracy.Spec
	for _, name := range set.Select(c).Workloads {
		if s, ok := accuracy.FromWorkload(set.Workloads[name]); ok && !slices.ContainsFunc(specs, func(x accuracy.Spec) bool { return fmt.Sprint(x) == fmt.Sprint(s) }) {
			specs = append(specs, s)
		}
	}
	files, err := accuracy.Fetch(cmd.Context(), specs, &taskdata.Loader{Hub: h})
	if err != nil {
		return hubError(err)
	}
	w := cmd.OutOrStdout()
	if len(files) == 0 {
		fmt.Fprintf(w, "campaign %s: no accuracy task reads a data set\n", c.Name)
	}
	for _, f := range files {
		for _, p := range f.Paths {
			fmt.Fprintf(w, "%s@%s %s\n", f.Repo, f.Revision, p)
		}
	}
	return nil
}
