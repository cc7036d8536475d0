package store

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmsweep/llmsweep/internal/matrix"
)

// The review queue: a config's final failure joins it open; a person acks it
// or asks for a retry, which the reuse rule then reads; a later run's failure
// marks the retry retried, and a stored result resolves what is pending.
func TestReviewQueue(t *testing.T) {
	backends(t, func(t *testing.T, url string) {
		s := open(t, url)
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		states := func(f ReviewFilter) map[string]ReviewState {
			t.Helper()
			rs, err := s.Reviews(ctx, f)
			must(err)
			out := map[string]ReviewState{}
			for _, r := range rs {
				out[r.Run+"/"+r.Fingerprint] = r.State
			}
			return out
		}
		cfg := func(fp, model string) *matrix.Config {
			return &matrix.Config{Fingerprint: fp, Model: model, Hardware: "h100", Framework: "vllm", Quantization: "bf16", Workload: "chat"}
		}
		r1 := mustRun(t, s, Run{ID: "r1", Campaign: "c", MatrixHash: "h", Configs: 3, Started: time.Unix(100, 0)})
		// A failed attempt that a retry mended is not queued; a final failure is,
		// with its config's dimensions.
		must(s.PutFailure(ctx, Failure{Run: r1.ID, Fingerprint: "a", Attempt: 1, Reason: "timeout", Time: time.Unix(101, 0)}))
		must(s.PutFailure(ctx, Failure{Run: r1.ID, Fingerprint: "a", Attempt: 2, Final: true, Reason: "oom", Time: time.Unix(102, 0), Config: cfg("a", "llama")}))
		must(s.PutFailure(ctx, Failure{Run: r1.ID, Fingerprint: "b", Attempt: 1, Final: true, Reason: "refused", Time: time.Unix(103, 0), Config: cfg("b", "qwen")}))
		must(s.PutFailure(ctx, Failure{Run: r1.ID, Fingerprint: "x", Attempt: 1, Reason: "flaky", Time: time.Unix(103, 0)}))
		rs, err := s.Reviews(ctx, ReviewFilter{Filter: Filter{Campaign: "c", Model: "llama"}})
		must(err)
		want := []Review{{Run: "r1", Campaign: "c", Fingerprint: "a", Model: "llama", Hardware: "h100", Framework: "vllm",
			Quantization: "bf16", Workload: "chat", State: ReviewOpen, Updated: time.Unix(102, 0).UTC(),
			Failure: Failure{Run: "r1", Fingerprint: "a", Attempt: 2, Final: true, Reason: "oom", Time: time.Unix(102, 0).UTC()}}}
		if diff := cmp.Diff(want, rs); diff != "" {
			t.Errorf("Reviews of model llama (-want +got):\n%s", diff)
		}
		if got := states(ReviewFilter{}); !cmp.Equal(got, map[string]ReviewState{"r1/a": ReviewOpen, "r1/b": ReviewOpen}) {
			t.Errorf("queue = %v", got)
		}
		one, err := s.ReviewOf(ctx, "r1", "a")
		must(err)
		if len(one.Attempts) != 2 || one.Attempts[0].Reason != "timeout" || !one.Attempts[1].Final {
			t.Errorf("ReviewOf attempts = %+v", one.Attempts)
		}
		if _, err := s.ReviewOf(ctx, "r1", "x"); !errors.Is(err, ErrNoReview) {
			t.Errorf("ReviewOf a config that is not queued: %v", err)
		}

		// A person acks a with a note, and asks for b to run again.
		must(s.SetReview(ctx, "r1", "a", ReviewAcked, "OOM on 1 GPU: expected"))
		must(s.SetReview(ctx, "r1", "b", ReviewRetry, ""))
		if err := s.SetReview(ctx, "r1", "b", ReviewResolved, ""); err == nil {
			t.Error("a person set a failure resolved")
		}
		if got := states(ReviewFilter{States: []ReviewState{ReviewRetry}}); !cmp.Equal(got, map[string]ReviewState{"r1/b": ReviewRetry}) {
			t.Errorf("retry queue = %v", got)
		}
		if one, _ := s.ReviewOf(ctx, "r1", "a"); one.Note != "OOM on 1 GPU: expected" || one.State != ReviewAcked {
			t.Errorf("after ack: %+v", one)
		}
		stored, err := s.StoredResults(ctx, "r2", []string{"a", "b", "c"})
		must(err)
		if !stored["b"].Retry || stored["a"].Retry || stored["c"].Retry {
			t.Errorf("StoredResults retries = %+v", stored)
		}

		// The next run measures b, and it fails again: r1's entry is retried,
		// and r2's failure is queued open. Then a third run succeeds with it.
		r2 := mustRun(t, s, Run{ID: "r2", Campaign: "c", MatrixHash: "h", Configs: 1, Started: time.Unix(200, 0)})
		must(s.PutFailure(ctx, Failure{Run: r2.ID, Fingerprint: "b", Attempt: 1, Final: true, Reason: "refused", Time: time.Unix(201, 0), Config: cfg("b", "qwen")}))
		if got := states(ReviewFilter{}); !cmp.Equal(got, map[string]ReviewState{"r1/a": ReviewAcked, "r1/b": ReviewRetried, "r2/b": ReviewOpen}) {
			t.Errorf("after r2 = %v", got)
		}
		if stored, _ := s.StoredResults(ctx, "r3", []string{"b"}); stored["b"].Retry {
			t.Error("a retried config is still queued for retry")
		}
		if err := s.SetReview(ctx, "r1", "b", ReviewAcked, ""); err == nil {
			t.Error("acked an entry a later run retried")
		}
		r3 := mustRun(t, s, Run{ID: "r3", Campaign: "c", MatrixHash: "h", Configs: 1, Started: time.Unix(300, 0)})
		must(s.PutResult(ctx, measuredResult(r3.ID, "b", "qwen", "h100", summary(1), time.Unix(301, 0))))
		if got := states(ReviewFilter{States: PendingStates}); !cmp.Equal(got, map[string]ReviewState{"r1/a": ReviewAcked}) {
			t.Errorf("pending after r3 = %v", got)
		}
		if got := states(ReviewFilter{Filter: Filter{RunID: "r2"}}); !cmp.Equal(got, map[string]ReviewState{"r2/b": ReviewResolved}) {
			t.Errorf("r2 after r3 = %v", got)
		}
	})
}
