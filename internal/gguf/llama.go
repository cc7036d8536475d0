package gguf

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
)

// Llama describes a llama-architecture model with random F32 weights and a
// SentencePiece ("llama") vocabulary of special tokens, the 256 byte tokens
// and Pieces normal tokens.
//
// The weights are random but shaped so that a load generator gets exactly the
// output length it asks for, streamed one chunk per token:
//
//   - EOS never wins, because ollama has num_predict but no ignore_eos.
//     Channel 0 of the residual stream is a constant 1 that no layer reads or
//     writes, so after the final RMS norm it is about √Embd; output.weight
//     puts -SuppressBias there for the special and byte tokens, which sets
//     their logits about 60 below the others' for the default model.
//   - Byte tokens are suppressed the same way: their bytes need not form
//     UTF-8, and ollama holds such text back instead of streaming it.
//   - No token follows itself: ollama silently ends a generation (no final
//     chunk, no usage) once the same token comes 31 times in a row, which a
//     random model does within a few tokens. Each normal token's output row
//     is instead its predecessor's embedding in a random cycle through all
//     pieces (see Cycle), scaled so that the current token's successor scores
//     about 16 and leads the runner-up by about 10 (at least 5 in tests), so
//     greedy decoding walks the cycle, and sampling mostly does.
type Llama struct {
	Name    string // general.name
	Layers  int    // block_count
	Embd    int    // embedding_length
	Heads   int    // attention.head_count
	KVHeads int    // attention.head_count_kv
	FF      int    // feed_forward_length
	Context int    // context_length
	Seed    uint64 // seeds every weight; equal fields give equal bytes
	Pieces  int    // normal tokens after the 3 special and 256 byte tokens

	// Std is the standard deviation of the random weights; 0 means 0.02.
	Std float64
	// SuppressBias is how strongly special and byte tokens are pushed down
	// (see above); 0 means 8.
	SuppressBias float32
}

// DefaultLlama is a ~0.6 MB model that ollama loads in well under a second and
// that generates thousands of tokens a second on one CPU thread.
func DefaultLlama() Llama {
	return Llama{
		Name:    "llmsweep-tiny-llama",
		Layers:  2,
		Embd:    64,
		Heads:   4,
		KVHeads: 2,
		FF:      128,
		Context: 2048,
		Seed:    1,
		Pieces:  300,
	}
}

// VocabSize is the number of tokens: 3 special, 256 bytes and the pieces.
func (m Llama) VocabSize() int { return FirstPiece + m.Pieces }

// Tokens returns the vocabulary, indexed by token id.
func (m Llama) Tokens() []string {
	t, _, _ := vocab(m.Pieces)
	return t
}

// Validate reports shapes that engines would reject.
func (m Llama) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int
	}{{"Layers", m.Layers}, {"Embd", m.Embd}, {"Heads", m.Heads}, {"KVHeads", m.KVHeads}, {"FF", m.FF}, {"Context", m.Context}, {"Pieces", m.Pieces}} {
		if f.v <= 0 {
			errs = append(errs, fmt.Errorf("%s = %d, want > 0", f.name, f.v))
		}
	}
	if errs != nil {
		return fmt.Errorf("gguf: invalid llama: %w", errors.Join(errs...))
	}
	if m.Embd%m.Heads != 0 {
		errs = append(errs, fmt.Errorf("Embd %d not a multiple of Heads %d", m.Embd, m.Heads))
	} else if (m.Embd/m.Heads)%2 != 0 {
		errs = append(errs, fmt.Errorf("head size %d is odd; RoPE rotates pairs", m.Embd/m.Heads))
	}
	if m.Heads%m.KVHeads != 0 {
		errs = append(errs, fmt.Errorf("Heads %d not a multiple of KVHeads %d", m.Heads, m.KVHeads))
	}
	if m.Embd < 2 {
		errs = append(errs, errors.New("Embd must be at least 2: channel 0 is the bias"))
	}
	if errs != nil {
		return fmt.Errorf("gguf: invalid llama: %w", errors.Join(errs...))
	}
	return nil
}

// WriteFile writes the model to path.
func (m Llama) WriteFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := m.Write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Write encodes the model as GGUF v3. The output depends only on m.
func (m Llama) Write(w io.Writer) error {
	if err := m.Validate(); err != nil {
		return err
	}
	tokens, scores, types := vocab(m.Pieces)
	u := func(v int) uint32 { return uint32(v) }
	kvs := []keyValue{
		{"general.architecture", "llama"},
		{"general.name", m.Name},
		{"general.alignment", uint32(Alignment)},
		{"general.file_type", uint32(0)}, // LLAMA_FTYPE_ALL_F32
		{"llama.context_length", u(m.Context)},
		{"llama.embedding_length", u(m.Embd)},
		{"llama.block_count", u(m.Layers)},
		{"llama.feed_forward_length", u(m.FF)},
		{"llama.attention.head_count", u(m.Heads)},
		{"llama.attention.head_count_kv", u(m.KVHeads)},
		{"llama.rope.dimension_count", u(m.Embd / m.Heads)},
		// ollama's own engine defaults to 1e5, llama.cpp to 1e4: say it.
		{"llama.rope.freq_base", float32(10000)},
		{"llama.attention.layer_norm_rms_epsilon", float32(1e-5)},
		{"llama.vocab_size", u(len(tokens))},
		{"tokenizer.ggml.model", "llama"},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.scores", scores},
		{"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.bos_token_id", uint32(BOSID)},
		{"tokenizer.ggml.eos_token_id", uint32(EOSID)},
		{"tokenizer.ggml.unknown_token_id", uint32(UnknownID)},
		{"tokenizer.ggml.add_bos_token", true},
		{"tokenizer.ggml.add_eos_token", false},
	}
	return write(w, kvs, m.tensors())
}

