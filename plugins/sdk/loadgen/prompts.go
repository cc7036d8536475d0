package loadgen

import (
	"math"
	"math/rand/v2"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"

	pluginpb "github.com/llmsweep/llmsweep/plugins/sdk/proto"
)

// words are common English words; most tokenizers map each, with its leading
// space, to one token, so a synthetic prompt of n words is about n tokens long.
var words = strings.Fields(`the of and to in is that for it as was with be by on not he
this are or his from at which but have an they you were her she there one all we their
been has when who will more no if out so said what up its about into than them can only
other new some could time these two may then do first any my now such like our over man
me even most made after also did many before must through back years where much your way
well down should because each just those people how too little state good very make world
still own see men work long get here between both life being under never day same another
know while last might us great old year off come since against go came right used take
three states himself few house use during without again place around however home small
found thought went say part once general high upon school every don does got united left
number course war until always away something fact though water less public put think
almost hand enough far took head yet government system better set told nothing night end
why called didn eyes find going look asked later knew point next program city business
give group toward young days let room president side social given present several order
national possible rather second face per among form important often things looking early
white case john become large big need four within felt children along saw best church
ever least power development light thought family interest want members mind country`)

// Prompts makes the prompt of each request index. The prompt of an index depends
// only on the seed and the index, so a resumed run sends what the interrupted one
// would have sent.
type Prompts struct {
	spec *pluginpb.BenchmarkSpec
}

// NewPrompts returns the prompts of a spec.
func NewPrompts(spec *pluginpb.BenchmarkSpec) Prompts { return Prompts{spec: spec} }

// Prompt is one request's prompt.
type Prompt struct {
	Text         string
	Words        int // the client's count of prompt tokens
	OutputTokens int
	Expected     string
}

// At returns the prompt of request index i (warmup requests have negative indices).
func (p Prompts) At(i int) Prompt {
	s := p.spec
	rng := rand.New(rand.NewPCG(uint64(s.GetSeed()), uint64(int64(i))+0x9e3779b97f4a7c15))
	out := sample(s.GetOutputTokens(), rng, 128)
	if n := len(s.GetPrompts()); n > 0 {
		given := s.GetPrompts()[((i%n)+n)%n]
		if given.GetOutputTokens() > 0 {
			out = int(given.GetOutputTokens())
		}
		return Prompt{Text: given.GetText(), Words: len(strings.Fields(given.GetText())), OutputTokens: out, Expected: given.GetExpected()}
	}
	in := sample(s.GetInputTokens(), rng, 128)
	var b strings.Builder
	b.Grow(in * 7)
	for k := range in {
		if k > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[rng.IntN(len(words))])
	}
	return Prompt{Text: b.String(), Words: in, OutputTokens: out}
}

// sample draws a token count from d, clamped to [min, max] (and to at least 1).
func sample(d *pluginpb.Distribution, rng *rand.Rand, dflt int) int {
	if d == nil || d.GetKind() == "" {
		return dflt
	}
	lo, hi := float64(max(d.GetMin(), 1)), math.Inf(1)
	if d.GetMax() > 0 {
		hi = float64(d.GetMax())
	}
	var v float64
	switch d.GetKind() {
	case "fixed":
		return int(max(d.GetValue(), 1))
	case "uniform":
		v = distuv.Uniform{Min: lo, Max: hi + 1, Src: rng}.Rand()
	case "normal":
		v = distuv.Normal{Mu: d.GetMean(), Sigma: d.GetStddev(), Src: rng}.Rand()
	case "lognormal":
		// mean is the distribution's mean: exp(mu + sigma²/2).
		sg := d.GetSigma()
		v = distuv.LogNormal{Mu: math.Log(d.GetMean()) - sg*sg/2, Sigma: sg, Src: rng}.Rand()
	default:
		return dflt
	}
	return int(math.Min(math.Max(math.Floor(v), lo), hi))
}
