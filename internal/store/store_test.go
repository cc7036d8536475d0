package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/llmsweep/llmsweep/internal/accuracy"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/telemetry"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

var ctx = context.Background()

func mustRun(t *testing.T, s Store, r Run) Run {
	t.Helper()
	got, err := s.CreateRun(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func recorded(t *testing.T, s Store, run, fp string) []int32 {
	t.Helper()
	got, err := s.Recorded(ctx, run, fp)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestRuns(t *testing.T) {
	backends(t, func(t *testing.T, url string) {
		s := open(t, url)
		t0 := time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC)
		a := mustRun(t, s, Run{Campaign: "c", MatrixHash: "h1", Configs: 3, Started: t0, Engine: "ollama"})
		if a.ID != "20261127T100000.123456000Z" || !a.Started.Equal(t0.Truncate(time.Microsecond)) {
			t.Errorf("default ID and start: got %q %v", a.ID, a.Started)
		}
		// Re-creating is a no-op; another campaign under the same ID is refused.
		if again := mustRun(t, s, Run{ID: a.ID, Campaign: "c", MatrixHash: "h1", Configs: 3, Started: t0.Add(time.Hour)}); !again.Started.Equal(a.Started) {
			t.Errorf("re-create changed the run: %+v", again)
		}
		if _, err := s.CreateRun(ctx, Run{ID: a.ID, Campaign: "other", MatrixHash: "h1"}); err == nil {
			t.Error("a run ID reused by another campaign was accepted")
		}
		b := mustRun(t, s, Run{ID: "b", Campaign: "c", MatrixHash: "h1", Started: t0.Add(time.Minute)})
		mustRun(t, s, Run{ID: "other-hash", Campaign: "c", MatrixHash: "h2", Started: t0.Add(2 * time.Minute)})

		got, err := s.LatestUnfinished(ctx, "c", "h1")
		if err != nil || got == nil || got.ID != "b" {
			t.Fatalf("LatestUnfinished = %+v, %v; want run b", got, err)
		}
		if err := s.FinishRun(ctx, b.ID, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.LatestUnfinished(ctx, "c", "h1"); got == nil || got.ID != a.ID {
			t.Fatalf("after finishing b, LatestUnfinished = %+v; want %s", got, a.ID)
		}
		s.FinishRun(ctx, a.ID, t0.Add(time.Hour))
		if got, err := s.LatestUnfinished(ctx, "c", "h1"); got != nil || err != nil {
			t.Fatalf("all finished: LatestUnfinished = %+v, %v; want nil", got, err)
		}
		r, err := s.Run(ctx, a.ID)
		want := &Run{ID: a.ID, Campaign: "c", MatrixHash: "h1", Configs: 3, Engine: "ollama",
			Started: t0.Truncate(time.Microsecond), Finished: t0.Add(time.Hour).Truncate(time.Microsecond)}
		if err != nil || !cmp.Equal(r, want) {
			t.Errorf("Run = %+v, %v; want %+v", r, err, want)
		}
		if r, err := s.Run(ctx, "nope"); r != nil || err != nil {
			t.Errorf("Run(nope) = %+v, %v", r, err)
		}
		if err := s.FinishRun(ctx, "nope", t0); !errors.Is(err, ErrUnknownRun) {
			t.Errorf("FinishRun(nope) = %v", err)
		}
		if err := s.AppendRecords(ctx, "nope", "fp", 1, recs(0, 1, 0)); !errors.Is(err, ErrUnknownRun) {
			t.Errorf("AppendRecords to an unknown run = %v", err)
		}
	})
}

func TestAppendIdempotent(t *testing.T) {
	backends(t, func(t *testing.T, url string) {
		s := open(t, url)
		run := mustRun(t, s, Run{ID: "r", Campaign: "c", MatrixHash: "h"}).ID
		warm := &sdk.Record{Index: 0, Warmup: true, StartNs: 1}
		first := append([]*sdk.Record{warm}, recs(0, 10, 0)...)
		for range 2 {
			if err := s.AppendRecords(ctx, run, "fp", 1, first); err != nil {
				t.Fatal(err)
			}
		}
		if got := recorded(t, s, run, "fp"); !cmp.Equal(got, seq(0, 10)) {
			t.Fatalf("after appending twice: %v", got)
		}
		// Overlapping, with a duplicate inside the batch: stored ones are kept.
		batch := append(recs(5, 15, 99), rec(14, 7))
		if err := s.AppendRecords(ctx, run, "fp", 1, batch); err != nil {
			t.Fatal(err)
		}
		got, err := s.Records(ctx, run, "fp")
		if err != nil {
			t.Fatal(err)
		}
		want := append(recs(0, 10, 0), recs(10, 15, 99)...)
		if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
		// A record with nothing but zero values survives the round trip too.
		if err := s.AppendRecords(ctx, run, "bare", 1, []*sdk.Record{{Index: 3}}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Records(ctx, run, "bare"); len(got) != 1 || !proto.Equal(got[0], &sdk.Record{Index: 3}) {
			t.Errorf("bare record: %v", got)
		}
		if got := recorded(t, s, run, "never"); len(got) != 0 {
			t.Errorf("unknown config: %v", got)
		}
		if err := s.AppendRecords(ctx, run, "fp", 1, []*sdk.Record{nil}); err == nil {
			t.Error("nil record accepted")
		}
	})
}

func TestVoidAttempts(t *testing.T) {
	backends(t, func(t *testing.T, url string) {
		s := open(t, url)
		run := mustRun(t, s, Run{ID: "r", Campaign: "c", MatrixHash: "h"}).ID
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(s.AppendRecords(ctx, run, "fp", 1, recs(0, 5, 1)))
		must(s.PutFailure(ctx, Failure{RunID: run, Fingerprint: "fp", Attempt: 1, Reason: "server died"}))
		if got := recorded(t, s, run, "fp"); len(got) != 0 {
			t.Fatalf("failed attempt's records still count: %v", got)
		}
		if n, err := s.Attempts(ctx, run, "fp"); n != 1 || err != nil {
			t.Fatalf("Attempts = %d, %v", n, err)
		}
		// The retry measures afresh, and the same failure stored again changes nothing.
		must(s.AppendRecords(ctx, run, "fp", 2, recs(0, 3, 2)))
		must(s.PutFailure(ctx, Failure{RunID: run, Fingerprint: "fp", Attempt: 1, Reason: "again"}))
		got, err := s.Records(ctx, run, "fp")
		must(err)
		if diff := cmp.Diff(recs(0, 3, 2), got, protocmp.Transform()); diff != "" {
			t.Errorf("retry's records (-want +got):\n%s", diff)
		}
		if done, _ := s.Done(ctx, run, "fp"); done {
			t.Error("done before any result")
		}
		// Where two live attempts hold an index, the earlier one wins.
		must(s.AppendRecords(ctx, run, "fp", 3, recs(2, 4, 3)))
		got, _ = s.Records(ctx, run, "fp")
		if diff := cmp.Diff(append(recs(0, 3, 2), rec(3, 3)), got, protocmp.Transform()); diff != "" {
			t.Errorf("two live attempts (-want +got):\n%s", diff)
		}
		// The final failure repeats the last attempt's number and voids it too.
		must(s.PutFailure(ctx, Failure{RunID: run, Fingerprint: "fp", Attempt: 3, Reason: "x"}))
		must(s.PutFailure(ctx, Failure{RunID: run, Fingerprint: "fp", Attempt: 2, Final: true, Reason: "gave up", Time: time.Unix(5, 0)}))
		if got := recorded(t, s, run, "fp"); len(got) != 0 {
			t.Errorf("after the final failure: %v", got)
		}
		if n, _ := s.Attempts(ctx, run, "fp"); n != 3 {
			t.Errorf("Attempts = %d, want 3", n)
		}
		if done, _ := s.Done(ctx, run, "fp"); !done {
			t.Error("final failure does not mark the config done")
		}
		fs, err := s.Failures(ctx, run)
		must(err)
		want := []Failure{{RunID: run, Fingerprint: "fp", Attempt: 2, Final: true, Reason: "gave up", Time: time.Unix(5, 0).UTC()}}
		if diff := cmp.Diff(want, fs); diff != "" {
			t.Errorf("Failures (-want +got):\n%s", diff)
		}
	})
}

// A run resumed by another process (a new Store) sees what the first stored.
func TestResume(t *testing.T) {
	backends(t, func(t *testing.T, url string) {
		s1 := open(t, url)
		run := mustRun(t, s1, Run{Campaign: "c", MatrixHash: "h", Configs: 2})
		s1.AppendRecords(ctx, run.ID, "a", 1, recs(0, 4, 0))
		s1.AppendRecords(ctx, run.ID, "a", 1, recs(6, 8, 0))
		s1.PutFailure(ctx, Failure{RunID: run.ID, Fingerprint: "b", Attempt: 1, Reason: "oom"})
		cp := Checkpoint{Done: 0, Failed: 0, Current: "a", Interrupted: true, Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)}
		if err := s1.Checkpoint(ctx, run.ID, Checkpoint{Current: "x"}); err != nil {
			t.Fatal(err)
		}
		if err := s1.Checkpoint(ctx, run.ID, cp); err != nil {
			t.Fatal(err)
		}

		s2 := open(t, url)
		got, err := s2.LatestUnfinished(ctx, "c", "h")
		if err != nil || got == nil || got.ID != run.ID {
			t.Fatalf("LatestUnfinished = %+v, %v", got, err)
		}
		if idx := recorded(t, s2, run.ID, "a"); !cmp.Equal(idx, []int32{0, 1, 2, 3, 6, 7}) {
			t.Errorf("Recorded = %v", idx)
		}
		if n, _ := s2.Attempts(ctx, run.ID, "b"); n != 1 {
			t.Errorf("Attempts(b) = %d", n)
		}
		if c, err := s2.LastCheckpoint(ctx, run.ID); err != nil || !cmp.Equal(c, &cp) {
			t.Errorf("LastCheckpoint = %+v, %v; want %+v", c, err, cp)
		}
		// The resumed run fills the gap; what was already there stays.
		if err := s2.AppendRecords(ctx, run.ID, "a", 1, recs(0, 8, 5)); err != nil {
			t.Fatal(err)
		}
		rs, _ := s2.Records(ctx, run.ID, "a")
		want := slicesConcat(recs(0, 4, 0), recs(4, 6, 5), recs(6, 8, 0))
		if diff := cmp.Diff(want, rs, protocmp.Transform()); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
		s2.FinishRun(ctx, run.ID, time.Now())
		if got, _ := s1.LatestUnfinished(ctx, "c", "h"); got != nil {
			t.Errorf("finished run still resumable: %+v", got)
		}
		if c, _ := s2.LastCheckpoint(ctx, mustRun(t, s2, Run{ID: "fresh", Campaign: "c"}).ID); c != nil {
			t.Errorf("fresh run has a checkpoint: %+v", c)
		}
	})
}

func slicesConcat(xs ...[]*sdk.Record) []*sdk.Record {
	var out []*sdk.Record
	for _, x := range xs {
		out = append(out, x...)
	}
	return out
}

func summary(ttft float64) json.RawMessage {
	m := metrics.Summary{Requests: 10, Succeeded: 9, Failed: 1, DurationS: 2,
		TTFT: metrics.Stats{P50: ttft, P99: ttft * 3}, TPOT: metrics.Stats{P50: 4, P99: 8},
		ITL: metrics.Stats{P50: 3.5}, E2E: metrics.Stats{P99: 900}, OutputThroughput: 120.5,
		RequestThroughput: 4.5, Goodput: 4}
	b, _ := json.Marshal(m)
	return b
}

func TestResults(t *testing.T) {
	backends(t, func(t *testing.T, url string) {
		s := open(t, url)
		r1 := mustRun(t, s, Run{ID: "r1", Campaign: "nightly", MatrixHash: "h"}).ID
		r2 := mustRun(t, s, Run{ID: "r2", Campaign: "sweep", MatrixHash: "h"}).ID
		cfg := func(model, hw, fw, q, wl string) json.RawMessage {
			// Key order and spacing as given: the bytes must come back unchanged.
			return json.RawMessage(fmt.Sprintf(`{"model":%q,"hardware":%q,"framework":%q, "quantization":%q,"workload":%q,"tp":1}`, model, hw, fw, q, wl))
		}
		acc, _ := json.Marshal(accuracy.Result{Task: "arithmetic", Samples: 20, Correct: 15, Accuracy: 0.75})
		t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		put := func(run, fp string, c json.RawMessage, ttft float64, acc json.RawMessage, at int) {
			t.Helper()
			err := s.PutResult(ctx, Result{RunID: run, Fingerprint: fp, Attempts: 1, Config: c, Summary: summary(ttft),
				Accuracy: acc, ServedBy: "vllm", Finished: t0.Add(time.Duration(at) * time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
		}
		put(r1, "f1", cfg("llama", "h100", "vllm", "fp16", "chat"), 10, acc, 1)
		put(r1, "f2", cfg("llama", "a100", "tgi", "fp16", "chat"), 20, nil, 2)
		put(r1, "f3", cfg("qwen", "h100", "vllm", "awq", "rag"), 30, nil, 3)
		put(r2, "f1", nil, 11, nil, 4) // the config is known already
		put(r1, "f2", nil, 25, nil, 5) // replaces r1's f2

		ids := func(f Filter) []string {
			t.Helper()
			rs, err := s.Results(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, r := range rs {
				out = append(out, r.RunID+"/"+r.Fingerprint)
			}
			return out
		}
		for _, c := range []struct {
			f    Filter
			want []string
		}{
			{Filter{}, []string{"r1/f1", "r1/f3", "r2/f1", "r1/f2"}},
			{Filter{Campaign: "nightly"}, []string{"r1/f1", "r1/f3", "r1/f2"}},
			{Filter{Model: "llama"}, []string{"r1/f1", "r2/f1", "r1/f2"}},
			{Filter{Hardware: "h100", Framework: "vllm"}, []string{"r1/f1", "r1/f3", "r2/f1"}},
			{Filter{Quantization: "awq"}, []string{"r1/f3"}},
			{Filter{Workload: "chat", RunID: "r2"}, []string{"r2/f1"}},
			{Filter{Fingerprint: "f2"}, []string{"r1/f2"}},
			{Filter{Model: "none"}, []string{}},
		} {
			if got := ids(c.f); !cmp.Equal(got, c.want) {
				t.Errorf("Results(%+v) = %v, want %v", c.f, got, c.want)
			}
		}
		rs, _ := s.Results(ctx, Filter{RunID: "r1", Fingerprint: "f1"})
		if len(rs) != 1 {
			t.Fatalf("got %d results", len(rs))
		}
		r := rs[0]
		if string(r.Config) != string(cfg("llama", "h100", "vllm", "fp16", "chat")) || string(r.Summary) != string(summary(10)) ||
			string(r.Accuracy) != string(acc) || r.ServedBy != "vllm" || !r.Finished.Equal(t0.Add(time.Minute)) {
			t.Errorf("result round trip: %+v", r)
		}
		a := 0.75
		want := Metrics{Requests: 10, Succeeded: 9, Failed: 1, TTFTP50: 10, TTFTP99: 30, TPOTP50: 4, TPOTP99: 8, ITLP50: 3.5,
			E2EP99: 900, OutputThroughput: 120.5, RequestThroughput: 4.5, Goodput: 4, Accuracy: &a}
		if diff := cmp.Diff(want, r.Metrics); diff != "" {
			t.Errorf("metrics (-want +got):\n%s", diff)
		}
		if rs, _ := s.Results(ctx, Filter{Fingerprint: "f2"}); rs[0].Metrics.TTFTP50 != 25 || rs[0].Metrics.Accuracy != nil {
			t.Errorf("replaced result: %+v", rs[0].Metrics)
		}
		if done, _ := s.Done(ctx, r1, "f3"); !done {
			t.Error("result does not mark the config done")
		}
		if err := s.PutResult(ctx, Result{RunID: r1, Fingerprint: "f9", Summary: json.RawMessage(`[1]`)}); err == nil {
			t.Error("a summary that is not a metrics.Summary was accepted")
		}
		if err := s.PutConfig(ctx, "f9", json.RawMessage(`{"model":`)); err == nil {
			t.Error("malformed config JSON accepted")
		}
	})
}

func TestPutConfigIdempotent(t *testing.T) {
	backends(t, func(t *testing.T, url string) {
		s := open(t, url)
		run := mustRun(t, s, Run{ID: "r", Campaign: "c"}).ID
		// Records first, then the config's JSON; then the same again.
		s.AppendRecords(ctx, run, "fp", 1, recs(0, 2, 0))
		c := json.RawMessage(`{"model":"m","workload":"w"}`)
		for range 2 {
			if err := s.PutConfig(ctx, "fp", c); err != nil {
				t.Fatal(err)
			}
		}
		s.PutResult(ctx, Result{RunID: run, Fingerprint: "fp", Summary: summary(1)})
		rs, err := s.Results(ctx, Filter{Model: "m", Workload: "w"})
		if err != nil || len(rs) != 1 || string(rs[0].Config) != string(c) {
			t.Fatalf("Results = %+v, %v", rs, err)
		}
		if got := recorded(t, s, run, "fp"); !cmp.Equal(got, seq(0, 2)) {
			t.Errorf("records lost: %v", got)
		}
	})
}

func TestSamples(t *testing.T) {
	backends(t, func(t *testing.T, url string) {
		s := open(t, url)
		run := mustRun(t, s, Run{ID: "r", Campaign: "c"}).ID
		var xs []telemetry.Sample
		for i := range 5 {
			xs = append(xs,
				telemetry.Sample{TimeNs: int64(i) * 1e9, Source: "nvml", Device: "gpu0 H100", GPUUtilPct: 50.5, MemUtilPct: 20,
					MemUsedBytes: 70 << 30, MemTotalBytes: 80 << 30, PowerW: 400.25},
				telemetry.Sample{TimeNs: int64(i) * 1e9, Source: "proc", Device: "pid 12", CPUPct: 150, RSSBytes: 1 << 30})
		}
		for range 2 {
			if err := s.PutSamples(ctx, run, "fp", xs); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Samples(ctx, run, "fp")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(xs, got); diff != "" {
			t.Errorf("samples (-want +got):\n%s", diff)
		}
	})
}

// Writers of one config race with overlapping batches; each index ends up
// stored once.
func TestConcurrentAppends(t *testing.T) {
	backends(t, func(t *testing.T, url string) {
		s := open(t, url)
		run := mustRun(t, s, Run{ID: "r", Campaign: "c"}).ID
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 8 {
			wg.Go(func() {
				from := int32(w * 25)
				errs <- s.AppendBatches(ctx, run, []RecordBatch{
					{Fingerprint: "a", Attempt: 1, Records: recs(from, from+100, 0)},
					{Fingerprint: "b", Attempt: 1, Records: recs(from, from+100, 0)},
				})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, fp := range []string{"a", "b"} {
			if got := recorded(t, s, run, fp); !cmp.Equal(got, seq(0, 275)) {
				t.Errorf("%s: %d indices recorded, want 275", fp, len(got))
			}
		}
	})
}

// Migrators of one fresh database race; all succeed and each migration is
// applied once.
func TestConcurrentMigrations(t *testing.T) {
	backends(t, func(t *testing.T, url string) {
		const n = 8
		stores := make([]Store, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { stores[i], errs[i] = Open(ctx, url) })
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("migrator %d: %v", i, errs[i])
			}
			defer stores[i].Close()
		}
		b := stores[0].(*store).b
		var versions, distinct int
		if err := b.queryRow(ctx, `SELECT count(*), count(DISTINCT version) FROM schema_version`).Scan(&versions, &distinct); err != nil {
			t.Fatal(err)
		}
		all, _ := loadMigrations(migrationFiles, b.dialect().name)
		if versions != latest(all) || distinct != versions {
			t.Errorf("schema_version has %d rows, %d versions; want %d", versions, distinct, latest(all))
		}
		// And every store works.
		run := mustRun(t, stores[n-1], Run{ID: "r", Campaign: "c"}).ID
		if err := stores[1].AppendRecords(ctx, run, "fp", 1, recs(0, 3, 0)); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRecordColumns holds the request columns to sdk.Record's fields, so that
// a field added to the protocol is not silently dropped by the store.
func TestRecordColumns(t *testing.T) {
	fields := (&sdk.Record{}).ProtoReflect().Descriptor().Fields()
	stored := map[string]bool{"index": true}
	for _, c := range splitColumns(recordColumns)[1:] {
		stored[c] = true
	}
	for i := range fields.Len() {
		f := fields.Get(i)
		if f.Name() == "warmup" {
			continue // not stored; see the package doc
		}
		if !stored[string(f.Name())] {
			t.Errorf("sdk.Record field %s has no column in requests", f.Name())
		}
	}
	if got, want := len(splitColumns(recordColumns)), fields.Len()-1; got != want {
		t.Errorf("%d record columns for %d stored fields", got, want)
	}
}

func TestDefaultURL(t *testing.T) {
	t.Chdir(t.TempDir())
	s, err := Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(filepath.FromSlash(".llmsweep/results.db")); err != nil {
		t.Errorf("default store: %v", err)
	}
	var mode string
	s.(*store).b.queryRow(ctx, `PRAGMA journal_mode`).Scan(&mode)
	var fk, timeout int
	s.(*store).b.queryRow(ctx, `PRAGMA foreign_keys`).Scan(&fk)
	s.(*store).b.queryRow(ctx, `PRAGMA busy_timeout`).Scan(&timeout)
	if mode != "wal" || fk != 1 || timeout == 0 {
		t.Errorf("journal_mode %q, foreign_keys %d, busy_timeout %d", mode, fk, timeout)
	}
}
