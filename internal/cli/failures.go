package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/store"
)

// failuresFlags are what the failures subcommands share: the store, the
// filters of results, and which states to take.
type failuresFlags struct {
	inv    invocation
	ff     filterFlags
	config string // --config: a fingerprint or its prefix
	states []string
}

func (x *failuresFlags) add(cmd *cobra.Command, states bool) {
	x.ff.addConfigs(cmd, true)
	cmd.Flags().StringVar(&x.config, "config", "", "only the config with this `fingerprint` (or a prefix of it, as tables print it)")
	if states {
		cmd.Flags().StringSliceVar(&x.states, "state", nil, "only entries in these `states`: open, acked, retry, retried, resolved, or all (default: open, acked, retry)")
	}
}

// selectReviews returns the queue's entries that the flags name, oldest first.
func (x *failuresFlags) selectReviews(ctx context.Context, st store.Store, states []store.ReviewState) ([]store.Review, error) {
	fs, err := x.ff.filters()
	if err != nil {
		return nil, err
	}
	var out []store.Review
	for _, f := range fs {
		if err := checkFilter(ctx, st, &f); err != nil {
			return nil, err
		}
		rs, err := st.Reviews(ctx, store.ReviewFilter{Filter: f, States: states})
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if strings.HasPrefix(r.Fingerprint, x.config) {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// parseStates reads --state; none means the pending ones.
func (x *failuresFlags) parseStates() ([]store.ReviewState, error) {
	if len(x.states) == 0 {
		return store.PendingStates, nil
	}
	var out []store.ReviewState
	for _, s := range x.states {
		if s == "all" {
			return nil, nil
		}
		st, err := store.ParseReviewState(s)
		if err != nil {
			return nil, fmt.Errorf("--state: %w", err)
		}
		out = append(out, st)
	}
	return out, nil
}

func newFailures() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "failures",
		Short: "Work through the manual-review queue of configs that failed every retry",
		Long: `failures is the manual-review queue. A config that failed every retry of a run
is stored with its failure and a review state: open (no one has looked),
acked (someone has, perhaps with a note), retry (the next run of its campaign
measures it, even where the reuse policy would let a stored result stand in),
retried (a later run tried it, and it failed again: that failure is queued on
its own), or resolved (a result of the config was stored after all).

list and show read the queue; ack and retry act on the entries that the
filters (those of results, and --config) select. The failure notification of
a run names the list command that shows its entries.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newFailuresList(), newFailuresShow(), newFailuresSet("ack", store.ReviewAcked), newFailuresSet("retry", store.ReviewRetry))
	return cmd
}

func newFailuresList() *cobra.Command {
	var x failuresFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the queue's entries (open, acked and retry by default), oldest failure first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			states, err := x.parseStates()
			if err != nil {
				return err
			}
			st, _, err := x.inv.readStore(cmd.Context(), nil)
			if err != nil {
				return err
			}
			defer st.Close()
			rs, err := x.selectReviews(cmd.Context(), st, states)
			if err != nil {
				return err
			}
			if x.inv.output == "json" {
				if rs == nil {
					rs = []store.Review{} // an empty queue is [], not null
				}
				return writeJSON(cmd.OutOrStdout(), rs)
			}
			return writeReviews(cmd.OutOrStdout(), rs)
		},
	}
	x.inv.addStore(cmd)
	x.inv.addOutput(cmd, "table", "json")
	x.add(cmd, true)
	return cmd
}

func newFailuresShow() *cobra.Command {
	var x failuresFlags
	cmd := &cobra.Command{
		Use:   "show FINGERPRINT",
		Short: "Show one entry: the config, its state and note, and every failed attempt",
		Long: `show prints one entry of the queue: the config (its fingerprint, or a prefix
of it, as tables print it), its state and note, and every attempt that failed
in the run. A config queued in several runs needs --run.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			x.config = args[0]
			st, _, err := x.inv.readStore(cmd.Context(), nil)
			if err != nil {
				return err
			}
			defer st.Close()
			rs, err := x.selectReviews(cmd.Context(), st, nil)
			if err != nil {
				return err
			}
			r, err := one(rs, args[0])
			if err != nil {
				return err
			}
			full, err := st.ReviewOf(cmd.Context(), r.Run, r.Fingerprint)
			if err != nil {
				return err
			}
			if x.inv.output == "json" {
				return writeJSON(cmd.OutOrStdout(), full)
			}
			writeReview(cmd.OutOrStdout(), full)
			return nil
		},
	}
	x.inv.addStore(cmd)
	x.inv.addOutput(cmd, "text", "json")
	x.ff.addConfigs(cmd, true)
	return cmd
}

