package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"

	"cuelang.org/go/cue/cuecontext"
	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
)

// invocation is what the commands share (DESIGN 12): the flags that mean the
// same thing on every command, declared once here with one help text and one
// default, and the one way a campaign, the policies and the store are found.
type invocation struct {
	catalog string   // --catalog
	store   string   // --store
	names   []string // --campaign
	bundle  string   // --bundle
	output  string   // -o, --output
}

// Flag help texts, so that a flag reads the same on every command.
const (
	catalogHelp = "catalog `directory` (default: catalog/ of the CUE module, else the built-in catalog)"
	storeHelp   = "the results store `URL`: sqlite://FILE or postgres://… (default $LLMSWEEP_STORE, else the campaign's store.url, else " + store.DefaultURL + ")"
	bundleHelp  = "the campaign bundle `file` (in a pipeline pod); else the campaign comes from the CUE files given"
)

func (v *invocation) addCatalog(cmd *cobra.Command) {
	cmd.Flags().StringVar(&v.catalog, "catalog", "", catalogHelp)
}

// addStore declares --store; persistent, so that subcommands take it too.
func (v *invocation) addStore(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&v.store, "store", "", storeHelp)
}

// addCampaign declares --campaign: one name, or several with many.
func (v *invocation) addCampaign(cmd *cobra.Command, many bool) {
	if many {
		cmd.Flags().StringSliceVar(&v.names, "campaign", nil, "only these `campaigns` (default: all loaded)")
		return
	}
	cmd.Flags().Var(newOneName(&v.names), "campaign", "the `campaign`, when the files hold several")
}

func (v *invocation) addBundle(cmd *cobra.Command) {
	cmd.Flags().StringVar(&v.bundle, "bundle", "", bundleHelp)
}

// addOutput declares -o with the formats a command writes; the first is the default.
func (v *invocation) addOutput(cmd *cobra.Command, formats ...string) {
	cmd.Flags().StringVarP(&v.output, "output", "o", formats[0], strings.Join(formats, ", ")+" (`format`)")
	cmd.PreRunE = chain(cmd.PreRunE, func(*cobra.Command, []string) error {
		// table and text both name the format for people, whichever a
		// command calls it.
		if (v.output == "table" || v.output == "text") && (formats[0] == "table" || formats[0] == "text") {
			v.output = formats[0]
		}
		if !slices.Contains(formats, v.output) {
			return fmt.Errorf("--output %q: want %s", v.output, strings.Join(formats, ", "))
		}
		return nil
	})
}

// addJSONAlias declares --json, hidden, as the deprecated alias of -o json
// that a command had before -o. The note goes to the log, not into the JSON.
func (v *invocation) addJSONAlias(cmd *cobra.Command) {
	var on bool
	cmd.Flags().BoolVar(&on, "json", false, "the same as -o json (deprecated)")
	cmd.Flags().MarkHidden("json")
	cmd.PreRunE = chain(func(c *cobra.Command, _ []string) error {
		if on {
			v.output = "json"
			fmt.Fprintln(diag(c, slog.LevelWarn), "--json is deprecated: use -o json")
		}
		return nil
	}, cmd.PreRunE)
}

// checkFlags checks parsed flag values before the command runs: a value out
// of range is an error (exit 2), never silently used.
func checkFlags(cmd *cobra.Command, check func() error) {
	cmd.PreRunE = chain(cmd.PreRunE, func(*cobra.Command, []string) error { return check() })
}

// fraction wants v in (0, 1), or (0, 1] when closed.
func fraction(flag string, v float64, closed bool) error {
	if v > 0 && (v < 1 || closed && v == 1) {
		return nil
	}
	hi := ")"
	if closed {
		hi = "]"
	}
	return fmt.Errorf("--%s %g: want a number in (0, 1%s", flag, v, hi)
}

// atLeast wants v ≥ lo.
func atLeast(flag string, v, lo int) error {
	if v >= lo {
		return nil
	}
	return fmt.Errorf("--%s %d: want at least %d", flag, v, lo)
}

func chain(a, b func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	if a == nil {
		return b
	}
	return func(c *cobra.Command, args []string) error {
		if err := a(c, args); err != nil {
			return err
		}
		return b(c, args)
	}
}

// oneName is a --campaign that takes one name.
type oneName struct{ names *[]string }

func newOneName(names *[]string) *oneName { return &oneName{names} }
func (o *oneName) String() string {
	if len(*o.names) == 0 {
		return ""
	}
	return (*o.names)[0]
}
func (o *oneName) Set(s string) error { *o.names = []string{s}; return nil }
func (o *oneName) Type() string       { return "string" }

