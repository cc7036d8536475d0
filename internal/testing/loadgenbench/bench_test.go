// Package bench measures the load generator's own overhead: client and a
// scripted server share one process, so what is measured is the SDK, not a
// model. Run with
//
//	go test -run '^$' -bench . -benchtime 1x ./internal/testing/loadgenbench/
package loadgenbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/plugins/sdk/loadgen"
	pluginpb "github.com/llmsweep/llmsweep/plugins/sdk/proto"
	"github.com/llmsweep/llmsweep/plugins/sdk/scriptserver"
	"github.com/llmsweep/llmsweep/plugins/sdk/stream"
)

const tokens = 16

// startServer answers every request with 16 tokens, with no delay, so that
// all the time measured is the client's and the server's code.
func startServer(b *testing.B) *scriptserver.Server {
	srv := scriptserver.Start(scriptserver.Script{Tokens: tokens})
	b.Cleanup(srv.Close)
	return srv
}

// spec is a benchmark of n requests with 16-token answers; the prompts keep
// loadgen's default length (128 words), so their synthesis is part of the cost.
func spec(url string, n int) *pluginpb.BenchmarkSpec {
	return &pluginpb.BenchmarkSpec{
		BaseUrl: url, ServedModel: "scripted", Requests: int32(n), Seed: 1,
		OutputTokens: &pluginpb.Distribution{Kind: "fixed", Value: tokens},
	}
}

