package campaign

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"cuelang.org/go/cue"
	"github.com/agnivade/levenshtein"
)

// lookup returns the value at a path of selectors: strings are field names, ints
// list indices.
func (s *Set) lookup(sels ...any) cue.Value {
	p := make([]cue.Selector, len(sels))
	for i, x := range sels {
		switch x := x.(type) {
		case string:
			p[i] = cue.Str(x)
		case int:
			p[i] = cue.Index(x)
		}
	}
	return s.Value.LookupPath(cue.MakePath(p...))
}

// Suggest returns ` (did you mean "x"?)` for the closest known name, or "".
func Suggest(name string, known []string) string { return suggest(name, known) }

// suggest returns ` (did you mean "x"?)` for the closest known name, or "".
func suggest(name string, known []string) string {
	if k, ok := closest(name, known); ok {
		return fmt.Sprintf(" (did you mean %q?)", k)
	}
	return ""
}

// closest returns the known name nearest to name, if one is near enough.
func closest(name string, known []string) (string, bool) {
	type score struct {
		d, lev int
		k      string
	}
	var best *score
	for _, k := range known {
		lev := levenshtein.ComputeDistance(name, k)
		d := lev
		if strings.Contains(k, name) || strings.Contains(name, k) {
			d = 1 // a prefix or part of a name is as good as a typo
		}
		sc := score{d, lev, k}
		if best == nil || sc.d < best.d || sc.d == best.d && (sc.lev < best.lev || sc.lev == best.lev && sc.k < best.k) {
			best = &sc
		}
	}
	if best == nil || best.d > max(2, len(name)/3) {
		return "", false
	}
	return best.k, true
}

// SortedKeys returns a map's keys in order.
func SortedKeys[T any](m map[string]T) []string { return sortedKeys(m) }

func sortedKeys[T any](m map[string]T) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// names returns the entry names of a section, valid or not, sorted.
func (s *Set) names(section string) map[string]bool {
	out := map[string]bool{}
	it, err := s.lookup(section).Fields()
	if err != nil {
		return out
	}
	for it.Next() {
		out[it.Selector().Unquoted()] = true
	}
	return out
}

// refs checks that every concrete string in the list at path names an entry of
// known. It reads the CUE value, so references are checked even in an entry that
// has other problems.
func (s *Set) refs(kind string, known map[string]bool, path ...any) Problems {
	v := s.lookup(path...)
	if !v.Exists() {
		return nil
	}
	it, err := v.List()
	if err != nil {
		return nil
	}
	var probs Problems
	for it.Next() {
		e := it.Value()
		n, err := e.String()
		if err != nil || known[n] {
			continue
		}
		probs = append(probs, s.pos.at(e, "unknown %s %q%s", kind, n, suggest(n, sortedKeys(known))))
	}
	return probs
}

// check verifies what the schema cannot: references between entries and whether
// each campaign's selection can run at all.
func (s *Set) check() Problems {
	var probs Problems
	quants := s.names("quantizations")
	for _, name := range sortedKeys(s.Frameworks) {
		probs = append(probs, s.checkFramework(name, s.Frameworks[name])...)
	}
	for name := range s.names("models") {
		it, err := s.lookup("models", name, "checkpoints").Fields()
		for err == nil && it.Next() {
			if q := it.Selector().Unquoted(); !quants[q] && len(quants) > 0 {
				probs = append(probs, s.pos.at(it.Value(), "unknown quantization %q%s", q, suggest(q, sortedKeys(quants))))
			}
		}
	}
	// The names campaigns refer to, read once: reading a section through CUE
	// costs as much as the catalog, and there may be many campaigns.
	k := known{
		models: s.names("models"), hardware: s.names("hardware"), frameworks: s.names("frameworks"),
		quants: quants, workloads: s.names("workloads"), policies: s.names("policies"),
		families: map[string]bool{},
	}
	for _, m := range s.Models {
		k.families[m.Family] = true
	}
	for name := range s.names("campaigns") {
		probs = append(probs, s.checkCampaign(name, k)...)
	}
	return probs
}

// known are the names of each section that a campaign may refer to.
type known struct {
	models, hardware, frameworks, quants, workloads, policies, families map[string]bool
}

