// Package stream sends streaming generation requests to OpenAI-compatible
// servers (vLLM, LMDeploy, ollama, ...) and to TGI, and records when each
// piece of content arrives, for the metrics of DESIGN decision 9.
//
// A Client is meant to be shared by every request of a load generator: it
// keeps one tuned HTTP transport, and parsing a chunk allocates nothing in
// the steady state.
package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmsweep/llmsweep/plugins/sdk/sse"
)

// API selects the endpoint and the wire format of a request.
type API string

const (
	OpenAICompletions API = "openai-completions" // POST {base}/v1/completions
	OpenAIChat        API = "openai-chat"        // POST {base}/v1/chat/completions
	TGIGenerate       API = "tgi-generate"       // POST {base}/generate_stream (TGI native)
)

// DefaultIdleTimeout is the idle timeout of a Request that sets none.
const DefaultIdleTimeout = 30 * time.Second

// maxErrorBody bounds how much of a non-stream response body is read.
const maxErrorBody = 64 << 10

// Request is one generation request.
type Request struct {
	API   API
	Model string // omitted from the body when empty
	// Prompt is the completion prompt; for OpenAIChat it is sent as one user message.
	Prompt    string
	MaxTokens int  // max_tokens (TGI: max_new_tokens); omitted when <= 0
	IgnoreEOS bool // sends "ignore_eos": true (vLLM, LMDeploy); TGI has no such parameter
	// Temperature is always sent to OpenAI-style servers (0 is greedy); TGI
	// rejects 0, so it is sent there only when positive.
	Temperature float64
	Seed        *int64
	Headers     map[string]string // extra HTTP headers, e.g. Authorization
	// IdleTimeout ends the request with a Timeout error when neither the
	// response headers nor an event arrive for this long; keep-alive
	// comments do not count. 0 means DefaultIdleTimeout. The overall
	// deadline comes from the context.
	IdleTimeout time.Duration
}

// Result is what one request produced. Times are time.Now() values, so
// their differences use the monotonic clock. On error Do returns the part
// of the Result filled so far.
type Result struct {
	// Start is taken just before the request is handed to the transport,
	// so it includes connection setup when no idle connection is free.
	Start time.Time
	// FirstToken and End are the arrival times of the first and the last
	// content-bearing chunk; zero when no content arrived.
	FirstToken, End time.Time
	// ChunkTimes holds the arrival time of each content-bearing chunk, in
	// order; the inter-token latencies are its gaps.
	ChunkTimes []time.Time
	Text       string
	// ClientTokens counts content-bearing chunks (TGI: token events that
	// are not special), the client's view of the output length.
	ClientTokens int
	// PromptTokens and CompletionTokens are the server's counts (OpenAI
	// usage with stream_options.include_usage, TGI details); -1 when the
	// server did not report them.
	PromptTokens, CompletionTokens int
	FinishReason                   string
	Status                         int // HTTP status; 0 when no response arrived
}

// Client sends requests to one server. It is safe for concurrent use.
type Client struct {
	base      string
	baseErr   error
	hc        *http.Client
	tr        *http.Transport // nil when the caller supplied the transport
	maxEvent  int
	endpoints map[API]string
}

// Option configures a Client.
type Option func(*Client)

// WithTransport makes the Client send requests through rt instead of its
// own tuned transport.
func WithTransport(rt http.RoundTripper) Option {
	return func(c *Client) {
		c.hc.Transport = rt
		c.tr = nil
	}
}

// WithMaxEventSize sets the largest SSE event accepted, in bytes (default
// sse.DefaultMaxEventSize). A larger event fails the request with Protocol.
func WithMaxEventSize(n int) Option {
	return func(c *Client) { c.maxEvent = n }
}

// NewTransport returns the transport a Client uses by default: no proxy, no
// compression (it would buffer the stream), and enough idle connections per
// host that a thousand concurrent streams reuse their connections.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy: nil,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:        0, // no global limit
		MaxIdleConnsPerHost: 4096,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		// Inference servers speak HTTP/1.1; one TCP connection per
		// stream keeps a slow stream from stalling others.
		ForceAttemptHTTP2: false,
	}
}

