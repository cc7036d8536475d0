package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/llmsweep/llmsweep/internal/generated"
	"github.com/llmsweep/llmsweep/internal/kube"
)

// kubeFlags are the cluster flags of apply, diff --live and status, read the
// way kubectl reads them.
type kubeFlags struct {
	kubeconfig, context, namespace string
}

func (k *kubeFlags) add(f *pflag.FlagSet) {
	f.StringVar(&k.kubeconfig, "kubeconfig", "", "the kubeconfig `FILE` (default $KUBECONFIG, else ~/.kube/config, else the in-cluster service account)")
	f.StringVar(&k.context, "context", "", "the kubeconfig context to use (default its current one)")
	f.StringVarP(&k.namespace, "namespace", "n", "", "apply into this namespace instead of the one the campaign declares")
}

func (k *kubeFlags) client() (*kube.Client, error) {
	// client-go logs failed requests through klog as well as returning them;
	// the returned error is the one users see, once.
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)
	rc, err := kube.RESTConfig(kube.Config{Kubeconfig: k.kubeconfig, Context: k.context})
	if err != nil {
		return nil, err
	}
	return kube.Connect(rc)
}

// kubeSet resolves apply's argument: a compiled folder (generated/NAME), or a
// campaign name compiled from campaigns/ in memory. It returns the generated
// files too. With budget, a campaign over its budget is an
// *generated.OverBudgetError.
func kubeSet(cmd *cobra.Command, arg string, inv *invocation, budget bool) (*kube.Set, map[string][]byte, error) {
	if st, err := os.Stat(arg); err == nil && st.IsDir() {
		files, err := generated.Read(arg)
		if errors.Is(err, generated.ErrEdited) {
			fmt.Fprintf(diag(cmd, slog.LevelWarn), "llmsweep: warning: %v; applying the edited files\n", err)
		} else if err != nil {
			return nil, nil, err
		}
		if len(files) == 0 {
			return nil, nil, fmt.Errorf("%s holds no compiled campaign: run llmsweep compile, or name a campaign", arg)
		}
		if budget {
			if err := generated.CheckBudget(files); err != nil {
				return nil, nil, err
			}
		}
		abs, err := filepath.Abs(arg)
		if err != nil {
			return nil, nil, err
		}
		s, err := kube.Load(filepath.Base(abs), files)
		return s, files, err
	}
	if strings.ContainsRune(arg, os.PathSeparator) {
		return nil, nil, fmt.Errorf("%s: no such folder; name a campaign or a generated/<campaign> folder", arg)
	}
	inv.names = []string{arg}
	set, c, err := inv.campaign(cmd, nil)
	if err != nil {
		return nil, nil, err
	}
	files, _, err := generated.Files(set, c, generated.Options{Budget: budget})
	if err != nil {
		return nil, nil, err
	}
	s, err := kube.Load(c.Name, files)
	return s, files, err
}

