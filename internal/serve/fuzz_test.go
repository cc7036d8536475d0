package serve_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/llmsweep/llmsweep/internal/serve"
)

// FuzzQuery sends arbitrary query strings to every read endpoint: the answer
// is JSON, and a request can be wrong (400) or name what is not stored (404),
// but never makes the server fail (500) or panic.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"", "model=x", "limit=0", "limit=1001", "cursor=%zz", "provenance=measured&newest=true",
		"workload=smoke&weights=latency:1e308", "criteria=ttft_p99_ms:min,ttft_p99_ms:min", "a=x&b=y", "run=%00",
		"workload=smoke&ttft_p99_ms=NaN", "workload=smoke&top=-1", "x=1&x=2", "criteria=:,:", "campaign=%27;DROP TABLE runs;--"} {
		f.Add(s)
	}
	fl := sqliteStore(f)
	s, _ := server(f, fl.URL, serve.Options{})
	h := s.Handler()
	paths := []string{"/api/v1/results", "/api/v1/rankings", "/api/v1/daily-stats", "/api/v1/runs", "/api/v1/compare",
		"/api/v1/recommend", "/api/v1/pareto", "/api/v1/models", "/api/v1/runs/" + fl.Runs[0] + "/failures"}
	f.Fuzz(func(t *testing.T, query string) {
		for _, p := range paths {
			req := httptest.NewRequest("GET", "/", nil)
			req.URL.Path, req.URL.RawQuery = p, query
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 && rec.Code != 400 && rec.Code != 404 {
				t.Fatalf("GET %s?%s: %d %s", p, query, rec.Code, rec.Body)
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("GET %s?%s: not JSON: %s", p, query, rec.Body)
			}
		}
	})
}
