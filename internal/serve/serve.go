// Package serve is the catalog service (DESIGN 13): a read-only JSON API under
// /api/v1/, described by the OpenAPI document at /api/v1/openapi.json, and
// server-rendered web pages, over the results store, read through the Redis
// cache that the pipeline's invalidate-cache step empties.
//
// Every request is a GET (or HEAD); query parameters are checked against the
// endpoint's list, so that a misspelt filter is an error rather than a wider
// answer; page sizes and bodies are bounded; no SQL is ever built from request
// text (the store takes filters as bound parameters).
package serve

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/llmsweep/llmsweep/internal/cache"
	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/store"
)

// Limits on what a client may ask for.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
	// MaxBody bounds a request body; the service reads none, so any body
	// larger than this is refused before a handler runs.
	MaxBody = 1 << 16
	// DefaultTTL is how long a cached answer lives without an invalidation.
	DefaultTTL = 10 * time.Minute
)

// Options configure a Server.
type Options struct {
	Store store.Store
	// Set holds the catalog (entries and prices) and the policies recommend
	// may name.
	Set *campaign.Set
	// Policies are the policies recommend may name (default: Set's, else none).
	Policies map[string]campaign.Policy
	// Cache, when set, is read through on every read endpoint.
	Cache *cache.Cache
	// TTL of cached answers (default DefaultTTL).
	TTL time.Duration
	// Token, when set, must be presented as "Authorization: Bearer TOKEN" on
	// everything but the health endpoints.
	Token string
	Log   *slog.Logger
}

// Server serves the catalog.
type Server struct {
	o       Options
	mux     *http.ServeMux
	reg     *prometheus.Registry
	reader  *reader
	pages   *pages
	reqs    *prometheus.CounterVec
	latency *prometheus.HistogramVec
	doc     *openapi3.T
}

// New makes a server; it fails when the options are incomplete.
func New(o Options) (*Server, error) {
	if o.Store == nil {
		return nil, errors.New("serve: no store")
	}
	if o.Set == nil {
		return nil, errors.New("serve: no catalog")
	}
	if o.Policies == nil {
		o.Policies = o.Set.Policies
	}
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	doc, err := buildOpenAPI()
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, mux: http.NewServeMux(), reg: prometheus.NewRegistry(), doc: doc}
	s.reader = newReader(o.Cache, o.TTL, o.Log)
	s.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmsweep_serve_requests_total", Help: "HTTP requests served, by route and status code.",
	}, []string{"route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "llmsweep_serve_request_seconds", Help: "Time to answer an HTTP request, by route.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	}, []string{"route"})
	s.reg.MustRegister(s.reqs, s.latency, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.reader.register(s.reg)
	p, err := newPages(s)
	if err != nil {
		return nil, err
	}
	s.pages = p
	s.routes()
	return s, nil
}

// Handler is the service's HTTP handler, with its security headers, the
// token check and the read-only rule around every route.
func (s *Server) Handler() http.Handler { return s.guard(s.mux) }

// handle registers a route; route is the pattern's path, the label of its metrics.
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	route := pattern
	s.mux.Handle("GET "+pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h(rec, r)
		s.reqs.WithLabelValues(route, fmt.Sprint(rec.code)).Inc()
		s.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	}))
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (s *Server) routes() {
	s.handle("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, Health{Status: "ok"})
	})
	s.handle("/readyz", s.readyz)
	s.handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}).ServeHTTP)
	s.apiRoutes()
	s.pages.routes()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "the catalog service is read-only: only GET and HEAD are served")
			return
		}
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such page or endpoint: %s (the API is under /api/v1/, described by /api/v1/openapi.json)", r.URL.Path))
	})
}

// Health is the body of /healthz and /readyz.
type Health struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// readyz is ready when the store answers a query.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.o.Store.Run(ctx, "readyz-probe"); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, Health{Status: "unavailable", Error: "store: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, Health{Status: "ok"})
}

// contentSecurityPolicy allows the page's own scripts and styles only; the
// charts are SVG drawn on the server, so nothing inline is needed.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// guard sets the security headers, refuses writes and bodies, and checks the
// bearer token.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "the catalog service is read-only: only GET and HEAD are served")
			return
		}
		if r.ContentLength > MaxBody {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes: the limit is %d", r.ContentLength, MaxBody))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		if s.o.Token != "" && r.URL.Path != "/healthz" && r.URL.Path != "/readyz" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.o.Token)) != 1 {
				h.Set("WWW-Authenticate", `Bearer realm="llmsweep"`)
				writeError(w, http.StatusUnauthorized, "this service needs a bearer token: send Authorization: Bearer <token>")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Error is the body of every error answer.
type Error struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, Error{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	writeRaw(w, code, b)
}

func writeRaw(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(b)
	w.Write([]byte("\n"))
}
