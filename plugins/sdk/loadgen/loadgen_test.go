package loadgen

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	pluginpb "github.com/llmsweep/llmsweep/plugins/sdk/proto"
	"github.com/llmsweep/llmsweep/plugins/sdk/scriptserver"
	"github.com/llmsweep/llmsweep/plugins/sdk/stream"
)

func run(t *testing.T, spec *pluginpb.BenchmarkSpec) ([]*pluginpb.Record, *pluginpb.Summary) {
	t.Helper()
	srv := scriptserver.Start(scriptserver.Script{Tokens: 3})
	t.Cleanup(srv.Close)
	spec.BaseUrl = srv.URL
	c := stream.NewClient(srv.URL)
	defer c.CloseIdleConnections()
	var mu sync.Mutex
	var recs []*pluginpb.Record
	sum, err := Run(context.Background(), c, stream.OpenAICompletions, spec, func(r *pluginpb.Record) error {
		mu.Lock()
		defer mu.Unlock()
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs, sum
}

func indices(recs []*pluginpb.Record) []int32 {
	var out []int32
	for _, r := range recs {
		out = append(out, r.GetIndex())
	}
	slices.Sort(out)
	return out
}

// A resumed run sends exactly the requests not yet recorded, and warmup again.
func TestResumeSkipsDone(t *testing.T) {
	recs, sum := run(t, &pluginpb.BenchmarkSpec{Requests: 10, Concurrency: 3, Warmup: 2, Done: []int32{0, 3, 4, 9}})
	if got := indices(recs); !slices.Equal(got, []int32{-2, -1, 1, 2, 5, 6, 7, 8}) {
		t.Errorf("indices %v", got)
	}
	if sum.GetSkipped() != 4 || sum.GetRequests() != 6 || sum.GetWarmup() != 2 {
		t.Errorf("summary %v", sum)
	}
}

// An open loop sends on its schedule: records carry the scheduled time, and the
// gaps follow the rate.
func TestOpenLoopConstant(t *testing.T) {
	recs, _ := run(t, &pluginpb.BenchmarkSpec{Requests: 20, Arrival: "constant", RequestRate: 200})
	slices.SortFunc(recs, func(a, b *pluginpb.Record) int { return int(a.GetIndex() - b.GetIndex()) })
	for i := 1; i < len(recs); i++ {
		if gap := recs[i].GetScheduledNs() - recs[i-1].GetScheduledNs(); gap != int64(5*time.Millisecond) {
			t.Fatalf("gap %d→%d is %v, want 5ms", i-1, i, time.Duration(gap))
		}
		if recs[i].GetStartNs() < recs[i].GetScheduledNs() {
			t.Errorf("request %d started before it was due", i)
		}
	}
}

// Poisson gaps are reproducible from the seed and average 1/rate.
func TestArrivalsPoisson(t *testing.T) {
	spec := &pluginpb.BenchmarkSpec{Arrival: "poisson", RequestRate: 1000, Burstiness: 1, Seed: 42}
	a, b := arrivals(spec), arrivals(spec)
	var sum time.Duration
	const n = 20000
	for range n {
		x, y := a(), b()
		if x != y {
			t.Fatal("the same seed gave different schedules")
		}
		sum += x
	}
	if mean := sum / n; mean < 950*time.Microsecond || mean > 1050*time.Microsecond {
		t.Errorf("mean gap %v, want about 1ms", mean)
	}
}

func TestDuration(t *testing.T) {
	start := time.Now()
	recs, _ := run(t, &pluginpb.BenchmarkSpec{DurationSeconds: 0.3, Concurrency: 2})
	if el := time.Since(start); el < 300*time.Millisecond || el > 3*time.Second {
		t.Errorf("a 0.3 s run took %v", el)
	}
	if len(recs) < 2 {
		t.Errorf("%d records in 0.3 s", len(recs))
	}
}

func TestPrompts(t *testing.T) {
	spec := &pluginpb.BenchmarkSpec{Seed: 3,
		InputTokens:  &pluginpb.Distribution{Kind: "normal", Mean: 100, Stddev: 30, Min: 20, Max: 150},
		OutputTokens: &pluginpb.Distribution{Kind: "lognormal", Mean: 50, Sigma: 0.5, Min: 1, Max: 400}}
	p := Prompts{spec: spec}
	seen := map[string]bool{}
	var outSum float64
	for i := range 2000 {
		a, b := p.At(i), p.At(i)
		if a != b {
			t.Fatal("a prompt is not a function of seed and index")
		}
		if a.Words < 20 || a.Words > 150 || len(strings.Fields(a.Text)) != a.Words {
			t.Fatalf("prompt %d has %d words (%d counted)", i, len(strings.Fields(a.Text)), a.Words)
		}
		seen[a.Text[:min(len(a.Text), 40)]] = true
		outSum += float64(a.OutputTokens)
	}
	if len(seen) < 1990 { // prefixes differ, so that prefix caching cannot help
		t.Errorf("only %d distinct prompt prefixes in 2000", len(seen))
	}
	if m := outSum / 2000; math.Abs(m-50) > 3 {
		t.Errorf("mean output length %v, want about 50", m)
	}
	given := Prompts{spec: &pluginpb.BenchmarkSpec{Prompts: []*pluginpb.Prompt{{Text: "a b c", Expected: "x"}, {Text: "d", OutputTokens: 7}}}}
	if q := given.At(3); q.Text != "d" || q.OutputTokens != 7 || q.Words != 1 {
		t.Errorf("given prompts cycle: %+v", q)
	}
	if q := given.At(-1); q.Text != "d" {
		t.Errorf("warmup index -1: %+v", q)
	}
}

func TestBadSpec(t *testing.T) {
	for spec, want := range map[*pluginpb.BenchmarkSpec]string{
		{}:                                      "base_url is empty",
		{BaseUrl: "x", Requests: -1}:            "must not be negative",
		{BaseUrl: "x", Arrival: "poisson"}:      `arrival "poisson" needs a request_rate`,
		{BaseUrl: "x", Arrival: "burst"}:        `arrival "burst" is not one of closed, constant, poisson, gamma`,
		{BaseUrl: "x", RequestRate: math.NaN()}: "is not a rate",
	} {
		_, err := Run(context.Background(), stream.NewClient("http://x"), stream.OpenAICompletions, spec, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: %v, want %q", spec, err, want)
		}
	}
}
