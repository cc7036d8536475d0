package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/store"
)

func newStore() *cobra.Command {
	var inv invocation
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Show and migrate the results store's layout; expire raw rows",
		Long: `store shows how the results store keeps its data (info), migrates it with a
chosen layout for raw rows (migrate), and drops old raw rows where TimescaleDB
has no retention policy (expire-raw).

On PostgreSQL the per-request and utilization rows are TimescaleDB hypertables
where the server offers the extension, else monthly range partitions. What the
TimescaleDB edition allows is chosen once, when the hypertables are made:
compression and its policy (community edition only), and a retention policy
(community) or drop_chunks called by expire-raw (Apache-2 edition).`,
	}
	inv.addStore(cmd)
	cmd.AddCommand(newStoreInfo(&inv), newStoreMigrate(&inv), newStoreExpireRaw(&inv))
	return cmd
}

func newStoreInfo(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Say how the store keeps its data: backend, layout, TimescaleDB edition and the features chosen for it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			info, err := store.Describe(cmd.Context(), inv.storeURL(nil))
			if err != nil {
				return err
			}
			if inv.output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			}
			info.WriteText(cmd.OutOrStdout())
			return nil
		},
	}
	inv.addOutput(cmd, "text", "json")
	return cmd
}

func newStoreMigrate(inv *invocation) *cobra.Command {
	var layout string
	cmd := &cobra.Command{
		Use:   "migrate [--layout auto|timescale|native]",
		Short: "Create or update the store's schema, with the raw-row layout asked for",
		Long: `migrate brings the store's schema up to date, as every command does when it
opens the store, and lets a new PostgreSQL schema get the layout asked for:
auto (TimescaleDB where the server offers it), timescale (an error where it does
not) or native. A schema keeps the layout it was made with: asking for the
other one is refused and changes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := store.ParseLayout(layout)
			if err != nil {
				return err
			}
			if err := store.Migrate(cmd.Context(), inv.storeURL(nil), l); err != nil {
				return err
			}
			info, err := store.Describe(cmd.Context(), inv.storeURL(nil))
			if err != nil {
				return err
			}
			if inv.output == "json" {
				return writeJSON(cmd.OutOrStdout(), info)
			}
			info.WriteText(cmd.OutOrStdout())
			return nil
		},
	}
	inv.addOutput(cmd, "text", "json")
	cmd.Flags().StringVar(&layout, "layout", "auto", "raw-row layout of a new PostgreSQL schema: auto, timescale or native")
	return cmd
}

func newStoreExpireRaw(inv *invocation) *cobra.Command {
	var olderThan time.Duration
	var at string
	cmd := &cobra.Command{
		Use:   "expire-raw [--older-than 2160h]",
		Short: "Drop TimescaleDB chunks of raw rows older than the retention (where no retention policy does)",
		Long: `expire-raw drops the per-request and utilization chunks of runs that started
more than --older-than ago (90 days by default), with TimescaleDB's
drop_chunks. It is for the Apache-2 edition, which has no retention policy:
run it after the runs are archived, e.g. from a CronJob. Where a retention
policy expires the rows (community edition), it does nothing and says so.
Results, runs and configs are never touched.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			now, err := parseNow(at)
			if err != nil {
				return err
			}
			if olderThan <= 0 {
				return fmt.Errorf("--older-than %s: want a positive duration", olderThan)
			}
			cutoff := now.Add(-olderThan)
			exp, err := store.ExpireRaw(cmd.Context(), inv.storeURL(nil), cutoff)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if inv.output == "json" {
				return writeJSON(w, exp)
			}
			if exp.Policy {
				fmt.Fprintln(w, "a TimescaleDB retention policy expires the raw rows of this store: nothing to do")
				return nil
			}
			tables := make([]string, 0, len(exp.Chunks))
			n := 0
			for t, cs := range exp.Chunks {
				tables = append(tables, t)
				n += len(cs)
			}
			sort.Strings(tables)
			for _, t := range tables {
				fmt.Fprintf(w, "dropped from %s: %s\n", t, strings.Join(exp.Chunks[t], ", "))
			}
			fmt.Fprintf(w, "dropped %d chunk%s of runs started before %s\n", n, plural(n), cutoff.UTC().Format(time.RFC3339))
			return nil
		},
	}
	inv.addOutput(cmd, "text", "json")
	cmd.Flags().DurationVar(&olderThan, "older-than", store.RawRetention, "drop the raw rows of runs that started longer ago than this")
	cmd.Flags().StringVar(&at, "now", "", "expire as of this RFC 3339 `time` instead of now")
	return cmd
}
