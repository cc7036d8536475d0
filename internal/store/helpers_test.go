package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store/storetest"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

func testPostgresURL() string { return storetest.ServerURL() }

func requirePostgres(t testing.TB) { storetest.RequirePostgres(t) }

func pgSchemaURL(t testing.TB) string { return storetest.PostgresURL(t) }

func sqliteURL(t testing.TB) string { return storetest.SQLiteURL(t) }

func backends(t *testing.T, fn func(t *testing.T, url string)) { storetest.Backends(t, fn) }

func open(t testing.TB, url string) Store {
	t.Helper()
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rec is a record with every field set, distinct per (index, seed).
func rec(i int32, seed int64) *sdk.Record {
	base := 1_764_000_000_000_000_000 + int64(i)*1_000_000 + seed
	return &sdk.Record{
		Index:              i,
		ScheduledNs:        base,
		StartNs:            base + 10,
		FirstTokenNs:       base + 5_000_000,
		EndNs:              base + 50_000_000,
		ItlNs:              []int64{4_000_000 + seed, 5_000_000, 6_000_001, -1},
		PromptTokens:       100 + i,
		OutputTokens:       17,
		ClientPromptTokens: 90,
		ClientOutputTokens: 16,
		ErrorClass:         "",
		Status:             200,
		FinishReason:       "stop",
		Output:             "out " + string(rune('a'+i%26)),
		Expected:           "exp",
	}
}

func recs(from, to int32, seed int64) []*sdk.Record {
	var out []*sdk.Record
	for i := from; i < to; i++ {
		out = append(out, rec(i, seed))
	}
	return out
}

func seq(from, to int32) []int32 {
	out := []int32{}
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// The tests name the run types as the store package once did.
type (
	Run     = result.Run
	Failure = result.Failure
)

// putConfig stores a config's resolved JSON, as PutResult does.
func putConfig(t testing.TB, s Store, fp string, resolved json.RawMessage) error {
	t.Helper()
	return s.(*store).putConfig(context.Background(), fp, resolved)
}

// measuredResult is a measured result of a config with the given dimensions.
func measuredResult(run, fp, model, hw string, m metrics.Summary, at time.Time) result.Result {
	return result.Result{Run: run, Fingerprint: fp, Attempts: 1, Finished: at, Summary: m,
		Config:     matrix.Config{Fingerprint: fp, Model: model, Hardware: hw, Framework: "vllm", Quantization: "fp16", Workload: "chat"},
		Provenance: result.Provenance{Kind: result.Measured}, ServedBy: "vllm"}
}
