package notify

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
)

// A run with configs that failed every retry names the review queue's list
// of them; one without failures does not.
func TestSummarizeLinksReviewQueue(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, id := range []string{"bad", "good"} {
		if _, err := st.CreateRun(ctx, result.Run{ID: id, Campaign: "c", MatrixHash: "h", Configs: 1, Started: time.Unix(100, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutFailure(ctx, result.Failure{Run: "bad", Fingerprint: "fp", Attempt: 3, Final: true, Reason: "oom"}); err != nil {
		t.Fatal(err)
	}
	m := Message{Campaign: "c", Run: "bad", Success: true, Status: "success"}
	if err := Summarize(ctx, st, &campaign.Set{}, campaign.Campaign{Name: "c"}, &m); err != nil {
		t.Fatal(err)
	}
	if m.Review != "llmsweep failures list --run bad" || !slices.Contains(m.Lines(), "Review: llmsweep failures list --run bad") {
		t.Errorf("Review %q, lines %q", m.Review, m.Lines())
	}
	if e := (&PagerDuty{RoutingKey: "k"}).Event(m); e.Payload == nil || e.Payload.CustomDetails["review"] != m.Review {
		t.Errorf("the PagerDuty alert does not name the queue: %+v", e.Payload)
	}
	ok := Message{Campaign: "c", Run: "good", Success: true, Status: "success"}
	if err := Summarize(ctx, st, &campaign.Set{}, campaign.Campaign{Name: "c"}, &ok); err != nil {
		t.Fatal(err)
	}
	if ok.Review != "" {
		t.Errorf("a run without failures links the queue: %q", ok.Review)
	}
}
