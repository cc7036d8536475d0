package matrix

import (
	"fmt"
	"slices"
	"sort"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// Impossible reports what compile would prune from a campaign whatever the config:
// a sequence longer than a model's context, and a model whose weights fit no
// selected hardware at any selected quantization. It expands the campaign with
// Model, the compiler's own pruning, so that vet and compile agree.
//
// A wide sweep that selects models by filters is expected to prune some pairs; it
// is reported only when the problem holds for every selected model. Models the
// campaign lists by name are each reported.
func Impossible(s *campaign.Set, c campaign.Campaign) campaign.Problems {
	x := &Compiler{Set: s}
	sel := s.Select(c)
	type seq struct {
		workload      string
		input, output int // 0: the workload's distribution
	}
	tooLong := map[seq][]string{} // the models whose context the sequence exceeds
	var seqs []seq
	// A model reaches the memory check when some config of it is kept or pruned
	// for memory; its weights fit when that config's weights alone fit.
	reached, fits := map[string]bool{}, map[string]bool{}
	best := map[string]Memory{} // the memory-pruned (hardware, quantization) closest to fitting
	bestAt := map[string]string{}
	for _, m := range sel.Models {
		x.Model(c, m, func(*Group) { reached[m], fits[m] = true, true }, func(p pruned) {
			cfg := p.config
			switch p.reason {
			case ReasonContext:
				k := seq{cfg.Workload, cfg.InputTokens, cfg.OutputTokens}
				if !slices.Contains(tooLong[k], m) {
					if tooLong[k] == nil {
						seqs = append(seqs, k)
					}
					tooLong[k] = append(tooLong[k], m)
				}
			case ReasonMemory:
				reached[m] = true
				mem := memory(s.Models[m], s.Hardware[cfg.Hardware], s.Quantizations[cfg.Quantization], c.Grid.GPUMemoryUtilization, 0, 0)
				if mem.Fits() {
					fits[m] = true
				}
				if b, ok := best[m]; !ok || deficit(mem) < deficit(b) {
					best[m], bestAt[m] = mem, cfg.Hardware+" in "+cfg.Quantization
				}
			}
		})
	}
	listed := len(c.Models) > 0
	modelPath := func(m string) []any {
		return []any{"campaigns", c.Name, "models", slices.Index(c.Models, m)}
	}
	stuck := func(m string) bool { return reached[m] && !fits[m] }
	var probs campaign.Problems
	for _, m := range sel.Models {
		if !stuck(m) || !listed && slices.ContainsFunc(sel.Models, func(o string) bool { return !stuck(o) }) {
			continue
		}
		b := best[m]
		probs = append(probs, s.At(modelPath(m),
			"model %s fits no selected hardware at any selected quantization: its weights alone need %.1f GiB (%.1f + overhead %.1f) at best (%s), which offers %.1f GiB at gpu_memory_utilization %g; select larger or more GPUs, or a smaller quantization",
			m, b.WeightsGiB+b.OverheadGiB, b.WeightsGiB, b.OverheadGiB, bestAt[m], b.AvailableGiB, c.Grid.GPUMemoryUtilization))
	}
	sort.SliceStable(seqs, func(i, j int) bool { return seqs[i].workload < seqs[j].workload })
	for _, k := range seqs {
		models := tooLong[k]
		if !listed && len(models) < len(sel.Models) {
			continue
		}
		w := s.Workloads[k.workload]
		ctx := contextLen(w, point{input: k.input, outpt: k.output})
		var where []any
		var what string
		if i := slices.Index(c.Grid.SequenceLengths, campaign.SequenceLength{InputTokens: k.input, OutputTokens: k.output}); i >= 0 && (k.input > 0 || k.output > 0) {
			where = []any{"campaigns", c.Name, "grid", "sequence_lengths", i}
			what = fmt.Sprintf("sequences of %d tokens (input %d + output %d)", ctx, ctx-k.output, k.output)
		} else if i := slices.Index(c.Select.Workloads, k.workload); i >= 0 {
			where = []any{"campaigns", c.Name, "select", "workloads", i}
			what = fmt.Sprintf("workload %s sends sequences of up to %d tokens", k.workload, ctx)
		} else {
			where = []any{"campaigns", c.Name, "grid"}
			what = fmt.Sprintf("workload %s sends sequences of up to %d tokens", k.workload, ctx)
		}
		if !listed {
			longest := models[0]
			for _, m := range models {
				if s.Models[m].MaxContext > s.Models[longest].MaxContext {
					longest = m
				}
			}
			probs = append(probs, s.At(where, "%s exceed the context of every selected model (the longest is %s's, %d tokens); shorten them",
				what, longest, s.Models[longest].MaxContext))
			continue
		}
		for _, m := range models {
			p := s.At(where, "%s exceed model %s's context of %d tokens (max_context); shorten them, or drop the model", what, m, s.Models[m].MaxContext)
			p.Positions = append(p.Positions, s.At(modelPath(m), "").Positions...)
			probs = append(probs, p)
		}
	}
	return probs
}

// deficit is how much more memory a config needs than it has.
func deficit(m Memory) float64 { return m.WeightsGiB + m.OverheadGiB - m.AvailableGiB }
