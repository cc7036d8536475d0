package gguf

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"testing"
)

// llamaRef is a plain float64 llama forward pass over a parsed file, written
// from llama.cpp's graph (RMS norm, RoPE on adjacent pairs, grouped-query
// causal attention, SwiGLU), to check what the weights make a real engine
// generate.
type llamaRef struct {
	m       Llama
	f       *file
	keys    [][][]float64 // layer, position, kvDim
	vals    [][][]float64
	hd, rep int
}

func newRef(t *testing.T, m Llama) *llamaRef {
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return &llamaRef{m: m, f: f, keys: make([][][]float64, m.Layers), vals: make([][][]float64, m.Layers),
		hd: m.Embd / m.Heads, rep: m.Heads / m.KVHeads}
}

// matvec computes W·x for W with ne = [len(x), out].
func (r *llamaRef) matvec(name string, x []float64) []float64 {
	w := r.f.tensor(name).data
	out := make([]float64, len(w)/len(x))
	for j := range out {
		var s float64
		for i, xi := range x {
			s += float64(w[j*len(x)+i]) * xi
		}
		out[j] = s
	}
	return out
}

func (r *llamaRef) norm(name string, x []float64) []float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	scale := 1 / math.Sqrt(ss/float64(len(x))+1e-5)
	w := r.f.tensor(name).data
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v * scale * float64(w[i])
	}
	return out
}

func (r *llamaRef) rope(x []float64, pos int) {
	for h := 0; h < len(x); h += r.hd {
		for i := 0; i < r.hd; i += 2 {
			theta := float64(pos) * math.Pow(10000, -float64(i)/float64(r.hd))
			c, s := math.Cos(theta), math.Sin(theta)
			a, b := x[h+i], x[h+i+1]
			x[h+i], x[h+i+1] = a*c-b*s, a*s+b*c
		}
	}
}

// step feeds token tok at the next position and returns the logits.
func (r *llamaRef) step(tok int) []float64 {
	e := r.m.Embd
	emb := r.f.tensor("token_embd.weight").data[tok*e : (tok+1)*e]
	x := make([]float64, e)
	for i, v := range emb {
		x[i] = float64(v)
	}
	pos := len(r.keys[0])
	for l := range r.m.Layers {
		p := fmt.Sprintf("blk.%d.", l)
		n := r.norm(p+"attn_norm.weight", x)
		q, k, v := r.matvec(p+"attn_q.weight", n), r.matvec(p+"attn_k.weight", n), r.matvec(p+"attn_v.weight", n)
		r.rope(q, pos)
		r.rope(k, pos)
		r.keys[l] = append(r.keys[l], k)
		r.vals[l] = append(r.vals[l], v)
		att := make([]float64, e)
		for h := range r.m.Heads {
			kh := h / r.rep * r.hd
			scores := make([]float64, pos+1)
			mx := math.Inf(-1)
			for j := range scores {
				var s float64
				for i := range r.hd {
					s += q[h*r.hd+i] * r.keys[l][j][kh+i]
				}
				scores[j] = s / math.Sqrt(float64(r.hd))
				mx = max(mx, scores[j])
			}
			var z float64
			for j := range scores {
				scores[j] = math.Exp(scores[j] - mx)
				z += scores[j]
			}
			for j, s := range scores {
				for i := range r.hd {
					att[h*r.hd+i] += s / z * r.vals[l][j][kh+i]
				}
			}
		}
		for i, v := range r.matvec(p+"attn_output.weight", att) {
			x[i] += v
		}
		n = r.norm(p+"ffn_norm.weight", x)
		g, u := r.matvec(p+"ffn_gate.weight", n), r.matvec(p+"ffn_up.weight", n)
		for i := range g {
			g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
		}
		for i, v := range r.matvec(p+"ffn_down.weight", g) {
			x[i] += v
		}
	}
	return r.matvec("output.weight", r.norm("output_norm.weight", x))
}

func argmax(x []float64) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// TestGreedyWalk checks the properties that the weights are shaped for: no
// special or byte token is ever likely, no token follows itself, and greedy
// decoding walks Cycle.
func TestGreedyWalk(t *testing.T) {
	for _, m := range []Llama{
		DefaultLlama(),
		{Name: "wide", Layers: 1, Embd: 128, Heads: 8, KVHeads: 1, FF: 256, Context: 512, Seed: 3, Pieces: 2000},
	} {
		t.Run(m.Name, func(t *testing.T) {
			r := newRef(t, m)
			next := map[int]int{}
			c := m.Cycle()
			for k, id := range c {
				next[id] = c[(k+1)%len(c)]
			}
			tokens := m.Tokens()
			// A prompt with BOS, a byte token and pieces.
			prompt := []int{BOSID, firstByte + 'H', FirstPiece + 40, FirstPiece + 7}
			var logits []float64
			for _, tok := range prompt {
				logits = r.step(tok)
			}
			prev, off, gap, sum := prompt[len(prompt)-1], 0, math.Inf(1), 0.0
			var out []string
			const steps = 150
			for range steps {
				tok := argmax(logits)
				rest := slices.Clone(logits)
				rest[tok] = math.Inf(-1)
				gap = min(gap, logits[tok]-rest[argmax(rest)])
				sum += logits[tok] - rest[argmax(rest)]
				special := slices.Max(logits[:FirstPiece])
				if special > logits[tok]-30 {
					t.Fatalf("after %q a special or byte token has logit %.1f, within 30 of the best %.1f", tokens[prev], special, logits[tok])
				}
				if tok == prev {
					t.Fatalf("token %q follows itself", tokens[tok])
				}
				if tok != next[prev] && prev >= FirstPiece {
					off++
				}
				out = append(out, tokens[tok])
				prev = tok
				logits = r.step(tok)
			}
			t.Logf("greedy: %q…; lead over the runner-up: mean %.1f, min %.1f logits; %d of %d steps off the cycle", out[:12], sum/steps, gap, off, steps)
			if off > 0 {
				t.Errorf("%d of %d greedy steps left the cycle", off, steps)
			}
		})
	}
}
