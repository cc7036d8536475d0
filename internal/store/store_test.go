package store

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/llmsweep/llmsweep/internal/accuracy"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/result"
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

// recorded is the indices of a config's live records in a run.
func recorded(t *testing.T, s Store, run, fp string) []int32 {
	t.Helper()
	recs, err := s.Records(ctx, run, fp)
	if err != nil {
		t.Fatal(err)
	}
	out := []int32{}
	for _, r := range recs {
		out = append(out, r.GetIndex())
	}
	return out
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
		must(s.PutFailure(ctx, Failure{Run: run, Fingerprint: "fp", Attempt: 1, Reason: "server died"}))
		if got := recorded(t, s, run, "fp"); len(got) != 0 {
			t.Fatalf("failed attempt's records still count: %v", got)
		}
		// The retry measures afresh, and the same failure stored again changes nothing.
		must(s.AppendRecords(ctx, run, "fp", 2, recs(0, 3, 2)))
		must(s.PutFailure(ctx, Failure{Run: run, Fingerprint: "fp", Attempt: 1, Reason: "again"}))
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
		must(s.PutFailure(ctx, Failure{Run: run, Fingerprint: "fp", Attempt: 3, Reason: "x"}))
		must(s.PutFailure(ctx, Failure{Run: run, Fingerprint: "fp", Attempt: 2, Final: true, Reason: "gave up", Time: time.Unix(5, 0)}))
		if got := recorded(t, s, run, "fp"); len(got) != 0 {
			t.Errorf("after the final failure: %v", got)
		}
		// A config that failed for good is not done: a resumed run tries again.
		if done, _ := s.Done(ctx, run, "fp"); done {
			t.Error("a final failure marks the config done")
		}
		fs, err := s.Failures(ctx, run)
		must(err)
		want := []Failure{{Run: run, Fingerprint: "fp", Attempt: 2, Final: true, Reason: "gave up", Time: time.Unix(5, 0).UTC()}}
		if diff := cmp.Diff(want, fs); diff != "" {
			t.Errorf("Failures (-want +got):\n%s", diff)
		}
		// A later round fails again: its final failure stands for the config.
		must(s.PutFailure(ctx, Failure{Run: run, Fingerprint: "fp", Attempt: 6, Final: true, Reason: "again", Time: time.Unix(9, 0)}))
		if fs, _ := s.Failures(ctx, run); len(fs) != 1 || fs[0].Reason != "again" {
			t.Errorf("after a second round: %+v", fs)
		}
		// Then it succeeds: it is done, and no longer failed.
		must(s.PutResult(ctx, measuredResult(run, "fp", "m", "h", summary(1), time.Unix(10, 0))))
		if done, _ := s.Done(ctx, run, "fp"); !done {
			t.Error("a result does not mark the config done")
		}
		if fs, _ := s.Failures(ctx, run); len(fs) != 0 {
			t.Errorf("a config with a result is still failed: %+v", fs)
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
		s1.PutFailure(ctx, Failure{Run: run.ID, Fingerprint: "b", Attempt: 1, Reason: "oom"})

		s2 := open(t, url)
		got, err := s2.LatestUnfinished(ctx, "c", "h")
		if err != nil || got == nil || got.ID != run.ID {
			t.Fatalf("LatestUnfinished = %+v, %v", got, err)
		}
		if idx := recorded(t, s2, run.ID, "a"); !cmp.Equal(idx, []int32{0, 1, 2, 3, 6, 7}) {
			t.Errorf("Recorded = %v", idx)
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
	})
}

func slicesConcat(xs ...[]*sdk.Record) []*sdk.Record {
	var out []*sdk.Record
	for _, x := range xs {
		out = append(out, x...)
	}
	return out
}

func summary(ttft float64) metrics.Summary {
	v := metrics.Of
	return metrics.Summary{Requests: 10, Succeeded: 9, Failed: 1, DurationS: v(2),
		TTFT: metrics.Stats{N: 9, P50: v(ttft), P99: v(ttft * 3)}, TPOT: metrics.Stats{N: 9, P50: v(4), P99: v(8)},
		ITL: metrics.Stats{N: 9, P50: v(3.5)}, E2E: metrics.Stats{N: 9, P99: v(900)}, OutputThroughput: v(120.5),
		RequestThroughput: v(4.5), Goodput: v(4)}
}