// NewClient returns a Client for the server at baseURL, such as
// "http://127.0.0.1:8000". An invalid baseURL makes every Do fail with
// BadRequest.
func NewClient(baseURL string, opts ...Option) *Client {
	tr := NewTransport()
	c := &Client{
		base: strings.TrimRight(baseURL, "/"),
		tr:   tr,
		hc: &http.Client{
			Transport: tr,
			// A benchmark should measure the server it was pointed at.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		maxEvent: sse.DefaultMaxEventSize,
	}
	if u, err := url.Parse(c.base); err != nil {
		c.baseErr = err
	} else if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		c.baseErr = errors.New("base URL must be http:// or https:// with a host")
	}
	c.endpoints = map[API]string{
		OpenAICompletions: c.base + "/v1/completions",
		OpenAIChat:        c.base + "/v1/chat/completions",
		TGIGenerate:       c.base + "/generate_stream",
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// CloseIdleConnections closes the idle connections of the Client's transport.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// errIdle is the cancellation cause set by the watchdog.
var errIdle = errors.New("idle timeout")

// Do sends req and reads the whole stream. The error, if any, is an *Error.
func (c *Client) Do(ctx context.Context, req Request) (Result, error) {
	res := Result{PromptTokens: -1, CompletionTokens: -1}
	endpoint, ok := c.endpoints[req.API]
	if !ok {
		return res, &Error{Class: BadRequest, Endpoint: c.base, Msg: "unknown API " + strconv.Quote(string(req.API))}
	}
	if c.baseErr != nil {
		return res, &Error{Class: BadRequest, Endpoint: endpoint, Msg: "invalid base URL", Err: c.baseErr}
	}
	body, err := encodeBody(req)
	if err != nil {
		return res, &Error{Class: BadRequest, Endpoint: endpoint, Msg: "cannot encode the request", Err: err}
	}
	idle := req.IdleTimeout
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}

	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	hreq, err := http.NewRequestWithContext(rctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return res, &Error{Class: BadRequest, Endpoint: endpoint, Msg: "cannot build the request", Err: err}
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "text/event-stream")
	for k, v := range req.Headers {
		if strings.EqualFold(k, "Host") {
			hreq.Host = v // net/http ignores a Host header field
			continue
		}
		hreq.Header.Set(k, v)
	}

	s := getState()
	defer putState(s)
	s.ctx, s.rctx, s.endpoint, s.res = ctx, rctx, endpoint, &res

	res.Start = time.Now()
	w := newWatchdog(res.Start, idle, cancel)
	defer w.stop()
	s.wd = w
	resp, err := c.hc.Do(hreq)
	if err != nil {
		if e := s.ctxErr(); e != nil {
			return res, e
		}
		return res, &Error{Class: Connection, Endpoint: endpoint, Msg: "sending the request", Err: unwrapURL(err)}
	}
	defer resp.Body.Close()
	w.touch(time.Now())
	res.Status = resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return res, statusError(endpoint, resp)
	}
	if ct := resp.Header.Get("Content-Type"); notStream(ct) {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		msg := "expected text/event-stream, got " + ct
		if m := serverMessage(b); m != "" {
			msg += ": " + m
		}
		return res, &Error{Class: Protocol, Endpoint: endpoint, Status: resp.StatusCode, Msg: msg}
	}

	s.body.r = resp.Body
	s.rd.Reset(&s.body)
	s.rd.SetMaxEventSize(c.maxEvent)
	if req.MaxTokens > 0 {
		res.ChunkTimes = make([]time.Time, 0, min(req.MaxTokens, 8192))
	}
	if req.API == TGIGenerate {
		err = s.readTGI()
	} else {
		err = s.readOpenAI()
	}
	res.Text = s.text.String()
	if err != nil {
		return res, err
	}
	// Read to the end of the body so the connection goes back to the pool;
	// a server that keeps the stream open after its final event gets a
	// short grace, not the whole idle timeout.
	if s.body.err == nil {
		w.setLimit(min(idle, time.Second))
		io.Copy(io.Discard, io.LimitReader(&s.body, maxErrorBody))
	}
	return res, nil
}

// state is the per-request parsing state, pooled to keep its buffers.
type state struct {
	ctx, rctx context.Context
	endpoint  string
	res       *Result
	wd        *watchdog
	events    int // events read, to tell "not a stream" from "cut short"
	body      bodyReader
	rd        *sse.Reader
	dec       decoder
	ch        chunk
	text      strings.Builder
}

var statePool = sync.Pool{New: func() any { return &state{rd: sse.NewReader(nil)} }}

func getState() *state { return statePool.Get().(*state) }

// maxPooled bounds the scratch buffers kept in the pool, so that one huge
// chunk does not pin its memory for the life of the process.
const maxPooled = 64 << 10

func putState(s *state) {
	s.rd.Reset(nil)
	n := &state{rd: s.rd}
	if cap(s.dec.arena) <= maxPooled {
		n.dec.arena = s.dec.arena[:0]
	}
	if cap(s.ch.content) <= maxPooled {
		n.ch.content = s.ch.content[:0]
	}
	*s = *n
	statePool.Put(s)
}