func (s *Set) checkFramework(name string, f Framework) Problems {
	var probs Problems
	if len(s.Quantizations) == 0 {
		return nil
	}
	quants := sortedKeys(s.Quantizations)
	for _, arch := range sortedKeys(f.Supports) {
		for i, q := range f.Supports[arch] {
			v := s.lookup("frameworks", name, "supports", arch, i)
			qq, ok := s.Quantizations[q]
			if !ok {
				probs = append(probs, s.pos.at(v, "unknown quantization %q%s", q, suggest(q, quants)))
				continue
			}
			if !slices.Contains(qq.Requires.Archs, arch) {
				probs = append(probs, s.pos.at(v, "impossible quantization/GPU pair: %s lists %s on %s, but %s needs one of %s",
					name, q, arch, q, strings.Join(qq.Requires.Archs, ", ")))
			}
		}
	}
	for i, args := range []map[string][]string{f.Launcher.QuantizationArgs, f.Launcher.PrequantizedArgs} {
		field := []string{"quantization_args", "prequantized_args"}[i]
		for _, q := range sortedKeys(args) {
			if _, ok := s.Quantizations[q]; !ok {
				v := s.lookup("frameworks", name, "launcher", field, q)
				probs = append(probs, s.pos.at(v, "unknown quantization %q%s", q, suggest(q, quants)))
			}
		}
	}
	return probs
}

func (s *Set) checkCampaign(name string, k known) Problems {
	p := func(rest ...any) []any { return append([]any{"campaigns", name}, rest...) }
	models, hardware, frameworks := k.models, k.hardware, k.frameworks
	quants, workloads := k.quants, k.workloads
	var probs Problems
	probs = append(probs, s.refs("model", models, p("models")...)...)
	probs = append(probs, s.refs("hardware", hardware, p("select", "hardware")...)...)
	probs = append(probs, s.refs("framework", frameworks, p("select", "frameworks")...)...)
	probs = append(probs, s.refs("quantization", quants, p("select", "quantizations")...)...)
	probs = append(probs, s.refs("workload", workloads, p("select", "workloads")...)...)
	probs = append(probs, s.refs("model family", k.families, p("filters", "models", "families")...)...)
	it, err := s.lookup(p("filters", "frameworks", "versions")...).Fields()
	for err == nil && it.Next() {
		fw := it.Selector().Unquoted()
		known, ok := s.Frameworks[fw]
		if !ok {
			if !frameworks[fw] {
				probs = append(probs, s.pos.at(it.Value(), "unknown framework %q%s", fw, suggest(fw, sortedKeys(frameworks))))
			}
			continue
		}
		versions := map[string]bool{}
		for v := range known.Versions {
			versions[v] = true
		}
		probs = append(probs, s.refs(fw+" version", versions, p("filters", "frameworks", "versions", fw)...)...)
	}
	rules, _ := s.lookup(p("exclude")...).List()
	for i := 0; rules.Next(); i++ {
		rp := p("exclude", i)
		probs = append(probs, s.refs("model", models, append(rp, "models")...)...)
		probs = append(probs, s.refs("hardware", hardware, append(rp, "hardware")...)...)
		probs = append(probs, s.refs("framework", frameworks, append(rp, "frameworks")...)...)
		probs = append(probs, s.refs("quantization", quants, append(rp, "quantizations")...)...)
		probs = append(probs, s.refs("workload", workloads, append(rp, "workloads")...)...)
	}
	if policies := k.policies; len(policies) > 0 {
		v := s.lookup(p("policy")...)
		if pol, err := v.String(); err == nil && !policies[pol] {
			probs = append(probs, s.pos.at(v, "unknown policy %q%s", pol, suggest(pol, sortedKeys(policies))))
		}
	}
	c, ok := s.Campaigns[name]
	if len(probs) > 0 || !ok || !s.decoded(c) {
		// The matrix checks below need a valid campaign whose names resolve to
		// valid entries; an invalid entry has its own problem, and judging the
		// campaign by its zero value would only add false ones.
		return probs
	}
	return s.checkMatrix(name, c)
}

