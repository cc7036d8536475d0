package serve_test

import (
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/internal/serve"
)

func page(t *testing.T, s *serve.Server, target string, code int) string {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	if rec.Code != code {
		t.Fatalf("GET %s: %d, want %d\n%.2000s", target, rec.Code, code, rec.Body)
	}
	return rec.Body.String()
}

// TestPages draws every page from a store filled by sim runs and an imported
// vLLM result whose model name is markup: the name is escaped everywhere,
// predicted and imported results carry their mark, the tables are in the
// HTML (no script needed) and the charts have a point per result.
func TestPages(t *testing.T) {
	f := sqliteStore(t)
	s, _ := server(t, f.URL, serve.Options{})
	const evil = "<script>alert(1)</script>"
	escaped := "&lt;script&gt;alert(1)&lt;/script&gt;"
	for _, target := range []string{"/", "/?workload=smoke", "/models/" + url.PathEscape(evil), "/runs/" + f.Runs[0],
		"/compare?a=" + f.Runs[0] + "&b=" + f.Runs[1], "/recommend?workload=smoke&policy=latency-first"} {
		body := page(t, s, target, 200)
		if strings.Contains(body, evil) {
			t.Errorf("GET %s: the model name is not escaped", target)
		}
		if regexp.MustCompile(`<script>[^<]`).MatchString(body) || strings.Contains(body, "<script>alert") {
			t.Errorf("GET %s holds an inline script", target)
		}
		if !strings.Contains(body, "<table") && !strings.Contains(body, "<figure") {
			t.Errorf("GET %s has no table", target)
		}
	}
	overview := page(t, s, "/", 200)
	for _, want := range []string{escaped, `<span class="mark predicted">predicted</span>`, `<span class="mark imported">imported</span>`,
		"llama-3.2-1b-instruct", `id="leaderboard"`, `id="trends"`} {
		if !strings.Contains(overview, want) {
			t.Errorf("the overview lacks %q", want)
		}
	}
	model := page(t, s, "/models/llama-3.2-1b-instruct", 200)
	for _, id := range []string{"per-gpu", "latency"} {
		chart := model[strings.Index(model, `id="`+id+`"`):]
		chart = chart[:strings.Index(chart, "</figure>")]
		if n := strings.Count(chart, "<circle"); n != 4 {
			t.Errorf("chart %s: %d points, want 4 (one per config)", id, n)
		}
		if !strings.Contains(chart, "<title>llama-3.2-1b-instruct") {
			t.Errorf("chart %s: a point's tooltip does not name its config", id)
		}
	}
	rec := page(t, s, "/recommend?workload=smoke&policy=latency-first&top=2", 200)
	if n := strings.Count(rec, "<td>score "); n != 2 {
		t.Errorf("recommend: %d explained picks, want 2", n)
	}
	cmp := page(t, s, "/compare?a="+f.Runs[0]+"&b="+f.Runs[1], 200)
	if !strings.Contains(cmp, "4 shared configs") {
		t.Errorf("compare page lacks its summary")
	}
	page(t, s, "/?sort=nonsense", 400)
	page(t, s, "/?modle=x", 400)
	page(t, s, "/models/nobody", 404)
	page(t, s, "/runs/nope", 404)
	page(t, s, "/static/style.css", 200)
	page(t, s, "/static/sort.js", 200)
}
