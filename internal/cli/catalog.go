package cli

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"cuelang.org/go/cue/cuecontext"
	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// catalogKinds are what `llmsweep catalog` lists: each kind's names and the
// facts a campaign author picks by, one row a name.
var catalogKinds = []string{"hardware", "models", "frameworks", "quantizations", "workloads"}

func newCatalog() *cobra.Command {
	var inv invocation
	cmd := &cobra.Command{
		Use:   "catalog [" + strings.Join(catalogKinds, "|") + "]",
		Short: "List what a campaign can select: hardware, models, frameworks, quantizations, workloads",
		Long: `catalog lists the catalog's entries a campaign's select names: --catalog,
else catalog/ of this CUE module, else the catalog built into the binary. With
no kind it lists every kind.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kinds := catalogKinds
			if len(args) == 1 {
				if !slices.Contains(catalogKinds, args[0]) {
					hint := campaign.Suggest(args[0], catalogKinds)
					if hint == "" {
						hint = " (want " + strings.Join(catalogKinds, ", ") + ")"
					}
					return fmt.Errorf("no catalog kind %q%s", args[0], hint)
				}
				kinds = args[:1]
			}
			set, err := campaign.Load(cuecontext.New(), nil, campaign.Options{Catalog: inv.catalog})
			if err != nil {
				return err
			}
			rows := map[string][][]string{}
			for _, k := range kinds {
				rows[k] = catalogRows(set, k)
			}
			w := cmd.OutOrStdout()
			if inv.output == "json" {
				out := map[string]any{}
				for _, k := range kinds {
					out[k] = catalogEntries(set, k)
				}
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			for i, k := range kinds {
				if i > 0 {
					fmt.Fprintln(w)
				}
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, strings.Join(catalogHeads[k], "\t"))
				for _, r := range rows[k] {
					fmt.Fprintln(tw, strings.Join(r, "\t"))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			return nil
		},
	}
	inv.addCatalog(cmd)
	inv.addOutput(cmd, "table", "json")
	return cmd
}

var catalogHeads = map[string][]string{
	"hardware":      {"HARDWARE", "GPU", "COUNT", "MEMORY GiB", "SPOT $/h", "ON-DEMAND $/h"},
	"models":        {"MODEL", "FAMILY", "PARAMS B", "ACTIVE B", "ARCHITECTURE", "REPO"},
	"frameworks":    {"FRAMEWORK", "DEFAULT VERSION", "VERSIONS"},
	"quantizations": {"QUANTIZATION", "METHOD", "WEIGHT BITS", "KV BITS"},
	"workloads":     {"WORKLOAD", "DESCRIPTION"},
}

// catalogEntries are the kind's entries as the catalog decodes them.
func catalogEntries(set *campaign.Set, kind string) any {
	switch kind {
	case "hardware":
		return set.Hardware
	case "models":
		return set.Models
	case "frameworks":
		return set.Frameworks
	case "quantizations":
		return set.Quantizations
	}
	return set.Workloads
}

func catalogRows(set *campaign.Set, kind string) [][]string {
	var out [][]string
	g := func(v float64) string { return fmt.Sprintf("%g", v) }
	switch kind {
	case "hardware":
		for _, n := range slices.Sorted(maps.Keys(set.Hardware)) {
			h := set.Hardware[n]
			out = append(out, []string{n, h.GPU.Model, fmt.Sprint(h.Count), g(h.GPU.MemoryGiB), g(h.Price.SpotUSDHour), g(h.Price.OnDemandUSDHour)})
		}
	case "models":
		for _, n := range slices.Sorted(maps.Keys(set.Models)) {
			m := set.Models[n]
			active := "-"
			if m.ActiveParamsB > 0 {
				active = g(m.ActiveParamsB)
			}
			out = append(out, []string{n, m.Family, g(m.ParamsB), active, m.Architecture, m.HF.Repo})
		}
	case "frameworks":
		for _, n := range slices.Sorted(maps.Keys(set.Frameworks)) {
			f := set.Frameworks[n]
			out = append(out, []string{n, f.DefaultVersion, strings.Join(slices.Sorted(maps.Keys(f.Versions)), ", ")})
		}
	case "quantizations":
		for _, n := range slices.Sorted(maps.Keys(set.Quantizations)) {
			q := set.Quantizations[n]
			out = append(out, []string{n, q.Method, fmt.Sprint(q.WeightBits), fmt.Sprint(q.KVBits)})
		}
	case "workloads":
		for _, n := range slices.Sorted(maps.Keys(set.Workloads)) {
			out = append(out, []string{n, set.Workloads[n].Description})
		}
	}
	return out
}
