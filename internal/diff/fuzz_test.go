package diff

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmsweep/llmsweep/internal/matrix"
)

// FuzzCompare feeds pairs of matrix.jsonl contents to Compare: it must return
// a report or an error, never panic, and a report must add up. The seeds are a
// few lines each: the fuzzer minimizes every input that finds new coverage,
// which takes long on large ones (or run with -fuzzminimizetime 5s).
func FuzzCompare(f *testing.F) {
	base := build(servers("0.11.0"), nightly, 3)
	rebatched := build(servers("0.11.0"), nightly, 100)
	bumped := build(servers("0.11.2"), nightly, 100)
	two := build([]server{on(llama, h100).on("vllm", "0.10.2", "bf16"), on(llama, h100).on("vllm", "0.11.0", "bf16")}, nightly, 100)
	f.Add(jsonl(base[:3]), jsonl(bumped[:2]))
	f.Add(jsonl(base[:3]), jsonl(base[2:5]))
	f.Add(jsonl(base[:4]), jsonl(rebatched[:4]))
	f.Add(jsonl(two[:2]), jsonl(bumped[:1]))
	f.Add([]byte{}, jsonl(base[:2]))
	line := base[0].JSON()
	f.Add(line, bytes.Replace(line, []byte(`"gpus":1`), []byte(`"gpus":"x"`), 1))
	f.Add(line, append(bytes.Replace(line, []byte(base[0].Fingerprint[:8]), []byte("00000000"), 1), "\n\n"...))
	f.Add([]byte(`{"fingerprint":"`), []byte("{}\n"))
	f.Fuzz(func(t *testing.T, old, new []byte) {
		a, b := map[string][]byte{MatrixFile: old}, map[string][]byte{MatrixFile: new}
		r, err := Compare("fuzz", a, b)
		if err != nil {
			if _, ok := err.(*LineError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		// Every new line is matched, added or changed; every old line
		// matched, removed or changed, a change pairing one of each.
		if lines(new)-lines(old) != len(r.Added)-len(r.Removed) {
			t.Fatalf("%d old and %d new lines, but %s", lines(old), lines(new), r.Summary())
		}
		for _, c := range r.Changed {
			if c.Old.Fingerprint != c.New.Fingerprint && slotOf(&c.Old) != slotOf(&c.New) {
				t.Fatalf("a change across slots: %+v", c)
			}
			if len(c.Fields) == 0 {
				t.Fatalf("a change with no fields: %+v", c)
			}
		}
		for _, m := range r.Moved {
			if m.OldBatch == m.NewBatch || m.Config.Batch != m.NewBatch {
				t.Fatalf("a move that does not move: %+v", m)
			}
		}
		if err := r.WriteText(io.Discard, 3); err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
		// The lines Compare did not decode are not checked past their batch,
		// so comparing a side with itself cannot fail.
		if same, err := Compare("fuzz", a, a); err != nil || !same.Empty() {
			t.Fatalf("old against itself: %v %v", err, same)
		}
		// The reverse comparison may decode other lines, and fail; if not,
		// it mirrors this one.
		if back, err := Compare("fuzz", b, a); err == nil {
			if len(back.Added) != len(r.Removed) || len(back.Removed) != len(r.Added) ||
				len(back.Changed) != len(r.Changed) || len(back.Moved) != len(r.Moved) {
				t.Fatalf("forward %s, backward %s", r.Summary(), back.Summary())
			}
		}
	})
}

func lines(b []byte) int {
	n := bytes.Count(b, []byte{'\n'})
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}

// FuzzDecode holds the fast path of decode to encoding/json: where it decodes a
// line, encoding/json decodes the same Config without error.
func FuzzDecode(f *testing.F) {
	for _, c := range build(servers("0.11.0"), nightly, 100)[:5] {
		f.Add(c.JSON())
	}
	f.Add([]byte(`{"fingerprint":"` + strings.Repeat("0", 64) + `","batch":"b","model":"m","repo":"r","revision":"","hardware":"h","gpu":"g","gpus":-0,"framework":"f","version":"v","image":"i","quantization":"q","tp":123456789012345678,"server_digest":"","workload":"w","workload_digest":"","request_rate":-0.5e+3,"output_tokens":1,"max_model_len":0}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := &matrixFile{side: "new", file: "matrix.jsonl", data: b}
		l := line{off: 0, end: len(b)}
		var fp fingerprint
		if bytes.IndexByte(b, '\n') >= 0 || m.parse(1, &l, &fp) != nil {
			return
		}
		fast, ok := decodeFast(b, l.batchEnd, nil)
		if !ok {
			return
		}
		var want matrix.Config
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("fast path decodes what encoding/json rejects (%v): %s", err, b)
		}
		if _, err := dec.Token(); err != io.EOF {
			t.Fatalf("fast path ignores trailing data: %s", b)
		}
		if diff := cmp.Diff(want, fast); diff != "" {
			t.Fatalf("fast path differs from encoding/json (-json +fast):\n%s\n%s", diff, b)
		}
	})
}
