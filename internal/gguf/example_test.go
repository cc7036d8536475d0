package gguf_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/llmsweep/llmsweep/internal/gguf"
)

// Write a tiny model, e.g. for `ollama create tiny -f Modelfile` with
// Modelfile "FROM ./tiny.gguf" (WriteFile writes it to a path).
func Example() {
	m := gguf.DefaultLlama()
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		log.Fatal(err)
	}
	fmt.Println(buf.Len(), "bytes,", m.VocabSize(), "tokens")
	fmt.Printf("%q\n", m.Tokens()[gguf.FirstPiece-1:gguf.FirstPiece+4])
	// Output:
	// 596512 bytes, 559 tokens
	// ["<0xFF>" "▁" "a" "b" "c"]
}
