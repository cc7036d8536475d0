package diff

import (
	"encoding/json"
	"fmt"
	goldenfile "github.com/llmsweep/llmsweep/internal/golden"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmsweep/llmsweep/internal/matrix"
)

func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got)
}

// A small nightly campaign: 2 models × 2 GPUs × vLLM and TGI, bf16, a
// closed-loop chat grid and an open-loop summarization grid.
var (
	llama   = server{}.with("llama-3.1-8b-instruct", "meta-llama/Llama-3.1-8B-Instruct")
	qwen    = server{}.with("qwen2.5-7b-instruct", "Qwen/Qwen2.5-7B-Instruct")
	nightly = []point{
		{workload: "chat", concurrency: 1}, {workload: "chat", concurrency: 16}, {workload: "chat", concurrency: 64},
		{workload: "summarization", rate: 0.5, input: 4096, output: 256}, {workload: "summarization", rate: 2, input: 4096, output: 256},
	}
)

func on(s server, hw server) server {
	s.hardware, s.gpu, s.gpus = hw.hardware, hw.gpu, hw.gpus
	return s
}

// servers returns the campaign's servers with vLLM at version vllm.
func servers(vllm string) []server {
	var out []server
	for _, m := range []server{llama, qwen} {
		for _, hw := range []server{h100, a100} {
			out = append(out, on(m, hw).on("vllm", vllm, "bf16"), on(m, hw).on("tgi", "3.3.6", "bf16"))
		}
	}
	return out
}

// workflow is a workflow.yaml in miniature: one task per batch and server image.
func workflow(cs []matrix.Config, parallelism int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata:\n  name: nightly\nspec:\n  parallelism: %d\n  tasks:\n", parallelism)
	for i := range cs {
		if i == 0 || cs[i].Batch != cs[i-1].Batch {
			fmt.Fprintf(&b, "  - name: batch-%s\n    image: %s\n", cs[i].Batch, cs[i].Image)
		}
	}
	return []byte(b.String())
}

func configmap(models ...string) []byte {
	return []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nightly-bundle\ndata:\n  models: " + strings.Join(models, ",") + "\n")
}

func files(cs []matrix.Config, parallelism int) map[string][]byte {
	return map[string][]byte{
		MatrixFile:       jsonl(cs),
		"workflow.yaml":  workflow(cs, parallelism),
		"configmap.yaml": configmap("llama-3.1-8b-instruct", "qwen2.5-7b-instruct"),
		SumsFile:         []byte(fmt.Sprintf("%d configs\n", len(cs))),
	}
}

func TestGolden(t *testing.T) {
	base := build(servers("0.11.0"), nightly, 100)
	bumped := build(servers("0.11.2"), nightly, 100)

	// Two vLLM versions side by side; the new side drops 0.10.2, adds 0.11.2 and
	// changes how 0.11.0 launches on the H100.
	two := func(versions ...string) []matrix.Config {
		var ss []server
		for _, v := range versions {
			ss = append(ss, on(llama, h100).on("vllm", v, "bf16"))
		}
		return build(ss, nightly[:3], 100)
	}
	twoOld := two("0.10.2", "0.11.0")
	twoNew := two("0.11.0", "0.11.2")
	for i := range twoNew {
		if twoNew[i].Version == "0.11.0" {
			twoNew[i].ServerDigest = "5e1ec7ed00000000"
			twoNew[i].MaxModelLen = 16384
			twoNew[i] = fingerprinted(twoNew[i])
		}
	}

	// A new load point makes the groups larger than a batch: batches of 3 put
	// the last configs of each server in a second batch.
	grown := append(append([]point{}, nightly...), point{workload: "chat", concurrency: 128})
	rebatched := build(servers("0.11.0"), grown, 3)

	// A hand edit keeps the fingerprint but not the config.
	edited := append([]matrix.Config{}, base...)
	edited[7].MaxModelLen = 4096

	for _, tc := range []struct {
		name     string
		old, new map[string][]byte
		max      int
	}{
		{"campaign-added", nil, files(base, 8), 4},
		{"campaign-removed", files(base, 8), nil, 4},
		{"no-change", files(base, 8), files(base, 8), 4},
		{"version-bump", files(base, 8), files(bumped, 8), 3},
		{"two-versions", files(twoOld, 8), files(twoNew, 8), 0},
		{"batch-move", files(base, 8), files(rebatched, 8), 5},
		{"manifest-change", files(base, 8), func() map[string][]byte {
			f := files(base, 4)
			f["configmap.yaml"] = configmap("llama-3.1-8b-instruct", "qwen2.5-7b-instruct", "mistral-7b-instruct-v0.3")
			return f
		}(), 4},
		{"hand-edit", files(base, 8), files(edited, 8), 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Compare("nightly", tc.old, tc.new)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if err := r.WriteText(&b, tc.max); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".txt", b.String())
			if !strings.HasSuffix(b.String(), r.Summary()+"\n") {
				t.Errorf("the report does not end with its summary %q", r.Summary())
			}
			if got := tc.name == "no-change"; r.Empty() != got {
				t.Errorf("Empty() = %v, want %v", r.Empty(), got)
			}
		})
	}

	// The --output json form, for a report small enough to read.
	r, err := Compare("nightly", files(twoOld, 8), files(twoNew, 8))
	if err != nil {
		t.Fatal(err)
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "two-versions.json", string(j)+"\n")
}