// decoded reports whether every entry the campaign names passed the schema.
func (s *Set) decoded(c Campaign) bool {
	for _, d := range []struct {
		names []string
		ok    func(string) bool
	}{
		{c.Models, func(n string) bool { _, ok := s.Models[n]; return ok }},
		{c.Select.Hardware, func(n string) bool { _, ok := s.Hardware[n]; return ok }},
		{c.Select.Frameworks, func(n string) bool { _, ok := s.Frameworks[n]; return ok }},
		{c.Select.Quantizations, func(n string) bool { _, ok := s.Quantizations[n]; return ok }},
		{c.Select.Workloads, func(n string) bool { _, ok := s.Workloads[n]; return ok }},
	} {
		for _, n := range d.names {
			if !d.ok(n) {
				return false
			}
		}
	}
	return true
}

// checkMatrix reports selections that cannot produce a single runnable config.
func (s *Set) checkMatrix(name string, c Campaign) Problems {
	p := func(rest ...any) []any { return append([]any{"campaigns", name}, rest...) }
	sel := s.Select(c)
	var probs Problems
	// A name both selected and filtered out is a contradiction, not a choice.
	for i, m := range c.Models {
		if !slices.Contains(sel.Models, m) {
			probs = append(probs, s.pos.at(s.lookup(p("models", i)...),
				"conflicting selections: model %s is listed, but filters.models removes it (%s, %gB parameters)", m, s.Models[m].Family, s.Models[m].ParamsB))
		}
	}
	for i, h := range c.Select.Hardware {
		if !slices.Contains(sel.Hardware, h) {
			hw := s.Hardware[h]
			probs = append(probs, s.pos.at(s.lookup(p("select", "hardware", i)...),
				"conflicting selections: hardware %s is selected, but filters.hardware removes it (%s, %s, %d × %g GiB, $%g/h on demand)",
				h, hw.GPU.Vendor, hw.GPU.Arch, hw.Count, hw.GPU.MemoryGiB, hw.Price.OnDemandUSDHour))
		}
	}
	if len(probs) > 0 {
		return probs
	}
	for _, d := range []struct {
		kind  string
		names []string
		path  []any
	}{
		{"models", sel.Models, p("filters", "models")},
		{"hardware", sel.Hardware, p("filters", "hardware")},
		{"frameworks", sel.Frameworks, p("select", "frameworks")},
		{"quantizations", sel.Quantizations, p("select", "quantizations")},
		{"workloads", sel.Workloads, p("select", "workloads")},
	} {
		if len(d.names) == 0 {
			v := s.lookup(d.path...)
			if !v.Exists() {
				v = s.lookup(p()...)
			}
			probs = append(probs, s.pos.at(v, "the selection leaves an empty matrix: no %s remain after select and filters", d.kind))
		}
	}
	if len(probs) > 0 {
		return probs
	}
	// An explicitly selected quantization that no selected GPU can run.
	for i, q := range c.Select.Quantizations {
		if !slices.ContainsFunc(sel.Hardware, func(h string) bool { return s.runs(sel.Frameworks, h, q) }) {
			qq := s.Quantizations[q]
			var have []string
			for _, h := range sel.Hardware {
				have = append(have, fmt.Sprintf("%s (%s)", h, s.Hardware[h].GPU.Arch))
			}
			v := s.lookup(p("select", "quantizations", i)...)
			probs = append(probs, s.pos.at(v, "impossible quantization/GPU pair: %s needs one of %s with a selected framework that supports it, but the selected hardware is %s",
				q, strings.Join(qq.Requires.Archs, ", "), strings.Join(have, ", ")))
		}
	}
	for _, w := range sel.Workloads {
		open := s.Workloads[w].Arrival.OpenLoop()
		if c.GridPoints(s.Workloads[w]) > 0 {
			continue
		}
		v := s.lookup(p("grid")...)
		if i := slices.Index(c.Select.Workloads, w); i >= 0 {
			v = s.lookup(p("select", "workloads", i)...)
		}
		if !v.Exists() {
			v = s.lookup(p()...)
		}
		if open {
			probs = append(probs, s.pos.at(v, "workload %s is open-loop (%s arrivals) but grid.request_rates is empty", w, s.Workloads[w].Arrival.Kind))
		} else {
			probs = append(probs, s.pos.at(v, "workload %s is closed-loop but grid.concurrency is empty", w))
		}
	}
	if len(probs) > 0 {
		return probs
	}
	if n, why := s.Count(c); n == 0 {
		probs = append(probs, s.pos.at(s.lookup(p()...), "the selection leaves an empty matrix: no model × hardware × framework × quantization × workload combination can run (%s)", why))
	}
	if len(probs) == 0 && s.impossible != nil {
		probs = s.impossible(s, c)
	}
	return probs
}