// nextLogit is the expected logit of the cycle successor.
const nextLogit = 16

func (m Llama) tensors() []tensor {
	std := m.Std
	if std == 0 {
		std = 0.02
	}
	suppress := m.SuppressBias
	if suppress == 0 {
		suppress = 8
	}
	e, ff, vocab := uint64(m.Embd), uint64(m.FF), uint64(m.VocabSize())
	kvDim := uint64(m.Embd / m.Heads * m.KVHeads)

	ones := func(emit func(float32)) {
		for range e {
			emit(1)
		}
	}
	// random fills a tensor of n values; fix(i, v) may override element i
	// (memory order: i%ne0 is the column, i/ne0 the row).
	random := func(name string, n uint64, fix func(i uint64, v float32) float32) func(func(float32)) {
		return func(emit func(float32)) {
			seed := tensorSeed(m.Seed, name)
			for i := range n {
				v := normalAt(seed, i, std)
				if fix != nil {
					v = fix(i, v)
				}
				emit(v)
			}
		}
	}
	t := func(name string, fix func(uint64, float32) float32, dims ...uint64) tensor {
		n := uint64(1)
		for _, d := range dims {
			n *= d
		}
		return tensor{Name: name, Dims: dims, Fill: random(name, n, fix)}
	}

	// Channel 0 is the bias: 1 in every embedding, not read by the layers'
	// input projections (column 0) nor written by their outputs (row 0).
	embdBias := func(i uint64, v float32) float32 {
		if i%e == 0 {
			return 1
		}
		return v
	}
	noCol0 := func(i uint64, v float32) float32 {
		if i%e == 0 {
			return 0
		}
		return v
	}
	noRow0 := func(in uint64) func(uint64, float32) float32 {
		return func(i uint64, v float32) float32 {
			if i < in {
				return 0
			}
			return v
		}
	}

	// Output rows: a normal token's row is its cycle predecessor's embedding,
	// scaled so that h·row ≈ nextLogit when the current token is that
	// predecessor (h = final-normed state ≈ embedding·h0, where h0 is the
	// normed bias channel).
	d := float64(m.Embd - 1)
	h0 := math.Sqrt(float64(m.Embd) / (1 + d*std*std))
	beta := nextLogit / (h0 * d * std * std)
	prev := m.predecessors()
	embdSeed := tensorSeed(m.Seed, "token_embd.weight")
	outRow := func(i uint64, v float32) float32 {
		tok, col := i/e, i%e
		switch {
		case tok < FirstPiece && col == 0:
			return -suppress
		case tok < FirstPiece:
			return v
		case col == 0:
			return 0
		}
		return float32(float64(normalAt(embdSeed, prev[tok-FirstPiece]*e+col, std)) * beta)
	}

	ts := []tensor{t("token_embd.weight", embdBias, e, vocab)}
	for b := range m.Layers {
		p := fmt.Sprintf("blk.%d.", b)
		ts = append(ts,
			tensor{Name: p + "attn_norm.weight", Dims: []uint64{e}, Fill: ones},
			t(p+"attn_q.weight", noCol0, e, e),
			t(p+"attn_k.weight", noCol0, e, kvDim),
			t(p+"attn_v.weight", noCol0, e, kvDim),
			t(p+"attn_output.weight", noRow0(e), e, e),
			tensor{Name: p + "ffn_norm.weight", Dims: []uint64{e}, Fill: ones},
			t(p+"ffn_gate.weight", noCol0, e, ff),
			t(p+"ffn_up.weight", noCol0, e, ff),
			t(p+"ffn_down.weight", noRow0(ff), ff, e),
		)
	}
	return append(ts,
		tensor{Name: "output_norm.weight", Dims: []uint64{e}, Fill: ones},
		t("output.weight", outRow, e, vocab),
	)
}

// Cycle returns the normal tokens' ids in the order that greedy decoding
// walks them: after id Cycle()[k] the model predicts Cycle()[(k+1)%Pieces].
func (m Llama) Cycle() []int {
	n := uint64(m.Pieces)
	order := make([]int, n)
	for i := range order {
		order[i] = FirstPiece + i
	}
	seed := tensorSeed(m.Seed, "cycle")
	for i := n - 1; i > 0; i-- { // Fisher–Yates
		j := splitmix(seed+i*golden) % (i + 1)
		order[i], order[j] = order[j], order[i]
	}
	return order
}

// predecessors maps piece index (id - FirstPiece) to its predecessor's id.
func (m Llama) predecessors() []uint64 {
	c := m.Cycle()
	prev := make([]uint64, len(c))
	for k, id := range c {
		prev[id-FirstPiece] = uint64(c[(k+len(c)-1)%len(c)])
	}
	return prev
}

// The random numbers are splitmix64 outputs indexed by position, so that any
// element can be computed on its own (the output rows reuse embedding values)
// and no tensor depends on another's length. Normals are Irwin–Hall sums of 12
// uniforms computed in integers: the bytes are the same on every platform
// (no libm, no fused multiply-add).
const golden = 0x9e3779b97f4a7c15

func tensorSeed(seed uint64, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return splitmix(seed ^ h.Sum64())
}

func splitmix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func normalAt(seed, i uint64, std float64) float32 {
	var sum int64
	base := seed + 6*i*golden
	for k := range uint64(6) {
		x := splitmix(base + (k+1)*golden)
		sum += int64(x>>32) + int64(x&0xffffffff)
	}
	sum -= 6 << 32 // the mean of 12 uniforms on [0, 2³²)
	return float32(float64(sum) * (std / (1 << 32)))
}