// bodyReader remembers the body's read error, which tells a dropped
// connection from a stream that ended cleanly but too early.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	if err != nil {
		b.err = err
	}
	return n, err
}

func (s *state) content(now time.Time, text []byte) {
	r := s.res
	if r.ClientTokens == 0 {
		r.FirstToken = now
	}
	r.End = now
	r.ClientTokens++
	r.ChunkTimes = append(r.ChunkTimes, now)
	s.text.Write(text)
}

// next returns the next event's data with surrounding blanks trimmed.
func (s *state) next() ([]byte, time.Time, error) {
	for {
		ev, err := s.rd.Next()
		if err != nil {
			return nil, time.Time{}, err
		}
		now := time.Now()
		s.wd.touch(now)
		s.events++
		if d := bytes.TrimSpace(ev.Data); len(d) > 0 {
			return d, now, nil
		}
	}
}

func (s *state) readOpenAI() error {
	r, ch := s.res, &s.ch
	for {
		data, now, err := s.next()
		if err == io.EOF && s.events > 0 {
			return s.protocol("stream ended without data: [DONE]", nil)
		}
		if err != nil {
			return s.readErr(err)
		}
		if string(data) == "[DONE]" {
			return nil
		}
		if !ch.decode(&s.dec, data) {
			return s.protocol("invalid JSON chunk: "+quoteData(data), nil)
		}
		if ch.hasError || string(ch.object) == "error" {
			msg, typ := ch.errMsg, ch.errType
			if !ch.hasError {
				msg, typ = ch.message, ch.typ
			}
			return s.streamError(msg, typ)
		}
		if len(ch.content) > 0 {
			s.content(now, ch.content)
		}
		if ch.hasFinish && string(ch.finish) != r.FinishReason {
			r.FinishReason = string(ch.finish)
		}
		if ch.hasUsage {
			if ch.prompt >= 0 {
				r.PromptTokens = clampInt(ch.prompt)
			}
			if ch.compl >= 0 {
				r.CompletionTokens = clampInt(ch.compl)
			}
		}
	}
}

func (s *state) readTGI() error {
	r, ch := s.res, &s.ch
	for {
		data, now, err := s.next()
		if err == io.EOF && s.events > 0 {
			return s.protocol("stream ended before the final event with generated_text", nil)
		}
		if err != nil {
			return s.readErr(err)
		}
		if !ch.decode(&s.dec, data) {
			return s.protocol("invalid JSON chunk: "+quoteData(data), nil)
		}
		if ch.hasError {
			return s.streamError(ch.errMsg, ch.errorType)
		}
		if ch.hasToken && !ch.special {
			s.content(now, ch.tokenText)
		}
		if ch.hasGenerated {
			if ch.hasDetails {
				if ch.hasDetFinish {
					r.FinishReason = string(ch.detFinish)
				}
				if ch.genTokens >= 0 {
					r.CompletionTokens = clampInt(ch.genTokens)
				}
				if ch.inputLen >= 0 {
					r.PromptTokens = clampInt(ch.inputLen)
				}
			}
			return nil
		}
	}
}

func (s *state) protocol(msg string, err error) *Error {
	return &Error{Class: Protocol, Endpoint: s.endpoint, Status: s.res.Status, Msg: msg, Err: err}
}

func (s *state) streamError(msg, typ []byte) *Error {
	m := oneLine(string(msg), maxMsg)
	if m == "" {
		m = "the server sent an error without a message"
	}
	if t := oneLine(string(typ), 100); t != "" {
		m = t + ": " + m
	}
	return &Error{Class: StreamError, Endpoint: s.endpoint, Status: s.res.Status, Msg: m}
}

// readErr classifies an error met while reading the stream.
func (s *state) readErr(err error) *Error {
	if e := s.ctxErr(); e != nil {
		return e
	}
	if s.body.err != nil && s.body.err != io.EOF {
		return &Error{Class: Connection, Endpoint: s.endpoint, Status: s.res.Status, Msg: "connection lost mid-stream", Err: s.body.err}
	}
	if errors.Is(err, sse.ErrTooLarge) {
		return s.protocol("event too large", err)
	}
	if s.events == 0 && (err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF)) {
		return s.protocol("the response has no SSE event: not an event stream", nil)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return s.protocol("stream ended mid-event", nil)
	}
	return s.protocol("reading the stream", err)
}