// At makes a problem positioned at the value at a path of the loaded document:
// strings are field names, ints list indices. When nothing is at the path, the
// nearest enclosing value that exists stands in.
func (s *Set) At(path []any, format string, args ...any) Problem {
	v := s.lookup(path...)
	for len(path) > 0 && !v.Exists() {
		path = path[:len(path)-1]
		v = s.lookup(path...)
	}
	p := s.pos.at(v, format, args...)
	if s.pos.isSchema(v.Pos().Filename()) {
		// A list element's own position may be the schema's; its fields tell
		// where the input writes it.
		p.Positions = nil
		it, err := v.Fields()
		for err == nil && it.Next() {
			if tp := it.Value().Pos(); !s.pos.isSchema(tp.Filename()) {
				if pos, ok := s.pos.pos(tp); ok {
					p.Positions = []Position{pos}
					break
				}
			}
		}
	}
	return p
}

// runs reports whether some framework in fws runs quantization q on hardware h.
func (s *Set) runs(fws []string, h, q string) bool {
	arch := s.Hardware[h].GPU.Arch
	if !slices.Contains(s.Quantizations[q].Requires.Archs, arch) {
		return false
	}
	return slices.ContainsFunc(fws, func(f string) bool { return slices.Contains(s.Frameworks[f].Supports[arch], q) })
}

// Selection is the catalog names a campaign selects in each dimension, sorted.
type Selection struct {
	Models, Hardware, Frameworks, Quantizations, Workloads []string
}

// Select applies a campaign's select and filters to the catalog.
func (s *Set) Select(c Campaign) Selection {
	pick := func(known []string, chosen []string, keep func(string) bool) []string {
		var out []string
		for _, k := range known {
			if (len(chosen) == 0 || slices.Contains(chosen, k)) && (keep == nil || keep(k)) {
				out = append(out, k)
			}
		}
		return out
	}
	var sel Selection
	sel.Models = pick(sortedKeys(s.Models), c.Models, func(n string) bool {
		f := c.Filters.Models
		m := s.Models[n]
		return f == nil || (f.MaxParamsB == 0 || m.ParamsB <= f.MaxParamsB) &&
			(len(f.Families) == 0 || slices.Contains(f.Families, m.Family))
	})
	sel.Hardware = pick(sortedKeys(s.Hardware), c.Select.Hardware, func(n string) bool {
		f := c.Filters.Hardware
		h := s.Hardware[n]
		return f == nil || (len(f.Archs) == 0 || slices.Contains(f.Archs, h.GPU.Arch)) &&
			(len(f.Vendors) == 0 || slices.Contains(f.Vendors, h.GPU.Vendor)) &&
			(f.MinGPUs == 0 || h.Count >= f.MinGPUs) &&
			(f.MaxGPUs == 0 || h.Count <= f.MaxGPUs) &&
			(f.MinMemoryGiB == 0 || h.GPU.MemoryGiB*float64(h.Count) >= f.MinMemoryGiB) &&
			(f.MaxOnDemandUSDHour == 0 || h.Price.OnDemandUSDHour <= f.MaxOnDemandUSDHour)
	})
	sel.Frameworks = pick(sortedKeys(s.Frameworks), c.Select.Frameworks, nil)
	sel.Quantizations = pick(sortedKeys(s.Quantizations), c.Select.Quantizations, nil)
	sel.Workloads = pick(sortedKeys(s.Workloads), c.Select.Workloads, nil)
	return sel
}

// Versions returns the framework versions a campaign runs for framework f.
func (c Campaign) Versions(f Framework) []string {
	if c.Filters.Frameworks != nil {
		if v, ok := c.Filters.Frameworks.Versions[f.Name]; ok {
			return v
		}
	}
	return []string{f.DefaultVersion}
}

// Matches reports whether a rule excludes the combination.
func (r Rule) Matches(model, hardware, framework, quant, workload, arch string) bool {
	in := func(list []string, x string) bool { return len(list) == 0 || slices.Contains(list, x) }
	return in(r.Models, model) && in(r.Hardware, hardware) && in(r.Frameworks, framework) &&
		in(r.Quantizations, quant) && in(r.Workloads, workload) && in(r.Archs, arch)
}

