package serve_test

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/llmsweep/llmsweep/internal/cache"
	"github.com/llmsweep/llmsweep/internal/serve"
)

// redisServer starts a redis-server of the test's own on a free port, so that
// the test can stop it without touching any other.
func redisServer(t testing.TB) (url string, stop func()) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	t.Cleanup(stop)
	url = fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	defer c.Close()
	for i := 0; ; i++ {
		if c.Ping(context.Background()).Err() == nil {
			return url, stop
		}
		if i == 100 {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metric reads one sample of /metrics.
func metric(t *testing.T, c *conformance, name string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	t.Fatalf("/metrics has no %s:\n%s", name, rec.Body)
	return ""
}

// TestCache reads through a real Redis: a miss, then hits; the pipeline's
// invalidate-cache step (a run's tail) makes the next read fresh; and with
// Redis stopped, reads still answer from the store.
func TestCache(t *testing.T) {
	redisURL, stop := redisServer(t)
	f := fill(t, "sqlite://"+t.TempDir()+"/results.db", redisURL)
	rc, err := cache.Dial(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	s, _ := server(t, f.URL, serve.Options{Cache: rc, TTL: time.Minute})
	c := newConformance(t, s.Handler())

	var pg serve.Page[map[string]any]
	c.ok("/api/v1/results?campaign=catalogtest", &pg)
	if pg.Total != 8 {
		t.Fatalf("results: %d, want 8", pg.Total)
	}
	if got := metric(t, c, "llmsweep_serve_cache_misses_total"); got != "1" {
		t.Errorf("misses after the first read: %s, want 1", got)
	}
	for range 9 {
		c.ok("/api/v1/results?campaign=catalogtest", &pg)
	}
	if got := metric(t, c, "cache_hit_ratio"); got != "0.9" {
		t.Errorf("cache_hit_ratio after 1 miss and 9 hits: %s, want 0.9", got)
	}
	if got := metric(t, c, "llmsweep_serve_cache_hits_total"); got != "9" {
		t.Errorf("hits: %s, want 9", got)
	}

	// A third run: its tail invalidates the campaign's entries, so the next
	// read sees 12 results, not the cached 8.
	out := llmsweep(t, f.Dir, "run", f.Campaign, "--force")
	if !strings.Contains(out, "invalidated") {
		t.Errorf("the run's tail did not invalidate the cache:\n%s", out)
	}
	c.ok("/api/v1/results?campaign=catalogtest", &pg)
	if pg.Total != 12 {
		t.Errorf("results after a third run: %d, want 12 (the cache was not invalidated)", pg.Total)
	}
	// The command of the Argo step does the same.
	c.ok("/api/v1/runs?campaign=catalogtest", nil)
	llmsweep(t, f.Dir, "invalidate-cache", f.Campaign, "--cache", redisURL)
	misses := metric(t, c, "llmsweep_serve_cache_misses_total")
	c.ok("/api/v1/runs?campaign=catalogtest", nil)
	if got := metric(t, c, "llmsweep_serve_cache_misses_total"); got == misses {
		t.Errorf("a read after invalidate-cache was a hit")
	}

	// Pages read through the cache too: the second overview is a hit.
	hits := metric(t, c, "llmsweep_serve_cache_hits_total")
	first := page(t, s, "/", 200)
	if second := page(t, s, "/", 200); second != first {
		t.Error("the cached overview differs from the drawn one")
	}
	if got := metric(t, c, "llmsweep_serve_cache_hits_total"); got == hits {
		t.Error("the second overview was not a cache hit")
	}
	page(t, s, "/?modle=x", 400) // an error page is answered, not kept
	page(t, s, "/?modle=x", 400)

	// Redis stops: reads still answer, from the store.
	stop()
	page(t, s, "/", 200)
	for range 5 {
		c.ok("/api/v1/results?campaign=catalogtest", &pg)
		if pg.Total != 12 {
			t.Errorf("with Redis down: %d results, want 12", pg.Total)
		}
	}
	if got := metric(t, c, "llmsweep_serve_cache_failures_total"); got == "0" {
		t.Errorf("no cache failure was counted with Redis down")
	}
}
