package gguf

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// The default model's bytes are part of the contract: engines' caches and
// recorded benchmarks key on them. Change this only on purpose.
const defaultSHA256 = "ab1d7642141d53ac1ac98da22d65a98e5112cabf99b12713df8175841ccabfda"

// file is a GGUF file as read back by the independent reader below.
type file struct {
	version   uint32
	kv        map[string]any
	keys      []string // in file order
	tensors   []tensorInfo
	dataStart uint64
	size      uint64
}

type tensorInfo struct {
	name   string
	dims   []uint64
	typ    uint32
	offset uint64
	data   []float32
}

type reader struct {
	b   []byte
	off uint64
	err error
}

func (r *reader) take(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b))-r.off {
		r.err = fmt.Errorf("read %d bytes at %d: past the end (%d)", n, r.off, len(r.b))
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *reader) str() string { return string(r.take(r.u64())) }

func (r *reader) value(typ uint32) any {
	switch typ {
	case 0:
		return r.take(1)[0]
	case 1:
		return int8(r.take(1)[0])
	case 2:
		return binary.LittleEndian.Uint16(r.take(2))
	case 3:
		return int16(binary.LittleEndian.Uint16(r.take(2)))
	case typeUint32:
		return r.u32()
	case typeInt32:
		return int32(r.u32())
	case typeFloat32:
		return math.Float32frombits(r.u32())
	case typeBool:
		b := r.take(1)
		if r.err == nil && b[0] > 1 {
			r.err = fmt.Errorf("bool byte %d", b[0])
		}
		return r.err == nil && b[0] == 1
	case typeString:
		return r.str()
	case typeArray:
		et, n := r.u32(), r.u64()
		if n > uint64(len(r.b)) {
			r.err = fmt.Errorf("array of %d", n)
			return nil
		}
		switch et {
		case typeString:
			a := make([]string, n)
			for i := range a {
				a[i] = r.str()
			}
			return a
		case typeFloat32:
			a := make([]float32, n)
			for i := range a {
				a[i] = math.Float32frombits(r.u32())
			}
			return a
		case typeInt32:
			a := make([]int32, n)
			for i := range a {
				a[i] = int32(r.u32())
			}
			return a
		}
		r.err = fmt.Errorf("array of type %d", et)
	case typeUint64:
		return r.u64()
	case 11:
		return int64(r.u64())
	case 12:
		return math.Float64frombits(r.u64())
	default:
		r.err = fmt.Errorf("value type %d", typ)
	}
	return nil
}

func parse(b []byte) (*file, error) {
	r := &reader{b: b}
	if magic := string(r.take(4)); magic != "GGUF" {
		return nil, fmt.Errorf("magic %q", magic)
	}
	f := &file{version: r.u32(), kv: map[string]any{}, size: uint64(len(b))}
	nt, nkv := r.u64(), r.u64()
	for range nkv {
		k := r.str()
		if _, dup := f.kv[k]; dup {
			return nil, fmt.Errorf("duplicate key %s", k)
		}
		f.kv[k] = r.value(r.u32())
		f.keys = append(f.keys, k)
	}
	for range nt {
		t := tensorInfo{name: r.str()}
		nd := r.u32()
		for range nd {
			t.dims = append(t.dims, r.u64())
		}
		t.typ, t.offset = r.u32(), r.u64()
		f.tensors = append(f.tensors, t)
	}
	if r.err != nil {
		return nil, r.err
	}
	a := uint64(32)
	if v, ok := f.kv["general.alignment"].(uint32); ok {
		a = uint64(v)
	}
	f.dataStart = (r.off + a - 1) / a * a
	for i := range f.tensors {
		t := &f.tensors[i]
		n := uint64(1)
		for _, d := range t.dims {
			n *= d
		}
		start := f.dataStart + t.offset
		if start+4*n > f.size {
			return nil, fmt.Errorf("tensor %s: data [%d, %d) past the end %d", t.name, start, start+4*n, f.size)
		}
		t.data = make([]float32, n)
		for j := range t.data {
			t.data[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[start+4*uint64(j):]))
		}
	}
	return f, nil
}