// GridPoints is the number of benchmark points a workload gets from the grid.
func (c Campaign) GridPoints(w Workload) int {
	n := len(c.Grid.Concurrency)
	if w.Arrival.OpenLoop() {
		n = len(c.Grid.RequestRates)
	}
	return n * max(1, len(c.Grid.SequenceLengths))
}

// Count returns the number of configs a campaign selects that have kernels, weights
// and no exclusion rule against them, before the memory fit; when zero, why says
// what removed them.
func (s *Set) Count(c Campaign) (n int, why string) {
	sel := s.Select(c)
	var unsupported, noWeights, excluded int
	for _, m := range sel.Models {
		for _, h := range sel.Hardware {
			arch := s.Hardware[h].GPU.Arch
			for _, f := range sel.Frameworks {
				versions := len(c.Versions(s.Frameworks[f]))
				for _, q := range sel.Quantizations {
					if !s.runs([]string{f}, h, q) {
						unsupported++
						continue
					}
					if _, ok := s.Models[m].Checkpoints[q]; !ok && !s.Quantizations[q].Online {
						noWeights++
						continue
					}
					for _, w := range sel.Workloads {
						if slices.ContainsFunc(c.Exclude, func(r Rule) bool { return r.Matches(m, h, f, q, w, arch) }) {
							excluded++
							continue
						}
						n += versions * c.GridPoints(s.Workloads[w])
					}
				}
			}
		}
	}
	if n == 0 {
		why = fmt.Sprintf("%d unsupported quantization/GPU/framework, %d without quantized weights, %d excluded by rules", unsupported, noWeights, excluded)
	}
	return n, why
}

// Bundle is a campaign with exactly the catalog entries it selects, as JSON: what
// a pod needs to re-derive its batch, small enough for a ConfigMap. Compiling one
// campaign file or the whole folder gives the same bundle.
func (s *Set) Bundle(c Campaign) ([]byte, error) {
	sel := s.Select(c)
	pick := func(names []string, from func(string) any) map[string]any {
		out := map[string]any{}
		for _, n := range names {
			out[n] = from(n)
		}
		return out
	}
	b := map[string]any{
		"campaigns":     map[string]Campaign{c.Name: c},
		"models":        pick(sel.Models, func(n string) any { return s.Models[n] }),
		"hardware":      pick(sel.Hardware, func(n string) any { return s.Hardware[n] }),
		"frameworks":    pick(sel.Frameworks, func(n string) any { return s.Frameworks[n] }),
		"quantizations": pick(sel.Quantizations, func(n string) any { return s.Quantizations[n] }),
		"workloads":     pick(sel.Workloads, func(n string) any { return s.Workloads[n] }),
	}
	// No policy: which policies are loaded depends on the paths given, and the
	// bundle must depend on the campaign alone.
	return json.MarshalIndent(b, "", "  ")
}

// ReadBundle decodes a Bundle strictly into a set holding its one campaign.
func ReadBundle(b []byte) (*Set, Campaign, error) {
	var doc struct {
		Campaigns     map[string]Campaign     `json:"campaigns"`
		Models        map[string]Model        `json:"models"`
		Hardware      map[string]Hardware     `json:"hardware"`
		Frameworks    map[string]Framework    `json:"frameworks"`
		Quantizations map[string]Quantization `json:"quantizations"`
		Workloads     map[string]Workload     `json:"workloads"`
		Policies      map[string]Policy       `json:"policies"`
	}
	if err := strictDecode(b, &doc); err != nil {
		return nil, Campaign{}, fmt.Errorf("bundle: %w", err)
	}
	if len(doc.Campaigns) != 1 {
		return nil, Campaign{}, fmt.Errorf("bundle: want one campaign, found %d", len(doc.Campaigns))
	}
	s := &Set{Models: doc.Models, Hardware: doc.Hardware, Frameworks: doc.Frameworks,
		Quantizations: doc.Quantizations, Workloads: doc.Workloads, Policies: doc.Policies, Campaigns: doc.Campaigns}
	var c Campaign
	for _, only := range doc.Campaigns {
		c = only
	}
	return s, c, nil
}