// ctxErr returns a Timeout or Canceled error when the request's context
// is done, else nil.
func (s *state) ctxErr() *Error {
	if s.rctx.Err() == nil {
		return nil
	}
	e := &Error{Endpoint: s.endpoint, Status: s.res.Status}
	switch {
	case errors.Is(context.Cause(s.rctx), errIdle):
		e.Class, e.Msg = Timeout, "no data for "+s.wd.idle.String()
	case errors.Is(s.ctx.Err(), context.DeadlineExceeded):
		e.Class, e.Msg, e.Err = Timeout, "deadline exceeded", context.DeadlineExceeded
	default:
		e.Class, e.Msg, e.Err = Canceled, "context canceled", context.Cause(s.ctx)
	}
	return e
}

func clampInt(n int64) int {
	if n > int64(^uint(0)>>1) {
		return int(^uint(0) >> 1)
	}
	return int(n)
}

func quoteData(b []byte) string {
	const n = 200
	if len(b) > n {
		return strconv.Quote(string(b[:n])) + "..."
	}
	return strconv.Quote(string(b))
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// notStream reports whether a 2xx response's content type is clearly not
// an event stream. A missing or unusual type is given the benefit of the
// doubt: parsing it will fail soon enough.
func notStream(ct string) bool {
	if strings.HasPrefix(ct, "text/event-stream") {
		return false
	}
	ct = strings.ToLower(ct)
	return strings.Contains(ct, "json") || strings.Contains(ct, "html") || strings.Contains(ct, "xml")
}

// statusError reads a non-2xx response into an Error.
func statusError(endpoint string, resp *http.Response) *Error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &Error{Endpoint: endpoint, Status: resp.StatusCode, Msg: serverMessage(b)}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
		e.Class = RateLimited
	case code == http.StatusBadGateway || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout:
		e.Class = Unavailable
	case code >= 500:
		e.Class = ServerError
	case code >= 400:
		e.Class = BadRequest
	default:
		e.Class = Protocol
		if e.Msg == "" {
			e.Msg = "unexpected status " + resp.Status
		}
	}
	if e.Class == RateLimited || e.Class == Unavailable {
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return e
}

// retryAfter parses a Retry-After value: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(24*time.Hour/time.Second) {
			n = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}

// serverMessage finds the human-readable message in an error body: the
// OpenAI, vLLM, TGI and FastAPI shapes, or else the body's text.
func serverMessage(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return ""
	}
	var v map[string]any
	if json.Unmarshal(b, &v) == nil {
		if m := messageOf(v["error"]); m != "" {
			return m
		}
		for _, k := range []string{"message", "detail", "msg"} {
			if m := messageOf(v[k]); m != "" {
				return m
			}
		}
	}
	return oneLine(string(b), maxMsg)
}

func messageOf(v any) string {
	switch v := v.(type) {
	case string:
		return oneLine(v, maxMsg)
	case map[string]any:
		for _, k := range []string{"message", "msg", "detail"} {
			if m := messageOf(v[k]); m != "" {
				return m
			}
		}
	case []any:
		// FastAPI validation errors: [{"loc":..., "msg":...}, ...].
		var parts []string
		for _, x := range v {
			if m := messageOf(x); m != "" {
				parts = append(parts, m)
			}
		}
		return oneLine(strings.Join(parts, "; "), maxMsg)
	}
	return ""
}

// watchdog cancels the request when no sign of life arrives for its limit.
// Signs of life only store a time; the timer is re-armed when it fires
// early, so a stream of thousands of events costs one timer.
type watchdog struct {
	start  time.Time
	last   atomic.Int64 // nanoseconds after start of the last sign of life
	idle   time.Duration
	cancel context.CancelCauseFunc

	mu    sync.Mutex
	t     *time.Timer
	limit time.Duration
	done  bool
}

func newWatchdog(start time.Time, idle time.Duration, cancel context.CancelCauseFunc) *watchdog {
	w := &watchdog{start: start, idle: idle, limit: idle, cancel: cancel}
	w.mu.Lock()
	w.t = time.AfterFunc(idle, w.fire)
	w.mu.Unlock()
	return w
}

func (w *watchdog) touch(now time.Time) { w.last.Store(int64(now.Sub(w.start))) }

func (w *watchdog) fire() {
	w.mu.Lock()
	if w.done {
		w.mu.Unlock()
		return
	}
	quiet := time.Since(w.start) - time.Duration(w.last.Load())
	if quiet < w.limit {
		w.t.Reset(w.limit - quiet)
		w.mu.Unlock()
		return
	}
	w.done = true
	w.mu.Unlock()
	w.cancel(errIdle)
}

// setLimit changes the limit, counting from now.
func (w *watchdog) setLimit(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return
	}
	w.limit = d
	w.touch(time.Now())
	w.t.Reset(d)
}

func (w *watchdog) stop() {
	w.mu.Lock()
	w.done = true
	w.t.Stop()
	w.mu.Unlock()
}