func (f *file) tensor(name string) *tensorInfo {
	for i := range f.tensors {
		if f.tensors[i].name == name {
			return &f.tensors[i]
		}
	}
	return nil
}

func encode(t *testing.T, m Llama) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDeterministic(t *testing.T) {
	m := DefaultLlama()
	a, b := encode(t, m), encode(t, m)
	if !bytes.Equal(a, b) {
		t.Fatal("two writes of the same model differ")
	}
	sum := sha256.Sum256(a)
	if got := hex.EncodeToString(sum[:]); got != defaultSHA256 {
		t.Errorf("default model sha256 = %s, want %s (%d bytes)", got, defaultSHA256, len(a))
	}
	m.Seed++
	c := encode(t, m)
	if len(c) != len(a) || bytes.Equal(c, a) {
		t.Errorf("another seed: %d bytes, equal=%v; want the same size, other bytes", len(c), bytes.Equal(c, a))
	}
}

func TestHeaderAndLayout(t *testing.T) {
	for _, m := range []Llama{
		DefaultLlama(),
		{Name: "odd", Layers: 3, Embd: 48, Heads: 6, KVHeads: 3, FF: 100, Context: 512, Seed: 7, Pieces: 1},
		{Name: "mha", Layers: 1, Embd: 32, Heads: 2, KVHeads: 2, FF: 64, Context: 4096, Seed: 9, Pieces: 2000, Std: 0.05},
	} {
		t.Run(m.Name, func(t *testing.T) {
			b := encode(t, m)
			f, err := parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if f.version != 3 {
				t.Errorf("version %d", f.version)
			}
			checkKV(t, f, m)
			checkTensors(t, f, m)
			checkVocab(t, f, m)
		})
	}
}

func checkKV(t *testing.T, f *file, m Llama) {
	t.Helper()
	want := map[string]any{
		"general.architecture":                   "llama",
		"general.name":                           m.Name,
		"general.alignment":                      uint32(32),
		"general.file_type":                      uint32(0),
		"llama.context_length":                   uint32(m.Context),
		"llama.embedding_length":                 uint32(m.Embd),
		"llama.block_count":                      uint32(m.Layers),
		"llama.feed_forward_length":              uint32(m.FF),
		"llama.attention.head_count":             uint32(m.Heads),
		"llama.attention.head_count_kv":          uint32(m.KVHeads),
		"llama.rope.dimension_count":             uint32(m.Embd / m.Heads),
		"llama.rope.freq_base":                   float32(10000),
		"llama.attention.layer_norm_rms_epsilon": float32(1e-5),
		"llama.vocab_size":                       uint32(m.VocabSize()),
		"tokenizer.ggml.model":                   "llama",
		"tokenizer.ggml.bos_token_id":            uint32(1),
		"tokenizer.ggml.eos_token_id":            uint32(2),
		"tokenizer.ggml.unknown_token_id":        uint32(0),
		"tokenizer.ggml.add_bos_token":           true,
		"tokenizer.ggml.add_eos_token":           false,
	}
	for k, v := range want {
		if got, ok := f.kv[k]; !ok || got != v {
			t.Errorf("%s = %#v (present %v), want %#v", k, got, ok, v)
		}
	}
	if f.keys[0] != "general.architecture" {
		t.Errorf("first key %s; engines expect general.architecture first", f.keys[0])
	}
	if n := len(f.kv); n != len(want)+3 {
		t.Errorf("%d keys, want %d: %v", n, len(want)+3, f.keys)
	}
}

