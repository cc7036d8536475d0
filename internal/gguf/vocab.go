package gguf

import "fmt"

// Token types of tokenizer.ggml.token_type (llama.cpp's llama_token_type).
const (
	tokenNormal  int32 = 1
	tokenUnknown int32 = 2
	tokenControl int32 = 3
	tokenByte    int32 = 6
)

// Special token ids; the byte tokens follow them and the pieces follow those.
const (
	UnknownID = 0
	BOSID     = 1
	EOSID     = 2
	firstByte = 3
	// FirstPiece is the id of the first normal (non-special, non-byte) token.
	FirstPiece = firstByte + 256
)

// spm is SentencePiece's whitespace marker.
const spm = "▁"

// words are common English words; each becomes "▁word" with its "▁" prefixes
// so that SentencePiece merging (which only joins pairs present in the
// vocabulary) can reach the whole word.
var words = []string{
	"the", "of", "and", "to", "a", "in", "is", "it", "you", "that", "he", "was",
	"for", "on", "are", "with", "as", "I", "his", "they", "be", "at", "one",
	"have", "this", "from", "or", "had", "by", "not", "word", "but", "what",
	"some", "we", "can", "out", "other", "were", "all", "there", "when", "up",
	"use", "your", "how", "said", "an", "each", "she", "which", "do", "their",
	"time", "if", "will", "way", "about", "many", "then", "them", "write",
	"would", "like", "so", "these", "her", "long", "make", "thing", "see",
	"him", "two", "has", "look", "more", "day", "could", "go", "come", "did",
	"number", "sound", "no", "most", "people", "my", "over", "know", "water",
	"than", "call", "first", "who", "may", "down", "side", "been", "now",
	"find", "any", "new", "work", "part", "take", "get", "place", "made",
	"live", "where", "after", "back", "little", "only", "round", "man", "year",
	"came", "show", "every", "good", "me", "give", "our", "under", "name",
	"very", "through", "just", "form", "sentence", "great", "think", "say",
	"help", "low", "line", "differ", "turn", "cause", "much", "mean", "before",
	"move", "right", "boy", "old", "too", "same", "tell", "does", "set",
	"three", "want", "air", "well", "also", "play", "small", "end", "put",
	"home", "read", "hand", "port", "large", "spell", "add", "even", "land",
	"here", "must", "big", "high", "such", "follow", "act", "why", "ask",
	"men", "change", "went", "light", "kind", "off", "need", "house",
	"picture", "try", "us", "again", "animal", "point", "mother", "world",
	"near", "build", "self", "earth", "father", "head", "stand", "own", "page",
	"should", "country", "found", "answer", "school", "grow", "study", "still",
	"learn", "plant", "cover", "food", "sun", "four", "between", "state",
	"keep", "eye", "never", "last", "let", "thought", "city", "tree", "cross",
	"farm", "hard", "start", "might", "story", "saw", "far", "sea", "draw",
	"left", "late", "run", "while", "press", "close", "night", "real", "life",
	"few", "north", "open", "seem", "together", "next", "white", "children",
	"begin", "got", "walk", "example", "ease", "paper", "group", "always",
	"music", "those", "both", "mark", "often", "letter", "until", "mile",
	"river", "car", "feet", "care", "second", "book", "carry", "took",
	"science", "eat", "room", "friend", "began", "idea", "fish", "mountain",
	"stop", "once", "base", "hear", "horse", "cut", "sure", "watch", "color",
	"face", "wood", "main", "enough", "plain", "girl", "usual", "young",
	"ready", "above", "ever", "red", "list", "though", "feel", "talk", "bird",
	"soon", "body", "dog", "family", "direct", "pose", "leave", "song",
	"measure", "door", "product", "black", "short", "numeral", "class", "wind",
	"question", "happen", "complete", "ship", "area", "half", "rock", "order",
	"fire", "south", "problem", "piece", "told", "knew", "pass", "since",
	"top", "whole", "king", "space", "heard", "best", "hour", "better", "true",
	"during", "hundred", "five", "remember", "step", "early", "hold", "west",
	"ground", "interest", "reach", "fast", "verb", "sing", "listen", "six",
	"table", "travel", "less", "morning", "ten", "simple", "several", "vowel",
	"toward", "war", "lay", "against", "pattern", "slow", "center", "love",
	"person", "money", "serve", "appear", "road", "map", "rain", "rule",
	"govern", "pull", "cold", "notice", "voice", "unit", "power", "town",
	"fine", "certain", "fly", "fall", "lead", "cry", "dark", "machine", "note",
	"wait", "plan", "figure", "star", "box", "noun", "field", "rest",
	"correct", "able", "pound", "done", "beauty", "drive", "stood", "contain",
	"front", "teach", "week", "final", "gave", "green", "oh", "quick",
	"develop", "ocean", "warm", "free", "minute", "strong", "special", "mind",
	"behind", "clear", "tail", "produce", "fact", "street", "inch", "multiply",
	"nothing", "course", "stay", "wheel", "full", "force", "blue", "object",
	"decide", "surface", "deep", "moon", "island", "foot", "system", "busy",
	"test", "record", "boat", "common", "gold", "possible", "plane", "stead",
	"dry", "wonder", "laugh", "thousand", "ago", "ran", "check", "game",
	"shape", "equate", "hot", "miss", "brought", "heat", "snow", "tire",
	"bring", "yes", "distant", "fill", "east", "paint", "language", "among",
}

// pieces returns n normal tokens, most frequent (highest score) first: single
// characters, then the words with their prefixes, then letter strings
// ("aa", "ab", …, "aaa", …) for as long as n asks.
func pieces(n int) []string {
	out := make([]string, 0, n)
	seen := map[string]bool{}
	add := func(s string) bool {
		if len(out) == n {
			return false
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
		return true
	}
	add(spm)
	for c := 'a'; c <= 'z'; c++ {
		add(string(c))
	}
	for _, c := range ".,!?'-:;\"()0123456789" {
		add(string(c))
	}
	for c := 'A'; c <= 'Z'; c++ {
		add(string(c))
	}
	for _, w := range words {
		for i := 1; i <= len(w); i++ {
			if !add(spm + w[:i]) {
				return out
			}
		}
	}
	// Letter strings of growing length: enough for any vocabulary size, and
	// each one's prefix is already present so merging still works.
	for l := 2; ; l++ {
		idx := make([]int, l)
		for {
			b := make([]byte, l)
			for i, x := range idx {
				b[i] = byte('a' + x)
			}
			if !add(string(b)) {
				return out
			}
			i := l - 1
			for i >= 0 && idx[i] == 25 {
				idx[i] = 0
				i--
			}
			if i < 0 {
				break
			}
			idx[i]++
		}
	}
}

// vocab returns the tokens, scores and types of a vocabulary with n pieces.
func vocab(n int) (tokens []string, scores []float32, types []int32) {
	tokens = []string{"<unk>", "<s>", "</s>"}
	types = []int32{tokenUnknown, tokenControl, tokenControl}
	for b := range 256 {
		tokens = append(tokens, fmt.Sprintf("<0x%02X>", b))
		types = append(types, tokenByte)
	}
	scores = make([]float32, len(tokens), len(tokens)+n)
	for i, p := range pieces(n) {
		tokens = append(tokens, p)
		scores = append(scores, -float32(i))
		types = append(types, tokenNormal)
	}
	return tokens, scores, types
}
