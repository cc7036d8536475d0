package runlog

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/telemetry"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

func TestResumeState(t *testing.T) {
	root := t.TempDir()
	l, err := Create(root, result.Run{Campaign: "c", MatrixHash: "h", Started: time.Unix(1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int32{0, 1, 2, 2} { // the second 2 is a duplicate: dropped
		if err := l.AppendRecord("fp", 1, &sdk.Record{Index: i}); err != nil {
			t.Fatal(err)
		}
	}
	l.AppendRecord("fp", 1, &sdk.Record{Index: -1, Warmup: true})
	l.AppendRecord("other", 1, &sdk.Record{Index: 5})
	// A failed attempt's records do not count: the retry measures afresh.
	l.AppendRecord("failed", 1, &sdk.Record{Index: 0, ErrorClass: "timeout"})
	l.PutFailure(result.Failure{Fingerprint: "failed", Attempt: 1, Reason: "x"})
	l.AppendRecord("failed", 2, &sdk.Record{Index: 7})
	l.Close()

	// A crash tore the last line.
	f, _ := os.OpenFile(filepath.Join(l.Dir, recordsFile), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"fingerprint":"fp","attempt":1,"record":{"ind`)
	f.Close()

	if dir, _ := Latest(root, "c", "h"); dir != l.Dir {
		t.Fatalf("Latest = %q, want %q", dir, l.Dir)
	}
	l, err = Open(l.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := l.Recorded("fp"); !slices.Equal(got, []int32{0, 1, 2}) {
		t.Errorf("Recorded(fp) = %v", got)
	}
	if got := l.Recorded("failed"); !slices.Equal(got, []int32{7}) || l.Attempts("failed") != 1 {
		t.Errorf("Recorded(failed) = %v, attempts %d", got, l.Attempts("failed"))
	}
	recs, err := l.Records("fp")
	if err != nil || len(recs) != 3 {
		t.Errorf("Records(fp): %d, %v", len(recs), err)
	}
	b, _ := os.ReadFile(filepath.Join(l.Dir, recordsFile))
	if b[len(b)-1] != '\n' {
		t.Error("the torn line is still there")
	}
	l.PutResult(result.Result{Fingerprint: "fp"})
	l.Finish(time.Unix(2, 0))
	if !l.Done("fp") || l.Done("other") {
		t.Error("Done")
	}
	if dir, _ := Latest(root, "c", "h"); dir != "" {
		t.Errorf("a finished run is not resumed: Latest = %q", dir)
	}
}

// A config that failed for good is not done: a resumed run retries it, and once
// it has a result its failure no longer counts.
func TestFailedIsNotDone(t *testing.T) {
	l, err := Create(t.TempDir(), result.Run{Campaign: "c", MatrixHash: "h", Started: time.Unix(1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.PutFailure(result.Failure{Fingerprint: "fp", Attempt: 4, Final: true, Reason: "boom"})
	if l.Done("fp") || !l.Failed("fp") {
		t.Fatalf("after a final failure: done %v failed %v", l.Done("fp"), l.Failed("fp"))
	}
	l, _ = Open(l.Dir)
	if l.Done("fp") || !l.Failed("fp") || l.Attempts("fp") != 4 {
		t.Fatalf("reopened: done %v failed %v attempts %d", l.Done("fp"), l.Failed("fp"), l.Attempts("fp"))
	}
	if f, _ := l.Failures(); len(f) != 1 {
		t.Fatalf("failures %v", f)
	}
	l.PutResult(result.Result{Fingerprint: "fp"})
	if !l.Done("fp") || l.Failed("fp") {
		t.Error("a result after the failure")
	}
	if f, _ := l.Failures(); len(f) != 0 {
		t.Errorf("a config with a result is still listed as failed: %v", f)
	}
}

// Reading a config back reads only its lines: a run reads what it wrote about
// once, however many configs it has.
func TestReadBackIsLinear(t *testing.T) {
	l, err := Create(t.TempDir(), result.Run{Campaign: "c", MatrixHash: "h", Started: time.Unix(1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const configs, requests = 40, 50
	for c := range configs {
		fp := string(rune('a' + c))
		for i := range requests {
			l.AppendRecord(fp, 1, &sdk.Record{Index: int32(i), StartNs: int64(i)})
			l.AppendRecord("other", 1, &sdk.Record{Index: int32(c*requests + i)}) // interleaved
		}
		l.AppendSample(fp, telemetry.Sample{TimeNs: int64(c), Source: "proc", CPUPct: 50})
		recs, err := l.Records(fp)
		if err != nil || len(recs) != requests || recs[requests-1].GetStartNs() != requests-1 {
			t.Fatalf("config %d: %d records, %v", c, len(recs), err)
		}
		if s, err := l.Samples(fp); err != nil || len(s) != 1 || s[0].CPUPct != 50 {
			t.Fatalf("samples %v %v", s, err)
		}
		l.Forget(fp)
	}
	read, written := l.Stats()
	if read > written {
		t.Errorf("read %d bytes back of %d written", read, written)
	}
	if recs, _ := l.Records("a"); len(recs) != 0 {
		t.Errorf("a forgotten config still reads back %d records", len(recs))
	}
}
