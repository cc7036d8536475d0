package matrix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
)

func testGroup(n int) *Group {
	g := &Group{Key: "m/h/f/v/q/tp1"}
	for i := range n {
		g.Configs = append(g.Configs, Config{Model: "m", Hardware: "h", GPU: "g", GPUs: 1, Fingerprint: fmt.Sprint(i)})
	}
	return g
}

func TestCutBalanced(t *testing.T) {
	// Ten configs, size 4: at least three batches. LPT on 9,8,7,6,5,4,3,2,1,1
	// gives 9+4+2 | 8+5+1+1 | 7+6+3 = 15, 15, 16.
	secs := []float64{1, 9, 2, 8, 3, 7, 4, 6, 5, 1}
	orig := slices.Clone(secs)
	g := testGroup(10)
	bs := CutBalanced(g, 4, 100, secs, 0, 0)
	if len(bs) != 3 {
		t.Fatalf("%d batches, want 3", len(bs))
	}
	var sums []float64
	seen := map[string]bool{}
	next := 100
	for _, b := range bs {
		if b.First != next || b.Configs != b.Last-b.First+1 || b.Configs > 4 {
			t.Errorf("batch %s: first %d last %d configs %d; want contiguous from %d, at most 4", b.ID, b.First, b.Last, b.Configs, next)
		}
		next = b.Last + 1
		var s float64
		prev := -1
		for i := b.First - 100; i <= b.Last-100; i++ {
			c := g.Configs[i]
			if c.Batch != b.ID {
				t.Errorf("config %s stamped %s, in batch %s", c.Fingerprint, c.Batch, b.ID)
			}
			var k int
			fmt.Sscan(c.Fingerprint, &k)
			if k <= prev {
				t.Errorf("batch %s: configs out of matrix order", b.ID)
			}
			prev = k
			if secs[i] != orig[k] {
				t.Errorf("seconds not permuted with their configs: %g for config %d (was %g)", secs[i], k, orig[k])
			}
			seen[c.Fingerprint] = true
			s += secs[i]
		}
		sums = append(sums, s)
	}
	if len(seen) != 10 {
		t.Errorf("%d configs placed, want 10", len(seen))
	}
	if slices.Max(sums) != 16 || slices.Min(sums) != 15 {
		t.Errorf("batch sums %v, want 15, 15, 16", sums)
	}
	if bs[0].ID != "b"+digest(g.Key)[:10]+"-0" || g.Configs[0].Fingerprint != "0" {
		t.Errorf("batch 0 is %s and starts with config %s; want Cut's ID and the group's first config", bs[0].ID, g.Configs[0].Fingerprint)
	}
	// A target below the group's work splits it further.
	g = testGroup(10)
	if bs := CutBalanced(g, 100, 0, slices.Clone(orig), 2, 2+12); len(bs) != 4 {
		t.Errorf("target 12 s of configs per batch over 46 s: %d batches, want 4", len(bs))
	}
}

// The compiler's Balance option keeps every config and a valid matrix, and
// leaves the default output alone.
func TestCompileBalanced(t *testing.T) {
	s := campaigntest.Repo(t)
	c := s.Campaigns["nightly"]
	var plain, bal bytes.Buffer
	rp, err := (&Compiler{Set: s}).Compile(c, &plain)
	if err != nil {
		t.Fatal(err)
	}
	x := &Compiler{Set: s, Balance: &Balance{Estimate: func(g *Group) ([]float64, float64) {
		secs := make([]float64, len(g.Configs))
		for i, cfg := range g.Configs {
			secs[i] = float64(cfg.Concurrency) + cfg.RequestRate // any deterministic duration
		}
		return secs, 60
	}, Target: 100}}
	rb, err := x.Compile(c, &bal)
	if err != nil {
		t.Fatal(err)
	}
	if rb.Summary.Configs != rp.Summary.Configs || rb.Summary.Batches < rp.Summary.Batches {
		t.Fatalf("balanced: %d configs in %d batches; count cut: %d in %d", rb.Summary.Configs, rb.Summary.Batches, rp.Summary.Configs, rp.Summary.Batches)
	}
	lines := strings.Split(strings.TrimSpace(bal.String()), "\n")
	for _, b := range rb.Batches {
		for i := b.First; i <= b.Last; i++ {
			var cfg Config
			if err := json.Unmarshal([]byte(lines[i]), &cfg); err != nil {
				t.Fatal(err)
			}
			if cfg.Batch != b.ID {
				t.Fatalf("line %d is in batch %s, want %s", i, cfg.Batch, b.ID)
			}
		}
	}
	var again bytes.Buffer
	if _, err := (&Compiler{Set: s}).Compile(c, &again); err != nil || !bytes.Equal(again.Bytes(), plain.Bytes()) {
		t.Fatal("the default compile changed")
	}
}
