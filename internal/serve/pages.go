package serve

import (
	"bytes"
	"cmp"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
)

//go:embed web
var webFS embed.FS

// pages are the catalog's web pages: server-rendered HTML whose tables need
// no script, with SVG charts drawn on the server. html/template escapes every
// string from the store, the catalog or an imported file.
type pages struct {
	s    *Server
	tmpl *template.Template
}

func newPages(s *Server) (*pages, error) {
	t, err := template.New("").Funcs(template.FuncMap{
		"num": func(v float64, ok bool) string {
			if !ok {
				return "–"
			}
			return short(v)
		},
		"metric": func(m map[string]float64, k string) string {
			v, ok := m[k]
			if !ok {
				return "–"
			}
			return fmt.Sprintf("%.4g", v)
		},
		"markOf": func(s string) string { return mark(result.Kind(s)) },
		"list":   func(s ...string) []string { return s },
		"pct":    func(v float64) string { return fmt.Sprintf("%+.1f%%", v*100) },
	}).ParseFS(webFS, "web/*.html")
	if err != nil {
		return nil, err
	}
	return &pages{s: s, tmpl: t}, nil
}

// mark is the visible mark of a result that was not measured.
func mark(k result.Kind) string {
	if k == result.Measured || k == "" {
		return ""
	}
	return string(k)
}