// TestCounts checks what each section holds, beyond the text.
func TestCounts(t *testing.T) {
	base := build(servers("0.11.0"), nightly, 100)
	bumped := build(servers("0.11.2"), nightly, 100)
	r, err := Compare("nightly", files(base, 8), files(bumped, 8))
	if err != nil {
		t.Fatal(err)
	}
	vllm := len(base) / 2
	if len(r.Changed) != vllm || len(r.Added)+len(r.Removed)+len(r.Moved) != 0 {
		t.Fatalf("got %s, want %d changed and nothing else", r.Summary(), vllm)
	}
	want := []Field{
		{Name: "version", Old: "0.11.0", New: "0.11.2"},
		{Name: "image", Old: "vllm/vllm-openai:v0.11.0", New: "vllm/vllm-openai:v0.11.2"},
	}
	for _, c := range r.Changed {
		if diff := cmp.Diff(want, c.Fields); diff != "" {
			t.Fatalf("%s: fields (-want +got):\n%s", Describe(&c.Old), diff)
		}
	}
	// In the new matrix's order.
	var order []string
	for _, c := range r.Changed {
		order = append(order, c.New.Fingerprint)
	}
	var want2 []string
	for _, c := range bumped {
		if c.Framework == "vllm" {
			want2 = append(want2, c.Fingerprint)
		}
	}
	if diff := cmp.Diff(want2, order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

// TestNightly compares the committed nightly campaign with itself and with
// nothing.
func TestNightly(t *testing.T) {
	dir := "../../generated/nightly"
	f := map[string][]byte{}
	for _, name := range []string{MatrixFile, "workflow.yaml", "configmap.yaml", "summary.json", SumsFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Skip(err)
		}
		f[name] = b
	}
	r, err := Compare("nightly", f, f)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Empty() || r.Summary() != "nightly: no changes" {
		t.Errorf("nightly against itself: %s", r.Summary())
	}
	r, err = Compare("nightly", nil, f)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(string(f[MatrixFile]), "\n")
	if len(r.Added) != lines || len(r.Manifests) != 3 {
		t.Errorf("nightly against nothing: %s, want %d added and 3 manifests", r.Summary(), lines)
	}
	for i, c := range r.Added {
		l := strings.SplitAfter(string(f[MatrixFile]), "\n")[i]
		if got := string(c.JSON()) + "\n"; got != l {
			t.Fatalf("added config %d does not encode as its line:\n%s", i, got)
		}
		// What compile writes takes the fast path.
		b := []byte(strings.TrimSuffix(l, "\n"))
		if fast, ok := decodeFast(b, batchStart+len(c.Batch), nil); !ok || fast != c {
			t.Fatalf("line %d does not take the fast path: %s", i+1, b)
		}
	}
}

func TestBadInput(t *testing.T) {
	good := build([]server{on(llama, h100).on("vllm", "0.11.0", "bf16")}, nightly[:2], 100)
	line := string(good[0].JSON())
	fp := good[0].Fingerprint
	for _, tc := range []struct {
		name, line, want string
	}{
		{"not json", "hello", `new generated/nightly/matrix.jsonl:2:1: line must start with {"fingerprint":", the config's fingerprint`},
		{"blank", "", "new generated/nightly/matrix.jsonl:2: blank line"},
		{"short fingerprint", `{"fingerprint":"abc","batch":"b-0",`, `new generated/nightly/matrix.jsonl:2:20: fingerprint: want 64 lowercase hex digits, found "\""`},
		{"upper case", strings.Replace(line, fp[:2], "AB", 1), `new generated/nightly/matrix.jsonl:2:17: fingerprint: want 64 lowercase hex digits, found "A"`},
		{"long fingerprint", strings.Replace(line, fp, fp+"00", 1), `new generated/nightly/matrix.jsonl:2:81: fingerprint must have 64 hex digits and be followed by "batch"`},
		{"truncated", line[:95], "new generated/nightly/matrix.jsonl:2:92: batch: string does not end"},
		{"empty batch", strings.Replace(line, good[0].Batch, "", 1), "new generated/nightly/matrix.jsonl:2:92: batch is empty"},
		{"escaped batch", strings.Replace(line, good[0].Batch, `b\u0041`, 1), `new generated/nightly/matrix.jsonl:2:93: batch: byte "\\" is not allowed in a batch ID`},
		{"non-ASCII batch", strings.Replace(line, good[0].Batch, "b\xb3", 1), `new generated/nightly/matrix.jsonl:2:93: batch: byte "\xb3" is not allowed in a batch ID`},
		{"batch last", line[:strings.Index(line, `,"model"`)] + "}", "new generated/nightly/matrix.jsonl:2:106: batch must be followed by the config's other fields"},
		{"repeated", string(good[1].JSON()), "new generated/nightly/matrix.jsonl:2:17: fingerprint " + good[1].Fingerprint + " repeats line 1"},
		{"bad json", strings.Replace(line, `"gpus":1`, `"gpus":1x`, 1), "new generated/nightly/matrix.jsonl:2:255: invalid character 'x' after object key:value pair"},
		{"wrong type", strings.Replace(line, `"gpus":1`, `"gpus":"1"`, 1), "new generated/nightly/matrix.jsonl:2:247: gpus: cannot be string, want int"},
		{"unknown field", strings.Replace(line, `"gpus":1`, `"gpus":1,"nodes":2`, 1), `new generated/nightly/matrix.jsonl:2:256: unknown field "nodes"`},
		{"cut short", line[:200], "new generated/nightly/matrix.jsonl:2:201: line ends inside the config"},
		{"trailing", line + "{}", "new generated/nightly/matrix.jsonl:2:485: unexpected data after the config"},
		{"batch twice", strings.Replace(line, `"gpus":1`, `"gpus":1,"batch":"b-9"`, 1), "new generated/nightly/matrix.jsonl:2: fingerprint or batch is given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := map[string][]byte{MatrixFile: jsonl(good[1:])}
			new := map[string][]byte{MatrixFile: []byte(string(good[1].JSON()) + "\n" + tc.line + "\n")}
			_, err := Compare("nightly", old, new)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got error %v\nwant %s", err, tc.want)
			}
			// The same line on the old side names the old side.
			_, err = Compare("nightly", new, old)
			if want := "old" + strings.TrimPrefix(tc.want, "new"); err == nil || err.Error() != want {
				t.Fatalf("got error %v\nwant %s", err, want)
			}
		})
	}
}

