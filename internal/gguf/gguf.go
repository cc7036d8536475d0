// Package gguf writes GGUF v3 files (github.com/ggml-org/ggml docs/gguf.md):
// just enough of the format to build a tiny random-weight llama model that
// real engines (ollama, llama.cpp) load, so end-to-end tests can run a real
// inference server on CPU without downloading weights.
package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Value types of GGUF metadata, from the spec.
const (
	typeUint32  uint32 = 4
	typeInt32   uint32 = 5
	typeFloat32 uint32 = 6
	typeBool    uint32 = 7
	typeString  uint32 = 8
	typeArray   uint32 = 9
	typeUint64  uint32 = 10
)

// ggmlTypeF32 is ggml_type GGML_TYPE_F32.
const ggmlTypeF32 uint32 = 0

// Alignment is the general.alignment this package writes (the spec's default
// is also 32, but engines read the key when present).
const Alignment = 32

// keyValue is one metadata pair. Val is one of uint32, int32, float32, bool,
// string, uint64, []string, []float32 or []int32.
type keyValue struct {
	Key string
	Val any
}

// tensor is one F32 tensor. Dims[0] is ne[0], the innermost dimension. Fill
// writes the Elems() values in memory order.
type tensor struct {
	Name string
	Dims []uint64
	Fill func(emit func(float32))
}

func (t tensor) elems() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

func align(n uint64) uint64 { return (n + Alignment - 1) / Alignment * Alignment }

// encoder tracks the offset so that padding can be computed while streaming.
type encoder struct {
	w   *bufio.Writer
	n   uint64
	buf [8]byte
}

func (e *encoder) bytes(b []byte) { e.w.Write(b); e.n += uint64(len(b)) }
func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:4], v)
	e.bytes(e.buf[:4])
}
func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:8], v)
	e.bytes(e.buf[:8])
}
func (e *encoder) f32(v float32) { e.u32(math.Float32bits(v)) }
func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	e.w.WriteString(s)
	e.n += uint64(len(s))
}
func (e *encoder) pad() {
	var zero [Alignment]byte
	e.bytes(zero[:align(e.n)-e.n])
}

func (e *encoder) value(v any) error {
	switch v := v.(type) {
	case uint32:
		e.u32(typeUint32)
		e.u32(v)
	case int32:
		e.u32(typeInt32)
		e.u32(uint32(v))
	case float32:
		e.u32(typeFloat32)
		e.f32(v)
	case bool:
		e.u32(typeBool)
		b := byte(0)
		if v {
			b = 1
		}
		e.bytes([]byte{b})
	case string:
		e.u32(typeString)
		e.str(v)
	case uint64:
		e.u32(typeUint64)
		e.u64(v)
	case []string:
		e.u32(typeArray)
		e.u32(typeString)
		e.u64(uint64(len(v)))
		for _, s := range v {
			e.str(s)
		}
	case []float32:
		e.u32(typeArray)
		e.u32(typeFloat32)
		e.u64(uint64(len(v)))
		for _, f := range v {
			e.f32(f)
		}
	case []int32:
		e.u32(typeArray)
		e.u32(typeInt32)
		e.u64(uint64(len(v)))
		for _, i := range v {
			e.u32(uint32(i))
		}
	default:
		return fmt.Errorf("gguf: unsupported metadata type %T", v)
	}
	return nil
}

// write encodes a whole file: header, metadata, tensor infos, padding, data.
func write(w io.Writer, kvs []keyValue, tensors []tensor) error {
	e := &encoder{w: bufio.NewWriterSize(w, 1<<16)}
	e.bytes([]byte("GGUF"))
	e.u32(3)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		e.str(kv.Key)
		if err := e.value(kv.Val); err != nil {
			return fmt.Errorf("%s: %w", kv.Key, err)
		}
	}
	var off uint64
	for _, t := range tensors {
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(ggmlTypeF32)
		e.u64(off)
		off = align(off + 4*t.elems())
	}
	e.pad()
	for _, t := range tensors {
		var n uint64
		t.Fill(func(f float32) { e.f32(f); n++ })
		if n != t.elems() {
			return fmt.Errorf("gguf: tensor %s: filled %d values, want %d", t.Name, n, t.elems())
		}
		e.pad()
	}
	return e.w.Flush()
}