func TestResults(t *testing.T) {
	backends(t, func(t *testing.T, url string) {
		s := open(t, url)
		r1 := mustRun(t, s, Run{ID: "r1", Campaign: "nightly", MatrixHash: "h"}).ID
		r2 := mustRun(t, s, Run{ID: "r2", Campaign: "sweep", MatrixHash: "h"}).ID
		cfg := func(fp, model, hw, fw, q, wl string) matrix.Config {
			return matrix.Config{Fingerprint: fp, Model: model, Hardware: hw, Framework: fw, Version: "1", Quantization: q,
				Workload: wl, TP: 1, Concurrency: 4}
		}
		acc := &accuracy.Result{Task: "arithmetic", Samples: 20, Correct: 15, Accuracy: 0.75}
		util := &telemetry.Summary{Source: telemetry.SourceNVML, Samples: 10, Devices: 1, GPUUtilMean: metrics.Of(81),
			GPUUtilP95: metrics.Of(97), MemUsedPeakBytes: metrics.Of(40 << 30)}
		t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		put := func(run string, c matrix.Config, ttft float64, acc *accuracy.Result, at int) {
			t.Helper()
			r := measuredResult(run, c.Fingerprint, "", "", summary(ttft), t0.Add(time.Duration(at)*time.Minute))
			r.Config, r.Accuracy = c, acc
			if acc != nil {
				r.Utilization = util
			}
			if err := s.PutResult(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		f1 := cfg("f1", "llama", "h100", "vllm", "fp16", "chat")
		put(r1, f1, 10, acc, 1)
		put(r1, cfg("f2", "llama", "a100", "tgi", "fp16", "chat"), 20, nil, 2)
		put(r1, cfg("f3", "qwen", "h100", "vllm", "awq", "rag"), 30, nil, 3)
		put(r2, f1, 11, nil, 4)
		put(r1, cfg("f2", "llama", "a100", "tgi", "fp16", "chat"), 25, nil, 5) // replaces r1's f2

		ids := func(f Filter) []string {
			t.Helper()
			rs, err := s.Results(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, r := range rs {
				out = append(out, r.Run+"/"+r.Fingerprint)
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
			{Filter{Newest: true}, []string{"r1/f3", "r2/f1", "r1/f2"}},
			{Filter{Newest: true, Campaign: "nightly"}, []string{"r1/f1", "r1/f3", "r1/f2"}},
			{Filter{Provenance: result.Measured, Model: "qwen"}, []string{"r1/f3"}},
			{Filter{Provenance: result.Predicted}, []string{}},
		} {
			if got := ids(c.f); !cmp.Equal(got, c.want) {
				t.Errorf("Results(%+v) = %v, want %v", c.f, got, c.want)
			}
		}
		rs, _ := s.Results(ctx, Filter{RunID: "r1", Fingerprint: "f1"})
		if len(rs) != 1 {
			t.Fatalf("got %d results", len(rs))
		}
		want := measuredResult(r1, "f1", "", "", summary(10), t0.Add(time.Minute))
		want.Config, want.Accuracy, want.Utilization = f1, acc, util
		if diff := cmp.Diff(want, rs[0], cmp.AllowUnexported(metrics.Value{})); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
		if rs, _ := s.Results(ctx, Filter{Fingerprint: "f2"}); rs[0].Summary.TTFT.P50 != metrics.Of(25) || rs[0].Accuracy != nil {
			t.Errorf("replaced result: %+v", rs[0])
		}
		if done, _ := s.Done(ctx, r1, "f3"); !done {
			t.Error("result does not mark the config done")
		}
		bad := measuredResult(r1, "f9", "m", "h", summary(1), t0)
		bad.Provenance.Kind = "guessed"
		if err := s.PutResult(ctx, bad); err == nil || !strings.Contains(err.Error(), `provenance "guessed"`) {
			t.Errorf("an unknown provenance: %v", err)
		}
		if err := putConfig(t, s, "f9", json.RawMessage(`{"model":`)); err == nil {
			t.Error("malformed config JSON accepted")
		}
	})
}

// What was not measured is NULL in the store and absent when read back.
func TestUnmeasuredIsNull(t *testing.T) {
	backends(t, func(t *testing.T, url string) {
		s := open(t, url)
		run := mustRun(t, s, Run{ID: "r", Campaign: "c"}).ID
		if err := s.PutResult(ctx, measuredResult(run, "fp", "m", "h", metrics.Summary{Requests: 3, Succeeded: 3}, time.Unix(1, 0))); err != nil {
			t.Fatal(err)
		}
		var n int
		db := s.(*store).b
		if err := db.queryRow(ctx, `SELECT count(*) FROM results WHERE ttft_p50_ms IS NULL AND output_throughput IS NULL
			AND goodput IS NULL AND accuracy IS NULL AND gpu_util_mean_pct IS NULL`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("NULL metrics: %d rows, %v", n, err)
		}
		rs, err := s.Results(ctx, Filter{})
		if err != nil || len(rs) != 1 {
			t.Fatal(rs, err)
		}
		if v := rs[0].Values(); len(v) != 0 {
			t.Errorf("unmeasured metrics read back: %v", v)
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
			if err := putConfig(t, s, "fp", c); err != nil {
				t.Fatal(err)
			}
		}
		s.PutResult(ctx, measuredResult(run, "fp", "m", "", summary(1), time.Unix(1, 0)))
		rs, err := s.Results(ctx, Filter{Model: "m"})
		if err != nil || len(rs) != 1 || rs[0].Config.Model != "m" {
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
				errs <- s.(*store).appendBatches(ctx, run, []RecordBatch{
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
