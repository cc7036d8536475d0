package matrix

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"iter"
	"runtime"
	"strings"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// Result is a compiled campaign without its configs, which went to the writer.
type Result struct {
	Summary Summary
	Batches []Batch
	// Servers holds each group's launch, by group key.
	Servers map[string]Server
	// Models lists the models that have configs, in matrix order, and ModelHashes
	// the sha256 of each one's lines of matrix.jsonl. Summary.MatrixHash is the
	// sha256 of the lines "<model hash> <model>\n" in that order.
	Models      []string
	ModelHashes map[string]string
	Explain     Explain
}

// expanded is one model's matrix, encoded: its lines of matrix.jsonl, their hash,
// and its batches with First and Last relative to the model's first config.
type expanded struct {
	name    string
	groups  []*Group
	batches []Batch
	lines   []byte
	hash    string
	configs int
	pruned  Explain
}

// encode cuts the model's groups into batches and writes its lines.
func (m *expanded) encode(size int, bal *Balance) {
	n := 0
	for _, g := range m.groups {
		n += len(g.Configs) * (len(`{"fingerprint":"","batch":"",}`) + 64 + 16 + len(g.server) + 80 + 60)
	}
	m.lines = make([]byte, 0, n)
	for _, g := range m.groups {
		if bal != nil && bal.Estimate != nil {
			secs, load := bal.Estimate(g)
			m.batches = append(m.batches, CutBalanced(g, size, m.configs, secs, load, bal.Target)...)
		} else {
			m.batches = append(m.batches, Cut(g, size, m.configs)...)
		}
		for i := range g.Configs {
			c := &g.Configs[i]
			m.lines = c.appendLine(m.lines, g.server, g.workloads[c.Workload])
		}
		m.configs += len(g.Configs)
	}
	sum := sha256.Sum256(m.lines)
	m.hash = hex.EncodeToString(sum[:])
}

// expand expands the campaign's models on every core and yields them in order. At
// most two models per core are held at once.
func (x *Compiler) expand(c campaign.Campaign) iter.Seq[*expanded] {
	models := x.Set.Select(c).Models
	for _, w := range x.Set.Select(c).Workloads {
		x.workloadDigest(w) // fill the cache before the workers read it
	}
	return func(yield func(*expanded) bool) {
		workers := runtime.GOMAXPROCS(0)
		results := make([]chan *expanded, len(models))
		for i := range results {
			results[i] = make(chan *expanded, 1)
		}
		sem := make(chan struct{}, 2*workers)
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for i, name := range models {
				select {
				case sem <- struct{}{}:
				case <-stop:
					return
				}
				go func(out chan<- *expanded) {
					m := &expanded{name: name, pruned: Explain{Examples: x.Examples}}
					x.Model(c, name, func(g *Group) { m.groups = append(m.groups, g) }, m.pruned.add)
					m.encode(c.BatchSize, x.Balance)
					out <- m
				}(results[i])
			}
		}()
		for i := range models {
			m := <-results[i]
			<-sem
			if !yield(m) {
				return
			}
		}
	}
}

// Compile expands a campaign model by model, writes each runnable config as one
// line of JSON to w in matrix order, and returns everything else. It holds one
// model's matrix at a time. A campaign that prunes to nothing is an error that
// says why.
func (x *Compiler) Compile(c campaign.Campaign, w io.Writer) (*Result, error) {
	res := &Result{Summary: Summary{Campaign: c.Name, Pruned: map[string]int{}}, Servers: map[string]Server{}, ModelHashes: map[string]string{}}
	res.Explain.Examples = x.Examples
	h := sha256.New()
	var werr error
	for m := range x.expand(c) {
		res.Summary.Expanded += m.pruned.total
		for r, n := range m.pruned.Counts {
			res.Summary.Pruned[r] += n
		}
		res.Explain.merge(&m.pruned)
		if m.configs == 0 {
			continue
		}
		for _, g := range m.groups {
			res.Servers[g.Key] = g.Server
			res.Summary.count(g)
		}
		for _, b := range m.batches {
			b.First += res.Summary.Configs
			b.Last += res.Summary.Configs
			res.Batches = append(res.Batches, b)
		}
		res.Summary.Groups += len(m.groups)
		res.Summary.Configs += m.configs
		res.Summary.Expanded += m.configs
		res.Models = append(res.Models, m.name)
		res.ModelHashes[m.name] = m.hash
		fmt.Fprintf(h, "%s %s\n", m.hash, m.name)
		if _, err := w.Write(m.lines); err != nil && werr == nil {
			werr = err
		}
	}
	if werr != nil {
		return nil, werr
	}
	res.Summary.Batches = len(res.Batches)
	res.Summary.MatrixHash = hex.EncodeToString(h.Sum(nil))
	if res.Summary.Configs == 0 {
		var why []string
		for _, r := range res.Explain.Reasons() {
			why = append(why, fmt.Sprintf("%d %s", res.Explain.Counts[r], r))
		}
		return res, fmt.Errorf("campaign %s compiles to zero runnable configs: all %d were pruned (%s); run compile --explain for examples",
			c.Name, res.Summary.Expanded, strings.Join(why, ", "))
	}
	return res, nil
}
