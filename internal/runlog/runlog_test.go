package runlog

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/plugins/sdk"
)

func TestResumeState(t *testing.T) {
	root := t.TempDir()
	l, err := Create(root, Run{Campaign: "c", MatrixHash: "h", Started: time.Unix(1, 0)})
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
	l.PutFailure(Failure{Fingerprint: "failed", Attempt: 1, Reason: "x"})
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
	l.PutResult(Result{Fingerprint: "fp"})
	l.Finish(time.Unix(2, 0))
	if !l.Done("fp") || l.Done("other") {
		t.Error("Done")
	}
	if dir, _ := Latest(root, "c", "h"); dir != "" {
		t.Errorf("a finished run is not resumed: Latest = %q", dir)
	}
}
