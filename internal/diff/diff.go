// Package diff compares the generated files of one campaign before and after a
// change: which configs were added, removed or changed, which moved to another
// batch, and how the manifests differ. It is what `llmsweep diff` prints.
//
// Configs are matched by fingerprint (DESIGN 3). Only the lines that are not on
// both sides, or that moved, are decoded; the rest are indexed from the
// fingerprint and batch every line starts with, so that a diff stays linear and
// cheap at catalog scale.
package diff

import (
	"bytes"
	"slices"

	"github.com/rogpeppe/go-internal/diff"

	"github.com/llmsweep/llmsweep/internal/matrix"
)

// MatrixFile is the file whose configs are compared; the other files of
// generated/<campaign>/ are compared as text, except SumsFile.
const (
	MatrixFile = "matrix.jsonl"
	SumsFile   = "SUMS" // derived from the others, so its diff says nothing new
)

// manifestOrder lists the manifests first in the order a reviewer reads them.
var manifestOrder = []string{"workflow.yaml", "configmap.yaml", "summary.json"}

// Report is the difference between two versions of a campaign's generated files.
// Configs appear in matrix order: Removed in the old matrix's, the others in the
// new one's.
type Report struct {
	Campaign string `json:"campaign"`
	// Status is the campaign's own change: StatusAdded (it is only on the
	// new side), StatusRemoved (only on the old) or StatusKept.
	Status  string          `json:"status"`
	Added   []matrix.Config `json:"added"`
	Removed []matrix.Config `json:"removed"`
	// Changed pairs the configs of one slot, a benchmark point, whose
	// fingerprints differ: the point is kept but measured differently.
	Changed   []Change   `json:"changed"`
	Moved     []Move     `json:"moved"`
	Manifests []FileDiff `json:"manifests"`
}

// The values of Report.Status.
const (
	StatusAdded   = "added"
	StatusRemoved = "removed"
	StatusKept    = "kept"
)

// Change is a config whose serving changed for the same benchmark point.
type Change struct {
	Old matrix.Config `json:"old"`
	New matrix.Config `json:"new"`
	// Fields that differ, in the matrix line's order. Fingerprint and batch
	// are left out: they differ whenever anything else does (see Moved).
	Fields []Field `json:"fields"`
}

// Field is one differing field of a Change, by its JSON name.
type Field struct {
	Name string `json:"name"`
	Old  string `json:"old"`
	New  string `json:"new"`
}

// Move is a config, the same on both sides, that runs in another batch.
type Move struct {
	Fingerprint string        `json:"fingerprint"`
	OldBatch    string        `json:"old_batch"`
	NewBatch    string        `json:"new_batch"`
	Config      matrix.Config `json:"config"`
}

// FileDiff is a unified diff of one file other than the matrix.
type FileDiff struct {
	Name    string `json:"name"`
	Unified string `json:"unified"`
}

// Empty reports whether nothing differs.
func (r *Report) Empty() bool {
	return len(r.Added) == 0 && len(r.Removed) == 0 && len(r.Changed) == 0 &&
		len(r.Moved) == 0 && len(r.Manifests) == 0
}

// Compare compares the generated files of campaign, each map holding file name
// to contents. Either side may be empty: the campaign is new, or removed. A
// malformed line of either matrix is a *LineError.
func Compare(campaign string, old, new map[string][]byte) (*Report, error) {
	r := &Report{Campaign: campaign, Status: StatusKept}
	switch {
	case len(old) == 0 && len(new) > 0:
		r.Status = StatusAdded
	case len(new) == 0 && len(old) > 0:
		r.Status = StatusRemoved
	}
	file := "generated/" + campaign + "/" + MatrixFile
	a := &matrixFile{side: "old", file: file, data: old[MatrixFile]}
	b := &matrixFile{side: "new", file: file, data: new[MatrixFile]}
	if err := r.matrix(a, b); err != nil {
		return nil, err
	}
	r.Manifests = manifests(old, new)
	return r, nil
}

// manifests diffs every file but the matrix and SUMS.
func manifests(old, new map[string][]byte) []FileDiff {
	var names []string
	for _, m := range []map[string][]byte{old, new} {
		for name := range m {
			if name != MatrixFile && name != SumsFile && !slices.Contains(manifestOrder, name) && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	var out []FileDiff
	for _, name := range append(slices.Clone(manifestOrder), names...) {
		if bytes.Equal(old[name], new[name]) {
			continue
		}
		u := diff.Diff("a/"+name, old[name], "b/"+name, new[name])
		out = append(out, FileDiff{Name: name, Unified: string(u)})
	}
	return out
}
