package main

import (
	"hash/fnv"
	"strings"
)

// The emulated server's tokenizer is simple and deterministic: each
// whitespace-separated word is one token per started 12 bytes. The load
// generator's synthetic words are all shorter, so a synthetic prompt of n words
// is n tokens, as the workload means it to be; long words, URLs and code cost
// more, roughly as a real tokenizer's would.
const bytesPerToken = 12

// countTokens is the prompt's length in the emulated tokenizer's tokens.
func countTokens(text string) int {
	n := 0
	for _, w := range strings.Fields(text) {
		n += (len(w) + bytesPerToken - 1) / bytesPerToken
	}
	return n
}

// outputWords are what the emulated model says, in turn: one word, with its
// leading space, per token.
var outputWords = strings.Fields(`lorem ipsum dolor sit amet consectetur adipiscing elit sed do
eiusmod tempor incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud
exercitation ullamco laboris nisi aliquip ex ea commodo consequat duis aute irure in
reprehenderit voluptate velit esse cillum fugiat nulla pariatur excepteur sint occaecat
cupidatat non proident sunt culpa qui officia deserunt mollit anim id est laborum`)

// token is the text of output token i of an answer that starts at word start.
func token(start, i int) string { return " " + outputWords[(start+i)%len(outputWords)] }

// Without ignore_eos the emulated model stops by itself: after a number of tokens
// that depends only on the prompt, between minNatural and maxNatural.
const minNatural, maxNatural = 8, 64

// natural is the prompt's natural answer length, and the word its answer starts at.
func natural(prompt string) (length, start int) {
	h := fnv.New64a()
	h.Write([]byte(prompt))
	x := h.Sum64()
	return minNatural + int(x%(maxNatural-minNatural+1)), int((x >> 32) % uint64(len(outputWords)))
}