// campaignArg is an argument that reads as a campaign name (schema #Name,
// without dots, which name files) rather than a path.
var campaignArg = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$`)

// paths sorts a command's arguments: an existing file or directory is loaded;
// one that is not but reads as a campaign name names a campaign of campaigns/
// (`report quickstart`), as --campaign does; anything else cannot be read,
// which is an error (exit 2), not a finding. No files means campaigns/.
func (v *invocation) paths(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		_, err := os.Stat(a)
		switch {
		case err == nil:
			files = append(files, a)
		case campaignArg.MatchString(a):
			if !slices.Contains(v.names, a) {
				v.names = append(v.names, a)
			}
		default:
			return nil, fmt.Errorf("cannot read %s: %w", a, unwrapPath(err))
		}
	}
	if len(files) > 0 {
		return files, nil
	}
	if _, err := os.Stat("campaigns"); err != nil && len(v.names) > 0 {
		return nil, fmt.Errorf("campaign %s: not a file, and there is no campaigns/ directory here to look it up in", strings.Join(v.names, ", "))
	}
	return []string{"campaigns"}, nil
}

// unwrapPath drops the path from an *os.PathError, which the caller names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// load loads and vets paths (default campaigns/) as vet does, printing the
// problems; it fails with exit code 1 when there are any.
func (v *invocation) load(cmd *cobra.Command, args []string) (*campaign.Set, error) {
	paths, err := v.paths(args)
	if err != nil {
		return nil, err
	}
	set, err := campaign.Load(cuecontext.New(), paths, campaign.Options{Catalog: v.catalog})
	var probs campaign.Problems
	if errors.As(err, &probs) {
		for _, p := range probs {
			fmt.Fprintln(diag(cmd, slog.LevelWarn), p.Error())
		}
		fmt.Fprintf(diag(cmd, slog.LevelWarn), "%d problem%s found\n", len(probs), plural(len(probs)))
		return nil, exitError{exitFail}
	}
	return set, err
}

// campaigns loads paths and picks the campaigns --campaign names, or all.
func (v *invocation) campaigns(cmd *cobra.Command, paths []string) (*campaign.Set, []campaign.Campaign, error) {
	set, err := v.load(cmd, paths)
	if err != nil {
		return nil, nil, err
	}
	if err := knownCampaigns(set, v.names); err != nil {
		return nil, nil, err
	}
	names := v.names
	if len(names) == 0 {
		names = keys(set.Campaigns)
	}
	var out []campaign.Campaign
	for _, n := range names {
		out = append(out, set.Campaigns[n])
	}
	if len(out) == 0 {
		return nil, nil, errors.New("no campaign is loaded")
	}
	return set, out, nil
}

// knownCampaigns says which of names the set has no campaign for, with a
// "did you mean".
func knownCampaigns(set *campaign.Set, names []string) error {
	for _, n := range names {
		if _, ok := set.Campaigns[n]; ok {
			continue
		}
		all := keys(set.Campaigns)
		hint := campaign.Suggest(n, all)
		if hint == "" {
			hint = " among " + strings.Join(all, ", ")
		}
		return fmt.Errorf("no campaign %q%s", n, hint)
	}
	return nil
}

// campaign is the one campaign a command is about: from --bundle (in a pod),
// or from the files given.
func (v *invocation) campaign(cmd *cobra.Command, paths []string) (*campaign.Set, campaign.Campaign, error) {
	if v.bundle != "" {
		if len(paths) > 0 {
			return nil, campaign.Campaign{}, errors.New("give --bundle or campaign files, not both")
		}
		b, err := os.ReadFile(v.bundle)
		if err != nil {
			return nil, campaign.Campaign{}, err
		}
		set, c, err := campaign.ReadBundle(b)
		if err != nil {
			return nil, campaign.Campaign{}, fmt.Errorf("%s: %w", v.bundle, err)
		}
		return set, c, nil
	}
	set, cs, err := v.campaigns(cmd, paths)
	if err != nil {
		return nil, campaign.Campaign{}, err
	}
	if len(cs) != 1 {
		var n []string
		for _, c := range cs {
			n = append(n, c.Name)
		}
		return nil, campaign.Campaign{}, fmt.Errorf("%d campaigns are loaded (%s): name one with --campaign", len(cs), strings.Join(n, ", "))
	}
	return set, cs[0], nil
}

// policies returns the set's policies, or the shipped ones when it has none.
func policies(set *campaign.Set) (map[string]campaign.Policy, error) {
	if set != nil && len(set.Policies) > 0 {
		return set.Policies, nil
	}
	return campaign.ShippedPolicies(cuecontext.New(), "")
}

// storeURL is the store a command uses: --store, else $LLMSWEEP_STORE, else
// the campaign's store.url (when there is a campaign), else the default file.
func (v *invocation) storeURL(c *campaign.Campaign) string {
	switch {
	case v.store != "":
		return v.store
	case os.Getenv("LLMSWEEP_STORE") != "":
		return os.Getenv("LLMSWEEP_STORE")
	case c != nil && c.Store.URL != "":
		return c.Store.URL
	}
	return store.DefaultURL
}

// openExisting opens the store for a command that only reads it: a SQLite
// file that does not exist is not created, and comes back as a nil store,
// which holds no results.
func (v *invocation) openExisting(ctx context.Context, c *campaign.Campaign) (store.Store, string, error) {
	url := v.storeURL(c)
	if path, ok := strings.CutPrefix(url, "sqlite://"); ok && !isRegularFile(path) {
		return nil, url, nil
	}
	return v.openStore(ctx, c)
}

// readStore opens the store for a command that reads results: one that does
// not exist is an error, not a new empty store.
func (v *invocation) readStore(ctx context.Context, c *campaign.Campaign) (store.Store, string, error) {
	st, url, err := v.openExisting(ctx, c)
	if err == nil && st == nil {
		err = fmt.Errorf("no results store at %s: run a campaign first (llmsweep run), or name the store with --store or $LLMSWEEP_STORE", redact(url))
	}
	return st, url, err
}

// checkFilter turns the filter's run latest or latest~N into its id, and says
// when the filter names a run or a campaign the store lacks: an empty answer
// to a typo is not an answer.
func checkFilter(ctx context.Context, st store.Store, f *store.Filter) error {
	if f.RunID != "" {
		id, err := resolveRun(ctx, st, f.Campaign, f.RunID)
		if err != nil {
			return err
		}
		f.RunID = id
		r, err := st.Run(ctx, f.RunID)
		if err != nil {
			return err
		}
		if r == nil {
			return fmt.Errorf("run %q is not in the store", f.RunID)
		}
	}
	if f.Campaign != "" {
		runs, err := st.Runs(ctx, "")
		if err != nil {
			return err
		}
		names := map[string]bool{}
		for _, r := range runs {
			names[r.Campaign] = true
		}
		if !names[f.Campaign] {
			known := keys(names)
			hint := campaign.Suggest(f.Campaign, known)
			if hint == "" {
				hint = " (the store has " + strings.Join(known, ", ") + ")"
			}
			return fmt.Errorf("campaign %q has no runs in the store%s", f.Campaign, hint)
		}
	}
	return nil
}

// openStore opens the store that storeURL names, creating it when needed.
func (v *invocation) openStore(ctx context.Context, c *campaign.Campaign) (store.Store, string, error) {
	url := v.storeURL(c)
	st, err := store.Open(ctx, url)
	if err != nil {
		return nil, url, fmt.Errorf("results store %s: %w", redact(url), err)
	}
	return st, url, nil
}

// filterFlags are the result filters of results and rank.
type filterFlags struct {
	f          store.Filter
	runs       []string
	provenance string
}

func (x *filterFlags) add(cmd *cobra.Command, campaign bool) {
	x.addConfigs(cmd, campaign)
	cmd.Flags().StringVar(&x.provenance, "provenance", "", "only results that were `measured`, predicted or imported")
}

// addConfigs declares the filters that select runs and configs: all of add's
// but --provenance, which the review queue has no use for.
func (x *filterFlags) addConfigs(cmd *cobra.Command, campaign bool) {
	fl := cmd.Flags()
	if campaign {
		fl.StringVar(&x.f.Campaign, "campaign", "", "only this `campaign`")
	}
	fl.StringSliceVar(&x.runs, "run", nil, "only these runs (`ids`, repeated or comma-separated)")
	fl.StringVar(&x.f.Model, "model", "", "only this `model`")
	fl.StringVar(&x.f.Hardware, "hardware", "", "only this `hardware`")
	fl.StringVar(&x.f.Framework, "framework", "", "only this `framework`")
	fl.StringVar(&x.f.Quantization, "quantization", "", "only this `quantization`")
	fl.StringVar(&x.f.Workload, "workload", "", "only this `workload`")
}

// filters are the store filters the flags give: one per --run, or one.
func (x *filterFlags) filters() ([]store.Filter, error) {
	f := x.f
	if x.provenance != "" {
		k, err := result.ParseKind(x.provenance)
		if err != nil {
			return nil, fmt.Errorf("--provenance: %w", err)
		}
		f.Provenance = k
	}
	if len(x.runs) == 0 {
		return []store.Filter{f}, nil
	}
	out := make([]store.Filter, len(x.runs))
	for i, id := range x.runs {
		out[i] = f
		out[i].RunID = id
	}
	return out, nil
}

// set reports whether any filter flag was given.
func (x *filterFlags) set() bool {
	return x.f != (store.Filter{}) || len(x.runs) > 0 || x.provenance != ""
}
