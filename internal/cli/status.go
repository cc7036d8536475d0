package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/kube"
	"github.com/llmsweep/llmsweep/internal/store"
)

func newStatus() *cobra.Command {
	var kf kubeFlags
	var inv invocation
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "status <campaign | generated/dir>",
		Short: "Show a campaign's Workflows on the cluster, and its results already stored",
		Long: `status reads the phase of each of the campaign's Workflows and counts its
batches: done, running, failed, and retried (taking more than one attempt).
With --wait it follows them until all have finished, or --timeout passes.
It then says how many of the campaign's configs already have results in the
store.

Exit codes: 0 finished well (or not waiting), 1 a Workflow failed, 2 an error
or the timeout.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, files, err := kubeSet(cmd, args[0], &inv, false)
			if err != nil {
				return err
			}
			c, err := kf.client()
			if err != nil {
				return err
			}
			ns := namespaceOf(s, kf)
			w := cmd.OutOrStdout()
			show := func(st []kube.WorkflowStatus) {
				for _, x := range st {
					fmt.Fprintln(w, x)
				}
			}
			var st []kube.WorkflowStatus
			if wait {
				ctx := cmd.Context()
				if timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, timeout)
					defer cancel()
				}
				st, err = c.Watch(ctx, s.Campaign, ns, show)
				if errors.Is(err, kube.ErrWaitTimeout) {
					return fmt.Errorf("campaign %s: %w (--timeout %s); the last state is above", s.Campaign, err, timeout)
				}
			} else {
				st, err = c.Status(cmd.Context(), s.Campaign, ns)
				show(st)
			}
			if err != nil {
				return err
			}
			// The default local store only when one exists: status never creates it.
			if url := inv.storeURL(nil); url != store.DefaultURL || isRegularFile(".llmsweep/results.db") {
				if err := diffResults(cmd, &inv, nil, map[string]map[string][]byte{s.Campaign: files}); err != nil {
					return err
				}
			}
			for _, x := range st {
				if x.Phase == "Failed" || x.Phase == "Error" {
					return exitError{exitFail}
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	kf.add(f)
	f.BoolVar(&wait, "wait", false, "follow the Workflows until all have finished")
	f.DurationVar(&timeout, "timeout", 0, "with --wait, give up after this long (0: no limit)")
	inv.addStore(cmd)
	inv.addCatalog(cmd)
	return cmd
}