func checkTensors(t *testing.T, f *file, m Llama) {
	t.Helper()
	e, v, ff := uint64(m.Embd), uint64(m.VocabSize()), uint64(m.FF)
	kv := uint64(m.Embd / m.Heads * m.KVHeads)
	want := map[string][]uint64{
		"token_embd.weight":  {e, v},
		"output_norm.weight": {e},
		"output.weight":      {e, v},
	}
	for i := range m.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		want[p+"attn_norm.weight"] = []uint64{e}
		want[p+"attn_q.weight"] = []uint64{e, e}
		want[p+"attn_k.weight"] = []uint64{e, kv}
		want[p+"attn_v.weight"] = []uint64{e, kv}
		want[p+"attn_output.weight"] = []uint64{e, e}
		want[p+"ffn_norm.weight"] = []uint64{e}
		want[p+"ffn_gate.weight"] = []uint64{e, ff}
		want[p+"ffn_up.weight"] = []uint64{e, ff}
		want[p+"ffn_down.weight"] = []uint64{ff, e}
	}
	if len(f.tensors) != len(want) {
		t.Errorf("%d tensors, want %d", len(f.tensors), len(want))
	}
	if f.dataStart%32 != 0 {
		t.Errorf("data section at %d, not aligned", f.dataStart)
	}
	var next uint64
	for _, ti := range f.tensors {
		if !slices.Equal(ti.dims, want[ti.name]) {
			t.Errorf("%s: dims %v, want %v", ti.name, ti.dims, want[ti.name])
		}
		delete(want, ti.name)
		if ti.typ != 0 {
			t.Errorf("%s: type %d, want F32 (0)", ti.name, ti.typ)
		}
		if ti.offset%32 != 0 || ti.offset < next {
			t.Errorf("%s: offset %d: unaligned or overlapping (previous ends at %d)", ti.name, ti.offset, next)
		}
		if ti.offset != next {
			t.Errorf("%s: offset %d, want %d (packed)", ti.name, ti.offset, next)
		}
		next = (ti.offset + 4*uint64(len(ti.data)) + 31) / 32 * 32
	}
	for name := range want {
		t.Errorf("missing tensor %s", name)
	}
	if f.dataStart+next != f.size {
		t.Errorf("file is %d bytes, want %d (data start %d + padded tensors %d)", f.size, f.dataStart+next, f.dataStart, next)
	}

	std := m.Std
	if std == 0 {
		std = 0.02
	}
	for _, ti := range f.tensors {
		if strings.HasSuffix(ti.name, "norm.weight") {
			for _, x := range ti.data {
				if x != 1 {
					t.Fatalf("%s has %v, want all 1", ti.name, x)
				}
			}
			continue
		}
		var sum, sq float64
		var n int
		for i, x := range ti.data {
			col, row := uint64(i)%ti.dims[0], uint64(i)/ti.dims[0]
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("%s[%d] = %v", ti.name, i, x)
			}
			switch {
			case ti.name == "token_embd.weight" && col == 0:
				if x != 1 {
					t.Fatalf("token_embd row %d: bias channel %v, want 1", row, x)
				}
				continue
			case ti.name == "output.weight":
				continue // checked by TestOutputRows
			case strings.HasSuffix(ti.name, "_output.weight") || strings.HasSuffix(ti.name, "ffn_down.weight"):
				if row == 0 {
					if x != 0 {
						t.Fatalf("%s row 0 [%d] = %v: writes the bias channel", ti.name, col, x)
					}
					continue
				}
			case ti.name != "token_embd.weight" && col == 0:
				if x != 0 {
					t.Fatalf("%s column 0 (row %d) = %v: reads the bias channel", ti.name, row, x)
				}
				continue
			}
			sum += float64(x)
			sq += float64(x) * float64(x)
			n++
		}
		mean, sd := sum/float64(n), math.Sqrt(sq/float64(n)-(sum/float64(n))*(sum/float64(n)))
		if math.Abs(mean) > 5*std/math.Sqrt(float64(n)) || math.Abs(sd-std) > 0.1*std {
			t.Errorf("%s: mean %.5f sd %.5f over %d values, want ~N(0, %g)", ti.name, mean, sd, n, std)
		}
	}
}

