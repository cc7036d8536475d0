package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/report"
	"github.com/llmsweep/llmsweep/internal/store"
)

// localTail runs, in-process, the pipeline steps that follow the batches on a
// cluster (DESIGN 6): refresh-views, invalidate-cache, report, and archive when
// the campaign has one. (aggregate is what printResults shows; notify, which
// announces to people, stays a command of its own locally.) The results are
// stored by now, so a step that fails is reported and the run still succeeds.
func localTail(ctx context.Context, w io.Writer, st store.Store, storeURL string, set *campaign.Set, c campaign.Campaign, runID string, configs []matrix.Config) {
	if err := st.RefreshViews(ctx); err != nil {
		fmt.Fprintf(w, "refresh-views: %v\n", err)
	}
	if c.Cache != nil {
		if n, err := invalidate(ctx, c.Cache.URL, c.Name); err != nil {
			fmt.Fprintf(w, "invalidate-cache: %v\n", err)
		} else {
			fmt.Fprintf(w, "invalidated %d cached entries of campaign %s\n", n, c.Name)
		}
	}
	p, err := report.Write(ctx, st, report.Options{Campaign: c.Name, RunID: runID, Set: set, Configs: configs, SampleTests: true})
	if err != nil {
		fmt.Fprintf(w, "report: %v\n", err)
	} else {
		fmt.Fprintf(w, "report: %s, %s, %s\n", p.Latest["html"], p.Latest["pdf"], p.Latest["json"])
	}
	if c.Archive != nil {
		if err := archiveRun(ctx, w, c, storeURL, runID, "", 0, ".llmsweep/archive", report.DefaultOut); err != nil {
			fmt.Fprintf(w, "archive: %v\n", err)
		}
	}
}
