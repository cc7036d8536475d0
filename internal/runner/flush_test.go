package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/runlog"
	"github.com/llmsweep/llmsweep/internal/store"
	"github.com/llmsweep/llmsweep/internal/telemetry"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// spoolRun writes configs × requests records through a run log and a flusher
// into a SQLite store, as the runner does: each config's records as they
// arrive, then its result, then a flush. With storeDown, the store is not
// reached until the end, so the flusher holds what it can and reads the rest
// back from the log. It returns the log's bytes read and written.
func spoolRun(tb testing.TB, configs, requests int, storeDown bool) (read, written int64) {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "r.db"))
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	log, err := runlog.Create(dir, result.Run{Campaign: "bench", MatrixHash: "h", Configs: configs, Started: time.Now()})
	if err != nil {
		tb.Fatal(err)
	}
	defer log.Close()
	f, err := newFlusher(ctx, st, log)
	if err != nil {
		tb.Fatal(err)
	}
	base := time.Now().UnixNano()
	for c := range configs {
		fp := fmt.Sprintf("%064x", c)
		recs := make([]*sdk.Record, 0, requests)
		for i := range requests {
			start := base + int64(c*requests+i)*1e6
			r := &sdk.Record{Index: int32(i), ScheduledNs: start, StartNs: start, FirstTokenNs: start + 5e6, EndNs: start + 50e6,
				ItlNs: []int64{3e6, 3e6, 3e6}, PromptTokens: 128, OutputTokens: 16, ClientPromptTokens: 128, ClientOutputTokens: 16,
				Status: 200, FinishReason: "length"}
			if err := log.AppendRecord(fp, 1, r); err != nil {
				tb.Fatal(err)
			}
			recs = append(recs, r)
		}
		smp := []telemetry.Sample{{TimeNs: base, Source: telemetry.SourceProc, Device: "pid 1", CPUPct: 90, RSSBytes: 1 << 30}}
		if err := log.AppendSample(fp, smp[0]); err != nil {
			tb.Fatal(err)
		}
		res := result.Result{Run: log.Run.ID, Fingerprint: fp, Config: matrix.Config{Fingerprint: fp, Model: "m"},
			Provenance: result.Provenance{Kind: result.Measured}, Attempts: 1, Summary: metrics.Summarize(recs, metrics.SLO{}),
			Utilization: telemetry.Summarize(smp), Finished: time.Now()}
		if err := log.PutResult(res); err != nil {
			tb.Fatal(err)
		}
		f.add(res, recs, smp)
		if !storeDown {
			if err := f.flush(ctx); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := f.finish(ctx, nil); err != nil {
		tb.Fatal(err)
	}
	if rs, err := st.Results(ctx, store.Filter{}); err != nil || len(rs) != configs {
		tb.Fatalf("%d results stored (%v), want %d", len(rs), err, configs)
	}
	read, written = log.Stats()
	return read, written
}

// The flusher never reads the run log back while it keeps up with the store,
// and reads at most what was written once when it falls behind.
func TestFlushReadsLinear(t *testing.T) {
	defer func(n int) { maxHeld = n }(maxHeld)
	maxHeld = 500 // most configs are read back from the log
	for _, down := range []bool{false, true} {
		read, written := spoolRun(t, 20, 100, down)
		if read > written {
			t.Errorf("store down %v: read %d bytes back of %d written", down, read, written)
		}
		if !down && read != 0 {
			t.Errorf("a run that keeps up read %d bytes back", read)
		}
		t.Logf("store down %v: read %d of %d bytes written", down, read, written)
	}
}

// BenchmarkFlush: one batch of 100 configs × 500 requests, spooled and flushed
// per config, and with the store down until the end (the flusher then holds
// 200,000 records and reads the rest back). read/written is the log's bytes
// read back over bytes written: linear work keeps it at most 1; the old
// flusher reread the whole log after every config (about configs/2).
func BenchmarkFlush(b *testing.B) {
	for _, c := range []struct {
		name      string
		configs   int
		storeDown bool
	}{{"100x500", 100, false}, {"100x500-store-down", 100, true}, {"10x500", 10, false}} {
		b.Run(c.name, func(b *testing.B) {
			var read, written int64
			for b.Loop() {
				read, written = spoolRun(b, c.configs, 500, c.storeDown)
			}
			b.ReportMetric(float64(read)/float64(written), "read/written")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*c.configs*500), "ns/record")
		})
	}
}
