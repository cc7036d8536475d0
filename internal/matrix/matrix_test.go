package matrix

import (
	"bytes"
	"encoding/json"
	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// TestCanonicalJSON holds the hand-written encoder to encoding/json's output, on
// every config of the full campaign and on strings that need escaping.
func TestCanonicalJSON(t *testing.T) {
	s := campaigntest.Repo(t)
	var buf bytes.Buffer
	if _, err := (&Compiler{Set: s}).Compile(s.Campaigns["llama3-8b-full"], &buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	odd := Config{Model: `a"b\c`, Repo: "<x>&y", Revision: "é\u2028\x01", RequestRate: 0.5, InputTokens: 7}
	lines = append(lines, string(odd.JSON()))
	for _, line := range lines {
		var c Config
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		want, _ := json.Marshal(c)
		if got := c.JSON(); !bytes.Equal(got, want) {
			t.Fatalf("encoder differs from encoding/json:\n%s", cmp.Diff(string(want), string(got)))
		}
	}
}

// TestDeterministic compiles twice and expects the same bytes.
func TestDeterministic(t *testing.T) {
	s := campaigntest.Repo(t)
	var a, b bytes.Buffer
	ra, err := (&Compiler{Set: s}).Compile(s.Campaigns["nightly"], &a)
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := (&Compiler{Set: s}).Compile(s.Campaigns["nightly"], &b)
	if !bytes.Equal(a.Bytes(), b.Bytes()) || ra.Summary.MatrixHash != rb.Summary.MatrixHash {
		t.Fatal("two compiles of the same campaign differ")
	}
	if diff := cmp.Diff(ra.Batches, rb.Batches); diff != "" {
		t.Fatal(diff)
	}
}

// TestFullCampaign checks the floor: at least 9,000 runnable configs for
// one model across the catalog, batches of at most 100 that share a server.
func TestFullCampaign(t *testing.T) {
	s := campaigntest.Repo(t)
	c := s.Campaigns["llama3-8b-full"]
	var buf bytes.Buffer
	res, err := (&Compiler{Set: s}).Compile(c, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Configs < 9000 {
		t.Errorf("%d configs, want at least 9,000", res.Summary.Configs)
	}
	seen := map[string]bool{}
	perBatch := map[string]int{}
	dec := json.NewDecoder(&buf)
	server := map[string]string{}
	for {
		var cfg Config
		if err := dec.Decode(&cfg); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if seen[cfg.Fingerprint] {
			t.Fatalf("duplicate fingerprint %s", cfg.Fingerprint)
		}
		seen[cfg.Fingerprint] = true
		perBatch[cfg.Batch]++
		id := cfg.Model + cfg.Hardware + cfg.Framework + cfg.Version + cfg.Quantization + cfg.ServerDigest
		if prev, ok := server[cfg.Batch]; ok && prev != id {
			t.Fatalf("batch %s mixes server identities", cfg.Batch)
		}
		server[cfg.Batch] = id
	}
	for b, n := range perBatch {
		if n > c.BatchSize {
			t.Errorf("batch %s has %d configs, more than %d", b, n, c.BatchSize)
		}
	}
	if len(perBatch) != res.Summary.Batches {
		t.Errorf("%d batches in the matrix, summary says %d", len(perBatch), res.Summary.Batches)
	}
}

// TestPruneReasons builds a campaign that trips every reason and checks each
// reason's count and one detail.
func TestPruneReasons(t *testing.T) {
	s := campaigntest.Repo(t)
	c := s.Campaigns["llama3-8b-full"]
	c.Name = "reasons"
	// qwen2.5-0.5b has 14 attention heads: TP 4 and 8 do not divide them; phi-3
	// mini 4k has a 4k context, too short for long-context-rag; 72B in bf16 does
	// not fit one L4.
	c.Models = []string{"qwen2.5-0.5b-instruct", "phi-3-mini-4k-instruct", "qwen2.5-72b-instruct"}
	c.Exclude = []campaign.Rule{{Frameworks: []string{"tgi"}, Workloads: []string{"chat"}, Reason: "test"}}
	x := &Compiler{Set: s, Examples: 10}
	res, err := x.Compile(c, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		ReasonExcluded:     "exclude[0]: test",
		ReasonUnsupported:  "has no fp8 kernels on ampere",
		ReasonNoCheckpoint: "needs pre-quantized weights",
		ReasonTP:           "does not divide 14 attention heads",
		ReasonContext:      "exceed the model's context of 4096",
		ReasonMemory:       "GiB (weights",
	}
	for reason, detail := range want {
		if res.Summary.Pruned[reason] == 0 {
			t.Errorf("no config pruned for %s", reason)
			continue
		}
		found := false
		for _, p := range res.Explain.Samples[reason] {
			found = found || strings.Contains(p.Detail, detail)
		}
		if !found {
			t.Errorf("%s: no example mentions %q: %+v", reason, detail, res.Explain.Samples[reason])
		}
	}
	total := res.Summary.Configs
	for _, n := range res.Summary.Pruned {
		total += n
	}
	if total != res.Summary.Expanded {
		t.Errorf("configs + pruned = %d, expanded = %d", total, res.Summary.Expanded)
	}
}

// TestZeroConfigs is a clear error, not an empty folder.
func TestZeroConfigs(t *testing.T) {
	s := campaigntest.Repo(t)
	c := s.Campaigns["quickstart"]
	c.Models = []string{"qwen2.5-72b-instruct"}
	c.Select.Hardware = []string{"l4-x1"}
	_, err := (&Compiler{Set: s}).Compile(c, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "compiles to zero runnable configs: all 2 were pruned (2 memory)") {
		t.Fatalf("got %v", err)
	}
}

func TestCutEven(t *testing.T) {
	g := &Group{Key: "k", Configs: make([]Config, 150)}
	bs := Cut(g, 100, 10)
	if len(bs) != 2 || bs[0].Configs != 75 || bs[1].Configs != 75 || bs[1].First != 85 || bs[1].Last != 159 {
		t.Fatalf("%+v", bs)
	}
	if g.Configs[74].Batch != bs[0].ID || g.Configs[75].Batch != bs[1].ID || bs[0].ID == bs[1].ID {
		t.Fatal("configs not stamped with their batch")
	}
	if again := Cut(&Group{Key: "k", Configs: make([]Config, 150)}, 100, 10); again[0].ID != bs[0].ID {
		t.Fatal("batch IDs are not stable")
	}
}
