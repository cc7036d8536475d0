package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// A run's records survive a restart; a failed attempt's do not count.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "store")
	defer os.RemoveAll(dir)
	url := "sqlite://" + filepath.Join(dir, "results.db")

	s, _ := store.Open(ctx, url)
	run, _ := s.CreateRun(ctx, result.Run{Campaign: "nightly", MatrixHash: "abc"})
	s.AppendRecords(ctx, run.ID, "fp1", 1, []*sdk.Record{{Index: 0}, {Index: 1}, {Index: 2}})
	s.PutFailure(ctx, result.Failure{Run: run.ID, Fingerprint: "fp1", Attempt: 1, Reason: "server died"})
	s.AppendRecords(ctx, run.ID, "fp1", 2, []*sdk.Record{{Index: 0}, {Index: 1}})
	s.AppendRecords(ctx, run.ID, "fp1", 2, []*sdk.Record{{Index: 1}}) // again: a no-op
	s.Close()

	// Another process resumes the run.
	s, _ = store.Open(ctx, url)
	defer s.Close()
	resume, _ := s.LatestUnfinished(ctx, "nightly", "abc")
	recs, _ := s.Records(ctx, resume.ID, "fp1")
	var done []int32
	for _, r := range recs {
		done = append(done, r.GetIndex())
	}
	fmt.Println(resume.ID == run.ID, done)
	// Output: true [0 1]
}
