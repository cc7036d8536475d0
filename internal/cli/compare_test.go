package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
	"github.com/llmsweep/llmsweep/internal/store/storetest"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// storeRun stores one config's run with per-request TTFTs around ttftMs.
func storeRun(t *testing.T, st store.Store, id string, ttftMs float64) {
	ctx := context.Background()
	if _, err := st.CreateRun(ctx, result.Run{ID: id, Campaign: "c", MatrixHash: "h", Configs: 1, Started: time.Unix(1e9, 0)}); err != nil {
		t.Fatal(err)
	}
	fp := strings.Repeat("f", 64)
	var recs []*sdk.Record
	for i := range 200 {
		start := int64(1e18) + int64(i)*int64(time.Second)
		ttft := int64((ttftMs + float64(i%7)) * 1e6) // some spread
		recs = append(recs, &sdk.Record{Index: int32(i), ScheduledNs: start, StartNs: start, FirstTokenNs: start + ttft,
			EndNs: start + ttft + 63*int64(time.Millisecond), OutputTokens: 64, ClientOutputTokens: 64, PromptTokens: 10})
	}
	if err := st.AppendRecords(ctx, id, fp, 1, recs); err != nil {
		t.Fatal(err)
	}
	cfg := matrix.Config{Fingerprint: fp, Model: "m", Framework: "vllm", Workload: "chat"}
	if err := st.PutResult(ctx, result.Result{Run: id, Fingerprint: fp, Attempts: 1, Config: cfg, Summary: metrics.Summarize(recs, metrics.SLO{}),
		Provenance: result.Provenance{Kind: result.Measured}, Finished: time.Unix(1e9, 0)}); err != nil {
		t.Fatal(err)
	}
}

func TestCompare(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, url string) {
		st, err := store.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		storeRun(t, st, "before", 10)
		storeRun(t, st, "slower", 14)
		st.Close()

		var out, errb bytes.Buffer
		if code := Run([]string{"compare", "--store", url, "before", "before"}, &out, &errb); code != 0 {
			t.Errorf("a run against itself: exit %d\n%s%s", code, out.String(), errb.String())
		}
		out.Reset()
		code := Run([]string{"compare", "--store", url, "before", "slower"}, &out, &errb)
		if code != 1 || !strings.Contains(out.String(), "ttft_p50_ms") || !strings.Contains(out.String(), "REGRESSION") ||
			!strings.Contains(out.String(), "1 configs compared (0 only in before, 0 only in slower); 2 regressions beyond 5%") {
			t.Errorf("a slower run: exit %d\n%s%s", code, out.String(), errb.String())
		}
		// Beyond a threshold of 50%, the same change is not a regression.
		if code := Run([]string{"compare", "--store", url, "--threshold", "0.5", "before", "slower"}, &out, &errb); code != 0 {
			t.Errorf("threshold 50%%: exit %d", code)
		}
		errb.Reset()
		if code := Run([]string{"compare", "--store", url, "before", "nonesuch"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `run "nonesuch" has no results`) {
			t.Errorf("unknown run: exit %d %s", code, errb.String())
		}
	})
}