func newApply() *cobra.Command {
	var kf kubeFlags
	var opt kube.Options
	var inv invocation
	var dryRun, catalogImage string
	var withCatalog, overBudget bool
	cmd := &cobra.Command{
		Use:   "apply <campaign | generated/dir>",
		Short: "Apply a compiled campaign to a Kubernetes cluster with server-side apply",
		Long: `apply server-side applies everything the compiler generates for a campaign,
as field manager "llmsweep": its Workflows (or WorkflowTemplates and
CronWorkflows), its ConfigMaps, the executor's service account with least-
privilege RBAC, its PriorityClass when it names one that does not exist, and
monitoring objects whose CRDs the cluster has. Files that are not Kubernetes
objects (a Grafana dashboard) are skipped.

A changed campaign has a new Workflow name (the matrix hash is part of it); the
old Workflow is left to finish unless --replace is given. Objects the campaign
applied before and no longer generates are deleted only with --prune; only
objects labelled with the campaign and applied by llmsweep are ever touched.

--serve also applies the catalog service (llmsweep serve) to the namespace:
a Deployment of two non-root replicas with readiness (/readyz) and liveness
(/healthz) probes, a Service on port 80 and a PodDisruptionBudget. It reads
the store's URL from the Secret llmsweep-store and Redis' from llmsweep-cache
(key url; the cache is optional). They serve every campaign of the namespace,
so they are never pruned.

A campaign that plan predicts over its budget is refused (exit 1) unless
--allow-over-budget is given: by name, as compile refuses it; as a folder,
when compile --allow-over-budget recorded the overrun in its summary.json.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch dryRun {
			case "none", "":
			case "server":
				opt.DryRun = true
			default:
				return fmt.Errorf("--dry-run takes server (a server-side dry run) or none, not %q", dryRun)
			}
			s, _, err := kubeSet(cmd, args[0], &inv, !overBudget)
			var ob *generated.OverBudgetError
			if errors.As(err, &ob) {
				fmt.Fprintf(diag(cmd, slog.LevelWarn), "llmsweep: %v\n", budgetHint(err, "apply"))
				return exitError{exitFail}
			}
			if err != nil {
				return err
			}
			if withCatalog {
				opt.CatalogImage = catalogImage
			}
			for _, sk := range s.Skipped {
				fmt.Fprintln(diag(cmd, slog.LevelInfo), "skipped", sk)
			}
			if _, _, err := s.Target(kf.namespace); err != nil {
				return err
			}
			c, err := kf.client()
			if err != nil {
				return err
			}
			opt.Namespace = kf.namespace
			res, err := c.Apply(cmd.Context(), s, opt)
			if inv.output == "json" {
				done := applied{Campaign: s.Campaign, Namespace: namespaceOf(s, kf), DryRun: opt.DryRun, Objects: res}
				if done.Objects == nil {
					done.Objects = []kube.Result{}
				}
				if err != nil {
					done.Error = err.Error()
				}
				if werr := writeJSON(cmd.OutOrStdout(), done); werr != nil {
					return werr
				}
			}
			w := cmd.OutOrStdout()
			suffix := ""
			if opt.DryRun {
				suffix = " (server dry run)"
			}
			counts := map[kube.Action]int{}
			for _, r := range res {
				if inv.output != "json" {
					fmt.Fprintln(w, r.String()+suffix)
				}
				counts[r.Action]++
			}
			if err != nil {
				if len(res) > 0 {
					return fmt.Errorf("%w\n(%d objects were handled before this error; apply is idempotent, so running it again finishes the job)", err, len(res))
				}
				return err
			}
			if inv.output == "json" {
				return nil
			}
			var parts []string
			for _, a := range []kube.Action{kube.Created, kube.Changed, kube.Unchanged, kube.Pruned, kube.Kept, kube.Skipped} {
				if counts[a] > 0 {
					parts = append(parts, fmt.Sprintf("%d %s", counts[a], a))
				}
			}
			fmt.Fprintf(w, "campaign %s in namespace %s: %s%s\n", s.Campaign, namespaceOf(s, kf), strings.Join(parts, ", "), suffix)
			return nil
		},
	}
	f := cmd.Flags()
	kf.add(f)
	f.StringVar(&dryRun, "dry-run", "none", "server: send every change as a server-side dry run, changing nothing")
	f.Lookup("dry-run").NoOptDefVal = "server"
	f.BoolVar(&opt.Force, "force-conflicts", false, "take over fields that another field manager owns")
	f.BoolVar(&opt.Prune, "prune", false, "delete the campaign's objects that it no longer generates (running Workflows excepted)")
	f.BoolVar(&opt.Replace, "replace", false, "delete the campaign's older Workflows even while they run")
	f.BoolVar(&withCatalog, "serve", false, "also apply the catalog service (llmsweep serve): Deployment, Service, PodDisruptionBudget")
	f.BoolVar(&overBudget, "allow-over-budget", false, allowOverBudgetHelp)
	inv.addOutput(cmd, "table", "json")
	f.StringVar(&catalogImage, "serve-image", generated.DefaultImage, "the llmsweep `image` the catalog service runs")
	inv.addCatalog(cmd)
	return cmd
}

// applied is what apply did, for -o json: each object's action, and the
// error that stopped it, if one did.
type applied struct {
	Campaign  string        `json:"campaign"`
	Namespace string        `json:"namespace"`
	DryRun    bool          `json:"dry_run"`
	Objects   []kube.Result `json:"objects"`
	Error     string        `json:"error,omitempty"`
}

func namespaceOf(s *kube.Set, kf kubeFlags) string {
	if kf.namespace != "" {
		return kf.namespace
	}
	return s.Namespace
}

// diffLive is diff --live: each campaign against the live objects, through a
// server-side dry-run apply. Exit codes as diff: 0 no change, 1 changes, 2 error.
func diffLive(cmd *cobra.Command, args []string, inv *invocation, kf kubeFlags) error {
	output := inv.output
	set, cs, err := inv.campaigns(cmd, args)
	if err != nil {
		return err
	}
	var sets []*kube.Set
	for _, c := range cs {
		files, _, err := generated.Files(set, c, generated.Options{SkipValidation: true})
		if err != nil {
			return err
		}
		s, err := kube.Load(c.Name, files)
		if err != nil {
			return err
		}
		if _, _, err := s.Target(kf.namespace); err != nil {
			return err
		}
		sets = append(sets, s)
	}
	client, err := kf.client()
	if err != nil {
		return err
	}
	reports, changed, err := client.DiffAll(cmd.Context(), sets, kube.Options{Namespace: kf.namespace})
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(reports)
	} else {
		err = kube.WriteLiveDiffs(w, reports)
	}
	if err != nil {
		return err
	}
	if changed > 0 {
		return exitError{exitFail}
	}
	return nil
}
