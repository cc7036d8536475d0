package serve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/llmsweep/llmsweep/internal/serve"
	"github.com/llmsweep/llmsweep/internal/store/storetest"
)

// conformance checks every answer against the OpenAPI document the server
// serves, with kin-openapi's validator.
type conformance struct {
	t      testing.TB
	h      http.Handler
	doc    *openapi3.T
	router routers.Router
	token  string
}

func newConformance(t testing.TB, h http.Handler) *conformance {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
	if rec.Code != 200 {
		t.Fatalf("openapi.json: %d %s", rec.Code, rec.Body)
	}
	doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("openapi.json does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3 document: %v", err)
	}
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &conformance{t: t, h: h, doc: doc, router: router}
}

// get requests target, checks the answer against the document, and returns
// its status and body.
func (c *conformance) get(target string) (int, []byte) {
	c.t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		c.t.Errorf("GET %s: Content-Type %q", target, ct)
	}
	route, pathParams, err := c.router.FindRoute(req)
	if err != nil {
		c.t.Errorf("GET %s: not in the OpenAPI document: %v", target, err)
		return rec.Code, body
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: rec.Code, Header: rec.Header(), Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}); err != nil {
		c.t.Errorf("GET %s: the %d answer does not conform to the OpenAPI document: %v\n%.600s", target, rec.Code, err, body)
	}
	return rec.Code, body
}

func (c *conformance) ok(target string, v any) {
	c.t.Helper()
	code, body := c.get(target)
	if code != 200 {
		c.t.Fatalf("GET %s: %d %s", target, code, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			c.t.Fatalf("GET %s: %v", target, err)
		}
	}
}

// fails checks that target is refused with code and a message holding want.
func (c *conformance) fails(target string, code int, want string) {
	c.t.Helper()
	got, body := c.get(target)
	var e serve.Error
	if err := json.Unmarshal(body, &e); err != nil {
		c.t.Fatalf("GET %s: the error is not JSON: %s", target, body)
	}
	if got != code || !strings.Contains(e.Error, want) {
		c.t.Errorf("GET %s: %d %q, want %d and a message holding %q", target, got, e.Error, code, want)
	}
}

var (
	sqliteOnce   sync.Once
	sqliteFilled filled
)

// sqliteStore is a SQLite store filled by real sim runs, shared by the tests
// that only read it.
func sqliteStore(t testing.TB) filled {
	sqliteOnce.Do(func() {
		// Not the first caller's TempDir: that goes when its test ends.
		sqliteFilled = fill(t, "sqlite://"+filepath.Join(scratch, "shared.db"), "")
	})
	if sqliteFilled.URL == "" {
		t.Fatal("filling the SQLite store failed in an earlier test")
	}
	return sqliteFilled
}