func checkVocab(t *testing.T, f *file, m Llama) {
	t.Helper()
	tokens, _ := f.kv["tokenizer.ggml.tokens"].([]string)
	scores, _ := f.kv["tokenizer.ggml.scores"].([]float32)
	types, _ := f.kv["tokenizer.ggml.token_type"].([]int32)
	n := m.VocabSize()
	if len(tokens) != n || len(scores) != n || len(types) != n {
		t.Fatalf("%d tokens, %d scores, %d types; want %d each", len(tokens), len(scores), len(types), n)
	}
	if !slices.Equal(tokens, m.Tokens()) {
		t.Error("file's tokens differ from Tokens()")
	}
	if !slices.Equal(tokens[:3], []string{"<unk>", "<s>", "</s>"}) || !slices.Equal(types[:3], []int32{2, 3, 3}) {
		t.Errorf("special tokens %q types %v", tokens[:3], types[:3])
	}
	seen := map[string]bool{}
	for i, tok := range tokens {
		if seen[tok] {
			t.Errorf("token %d %q is a duplicate", i, tok)
		}
		seen[tok] = true
		switch {
		case i >= firstByte && i < FirstPiece:
			if want := fmt.Sprintf("<0x%02X>", i-firstByte); tok != want || types[i] != 6 || scores[i] != 0 {
				t.Errorf("token %d = %q type %d score %v, want %s type 6 score 0", i, tok, types[i], scores[i], want)
			}
		case i >= FirstPiece:
			if types[i] != 1 || !utf8.ValidString(tok) || tok == "" {
				t.Errorf("piece %d %q type %d", i, tok, types[i])
			}
			if i > FirstPiece && scores[i] >= scores[i-1] {
				t.Errorf("piece %d %q: score %v not below the previous %v", i, tok, scores[i], scores[i-1])
			}
		}
	}
	// SentencePiece merges only pairs in the vocabulary, so every piece's
	// prefix one rune shorter must be present too.
	for _, tok := range tokens[FirstPiece:] {
		if _, size := utf8.DecodeLastRuneInString(tok); len(tok) > size && !seen[tok[:len(tok)-size]] {
			t.Errorf("piece %q cannot be merged: %q is missing", tok, tok[:len(tok)-size])
		}
	}
	if m.Pieces >= 300 {
		for _, w := range []string{"▁the", "▁a", "▁and", "▁of", "a", "z", "▁"} {
			if !seen[w] {
				t.Errorf("piece %q missing", w)
			}
		}
	}
}

func TestCycle(t *testing.T) {
	for _, n := range []int{1, 2, 300, 1000} {
		m := DefaultLlama()
		m.Pieces = n
		c := m.Cycle()
		s := slices.Sorted(slices.Values(c))
		for i, id := range s {
			if id != FirstPiece+i {
				t.Fatalf("Pieces %d: Cycle is not a permutation of the pieces: %v", n, s)
			}
		}
		if n >= 300 && slices.IsSorted(c) {
			t.Errorf("Pieces %d: Cycle is not shuffled", n)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Llama)
		want string
	}{
		{func(m *Llama) { m.Layers = 0 }, "Layers = 0"},
		{func(m *Llama) { m.Pieces = -1 }, "Pieces = -1"},
		{func(m *Llama) { m.Heads = 5 }, "not a multiple of Heads"},
		{func(m *Llama) { m.Embd, m.Heads, m.KVHeads = 12, 4, 4 }, "head size 3 is odd"},
		{func(m *Llama) { m.KVHeads = 3 }, "not a multiple of KVHeads"},
	} {
		m := DefaultLlama()
		tc.edit(&m)
		err := m.Write(io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one containing %q", m, err, tc.want)
		}
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, io.ErrShortWrite
	}
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	if err := DefaultLlama().Write(&failWriter{n: 100000}); err == nil {
		t.Error("a failing writer gave no error")
	}
}
