package matrix

import (
	"fmt"
	"slices"
	"sort"
)

// Batch is a slice of one group's configs that one pod runs against one server
// launch.
type Batch struct {
	ID       string `json:"id"`
	Group    string `json:"group"`
	Configs  int    `json:"configs"`
	Hardware string `json:"hardware"`
	GPU      string `json:"gpu"`
	GPUs     int    `json:"gpus"`
	Model    string `json:"model"`
	// First and Last index the batch's configs in the campaign's matrix order.
	First int `json:"first"`
	Last  int `json:"last"`
}

// Cut splits a group into batches of at most size configs, as even as possible
// (150 configs at size 100 become 75 + 75, not 100 + 50), and stamps each config
// with its batch. IDs derive from the group key, so they are stable across runs
// and machines. first is the matrix index of the group's first config.
func Cut(g *Group, size, first int) []Batch {
	n := (len(g.Configs) + size - 1) / size
	id := "b" + digest(g.Key)[:10]
	var out []Batch
	start := 0
	for i := 0; i < n; i++ {
		end := start + (len(g.Configs)-start)/(n-i)
		out = append(out, makeBatch(g, fmt.Sprintf("%s-%d", id, i), start, end, first))
		start = end
	}
	return out
}

// makeBatch is the batch of g's configs [start, end), whose matrix lines start
// at first; it labels those configs with the batch's ID.
func makeBatch(g *Group, id string, start, end, first int) Batch {
	b := Batch{ID: id, Group: g.Key, Configs: end - start,
		Model: g.Configs[0].Model, Hardware: g.Configs[0].Hardware, GPU: g.Configs[0].GPU, GPUs: g.Configs[0].GPUs,
		First: first + start, Last: first + end - 1}
	for j := start; j < end; j++ {
		g.Configs[j].Batch = b.ID
	}
	return b
}

// Summary counts a compiled campaign.
type Summary struct {
	Campaign string `json:"campaign"`
	// Expanded is every config of the product; Configs those that can run.
	Expanded int `json:"expanded"`
	Configs  int `json:"configs"`
	Batches  int `json:"batches"`
	Groups   int `json:"groups"`
	// MatrixHash identifies the whole matrix: the sha256 of "<model hash> <model>"
	// lines (see Result.ModelHashes); pods check their model's hash.
	MatrixHash string `json:"matrix_hash"`
	// Per dimension: configs that can run, by name.
	Dimensions map[string]map[string]int `json:"dimensions"`
	// Pruned counts configs that cannot run, by reason.
	Pruned map[string]int `json:"pruned"`
}

// count adds a group's configs to the per-dimension counts.
func (s *Summary) count(g *Group) {
	if s.Dimensions == nil {
		s.Dimensions = map[string]map[string]int{}
		for _, d := range []string{"model", "hardware", "framework", "quantization", "workload"} {
			s.Dimensions[d] = map[string]int{}
		}
	}
	c, n := &g.Configs[0], len(g.Configs)
	s.Dimensions["model"][c.Model] += n
	s.Dimensions["hardware"][c.Hardware] += n
	s.Dimensions["framework"][c.Framework+"@"+c.Version] += n
	s.Dimensions["quantization"][c.Quantization] += n
	for i := range g.Configs {
		s.Dimensions["workload"][g.Configs[i].Workload]++
	}
}

// Explain collects pruned configs: counts by reason and a few examples of each.
type Explain struct {
	Examples int
	Counts   map[string]int
	Samples  map[string][]Pruned
	total    int
}

func (e *Explain) add(p pruned) {
	e.count(p.reason, 1)
	if samples := e.Samples[p.reason]; len(samples) < e.Examples {
		e.sample(Pruned{Reason: p.reason, Detail: p.detail(), Config: p.config})
	}
}

func (e *Explain) count(reason string, n int) {
	if e.Counts == nil {
		e.Counts, e.Samples = map[string]int{}, map[string][]Pruned{}
	}
	e.Counts[reason] += n
	e.total += n
}

// merge adds another model's explanation, as if its configs had come after e's.
func (e *Explain) merge(o *Explain) {
	for _, r := range Reasons {
		if n := o.Counts[r]; n > 0 {
			e.count(r, n)
		}
		for _, p := range o.Samples[r] {
			e.sample(p)
		}
	}
}

func (e *Explain) sample(p Pruned) {
	// Examples with distinct details say more than the first few of one group.
	samples := e.Samples[p.Reason]
	if len(samples) < e.Examples && !slices.ContainsFunc(samples, func(q Pruned) bool { return q.Detail == p.Detail }) {
		e.Samples[p.Reason] = append(samples, p)
	}
}

// Reasons returns the reasons that pruned something, in check order.
func (e *Explain) Reasons() []string {
	var out []string
	for _, r := range Reasons {
		if e.Counts[r] > 0 {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return e.Counts[out[i]] > e.Counts[out[j]] })
	return out
}