func (p *pages) routes() {
	static, _ := fs.Sub(webFS, "web/static")
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	p.s.handle("/static/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	})
	p.s.handle("/{$}", p.cached(p.overview))
	p.s.handle("/models/{model}", p.cached(p.model))
	p.s.handle("/recommend", p.cached(p.recommend))
	p.s.handle("/runs/{run}", p.cached(p.run))
	p.s.handle("/compare", p.cached(p.compare))
}

// render writes a page, or an error page with the message.
func (p *pages) render(w http.ResponseWriter, name string, data any) {
	var b bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		p.s.o.Log.Error("page", "page", name, "err", err)
		http.Error(w, "the page could not be drawn; the server log says why", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
}

func (p *pages) fail(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	msg := "the store could not answer; the server log says why"
	var br badRequest
	var nf notFound
	switch {
	case asErr(err, &br):
		code, msg = http.StatusBadRequest, br.msg
	case asErr(err, &nf):
		code, msg = http.StatusNotFound, nf.msg
	default:
		p.s.o.Log.Error("page", "err", err)
	}
	w.WriteHeader(code)
	p.render(w, "error.html", map[string]any{"Title": "Error", "Code": code, "Message": msg})
}

// row is a result as the tables show it.
type row struct {
	Run, Fingerprint, Model, Hardware, Framework, Quantization, Workload, Load, Label string
	Mark                                                                              string
	Source                                                                            string
	Values                                                                            map[string]float64
}

func toRow(r *result.Result, values map[string]float64) row {
	c := r.Config
	return row{Run: r.Run, Fingerprint: r.Fingerprint, Model: c.Model, Hardware: c.Hardware, Framework: c.Framework,
		Quantization: c.Quantization, Workload: c.Workload, Load: r.Load(), Label: r.Label(), Mark: mark(r.Provenance.Kind),
		Source: r.Source(), Values: values}
}

// sortable columns of the leaderboard: the metric each sorts by, and whether
// higher is better (sorted first).
var boardColumns = map[string]bool{"output_throughput": true, "goodput": true, "ttft_p99_ms": false, "tpot_p99_ms": false,
	"usd_per_1m_output_tokens_on_demand": false}

func (p *pages) overview(w http.ResponseWriter, r *http.Request) {
	q, err := parseParams(r.URL.RawQuery, "workload", "model", "provenance", "ttft_p99_ms", "tpot_p99_ms", "sort")
	if err != nil {
		p.fail(w, err)
		return
	}
	ctx := r.Context()
	f := store.Filter{Workload: q.str("workload"), Model: q.str("model"), Newest: true}
	if s := q.str("provenance"); s != "" {
		if f.Provenance, err = result.ParseKind(s); err != nil {
			p.fail(w, badf("provenance: %v", err))
			return
		}
	}
	ttft, err := q.float("ttft_p99_ms", 0)
	if err != nil {
		p.fail(w, err)
		return
	}
	tpot, err := q.float("tpot_p99_ms", 0)
	if err != nil {
		p.fail(w, err)
		return
	}
	sortBy := cmp.Or(q.str("sort"), "output_throughput")
	higher, ok := boardColumns[sortBy]
	if !ok {
		p.fail(w, badf("sort=%q: want one of %s", sortBy, strings.Join(slices.Sorted(maps.Keys(boardColumns)), ", ")))
		return
	}
	rs, err := p.s.o.Store.Results(ctx, f)
	if err != nil {
		p.fail(w, err)
		return
	}
	rows, err := p.s.rows(ctx, rs)
	if err != nil {
		p.fail(w, err)
		return
	}
	// The best stack of each model and workload at the SLO: the most output
	// tokens per second among its results that meet it.
	type key struct{ model, workload string }
	best := map[key]int{}
	workloads := map[string]bool{}
	for i, x := range rows {
		workloads[x.Workload] = true
		v := x.Metrics
		if ttft > 0 && !(v["ttft_p99_ms"] > 0 && v["ttft_p99_ms"] <= ttft) || tpot > 0 && !(v["tpot_p99_ms"] > 0 && v["tpot_p99_ms"] <= tpot) {
			continue
		}
		k := key{x.Model, x.Workload}
		if j, ok := best[k]; !ok || v["output_throughput"] > rows[j].Metrics["output_throughput"] {
			best[k] = i
		}
	}
	var board []row
	for _, i := range best {
		board = append(board, toRow(&rs[i], rows[i].Metrics))
	}
	slices.SortFunc(board, func(a, b row) int {
		av, aok := a.Values[sortBy]
		bv, bok := b.Values[sortBy]
		switch {
		case aok != bok:
			if aok {
				return -1
			}
			return 1
		case av != bv:
			if higher {
				return cmp.Compare(bv, av)
			}
			return cmp.Compare(av, bv)
		}
		return cmp.Compare(a.Label, b.Label)
	})
	daily, err := p.s.o.Store.DailyStats(ctx)
	if err != nil {
		p.fail(w, err)
		return
	}
	trend := map[string][]chartPoint{}
	days := map[string]int{}
	for _, d := range daily {
		if f.Model != "" && d.Model != f.Model {
			continue
		}
		if _, ok := days[d.Day]; !ok {
			days[d.Day] = len(days)
		}
	}
	for _, d := range daily {
		if v, ok := d.MeanOutputThroughput.Get(); ok && (f.Model == "" || d.Model == f.Model) {
			name := d.Model + " · " + d.Hardware + " · " + d.Framework + " · " + d.Quantization
			trend[name] = append(trend[name], chartPoint{X: float64(days[d.Day]), Y: v, Mark: mark(d.Provenance),
				Label: fmt.Sprintf("%s %s: %.4g output tok/s (mean of %d results)", d.Day, name, v, d.Results)})
		}
	}
	var series []chartSeries
	for _, n := range slices.Sorted(maps.Keys(trend)) {
		series = append(series, chartSeries{Name: n, Points: trend[n]})
	}
	chart := layout("trends", "Daily mean output throughput", "day (index since the first stored day)", "output tok/s", series)
	p.render(w, "overview.html", map[string]any{
		"Title": "Leaderboard", "Board": board, "Workloads": slices.Sorted(maps.Keys(workloads)), "Query": q.v,
		"Workload": f.Workload, "Model": f.Model, "Provenance": string(f.Provenance), "TTFT": q.str("ttft_p99_ms"), "TPOT": q.str("tpot_p99_ms"),
		"Sort": sortBy, "Trend": chart, "Days": slices.Sorted(maps.Keys(days)),
		"SortLink": func(col string) string {
			v := url.Values{}
			maps.Copy(v, q.v)
			v.Set("sort", col)
			return "/?" + v.Encode()
		},
	})
}

func (p *pages) model(w http.ResponseWriter, r *http.Request) {
	q, err := parseParams(r.URL.RawQuery, "workload")
	if err != nil {
		p.fail(w, err)
		return
	}
	name := r.PathValue("model")
	ctx := r.Context()
	rs, err := p.s.o.Store.Results(ctx, store.Filter{Model: name, Workload: q.str("workload"), Newest: true})
	if err != nil {
		p.fail(w, err)
		return
	}
	if len(rs) == 0 {
		p.fail(w, notFound{fmt.Sprintf("the store has no results of model %q", name)})
		return
	}
	rows, err := p.s.rows(ctx, rs)
	if err != nil {
		p.fail(w, err)
		return
	}
	perGPU, latency := map[string][]chartPoint{}, map[string][]chartPoint{}
	var table []row
	for i := range rs {
		res, v := &rs[i], rows[i].Metrics
		table = append(table, toRow(res, v))
		c := res.Config
		stack := c.Hardware + " · " + c.Framework + " · " + c.Quantization + " · " + c.Workload
		if res.Engine != "" {
			stack += " @" + res.Engine
		}
		tput, okT := v["output_throughput"]
		gpus := float64(max(c.GPUs, 1))
		label := fmt.Sprintf("%s: %.4g output tok/s", res.Label(), tput)
		if m := mark(res.Provenance.Kind); m != "" {
			label += " [" + m + "]"
		}
		if tpot, ok := v["tpot_p50_ms"]; ok && okT && tpot > 0 {
			perGPU[stack] = append(perGPU[stack], chartPoint{X: 1000 / tpot, Y: tput / gpus, Label: label, Mark: mark(res.Provenance.Kind)})
		}
		if e2e, ok := v["e2e_p50_ms"]; ok && okT {
			latency[stack] = append(latency[stack], chartPoint{X: tput, Y: e2e, Label: label, Mark: mark(res.Provenance.Kind)})
		}
	}
	toSeries := func(m map[string][]chartPoint) []chartSeries {
		var out []chartSeries
		for _, n := range slices.Sorted(maps.Keys(m)) {
			out = append(out, chartSeries{Name: n, Points: m[n]})
		}
		return out
	}
	p.render(w, "model.html", map[string]any{
		"Title": name, "Model": name, "Rows": table, "Workload": q.str("workload"),
		"PerGPU":  layout("per-gpu", "Throughput per GPU against interactivity", "interactivity (tok/s per user = 1000 / TPOT P50)", "output tok/s per GPU", toSeries(perGPU)),
		"Latency": layout("latency", "Latency against throughput", "output tok/s", "E2E latency P50 (ms)", toSeries(latency)),
	})
}

func (p *pages) recommend(w http.ResponseWriter, r *http.Request) {
	q, err := parseParams(r.URL.RawQuery, recommendParams...)
	if err != nil {
		p.fail(w, err)
		return
	}
	data := map[string]any{"Title": "Recommend", "Query": q.v, "Policies": slices.Sorted(maps.Keys(p.s.o.Policies)),
		"Workloads": slices.Sorted(maps.Keys(p.s.o.Set.Workloads))}
	if q.str("workload") != "" {
		rec, err := p.s.recommend(r, q)
		if !p.answer(w, data, "Rec", rec, err) {
			return
		}
	}
	p.render(w, "recommend.html", data)
}

func (p *pages) run(w http.ResponseWriter, r *http.Request) {
	if _, err := parseParams(r.URL.RawQuery); err != nil {
		p.fail(w, err)
		return
	}
	ctx := r.Context()
	info, err := p.s.run(r, params{})
	if err != nil {
		p.fail(w, err)
		return
	}
	run := info.(RunInfo)
	rs, err := p.s.o.Store.Results(ctx, store.Filter{RunID: run.Run.ID})
	if err != nil {
		p.fail(w, err)
		return
	}
	var table []row
	for i := range rs {
		table = append(table, toRow(&rs[i], rs[i].Values()))
	}
	fails, err := p.s.o.Store.Failures(ctx, run.Run.ID)
	if err != nil {
		p.fail(w, err)
		return
	}
	p.render(w, "run.html", map[string]any{"Title": "Run " + run.Run.ID, "Run": run, "Rows": table, "Failures": fails})
}

func (p *pages) compare(w http.ResponseWriter, r *http.Request) {
	q, err := parseParams(r.URL.RawQuery, "a", "b", "threshold", "alpha")
	if err != nil {
		p.fail(w, err)
		return
	}
	runs, err := p.s.o.Store.Runs(r.Context(), "")
	if err != nil {
		p.fail(w, err)
		return
	}
	slices.Reverse(runs)
	data := map[string]any{"Title": "Compare", "Query": q.v, "Runs": runs}
	if q.str("a") != "" || q.str("b") != "" {
		c, err := p.s.compare(r, q)
		if !p.answer(w, data, "Cmp", c, err) {
			return
		}
	}
	p.render(w, "compare.html", data)
}

// answer puts a form's result in data under key, or the user's mistake (a
// bad request, something not found) under Error for the form to show; any
// other error fails the page, and answer reports false.
func (p *pages) answer(w http.ResponseWriter, data map[string]any, key string, v any, err error) bool {
	if err == nil {
		data[key] = v
		return true
	}
	var br badRequest
	var nf notFound
	if !asErr(err, &br) && !asErr(err, &nf) {
		p.fail(w, err)
		return false
	}
	data["Error"] = err.Error()
	return true
}

// pageAnswer is a page as the cache keeps it.
type pageAnswer struct {
	Body string `json:"body"`
}

// uncached carries an answer that is not kept (an error page) past the cache.
type uncached struct{ c *capture }

func (uncached) Error() string { return "page not cached" }

// capture is a ResponseWriter that keeps what a page handler writes.
type capture struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (c *capture) Header() http.Header         { return c.h }
func (c *capture) WriteHeader(code int)        { c.code = code }
func (c *capture) Write(b []byte) (int, error) { return c.body.Write(b) }

// cached reads a page through the cache, as the API's reads are: a page
// that drew (200) is kept under every campaign's namespace, which any run's
// invalidation empties; an error page is sent and not kept.
func (p *pages) cached(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if p.s.reader.c == nil {
			h(w, r)
			return
		}
		b, err := p.s.reader.read(r.Context(), "", "page:"+r.URL.Path+"?"+r.URL.RawQuery, func() (any, error) {
			c := &capture{h: http.Header{}, code: http.StatusOK}
			h(c, r)
			if c.code != http.StatusOK {
				return nil, uncached{c}
			}
			return pageAnswer{Body: c.body.String()}, nil
		})
		var u uncached
		switch {
		case asErr(err, &u):
			maps.Copy(w.Header(), u.c.h)
			w.WriteHeader(u.c.code)
			w.Write(u.c.body.Bytes())
			return
		case err != nil:
			p.fail(w, err)
			return
		}
		var a pageAnswer
		if err := json.Unmarshal(b, &a); err != nil {
			p.fail(w, err)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, a.Body)
	}
}
