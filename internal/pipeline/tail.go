package pipeline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

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
// fails is logged and the others still run.
func Tail(ctx context.Context, log *slog.Logger, st store.Store, set *campaign.Set, c campaign.Campaign, runID string, configs []matrix.Config, o TailOptions) {
	if o.Reports == "" {
		o.Reports = report.DefaultOut
	}
	if o.Staging == "" {
		o.Staging = ".llmsweep/archive"
	}
	if err := st.RefreshViews(ctx); err != nil {
		log.Warn(fmt.Sprintf("refresh-views: %v", err))
	}
	if c.Cache != nil {
		if n, err := Invalidate(ctx, c.Cache.URL, c.Name); err != nil {
			log.Warn(fmt.Sprintf("invalidate-cache: %v", err))
		} else {
			log.Info(fmt.Sprintf("invalidated %d cached entries of campaign %s", n, c.Name))
		}
	}
	p, err := report.Write(ctx, st, report.Options{Campaign: c.Name, RunID: runID, Set: set, Configs: configs, SampleTests: true, Out: o.Reports})
	if err != nil {
		log.Warn(fmt.Sprintf("report: %v", err))
	} else {
		log.Info(fmt.Sprintf("report: %s, %s, %s", p.Latest["html"], p.Latest["pdf"], p.Latest["json"]))
	}
	if c.Archive != nil {
		a, err := archive.Run(ctx, st, c, runID, archive.RunOptions{Staging: o.Staging, Reports: o.Reports})
		if err != nil {
			log.Warn(fmt.Sprintf("archive: %v", err))
		} else {
			var b strings.Builder
			PrintArchived(&b, a)
			for line := range strings.Lines(b.String()) {
				log.Info(strings.TrimSuffix(line, "\n"))
			}
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