// checkAPI walks every endpoint of a filled store and checks the answers.
func checkAPI(t *testing.T, f filled, c *conformance) {
	for _, p := range []string{"/healthz", "/readyz", "/api/v1/models", "/api/v1/hardware", "/api/v1/frameworks",
		"/api/v1/quantizations", "/api/v1/workloads", "/api/v1/daily-stats", "/api/v1/runs?campaign=catalogtest",
		"/api/v1/runs/" + f.Runs[0], "/api/v1/runs/" + f.Runs[0] + "/failures"} {
		c.ok(p, nil)
	}
	var rk serve.Page[map[string]any]
	c.ok("/api/v1/rankings?model=llama-3.2-1b-instruct&workload=smoke", &rk)
	if rk.Total != 2 {
		t.Errorf("rankings: %d rows, want 2 (two hardware of one stack)", rk.Total)
	}

	// Results page by page: every result once, in the order of one listing.
	var all serve.Page[map[string]any]
	c.ok("/api/v1/results?campaign=catalogtest&limit=1000", &all)
	if all.Total != 8 || len(all.Items) != 8 || all.Next != "" {
		t.Fatalf("results: total %d, %d items, next %q; want 8 (2 runs × 4 configs) on one page", all.Total, len(all.Items), all.Next)
	}
	var walked []any
	next := ""
	for range 10 {
		var pg serve.Page[map[string]any]
		c.ok("/api/v1/results?campaign=catalogtest&limit=3&cursor="+url.QueryEscape(next), &pg)
		for _, it := range pg.Items {
			walked = append(walked, it["fingerprint"].(string)+it["run"].(string))
		}
		if next = pg.Next; next == "" {
			break
		}
	}
	if len(walked) != 8 {
		t.Errorf("walking pages of 3 gave %d results, want 8", len(walked))
	}
	for i, it := range all.Items {
		if i < len(walked) && walked[i] != it["fingerprint"].(string)+it["run"].(string) {
			t.Errorf("page walk item %d differs from the single page", i)
		}
	}
	var newest serve.Page[map[string]any]
	c.ok("/api/v1/results?campaign=catalogtest&newest=true&provenance=predicted", &newest)
	if newest.Total != 4 {
		t.Errorf("newest predicted results: %d, want 4", newest.Total)
	}

	// A config's detail: its distributions come from the stored records.
	first := all.Items[0]
	var d serve.ConfigDetail
	c.ok("/api/v1/results/"+first["run"].(string)+"/"+first["fingerprint"].(string), &d)
	if len(d.Distributions) != 3 || d.Distributions[0].N == 0 || d.Source == "" {
		t.Errorf("detail: %d distributions (first n=%v), source %q", len(d.Distributions), d.Distributions, d.Source)
	}

	// The manual-review queue: the config that failed for good, pending.
	var rv serve.Page[map[string]any]
	c.ok("/api/v1/reviews?campaign=reviewtest", &rv)
	if rv.Total != 1 || rv.Items[0]["state"] != "open" || rv.Items[0]["framework"] != "tgi" {
		t.Errorf("reviews: %+v, want one open tgi entry", rv)
	}
	c.ok("/api/v1/reviews?state=resolved", &rv)
	if rv.Total != 0 {
		t.Errorf("resolved reviews: %d, want none", rv.Total)
	}
	c.fails("/api/v1/reviews?state=forgotten", 400, "state")

	var cmp serve.Comparison
	c.ok("/api/v1/compare?a="+f.Runs[0]+"&b="+f.Runs[1], &cmp)
	if cmp.Shared != 4 || len(cmp.Deltas) == 0 {
		t.Errorf("compare: %d shared, %d deltas; want 4 shared", cmp.Shared, len(cmp.Deltas))
	}

	var rec serve.Recommendation
	c.ok("/api/v1/recommend?workload=smoke&policy=latency-first&top=3&ttft_p99_ms=100000", &rec)
	if len(rec.Picks) == 0 || rec.Picks[0].Why == "" || len(rec.Picks[0].Contributions) == 0 {
		t.Errorf("recommend: %+v", rec)
	}
	var w serve.Recommendation
	c.ok("/api/v1/recommend?workload=smoke&policy=balanced&weights=latency:1,throughput:0,cost:0,memory:0,accuracy:0", &w)
	if len(w.Weights) != 1 {
		t.Errorf("recommend with weights: ranked on %v, want latency only", w.Weights)
	}
	var fr serve.Front
	c.ok("/api/v1/pareto?criteria=ttft_p99_ms:min,output_throughput:max&workload=smoke", &fr)
	if len(fr.Points) == 0 || fr.Considered != 4 {
		t.Errorf("pareto: %d points of %d considered", len(fr.Points), fr.Considered)
	}

	// Errors say what to fix, and conform too.
	c.fails("/api/v1/results?modle=x", 400, `unknown parameter "modle"`)
	c.fails("/api/v1/results?model=a&model=b", 400, "given 2 times")
	c.fails("/api/v1/results?limit=100000", 400, "limit")
	c.fails("/api/v1/results?cursor=!!", 400, "cursor")
	c.fails("/api/v1/results?cursor=bm9uZQ", 400, "start again")
	c.fails("/api/v1/results?provenance=guessed", 400, "provenance")
	c.fails("/api/v1/results?run=nope", 404, `run "nope" is not in the store`)
	c.fails("/api/v1/runs/nope", 404, "not in the store")
	c.fails("/api/v1/compare?a="+f.Runs[0], 400, "two runs")
	c.fails("/api/v1/recommend?policy=balanced", 400, "needs a workload")
	c.fails("/api/v1/recommend?workload=smoke&policy=fastest", 400, "no such policy")
	c.fails("/api/v1/recommend?workload=smoke&weights=speed:1", 400, `no criterion "speed"`)
	c.fails("/api/v1/pareto?criteria=ttft_p99_ms:min", 400, "two to four")
	c.fails("/api/v1/models?x=1", 400, "takes none")
}

func TestAPISQLite(t *testing.T) {
	f := sqliteStore(t)
	s, _ := server(t, f.URL, serve.Options{})
	checkAPI(t, f, newConformance(t, s.Handler()))
}

func TestReadOnlyAndHeaders(t *testing.T) {
	f := sqliteStore(t)
	s, _ := server(t, f.URL, serve.Options{Token: "s3cret"})
	h := s.Handler()
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(m, "/api/v1/results", strings.NewReader("{}")))
		if rec.Code != 405 || !strings.Contains(rec.Body.String(), "read-only") {
			t.Errorf("%s: %d %s, want 405", m, rec.Code, rec.Body)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/results", nil))
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("no token: %d, want 401", rec.Code)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code != 200 {
			t.Errorf("%s without a token: %d, want 200", p, rec.Code)
		}
	}
	req := httptest.NewRequest("GET", "/api/v1/runs", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Errorf("wrong token: %d, want 401", rec.Code)
	}
	c := newConformanceWithToken(t, h, "s3cret")
	c.ok("/api/v1/runs", nil)
	req = httptest.NewRequest("GET", "/api/v1/runs", strings.NewReader(strings.Repeat("x", serve.MaxBody+1)))
	req.Header.Set("Authorization", "Bearer s3cret")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Errorf("a large body: %d, want 413", rec.Code)
	}
	for _, k := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
		if rec.Header().Get(k) == "" {
			t.Errorf("header %s is not set", k)
		}
	}
}

func newConformanceWithToken(t *testing.T, h http.Handler, token string) *conformance {
	auth := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/openapi.json" && r.Header.Get("Authorization") == "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		h.ServeHTTP(w, r)
	})
	c := newConformance(t, auth)
	c.token = token
	return c
}

// TestAPIPostgres serves a PostgreSQL store (its materialized views
// included) that real sim runs filled, with the same checks as SQLite.
func TestAPIPostgres(t *testing.T) {
	f := fill(t, storetest.PostgresURL(t), "")
	s, _ := server(t, f.URL, serve.Options{})
	checkAPI(t, f, newConformance(t, s.Handler()))
}
