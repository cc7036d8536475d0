package campaign

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteSummary shows what was loaded and, per campaign, the size of each
// dimension: what llmsweep vet prints for a clean input.
func (s *Set) WriteSummary(w io.Writer) error {
	fmt.Fprintf(w, "catalog %s: %d hardware, %d frameworks, %d quantizations, %d workloads, %d models\n",
		s.CatalogDir, len(s.Hardware), len(s.Frameworks), len(s.Quantizations), len(s.Workloads), len(s.Models))
	if len(s.Policies) > 0 {
		fmt.Fprintf(w, "policies: %s\n", strings.Join(SortedKeys(s.Policies), ", "))
	}
	if len(s.Campaigns) == 0 {
		_, err := fmt.Fprintln(w, "no campaigns")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CAMPAIGN\tMODELS\tHARDWARE\tFRAMEWORKS\tQUANTIZATIONS\tWORKLOADS\tCONFIGS\tSCHEDULE")
	for _, name := range SortedKeys(s.Campaigns) {
		c := s.Campaigns[name]
		sel := s.Select(c)
		n, _ := s.Count(c)
		sched := "-"
		if c.Schedule != nil {
			sched = c.Schedule.Cron
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", name, len(sel.Models), len(sel.Hardware),
			len(sel.Frameworks), len(sel.Quantizations), len(sel.Workloads), n, sched)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "CONFIGS counts supported combinations × grid points, before the memory-fit pruning of compile.")
	return err
}

// UsedModels are the models the loaded campaigns use, or every model when no
// campaign is loaded, by name.
func (s *Set) UsedModels() []Model {
	used := map[string]bool{}
	for _, c := range s.Campaigns {
		for _, m := range s.Select(c).Models {
			used[m] = true
		}
	}
	if len(used) == 0 {
		for m := range s.Models {
			used[m] = true
		}
	}
	var out []Model
	for m := range used {
		out = append(out, s.Models[m])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// jsonProblem flattens the primary position for CI annotation tools.
type jsonProblem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
	// Positions are every position that contributed, primary first.
	Positions []Position `json:"positions,omitempty"`
}

// WriteJSON writes the problems as vet -o json does, for CI annotations:
// {"ok": …, "problems": [{file, line, column, path, message, positions}]}.
func (ps Problems) WriteJSON(w io.Writer) error {
	out := struct {
		OK       bool          `json:"ok"`
		Problems []jsonProblem `json:"problems"`
	}{OK: len(ps) == 0, Problems: []jsonProblem{}}
	for _, p := range ps {
		j := jsonProblem{Path: p.Path, Message: p.Message, Positions: p.Positions}
		if len(p.Positions) > 0 {
			j.File, j.Line, j.Column = p.Positions[0].File, p.Positions[0].Line, p.Positions[0].Column
		}
		out.Problems = append(out.Problems, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
