package matrix

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
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
	// the sha256 of each one's lines of matrix.jsonl.
	Models      []string
	ModelHashes map[string]string
	Explain     Explain
}

// Compile expands a campaign model by model, writes each runnable config as one
// line of JSON to w in matrix order, and returns everything else. It holds one
// model's matrix at a time. A campaign that prunes to nothing is an error that
// says why.
func (x *Compiler) Compile(c campaign.Campaign, w io.Writer) (*Result, error) {
	res := &Result{Summary: Summary{Campaign: c.Name, Pruned: map[string]int{}}, Servers: map[string]Server{}, ModelHashes: map[string]string{}}
	res.Explain.Examples = x.Examples
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 1<<16)
	var line []byte
	var werr error
	for _, model := range x.Set.Select(c).Models {
		var groups []*Group
		x.Model(c, model, func(g *Group) { groups = append(groups, g) }, func(p Pruned) {
			res.Summary.Expanded++
			res.Summary.Pruned[p.Reason]++
			res.Explain.add(p)
		})
		mh := sha256.New()
		for _, g := range groups {
			res.Servers[g.Key] = g.Server
			res.Summary.Groups++
			res.Batches = append(res.Batches, Cut(g, c.BatchSize, res.Summary.Configs)...)
			res.Summary.count(g)
			for i := range g.Configs {
				cfg := &g.Configs[i]
				res.Summary.Expanded++
				res.Summary.Configs++
				line = cfg.appendLine(line[:0], g.id(i))
				mh.Write(line)
				if _, err := bw.Write(line); err != nil && werr == nil {
					werr = err
				}
			}
		}
		if len(groups) > 0 {
			res.Models = append(res.Models, model)
			res.ModelHashes[model] = hex.EncodeToString(mh.Sum(nil))
		}
	}
	if err := bw.Flush(); err != nil && werr == nil {
		werr = err
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