// run calls loadgen.Run and fails the benchmark on any failed request.
func run(b *testing.B, c *stream.Client, s *pluginpb.BenchmarkSpec) ([]*pluginpb.Record, *pluginpb.Summary) {
	b.Helper()
	var recs []*pluginpb.Record
	var firstErr string
	sum, err := loadgen.Run(context.Background(), c, stream.OpenAICompletions, s, func(r *pluginpb.Record) error {
		if r.ErrorClass != "" && firstErr == "" {
			firstErr = r.ErrorClass + ": " + r.Error
		}
		if !r.Warmup {
			recs = append(recs, r)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if sum.Failed > 0 || firstErr != "" {
		b.Fatalf("%d of %d requests failed, first: %s", sum.Failed, sum.Requests, firstErr)
	}
	return recs, sum
}

// pct holds the type-7 percentiles of a sample, in µs.
type pct struct {
	n                  int
	p50, p90, p99, max float64
}

func percentiles(us []float64) pct {
	slices.Sort(us)
	if len(us) == 0 {
		return pct{}
	}
	return pct{n: len(us), p50: metrics.Quantile(us, .5), p90: metrics.Quantile(us, .9),
		p99: metrics.Quantile(us, .99), max: us[len(us)-1]}
}

func (p pct) row(name string) string {
	return fmt.Sprintf("%-26s %7d %10.1f %10.1f %10.1f %10.1f", name, p.n, p.p50, p.p90, p.p99, p.max)
}

const header = "                                 n    p50 µs     p90 µs     p99 µs     max µs"

// cpuTime is this process's user+system CPU time. Other jobs share this
// machine; CPU time per request does not depend on them, wall rates do.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// load is the machine's 1-minute load average, logged so that a noisy run
// can be told from a slow one.
func load() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// BenchmarkThroughput runs a closed loop of 20,000 streamed requests at 1,000
// concurrency per iteration, after a warmup run that opens the 1,000
// connections. The rate divides by the measured span (first send to last
// completion), as DESIGN 9 defines throughput. cpu-µs/req is the process's
// CPU time (client and server together) per request; 2 cores / cpu-µs/req is
// the rate this machine would give if nothing else ran on it.
func BenchmarkThroughput(b *testing.B) {
	const n, conc = 20000, 1000
	srv := startServer(b)
	c := stream.NewClient(srv.URL)
	defer c.CloseIdleConnections()
	warm := spec(srv.URL, conc)
	warm.Concurrency = conc
	run(b, c, warm)
	var reqs, chunks int64
	var span, cpu time.Duration
	for b.Loop() {
		s := spec(srv.URL, n)
		s.Concurrency = conc
		c0 := cpuTime()
		_, sum := run(b, c, s)
		cpu += cpuTime() - c0
		reqs += int64(sum.Succeeded)
		chunks += sum.OutputTokens
		span += time.Duration(sum.EndNs - sum.StartNs)
	}
	rps, cps := float64(reqs)/span.Seconds(), float64(chunks)/span.Seconds()
	perReq := float64(cpu.Microseconds()) / float64(reqs)
	share := cpu.Seconds() / span.Seconds() / float64(runtime.GOMAXPROCS(0))
	b.ReportMetric(rps, "req/s")
	b.ReportMetric(cps, "chunks/s")
	b.ReportMetric(perReq, "cpu-µs/req")
	b.ReportMetric(share, "cpu-share")
	b.Logf("closed loop, concurrency %d, %d requests of %d tokens (load avg %s)\n"+
		"  %.0f req/s, %.0f chunks/s (target ≥ 5000 req/s)\n"+
		"  %.0f CPU-µs per request; this process had %.0f%% of %d cores: %.0f req/s if it had them all",
		conc, reqs, tokens, load(), rps, cps, perReq, 100*share, runtime.GOMAXPROCS(0),
		float64(runtime.GOMAXPROCS(0))*1e6/perReq)
}

// stampKey carries, in a request's context, the *stamp to fill; stream.Client
// passes the context on to the transport.
type stampKey struct{}

// stamp is what the transport saw, in wall ns: when RoundTrip returned the
// response headers, the server's sent_ns of the first chunk, and when the body
// Read that completed that stamp returned.
type stamp struct{ headers, sent, read int64 }

// stampTransport fills the request's *stamp. It looks at bytes only until it
// has the stamp, so the client's path after the first chunk is untouched.
type stampTransport struct{ *http.Transport }

func (t stampTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.Transport.RoundTrip(r)
	if dst, ok := r.Context().Value(stampKey{}).(*stamp); ok && err == nil {
		dst.headers = time.Now().UnixNano()
		resp.Body = &stampBody{ReadCloser: resp.Body, dst: dst}
	}
	return resp, err
}

var sentKey = []byte(`"sent_ns":`)

type stampBody struct {
	io.ReadCloser
	dst  *stamp
	buf  []byte // what was read until the stamp was complete
	done bool
}

func (b *stampBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.done || n == 0 {
		return n, err
	}
	b.buf = append(b.buf, p[:n]...)
	if i := bytes.Index(b.buf, sentKey); i >= 0 {
		digits := b.buf[i+len(sentKey):]
		k := 0
		for k < len(digits) && '0' <= digits[k] && digits[k] <= '9' {
			k++
		}
		if k < len(digits) { // the number ended within what was read
			b.dst.sent, _ = strconv.ParseInt(string(digits[:k]), 10, 64)
			b.dst.read = time.Now().UnixNano()
			b.done, b.buf = true, nil
		}
	} else if len(b.buf) > 64<<10 {
		b.done, b.buf = true, nil
	}
	return n, err
}

// BenchmarkTTFTOverhead measures, per request, the client's first-token time
// minus the server's send stamp of that chunk: the time the SDK and the
// runtime add to TTFT. Both are wall-clock readings of time.Now() in this
// process (the server stamps UnixNano; FirstToken.UnixNano is the same clock),
// so no offset enters. The overhead is split at two client events: the
// transport returning the response headers (the server flushes them just
// before it stamps the first chunk, so this part can be negative) and the
// body Read that delivered the stamp. What comes before the first is loopback
// TCP, the Go scheduler waking net/http's read loop and handing the response
// over; after the Read comes only stream's SSE and JSON decoding of the event.
//
// Client.Do is called directly, so that each request's context can carry its
// stamp; loadgen adds nothing between Do and FirstToken. A closed loop at 16
// saturates 2 cores (the server answers at once), so the overhead there is
// mostly run-queue wait; "paced" keeps 16 workers but offers 1,000 req/s.
// A handler with no delay writes its whole stream without parking, and the
// client reads the first chunk only after the last one was written; the
// "server-yields" cases give the server a 1 µs token delay, so that it parks
// on a timer between tokens and the client can run; the gaps come to about
// 20 µs. (1 ns would not do: the timer has fired by the time the handler
// selects on it, and Go receives from it without parking.)
func BenchmarkTTFTOverhead(b *testing.B) {
	for _, tc := range []struct {
		name    string
		conc, n int
		rate    float64 // total offered rate; 0 is a closed loop
		yield   bool
	}{
		{"conc=1", 1, 2000, 0, false},
		{"conc=16", 16, 10000, 0, false},
		{"conc=16,paced=1000rps", 16, 5000, 1000, false},
		{"conc=1000", 1000, 20000, 0, false},
		{"conc=1,server-yields", 1, 2000, 0, true},
		{"conc=16,server-yields", 16, 10000, 0, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			script := scriptserver.Script{Tokens: tokens}
			if tc.yield {
				script.Delay = time.Microsecond
			}
			srv := scriptserver.Start(script)
			defer srv.Close()
			c := stream.NewClient(srv.URL, stream.WithTransport(stampTransport{stream.NewTransport()}))
			defer c.CloseIdleConnections()
			req := stream.Request{API: stream.OpenAICompletions, Model: "scripted", MaxTokens: tokens,
				Prompt: strings.Repeat("word ", 128)}
			type sample struct{ total, toHeaders, toRead, parse float64 }
			// doAll sends n requests from conc workers, each worker
			// starting its k-th request at start + (k·conc + w)/rate
			// when paced.
			doAll := func(n int, rate float64) []sample {
				out := make([]sample, n)
				var wg sync.WaitGroup
				var mu sync.Mutex
				var firstErr error
				start := time.Now()
				for w := range tc.conc {
					wg.Go(func() {
						for i := w; i < n; i += tc.conc {
							if rate > 0 {
								time.Sleep(time.Until(start.Add(time.Duration(float64(i) / rate * 1e9))))
							}
							var st stamp
							res, err := c.Do(context.WithValue(context.Background(), stampKey{}, &st), req)
							if err == nil && (st.sent == 0 || res.FirstToken.IsZero()) {
								err = fmt.Errorf("no stamp (%+v) or no first token", st)
							}
							if err != nil {
								mu.Lock()
								firstErr = err
								mu.Unlock()
								continue
							}
							ft := res.FirstToken.UnixNano()
							out[i] = sample{float64(ft-st.sent) / 1e3, float64(st.headers-st.sent) / 1e3,
								float64(st.read-st.headers) / 1e3, float64(ft-st.read) / 1e3}
						}
					})
				}
				wg.Wait()
				if firstErr != nil {
					b.Fatal(firstErr)
				}
				return out
			}
			doAll(max(tc.conc, 200), 0) // open the connections, fill the pools
			var total, toHeaders, toRead, parse []float64
			for b.Loop() {
				for _, x := range doAll(tc.n, tc.rate) {
					total, toHeaders = append(total, x.total), append(toHeaders, x.toHeaders)
					toRead, parse = append(toRead, x.toRead), append(parse, x.parse)
				}
			}
			pt, ph, pr, pp := percentiles(total), percentiles(toHeaders), percentiles(toRead), percentiles(parse)
			b.ReportMetric(pt.p50, "p50-µs")
			b.ReportMetric(pt.p99, "p99-µs")
			b.Logf("TTFT overhead (client first token − server send stamp), %s, target p50 ≤ 100 µs (load avg %s)\n%s\n%s\n%s\n%s\n%s",
				tc.name, load(), header, pt.row("overhead"), ph.row("  stamp → headers out"),
				pr.row("  headers → body read"), pp.row("  body read → FirstToken"))
			if pt.n > 0 && total[0] < 0 { // total is sorted now
				b.Errorf("negative overhead %.1f µs: the two stamps are not on one clock", total[0])
			}
		})
	}
}

// lagsOf returns StartNs − ScheduledNs of each record, in µs.
func lagsOf(recs []*pluginpb.Record) []float64 {
	out := make([]float64, 0, len(recs))
	for _, r := range recs {
		out = append(out, float64(r.StartNs-r.ScheduledNs)/1e3)
	}
	return out
}

// vegetaLags attacks the server with vegeta at a constant rate for n hits and
// returns each hit's send lag in µs.
//
// vegeta's ConstantPacer schedules hit k (0-based) at began + (k+1)·(1s/rate):
// Pace(elapsed, hits) waits (hits+1)·interval − elapsed. A worker stamps
// Result.Timestamp = began + time.Since(began) as soon as it takes the tick,
// and assigns Result.Seq in the same critical section, so Seq orders the
// sends as Timestamp does: hit Seq=k is the k-th send, due at
// began + (k+1)/rate. began is private; the wrapping pacer recovers it on its
// first call as now − elapsed (tens of ns late, so lags err low by as much),
// and stops the attack after n hits.
func vegetaLags(b *testing.B, url string, rate, n int) []float64 {
	pacer := &firstN{ConstantPacer: vegeta.ConstantPacer{Freq: rate, Per: time.Second}, n: uint64(n)}
	body := fmt.Sprintf(`{"model":"scripted","prompt":%q,"max_tokens":%d,"stream":true,"stream_options":{"include_usage":true},"temperature":0}`,
		strings.Repeat("word ", 128), tokens)
	tgt := vegeta.NewStaticTargeter(vegeta.Target{Method: "POST", URL: url + "/v1/completions", Body: []byte(body),
		Header: http.Header{"Content-Type": {"application/json"}, "Accept": {"text/event-stream"}}})
	type hit struct {
		seq uint64
		ts  time.Time
	}
	hits := make([]hit, 0, n)
	var failed int
	var firstErr string
	for r := range vegeta.NewAttacker().Attack(tgt, pacer, 0, "bench") {
		if r.Error != "" || !bytes.Contains(r.Body, []byte("[DONE]")) {
			if failed++; firstErr == "" {
				firstErr = fmt.Sprintf("%d %s", r.Code, r.Error)
			}
		}
		hits = append(hits, hit{r.Seq, r.Timestamp})
	}
	if failed > 0 || len(hits) != n {
		b.Fatalf("vegeta: %d hits of %d, %d failed, first: %s", len(hits), n, failed, firstErr)
	}
	interval := time.Second / time.Duration(rate)
	out := make([]float64, 0, n)
	for _, h := range hits {
		due := pacer.began.Add(time.Duration(h.seq+1) * interval)
		out = append(out, float64(h.ts.Sub(due))/1e3)
	}
	return out
}

// firstN is a ConstantPacer that stops after n hits and notes when the
// attack began.
type firstN struct {
	vegeta.ConstantPacer
	n     uint64
	began time.Time
}

func (p *firstN) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if p.began.IsZero() {
		p.began = time.Now().Add(-elapsed)
	}
	if hits >= p.n {
		return 0, true
	}
	return p.ConstantPacer.Pace(elapsed, hits)
}

// BenchmarkPoissonLag measures how late the open loop sends: StartNs −
// ScheduledNs at 1,000 req/s, Poisson and constant, against vegeta at the
// same constant rate, same server, same process. Each iteration runs the three
// in turn, 5,000 requests each (about 15 s).
//
// Expect a p50 near 500 µs from all three: when the process is idle, Go's
// timers wait in epoll_wait, whose timeout is in whole milliseconds (sub-ms
// waits round up to 1 ms), so each send is late by up to 1 ms. vegeta stamps
// Timestamp before it builds the request; loadgen stamps Start after the
// prompt, the JSON body and the request are built, so its lag includes them.
func BenchmarkPoissonLag(b *testing.B) {
	const rate, n = 1000, 5000
	srv := startServer(b)
	c := stream.NewClient(srv.URL)
	defer c.CloseIdleConnections()
	open := func(arrival string) []float64 {
		s := spec(srv.URL, n)
		s.Arrival, s.RequestRate = arrival, rate
		s.Warmup, s.Concurrency = 200, 8 // Concurrency only sizes the warmup here
		recs, _ := run(b, c, s)
		return lagsOf(recs)
	}
	var poisson, constant, veg []float64
	for b.Loop() {
		poisson = append(poisson, open("poisson")...)
		veg = append(veg, vegetaLags(b, srv.URL, rate, n)...)
		constant = append(constant, open("constant")...)
	}
	pp, pc, pv := percentiles(poisson), percentiles(constant), percentiles(veg)
	b.ReportMetric(pp.p50, "poisson-p50-µs")
	b.ReportMetric(pp.p99, "poisson-p99-µs")
	b.ReportMetric(pc.p50, "constant-p50-µs")
	b.ReportMetric(pc.p99, "constant-p99-µs")
	b.ReportMetric(pv.p50, "vegeta-p50-µs")
	b.ReportMetric(pv.p99, "vegeta-p99-µs")
	b.ReportMetric(pv.p50/pc.p50, "vegeta/llmsweep-p50")
	b.ReportMetric(pv.p99/pc.p99, "vegeta/llmsweep-p99")
	b.Logf("send lag (actual − scheduled) at %d req/s, target poisson p99 ≤ 1000 µs (load avg %s)\n%s\n%s\n%s\n%s\n"+
		"vegeta/llmsweep (constant): p50 %.2fx, p99 %.2fx",
		rate, load(), header, pp.row("llmsweep poisson"), pc.row("llmsweep constant"), pv.row("vegeta constant"),
		pv.p50/pc.p50, pv.p99/pc.p99)
}
