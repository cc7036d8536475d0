package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/pipeline"
	"github.com/llmsweep/llmsweep/internal/store"
)

func newAggregate() *cobra.Command {
	var f tailFlags
	var by string
	var all bool
	cmd := &cobra.Command{
		Use:   "aggregate [campaign files...] [--run ID] [--by KEYS]",
		Short: "Statistics of per-request latencies across configs and runs: the pipeline's aggregate step",
		Long: `aggregate computes the mean, median, P95 and P99 of TTFT, TPOT and end-to-end
latency over the stored per-request samples of a run (--run; default the
campaign's newest run), or of every run of the campaign (--all), grouped by
--by: any of ` + strings.Join(store.GroupKeys, ", ") + ` (default model,hardware,framework,quantization,workload,load: load
points are not pooled unless --by leaves load out; concurrency and
request_rate name it too).
PostgreSQL computes them in SQL (percentile_cont), SQLite in Go; both
interpolate between closest ranks, so they agree.

In the pipeline it runs after the batches and marks the run finished.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			_, c, err := f.inv.campaign(cmd, args)
			if err != nil {
				return err
			}
			st, url, err := f.inv.readStore(ctx, &c)
			if err != nil {
				return err
			}
			defer st.Close()
			q := store.AggregateQuery{Filter: store.Filter{Campaign: c.Name}}
			if by != "" {
				q.By = strings.Split(by, ",")
				for i, k := range q.By {
					if k == "concurrency" || k == "request_rate" {
						q.By[i] = "load"
					}
				}
			}
			if !all {
				if q.Filter.RunID, err = pickRun(ctx, st, c, f.run); err != nil {
					return err
				}
				if f.inv.bundle != "" { // the pipeline: every batch is done
					if err := st.FinishRun(ctx, q.Filter.RunID, time.Now()); err != nil {
						return err
					}
				}
			}
			rows, err := st.Aggregate(ctx, q)
			if err != nil {
				return err
			}
			if len(rows) == 0 {
				fmt.Fprintf(diag(cmd, slog.LevelInfo), "no successful requests stored for campaign %s%s in %s\n", c.Name, runWords(q.Filter.RunID), redact(url))
				return nil
			}
			return store.WriteAggregates(cmd.OutOrStdout(), f.inv.output, q.By, rows)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&by, "by", "model,hardware,framework,quantization,workload,load", "group by these `keys`, comma-separated")
	cmd.Flags().BoolVar(&all, "all", false, "aggregate every run of the campaign, not one")
	f.inv.addOutput(cmd, "table", "json", "csv")
	return cmd
}

func runWords(id string) string {
	if id == "" {
		return ""
	}
	return ", run " + id
}

// pickRun is the run given, which must exist, or the campaign's newest run.
func pickRun(ctx context.Context, st store.Store, c campaign.Campaign, id string) (string, error) {
	if id != "" {
		id, err := resolveRun(ctx, st, c.Name, id)
		if err != nil {
			return "", err
		}
		r, err := st.Run(ctx, id)
		if err != nil {
			return "", err
		}
		if r == nil {
			return "", fmt.Errorf("run %s is not in the store", id)
		}
		return id, nil
	}
	res, err := st.Results(ctx, store.Filter{Campaign: c.Name})
	if err != nil {
		return "", err
	}
	if len(res) == 0 {
		return "", fmt.Errorf("campaign %s has no results in the store yet: run it first (llmsweep run)", c.Name)
	}
	return res[len(res)-1].Run, nil // results come oldest first
}

func newRefreshViews() *cobra.Command {
	var f tailFlags
	cmd := &cobra.Command{
		Use:   "refresh-views [campaign files...]",
		Short: "Rebuild the model_rankings and daily_stats views from the stored results",
		Long: `refresh-views brings the store's views up to date: on PostgreSQL the
materialized views model_rankings and daily_stats, refreshed CONCURRENTLY so
that dashboards reading them are never blocked; on SQLite the tables that stand
for them. The store is --store, else $LLMSWEEP_STORE, else the campaign's.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var c *campaign.Campaign
			if f.inv.store == "" || len(args) > 0 || f.inv.bundle != "" {
				_, one, err := f.inv.campaign(cmd, args)
				if err != nil {
					return err
				}
				c = &one
			}
			st, url, err := f.inv.readStore(cmd.Context(), c)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.RefreshViews(cmd.Context()); err != nil {
				return err
			}
			rk, err := st.ModelRankings(cmd.Context())
			if err != nil {
				return err
			}
			ds, err := st.DailyStats(cmd.Context())
			if err != nil {
				return err
			}
			if f.inv.output == "json" {
				return writeJSON(cmd.OutOrStdout(), refreshed{Store: redact(url), ModelRankings: len(rk), DailyStats: len(ds)})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "refreshed %s: model_rankings %d rows, daily_stats %d rows\n", redact(url), len(rk), len(ds))
			return nil
		},
	}
	f.add(cmd)
	f.inv.addOutput(cmd, "table", "json")
	return cmd
}

func newInvalidateCache() *cobra.Command {
	var f tailFlags
	var url string
	cmd := &cobra.Command{
		Use:   "invalidate-cache [campaign files...] [--cache URL]",
		Short: "Drop the campaign's cached query results from Redis after a run changed the store",
		Long: `invalidate-cache deletes the Redis entries that cache the campaign's store
queries, and those about every campaign, so that the next reader sees the new
results. The cache is --cache, else $LLMSWEEP_CACHE, else the campaign's
cache.url; a campaign without one has nothing to invalidate.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, c, err := f.inv.campaign(cmd, args)
			if err != nil {
				return err
			}
			if url == "" && c.Cache != nil {
				url = c.Cache.URL
			}
			done := invalidated{Campaign: c.Name}
			if url != "" {
				if done.Entries, err = pipeline.Invalidate(cmd.Context(), url, c.Name); err != nil {
					return err
				}
				done.Cache = redact(url)
			}
			switch {
			case f.inv.output == "json":
				return writeJSON(cmd.OutOrStdout(), done)
			case url == "":
				fmt.Fprintf(diag(cmd, slog.LevelInfo), "campaign %s has no cache: nothing to invalidate\n", c.Name)
			default:
				fmt.Fprintf(cmd.OutOrStdout(), "invalidated %d cached entries of campaign %s\n", done.Entries, c.Name)
			}
			return nil
		},
	}
	f.add(cmd)
	f.inv.addOutput(cmd, "table", "json")
	cmd.Flags().StringVar(&url, "cache", os.Getenv("LLMSWEEP_CACHE"), "the Redis `URL` (redis:// or rediss://)")
	return cmd
}

// refreshed is refresh-views' -o json: the views' row counts after the refresh.
type refreshed struct {
	Store         string `json:"store"`
	ModelRankings int    `json:"model_rankings"`
	DailyStats    int    `json:"daily_stats"`
}

// invalidated is invalidate-cache's -o json; Cache is empty when the campaign
// has none, and then nothing was invalidated.
type invalidated struct {
	Campaign string `json:"campaign"`
	Cache    string `json:"cache,omitempty"`
	Entries  int    `json:"entries"`
}
