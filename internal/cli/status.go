package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/kube"
	"github.com/llmsweep/llmsweep/internal/pipeline"
	"github.com/llmsweep/llmsweep/internal/result"
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
				if inv.output == "json" {
					return // one document, at the end
				}
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
			readStore := inv.storeURL(nil) != store.DefaultURL || isRegularFile(".llmsweep/results.db")
			if inv.output == "json" {
				done := campaignStatus{Campaign: s.Campaign, Namespace: ns, Workflows: st}
				if done.Workflows == nil {
					done.Workflows = []kube.WorkflowStatus{}
				}
				if readStore {
					if done.Stored, err = storedResults(cmd, &inv, files); err != nil {
						return err
					}
				}
				if err := writeJSON(w, done); err != nil {
					return err
				}
			} else if readStore {
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
	inv.addOutput(cmd, "table", "json")
	return cmd
}

// campaignStatus is status -o json: the campaign's Workflows, and how many of
// its configs have results in the store (absent when there is no store).
type campaignStatus struct {
	Campaign  string                `json:"campaign"`
	Namespace string                `json:"namespace"`
	Workflows []kube.WorkflowStatus `json:"workflows"`
	Stored    *stored               `json:"stored,omitempty"`
}

// stored counts a compiled campaign's configs with measured results.
type stored struct {
	Store    string `json:"store"`
	Configs  int    `json:"configs"`
	Measured int    `json:"measured"`
}

func storedResults(cmd *cobra.Command, inv *invocation, files map[string][]byte) (*stored, error) {
	st, url, err := inv.openExisting(cmd.Context(), nil)
	if err != nil {
		return nil, err
	}
	if st != nil {
		defer st.Close()
	}
	configs := matrixConfigs(files["matrix.jsonl"])
	r, err := pipeline.Decide(cmd.Context(), st, configs, pipeline.ReuseOptions{Policy: campaign.Reuse{Scope: campaign.ReuseAny}, Kind: result.Measured})
	if err != nil {
		return nil, err
	}
	return &stored{Store: redact(url), Configs: len(configs), Measured: len(configs) - len(r.Measure)}, nil
}
