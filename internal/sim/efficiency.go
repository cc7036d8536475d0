package sim

import (
	"fmt"

	"cuelang.org/go/cue"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// EfficiencyField is the catalog's hidden field holding the efficiency table
// (catalog/efficiency.cue, schema #EfficiencyTable).
const EfficiencyField = "_efficiency"

// Defaults reads the efficiency table from a loaded set. A set without one (a
// bundle, or a catalog that lacks the file) gives an empty table, which falls
// back to DefaultEfficiency.
func Defaults(set *campaign.Set) (Table, error) {
	t := Table{}
	if !set.Value.Exists() {
		return t, nil
	}
	it, err := set.Value.Fields(cue.Hidden(true))
	if err != nil {
		return t, nil
	}
	for it.Next() {
		if it.Selector().String() != EfficiencyField {
			continue
		}
		if err := it.Value().Decode(&t); err != nil {
			return nil, fmt.Errorf("%s: %v", EfficiencyField, err)
		}
	}
	// A framework may have efficiency rows before the catalog has its entry
	// (its plugin comes later); the schema checks the names.
	for f, byArch := range t {
		for arch, e := range byArch {
			if !e.valid() {
				return nil, fmt.Errorf("%s.%s.%s: mfu %g, mbu %g, step_ms %g, max_seqs %d, max_batch_tokens %d: mfu and mbu must be in (0, 1], the rest not negative",
					EfficiencyField, f, arch, e.MFU, e.MBU, e.StepMS, e.MaxSeqs, e.MaxBatchTokens)
			}
		}
	}
	return t, nil
}

// Clone returns a deep copy of t.
func (t Table) Clone() Table {
	out := Table{}
	for f, m := range t {
		out[f] = map[string]Efficiency{}
		for a, e := range m {
			out[f][a] = e
		}
	}
	return out
}

// Set records e for framework on arch.
func (t Table) Set(framework, arch string, e Efficiency) {
	if t[framework] == nil {
		t[framework] = map[string]Efficiency{}
	}
	t[framework][arch] = e
}
