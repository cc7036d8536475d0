package serve_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/llmsweep/llmsweep/internal/cache"
	"github.com/llmsweep/llmsweep/internal/serve"
)

// BenchmarkLeaderboard loads the leaderboard endpoint with 64 concurrent
// clients (vegeta, as fast as the server answers) with no cache and with a
// warm Redis cache, in the same run, and reports requests/s and P99 of each
// and their ratio. The goal on the 2-core machine: ≥ 2,000 req/s warm at
// P99 ≤ 20 ms, with a steady-state hit ratio ≥ 0.95. (make bench)
func BenchmarkLeaderboard(b *testing.B) {
	f := sqliteStore(b)
	redisURL, _ := redisServer(b)
	rc, err := cache.Dial(redisURL)
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	const target = "/api/v1/rankings?workload=smoke"
	attack := func(h http.Handler, d time.Duration) (rps, p99 float64) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		tr := vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: srv.URL + target})
		a := vegeta.NewAttacker(vegeta.Workers(64), vegeta.MaxWorkers(64), vegeta.KeepAlive(true), vegeta.Connections(64))
		var m vegeta.Metrics
		for res := range a.Attack(tr, vegeta.Rate{Freq: 0}, d, "leaderboard") {
			m.Add(res)
		}
		m.Close()
		if m.Success < 1 {
			b.Fatalf("%.1f%% of requests succeeded: %v", m.Success*100, m.Errors)
		}
		return m.Throughput, float64(m.Latencies.P99) / float64(time.Millisecond)
	}
	for b.Loop() {
		plain, _ := server(b, f.URL, serve.Options{})
		cold, coldP99 := attack(plain.Handler(), 5*time.Second)
		cached, _ := server(b, f.URL, serve.Options{Cache: rc, TTL: time.Hour})
		h := cached.Handler()
		attack(h, time.Second) // warms the cache
		warm, warmP99 := attack(h, 5*time.Second)
		b.ReportMetric(cold, "nocache-req/s")
		b.ReportMetric(coldP99, "nocache-p99-ms")
		b.ReportMetric(warm, "warm-req/s")
		b.ReportMetric(warmP99, "warm-p99-ms")
		b.ReportMetric(warm/cold, "warm/nocache")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		b.ReportMetric(sample(rec.Body.String(), "cache_hit_ratio"), "hit-ratio")
		b.ReportMetric(sample(rec.Body.String(), "llmsweep_serve_cache_failures_total"), "cache-failures")
	}
}

// sample reads a metric's value from /metrics text.
func sample(metrics, name string) float64 {
	for _, line := range strings.Split(metrics, "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, _ := strconv.ParseFloat(rest, 64)
			return v
		}
	}
	return 0
}