func TestNoFinalNewline(t *testing.T) {
	cs := build(servers("0.11.0"), nightly, 100)
	a := jsonl(cs)
	b := a[:len(a)-1]
	r, err := Compare("nightly", map[string][]byte{MatrixFile: a}, map[string][]byte{MatrixFile: b})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Empty() {
		t.Errorf("a missing final newline is a change: %s", r.Summary())
	}
}

// TestPairing covers how configs of one slot pair up into changes.
func TestPairing(t *testing.T) {
	at := func(versions ...string) []matrix.Config {
		var ss []server
		for _, v := range versions {
			ss = append(ss, on(llama, h100).on("vllm", v, "bf16"))
		}
		return build(ss, nightly[:1], 100)
	}
	for _, tc := range []struct {
		old, new []string
		want     string // versions: changed old→new, -removed, +added
	}{
		{[]string{"0.10.2"}, []string{"0.11.0"}, "0.10.2→0.11.0"},
		// Two versions on a side: pair by version, add and remove the rest.
		{[]string{"0.10.2"}, []string{"0.10.2'", "0.11.0"}, "0.10.2→0.10.2 +0.11.0"},
		{[]string{"0.10.2"}, []string{"0.11.0", "0.11.2"}, "-0.10.2 +0.11.0 +0.11.2"},
		{[]string{"0.10.2'", "0.11.0'"}, []string{"0.11.0", "0.11.2"}, "0.11.0→0.11.0 -0.10.2 +0.11.2"},
		{[]string{"0.10.2", "0.11.0"}, []string{"0.10.2'", "0.11.0'"}, "0.10.2→0.10.2 0.11.0→0.11.0"},
	} {
		side := func(vs []string) []matrix.Config {
			var out []matrix.Config
			for _, v := range vs {
				c := at(strings.TrimSuffix(v, "'"))[0]
				if strings.HasSuffix(v, "'") { // launched differently
					c.MaxModelLen = 4096
					c = fingerprinted(c)
				}
				out = append(out, c)
			}
			return out
		}
		r, err := Compare("p", map[string][]byte{MatrixFile: jsonl(side(tc.old))}, map[string][]byte{MatrixFile: jsonl(side(tc.new))})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range r.Changed {
			got = append(got, c.Old.Version+"→"+c.New.Version)
		}
		for _, c := range r.Removed {
			got = append(got, "-"+c.Version)
		}
		for _, c := range r.Added {
			got = append(got, "+"+c.Version)
		}
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("%v → %v: got %s, want %s", tc.old, tc.new, s, tc.want)
		}
	}
}

func TestMoved(t *testing.T) {
	old := build(servers("0.11.0"), nightly, 100)
	new := build(servers("0.11.0"), nightly, 3)
	r, err := Compare("nightly", files(old, 8), files(new, 8))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Moved) != 16 {
		t.Fatalf("got %s, want 16 moved", r.Summary())
	}
	m := r.Moved[0]
	if diff := cmp.Diff(Move{Fingerprint: new[3].Fingerprint, OldBatch: old[3].Batch, NewBatch: new[3].Batch, Config: new[3]}, m); diff != "" {
		t.Errorf("first move (-want +got):\n%s", diff)
	}
}
