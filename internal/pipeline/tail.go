package pipeline

import (
	"context"
	"fmt"
	"io"

	"github.com/llmsweep/llmsweep/internal/archive"
	"github.com/llmsweep/llmsweep/internal/cache"
	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/report"
	"github.com/llmsweep/llmsweep/internal/store"
)

// TailOptions configure Tail.
type TailOptions struct {
	// Reports is where the report is written (default report.DefaultOut).
	Reports string
	// Staging is where the archive export is written before upload.
	Staging string
}

// Tail runs, in-process, the pipeline steps that follow the batches on a
// cluster (DESIGN 6): refresh-views, invalidate-cache, report, and archive
// when the campaign has one. (Notify, which announces to people, stays a
// command of its own locally.) The results are stored by now, so a step that
// fails is reported on w and the others still run.
func Tail(ctx context.Context, w io.Writer, st store.Store, set *campaign.Set, c campaign.Campaign, runID string, configs []matrix.Config, o TailOptions) {
	if o.Reports == "" {
		o.Reports = report.DefaultOut
	}
	if o.Staging == "" {
		o.Staging = ".llmsweep/archive"
	}
	if err := st.RefreshViews(ctx); err != nil {
		fmt.Fprintf(w, "refresh-views: %v\n", err)
	}
	if c.Cache != nil {
		if n, err := Invalidate(ctx, c.Cache.URL, c.Name); err != nil {
			fmt.Fprintf(w, "invalidate-cache: %v\n", err)
		} else {
			fmt.Fprintf(w, "invalidated %d cached entries of campaign %s\n", n, c.Name)
		}
	}
	p, err := report.Write(ctx, st, report.Options{Campaign: c.Name, RunID: runID, Set: set, Configs: configs, SampleTests: true, Out: o.Reports})
	if err != nil {
		fmt.Fprintf(w, "report: %v\n", err)
	} else {
		fmt.Fprintf(w, "report: %s, %s, %s\n", p.Latest["html"], p.Latest["pdf"], p.Latest["json"])
	}
	if c.Archive != nil {
		a, err := archive.Run(ctx, st, c, runID, archive.RunOptions{Staging: o.Staging, Reports: o.Reports})
		if err != nil {
			fmt.Fprintf(w, "archive: %v\n", err)
		} else {
			PrintArchived(w, a)
		}
	}
}

// Invalidate drops a campaign's cached query results from the Redis at url.
func Invalidate(ctx context.Context, url, campaign string) (int, error) {
	c, err := cache.Open(ctx, url)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.Invalidate(ctx, campaign)
}

// PrintArchived says what an archive upload did.
func PrintArchived(w io.Writer, a *archive.Archived) {
	var up, skip int
	var bytes int64
	for _, o := range a.Outcomes {
		state := "uploaded"
		if o.Skipped {
			state = "already there"
			skip++
		} else {
			up++
			bytes += o.Size
		}
		fmt.Fprintf(w, "%-13s %s -> %s\n", state, o.Name, o.Key)
	}
	fmt.Fprintf(w, "archived to %s: %d uploaded (%d bytes), %d already there; expires %s\n",
		a.URL, up, bytes, skip, a.Expires.UTC().Format("2006-01-02T15:04:05Z07:00"))
}