// one picks the single entry a show names, or says why it cannot.
func one(rs []store.Review, fp string) (store.Review, error) {
	switch {
	case len(rs) == 0:
		return store.Review{}, fmt.Errorf("no config %q in the review queue (llmsweep failures list --state all lists it)", fp)
	case len(rs) > 1:
		var names []string
		for _, r := range rs {
			names = append(names, r.Run+" "+short(r.Fingerprint))
		}
		return store.Review{}, fmt.Errorf("config %q is queued %d times (%s): name one with --run, or give more of the fingerprint", fp, len(rs), strings.Join(names, ", "))
	}
	return rs[0], nil
}

// newFailuresSet is ack or retry: they move the pending entries the filters
// select to state.
func newFailuresSet(name string, state store.ReviewState) *cobra.Command {
	var x failuresFlags
	var note string
	what := map[store.ReviewState]string{
		store.ReviewAcked: "Mark entries as looked at, with a note",
		store.ReviewRetry: "Have the next run of their campaigns measure these configs again, whatever the reuse policy says",
	}[state]
	cmd := &cobra.Command{
		Use:   name + " [--config FINGERPRINT] [filters]",
		Short: what,
		Long: what + `. It acts on the pending entries (open, acked, retry) that the filters
select, and needs at least one of them: --config, --run, --campaign, --model,
--hardware, --framework, --quantization or --workload.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if x.config == "" && !x.ff.set() {
				return fmt.Errorf("failures %s: name the entries with --config, --run, --campaign or another filter", name)
			}
			st, _, err := x.inv.readStore(cmd.Context(), nil)
			if err != nil {
				return err
			}
			defer st.Close()
			rs, err := x.selectReviews(cmd.Context(), st, store.PendingStates)
			if err != nil {
				return err
			}
			if len(rs) == 0 {
				return errors.New("no pending entry of the review queue matches (llmsweep failures list --state all lists them all)")
			}
			moved := map[[2]string]bool{}
			for _, r := range rs {
				if err := st.SetReview(cmd.Context(), r.Run, r.Fingerprint, state, note); err != nil {
					return err
				}
				moved[[2]string{r.Run, r.Fingerprint}] = true
			}
			if x.inv.output == "json" {
				// The entries as the store now has them, as failures list shows them.
				now, err := x.selectReviews(cmd.Context(), st, []store.ReviewState{state})
				if err != nil {
					return err
				}
				out := []store.Review{}
				for _, r := range now {
					if moved[[2]string{r.Run, r.Fingerprint}] {
						out = append(out, r)
					}
				}
				return writeJSON(cmd.OutOrStdout(), out)
			}
			verb := map[store.ReviewState]string{store.ReviewAcked: "acked", store.ReviewRetry: "queued for retry in the next run"}[state]
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", entries(len(rs)), verb)
			return nil
		},
	}
	x.inv.addStore(cmd)
	x.inv.addOutput(cmd, "table", "json")
	x.add(cmd, false)
	cmd.Flags().StringVar(&note, "note", "", "a `note` for whoever looks next (kept when empty)")
	return cmd
}

// entries is "1 entry", "2 entries".
func entries(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeReviews prints the queue as a table.
func writeReviews(w io.Writer, rs []store.Review) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tCONFIG\tMODEL\tHARDWARE\tFRAMEWORK\tQUANT\tWORKLOAD\tATTEMPTS\tSTATE\tFAILED\tREASON")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.Run, short(r.Fingerprint), dash(r.Model),
			dash(r.Hardware), dash(r.Framework), dash(r.Quantization), dash(r.Workload), r.Failure.Attempt, r.State,
			r.Failure.Time.UTC().Format(time.RFC3339), firstLine(r.Failure.Reason, 80))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, entries(len(rs)))
	return nil
}

// writeReview prints one entry in full.
func writeReview(w io.Writer, r *store.Review) {
	fmt.Fprintf(w, "config    %s\nrun       %s (campaign %s)\n", r.Fingerprint, r.Run, r.Campaign)
	fmt.Fprintf(w, "what      %s %s %s %s %s\n", dash(r.Model), dash(r.Hardware), dash(r.Framework), dash(r.Quantization), dash(r.Workload))
	fmt.Fprintf(w, "state     %s since %s\n", r.State, r.Updated.UTC().Format(time.RFC3339))
	if r.Note != "" {
		fmt.Fprintf(w, "note      %s\n", r.Note)
	}
	fmt.Fprintln(w, "attempts:")
	for _, f := range r.Attempts {
		final := ""
		if f.Final {
			final = " (final)"
		}
		fmt.Fprintf(w, "  %d%s at %s: %s\n", f.Attempt, final, f.Time.UTC().Format(time.RFC3339), f.Reason)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// firstLine is s's first line, cut to n runes.
func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
