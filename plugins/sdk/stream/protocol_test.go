package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// exchange is one recorded response from testdata.
type exchange struct {
	status int
	header http.Header
	body   []byte
}

// loadExchange reads a testdata txtar file: comment lines, a "response"
// section with the status line and headers, and a "body" section holding
// the exact body bytes up to the end of the file.
func loadExchange(t testing.TB, name string) exchange {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	const respMark, bodyMark = "-- response --\n", "\n-- body --\n"
	i := bytes.Index(b, []byte(respMark))
	k := bytes.Index(b, []byte(bodyMark))
	if i < 0 || k < i {
		t.Fatalf("%s: want a response and a body section", name)
	}
	ex := exchange{header: http.Header{}, body: b[k+len(bodyMark):]}
	lines := strings.Split(string(b[i+len(respMark):k]), "\n")
	f := strings.Fields(lines[0])
	if len(f) < 2 {
		t.Fatalf("%s: bad status line %q", name, lines[0])
	}
	if ex.status, err = strconv.Atoi(f[1]); err != nil {
		t.Fatalf("%s: bad status line %q", name, lines[0])
	}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("%s: bad header line %q", name, l)
		}
		ex.header.Add(k, strings.TrimSpace(v))
	}
	return ex
}

// sent is what the replay server received.
type sent struct {
	path   string
	header http.Header
	body   map[string]any
}

// replay serves ex, writing the body in flushed pieces of the given size
// (0: all at once).
func replay(ex exchange, piece int, got chan<- sent) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var s sent
		s.path, s.header = r.URL.Path, r.Header.Clone()
		json.NewDecoder(r.Body).Decode(&s.body)
		select {
		case got <- s:
		default:
		}
		for k, v := range ex.header {
			w.Header()[k] = v
		}
		w.WriteHeader(ex.status)
		rc := http.NewResponseController(w)
		if piece <= 0 {
			piece = len(ex.body)
		}
		for off := 0; off < len(ex.body); off += piece {
			if _, err := w.Write(ex.body[off:min(off+piece, len(ex.body))]); err != nil {
				return
			}
			rc.Flush()
		}
	}
}

type want struct {
	class        Class
	status       int
	text         string
	clientTokens int
	prompt       int
	completion   int
	finish       string
	msg          string // substring of Error.Msg
	retryAfter   time.Duration
}

var protocolTests = []struct {
	file string
	api  API
	want want
}{
	{"vllm-completions.txtar", OpenAICompletions, want{text: " Paris. It is also the largest city", clientTokens: 8, prompt: 6, completion: 8, finish: "length"}},
	{"keepalive-comments.txtar", OpenAICompletions, want{text: " Paris. It is also the largest city", clientTokens: 8, prompt: 6, completion: 8, finish: "length"}},
	{"vllm-chat.txtar", OpenAIChat, want{text: "Hello! How can I help?", clientTokens: 7, prompt: 12, completion: 7, finish: "stop"}},
	{"crlf.txtar", OpenAIChat, want{text: "Hello! How can I help?", clientTokens: 7, prompt: 12, completion: 7, finish: "stop"}},
	{"vllm-chat-reasoning.txtar", OpenAIChat, want{text: "Okay, the user greets.Hi!", clientTokens: 8, prompt: 9, completion: 8, finish: "stop"}},
	{"lmdeploy-chat.txtar", OpenAIChat, want{text: "Hello! I'm InternLM (书生·浦语)", clientTokens: 11, prompt: 20, completion: 11, finish: "length"}},
	{"ollama-completions.txtar", OpenAICompletions, want{text: "The sky is blue because of Rayleigh scattering.", clientTokens: 9, prompt: 31, completion: 10, finish: "stop"}},
	{"tgi-generate_stream.txtar", TGIGenerate, want{text: " Deep learning is a subset of machine learning", clientTokens: 8, prompt: 5, completion: 8, finish: "length"}},
	{"tgi-eos.txtar", TGIGenerate, want{text: "Yes.", clientTokens: 2, prompt: 12, completion: 3, finish: "eos_token"}},
	{"sglang-completions.txtar", OpenAICompletions, want{text: " Paris. It is also the largest city", clientTokens: 8, prompt: 6, completion: 8, finish: "length"}},
	{"sglang-chat.txtar", OpenAIChat, want{text: "Hello! How can I help?", clientTokens: 7, prompt: 12, completion: 7, finish: "length"}},
	{"trtllm-completions.txtar", OpenAICompletions, want{text: " Paris. It is also the largest city", clientTokens: 8, prompt: 6, completion: 8, finish: "length"}},
	{"trtllm-chat.txtar", OpenAIChat, want{text: "Hello! How can I help?", clientTokens: 7, prompt: 12, completion: 7, finish: "length"}},

	{"vllm-stream-error.txtar", OpenAICompletions, want{class: StreamError, text: " Paris.", clientTokens: 2, prompt: -1, completion: -1, msg: "BadRequestError: Sampling failed"}},
	{"openai-stream-error.txtar", OpenAIChat, want{class: StreamError, text: "Hello!", clientTokens: 2, prompt: -1, completion: -1, msg: "server_error: The server had an error"}},
	{"sglang-stream-error.txtar", OpenAICompletions, want{class: StreamError, prompt: -1, completion: -1, msg: "BadRequestError: The input (8300 tokens) is longer than the model's context length (8192 tokens)."}},
	{"sglang-http-400.txtar", OpenAICompletions, want{class: BadRequest, status: 400, prompt: -1, completion: -1, msg: "Prompt cannot be empty or whitespace only"}},
	{"trtllm-http-400.txtar", OpenAIChat, want{class: BadRequest, status: 400, prompt: -1, completion: -1, msg: "should not exceed max_num_tokens (8191)"}},
	{"tgi-error-event.txtar", TGIGenerate, want{class: StreamError, text: " Deep learning is", clientTokens: 3, prompt: -1, completion: -1, msg: "generation: Request failed during generation: Server error: CUDA out of memory"}},
	{"tgi-truncated.txtar", TGIGenerate, want{class: Protocol, text: " Deep learning", clientTokens: 2, prompt: -1, completion: -1, msg: "before the final event"}},
	{"http-400-json.txtar", OpenAIChat, want{class: BadRequest, status: 400, prompt: -1, completion: -1, msg: "This model's maximum context length is 4096 tokens"}},
	{"http-429-retry-after.txtar", OpenAICompletions, want{class: RateLimited, status: 429, prompt: -1, completion: -1, msg: "Rate limit reached", retryAfter: 2 * time.Second}},
	{"http-503.txtar", TGIGenerate, want{class: Unavailable, status: 503, prompt: -1, completion: -1, msg: "no healthy upstream", retryAfter: 5 * time.Second}},
	{"http-200-json.txtar", OpenAICompletions, want{class: Protocol, prompt: -1, completion: -1, msg: "expected text/event-stream, got application/json"}},
	{"malformed-sse.txtar", OpenAICompletions, want{class: Protocol, prompt: -1, completion: -1, msg: "no SSE event"}},
	{"truncated-json-chunk.txtar", OpenAICompletions, want{class: Protocol, text: " Paris.", clientTokens: 2, prompt: -1, completion: -1, msg: "invalid JSON chunk"}},
	{"missing-done.txtar", OpenAICompletions, want{class: Protocol, text: " Paris. It is also the largest city", clientTokens: 8, prompt: 6, completion: 8, finish: "length", msg: "without data: [DONE]"}},
	{"eof-mid-event.txtar", OpenAICompletions, want{class: Protocol, text: " Paris. It", clientTokens: 3, prompt: -1, completion: -1, msg: "mid-event"}},
}

var apiPaths = map[API]string{
	OpenAICompletions: "/v1/completions",
	OpenAIChat:        "/v1/chat/completions",
	TGIGenerate:       "/generate_stream",
}

func TestProtocol(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) != len(protocolTests) {
		t.Errorf("%d testdata files but %d protocol tests", len(files), len(protocolTests))
	}
	for _, tt := range protocolTests {
		ex := loadExchange(t, tt.file)
		for _, piece := range []int{0, 1, 7, 64} {
			t.Run(fmt.Sprintf("%s/piece=%d", tt.file, piece), func(t *testing.T) {
				got := make(chan sent, 1)
				srv := httptest.NewServer(replay(ex, piece, got))
				defer srv.Close()
				c := NewClient(srv.URL + "/")
				defer c.CloseIdleConnections()
				res, err := c.Do(context.Background(), Request{API: tt.api, Model: "m", Prompt: "p", MaxTokens: 8, IdleTimeout: 5 * time.Second})
				checkResult(t, res, err, tt.want)
				s := <-got
				if s.path != apiPaths[tt.api] {
					t.Errorf("request went to %s, want %s", s.path, apiPaths[tt.api])
				}
			})
		}
	}
}

func checkResult(t *testing.T, res Result, err error, w want) {
	t.Helper()
	if w.status == 0 {
		w.status = 200
	}
	var e *Error
	if w.class == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
	} else {
		if !errors.As(err, &e) {
			t.Fatalf("got error %v (%T), want *Error of class %s", err, err, w.class)
		}
		if e.Class != w.class {
			t.Errorf("class %s (%v), want %s", e.Class, err, w.class)
		}
		if !strings.Contains(e.Msg, w.msg) {
			t.Errorf("Msg %q does not contain %q", e.Msg, w.msg)
		}
		if e.RetryAfter != w.retryAfter {
			t.Errorf("RetryAfter %v, want %v", e.RetryAfter, w.retryAfter)
		}
		if e.Status != w.status {
			t.Errorf("Error.Status %d, want %d", e.Status, w.status)
		}
		if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "http://") {
			t.Errorf("Error() = %q: want one line naming the endpoint", msg)
		}
	}
	if res.Status != w.status {
		t.Errorf("Status %d, want %d", res.Status, w.status)
	}
	if res.Text != w.text {
		t.Errorf("Text %q, want %q", res.Text, w.text)
	}
	if res.ClientTokens != w.clientTokens {
		t.Errorf("ClientTokens %d, want %d", res.ClientTokens, w.clientTokens)
	}
	if res.PromptTokens != w.prompt || res.CompletionTokens != w.completion {
		t.Errorf("usage %d/%d, want %d/%d", res.PromptTokens, res.CompletionTokens, w.prompt, w.completion)
	}
	if res.FinishReason != w.finish {
		t.Errorf("FinishReason %q, want %q", res.FinishReason, w.finish)
	}
	checkTimes(t, res)
}

// checkTimes asserts the timing invariants of DESIGN decision 9.
func checkTimes(t *testing.T, res Result) {
	t.Helper()
	if res.Start.IsZero() {
		t.Errorf("Start not set")
	}
	if len(res.ChunkTimes) != res.ClientTokens {
		t.Fatalf("%d chunk times for %d tokens", len(res.ChunkTimes), res.ClientTokens)
	}
	if res.ClientTokens == 0 {
		if !res.FirstToken.IsZero() || !res.End.IsZero() {
			t.Errorf("FirstToken/End set without content")
		}
		return
	}
	if !res.FirstToken.Equal(res.ChunkTimes[0]) || !res.End.Equal(res.ChunkTimes[len(res.ChunkTimes)-1]) {
		t.Errorf("FirstToken/End differ from the first/last chunk time")
	}
	if res.FirstToken.Before(res.Start) {
		t.Errorf("FirstToken before Start")
	}
	prev := res.FirstToken
	for i, ct := range res.ChunkTimes {
		if ct.Before(prev) || ct.After(res.End) {
			t.Errorf("chunk time %d out of order", i)
		}
		prev = ct
	}
}

func TestRequestBody(t *testing.T) {
	seed := int64(42)
	tests := []struct {
		req  Request
		want string
	}{
		{Request{API: OpenAICompletions, Model: "m", Prompt: "hi", MaxTokens: 16},
			`{"max_tokens":16,"model":"m","prompt":"hi","stream":true,"stream_options":{"include_usage":true},"temperature":0}`},
		{Request{API: OpenAICompletions, Prompt: "", IgnoreEOS: true, Temperature: 0.7, Seed: &seed},
			`{"ignore_eos":true,"prompt":"","seed":42,"stream":true,"stream_options":{"include_usage":true},"temperature":0.7}`},
		{Request{API: OpenAIChat, Model: "m", Prompt: "hi \"there\"", MaxTokens: 4, IgnoreEOS: true},
			`{"ignore_eos":true,"max_tokens":4,"messages":[{"content":"hi \"there\"","role":"user"}],"model":"m","stream":true,"stream_options":{"include_usage":true},"temperature":0}`},
		{Request{API: TGIGenerate, Model: "ignored", Prompt: "hi", MaxTokens: 8, IgnoreEOS: true},
			`{"inputs":"hi","parameters":{"details":true,"max_new_tokens":8}}`},
		{Request{API: TGIGenerate, Prompt: "hi", MaxTokens: 8, Temperature: 0.5, Seed: &seed},
			`{"inputs":"hi","parameters":{"details":true,"max_new_tokens":8,"seed":42,"temperature":0.5}}`},
	}
	for _, tt := range tests {
		ex := loadExchange(t, "vllm-completions.txtar")
		if tt.req.API == TGIGenerate {
			ex = loadExchange(t, "tgi-generate_stream.txtar")
		}
		got := make(chan sent, 1)
		srv := httptest.NewServer(replay(ex, 0, got))
		c := NewClient(srv.URL)
		tt.req.Headers = map[string]string{"Authorization": "Bearer k"}
		if _, err := c.Do(context.Background(), tt.req); err != nil {
			t.Errorf("%+v: %v", tt.req, err)
		}
		s := <-got
		b, _ := json.Marshal(s.body) // map keys come out sorted
		if string(b) != tt.want {
			t.Errorf("%s body\n got %s\nwant %s", tt.req.API, b, tt.want)
		}
		if s.header.Get("Authorization") != "Bearer k" || s.header.Get("Accept") != "text/event-stream" ||
			s.header.Get("Content-Type") != "application/json" || s.header.Get("Accept-Encoding") != "" {
			t.Errorf("headers %v", s.header)
		}
		c.CloseIdleConnections()
		srv.Close()
	}
}

func TestBadClientInput(t *testing.T) {
	for _, tc := range []struct {
		base string
		req  Request
	}{
		{"http://127.0.0.1:1", Request{API: "grpc"}},
		{"127.0.0.1:8000", Request{API: OpenAIChat}},
		{"http://[::1", Request{API: OpenAIChat}},
		{"http://127.0.0.1:1", Request{API: OpenAIChat, Temperature: nan()}},
	} {
		_, err := NewClient(tc.base).Do(context.Background(), tc.req)
		if ClassOf(err) != BadRequest || Retryable(err) {
			t.Errorf("%s %+v: got %v, want a BadRequest error", tc.base, tc.req, err)
		}
	}
}

func nan() float64 { z := 0.0; return z / z }

// idleServer sends headers, then optionally some tokens, then either
// keep-alive comments or nothing, until the client goes away.
func idleServer(tokens int, pings bool, headers bool) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Reading the body lets the server notice the client going away.
		io.Copy(io.Discard, r.Body)
		rc := http.NewResponseController(w)
		if headers {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(200)
			for range tokens {
				io.WriteString(w, `data: {"choices":[{"text":"x"}]}`+"\n\n")
			}
			rc.Flush()
		}
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
				if pings && headers {
					io.WriteString(w, ": ping\n\n")
					rc.Flush()
				}
			}
		}
	}))
}

func TestIdleTimeout(t *testing.T) {
	const idle = 200 * time.Millisecond
	for _, tc := range []struct {
		name           string
		tokens         int
		pings, headers bool
	}{
		{"no headers", 0, false, false},
		{"silent after headers", 0, false, true},
		{"keep-alive comments only", 0, true, true},
		{"stall after tokens", 3, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := idleServer(tc.tokens, tc.pings, tc.headers)
			defer srv.Close()
			c := NewClient(srv.URL)
			defer c.CloseIdleConnections()
			start := time.Now()
			res, err := c.Do(context.Background(), Request{API: OpenAICompletions, IdleTimeout: idle})
			el := time.Since(start)
			if ClassOf(err) != Timeout || !Retryable(err) {
				t.Fatalf("got %v, want a retryable Timeout", err)
			}
			if el < idle || el > idle+time.Second {
				t.Errorf("took %v with idle timeout %v", el, idle)
			}
			if res.ClientTokens != tc.tokens {
				t.Errorf("ClientTokens %d, want %d", res.ClientTokens, tc.tokens)
			}
			checkTimes(t, res)
		})
	}
}

// A stream slower than nothing-at-all but with every gap under the idle
// timeout must succeed: the watchdog re-arms instead of firing.
func TestIdleTimeoutSteadyStream(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for range 8 {
			io.WriteString(w, `data: {"choices":[{"text":"x"}]}`+"\n\n")
			rc.Flush()
			time.Sleep(40 * time.Millisecond)
		}
		io.WriteString(w, "data: [DONE]\n\n")
	}))
	defer srv.Close()
	c := NewClient(srv.URL)
	defer c.CloseIdleConnections()
	res, err := c.Do(context.Background(), Request{API: OpenAICompletions, IdleTimeout: 120 * time.Millisecond})
	if err != nil || res.ClientTokens != 8 {
		t.Fatalf("got %d tokens, %v", res.ClientTokens, err)
	}
	if gap := res.End.Sub(res.FirstToken); gap < 250*time.Millisecond {
		t.Errorf("stream lasted %v, want about 280ms", gap)
	}
}

// A server that keeps the connection open after [DONE] costs a short grace,
// not the idle timeout, and the result stands.
func TestOpenAfterDone(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, `data: {"choices":[{"text":"x"}]}`+"\n\ndata: [DONE]\n\n")
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	c := NewClient(srv.URL)
	defer c.CloseIdleConnections()
	start := time.Now()
	res, err := c.Do(context.Background(), Request{API: OpenAICompletions, IdleTimeout: 10 * time.Second})
	if err != nil || res.Text != "x" {
		t.Fatalf("got %q, %v", res.Text, err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %v", el)
	}
}

func TestContext(t *testing.T) {
	srv := idleServer(2, true, true)
	defer srv.Close()
	c := NewClient(srv.URL)
	defer c.CloseIdleConnections()

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	res, err := c.Do(ctx, Request{API: OpenAICompletions})
	if ClassOf(err) != Canceled || Retryable(err) {
		t.Errorf("cancel: got %v, want Canceled", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("cancel took %v", el)
	}
	if res.ClientTokens != 2 {
		t.Errorf("partial result lost: %d tokens", res.ClientTokens)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = c.Do(ctx, Request{API: OpenAICompletions})
	if ClassOf(err) != Timeout || !Retryable(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: got %v, want Timeout", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err = c.Do(ctx, Request{API: OpenAICompletions}); ClassOf(err) != Canceled {
		t.Errorf("canceled before start: got %v", err)
	}
}

// hijackServer answers with raw bytes and then closes the connection;
// reset makes the close send RST.
func hijackServer(raw string, reset bool) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		buf.WriteString(raw)
		buf.Flush()
		if tc, ok := conn.(*net.TCPConn); ok && reset {
			tc.SetLinger(0)
		}
		conn.Close()
	}))
}

func TestConnectionErrors(t *testing.T) {
	chunk := func(s string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(s), s) }
	head := "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
	mid := head + chunk(`data: {"choices":[{"text":"a"}]}`+"\n\n") + chunk(`data: {"choices":[{"text":"b"}]}`+"\n\ndata: {\"cho")
	for _, tc := range []struct {
		name   string
		raw    string
		reset  bool
		tokens int
	}{
		{"closed before headers", "", false, 0},
		{"reset before headers", "", true, 0},
		{"closed mid-stream", mid, false, 2},
		{"reset mid-stream", mid, true, 2},
		{"closed in headers", "HTTP/1.1 200 OK\r\nContent-Ty", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := hijackServer(tc.raw, tc.reset)
			defer srv.Close()
			c := NewClient(srv.URL)
			defer c.CloseIdleConnections()
			res, err := c.Do(context.Background(), Request{API: OpenAICompletions})
			if ClassOf(err) != Connection || !Retryable(err) {
				t.Fatalf("got %v, want a retryable Connection error", err)
			}
			if res.ClientTokens != tc.tokens {
				t.Errorf("ClientTokens %d, want %d", res.ClientTokens, tc.tokens)
			}
			checkTimes(t, res)
		})
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	_, err := NewClient("http://"+addr).Do(context.Background(), Request{API: TGIGenerate})
	if ClassOf(err) != Connection || !Retryable(err) {
		t.Errorf("refused: got %v", err)
	}
}

func TestEventTooLarge(t *testing.T) {
	big := `data: {"choices":[{"text":"` + strings.Repeat("x", 1000) + `"}]}` + "\n\ndata: [DONE]\n\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, big)
	}))
	defer srv.Close()
	c := NewClient(srv.URL, WithMaxEventSize(512))
	defer c.CloseIdleConnections()
	_, err := c.Do(context.Background(), Request{API: OpenAICompletions})
	if ClassOf(err) != Protocol || !strings.Contains(err.Error(), "too large") {
		t.Errorf("got %v", err)
	}
}

// Sequential requests must reuse one connection.
func TestConnectionReuse(t *testing.T) {
	ex := loadExchange(t, "vllm-completions.txtar")
	srv := httptest.NewUnstartedServer(replay(ex, 64, nil))
	var conns atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := NewClient(srv.URL)
	defer c.CloseIdleConnections()
	for range 20 {
		if _, err := c.Do(context.Background(), Request{API: OpenAICompletions}); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("20 requests used %d connections", n)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		ex := loadExchange(t, "vllm-chat.txtar")
		ok := httptest.NewServer(replay(ex, 7, nil))
		defer ok.Close()
		stall := idleServer(1, true, true)
		defer stall.Close()
		reset := hijackServer("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\ndata:", true)
		defer reset.Close()
		for _, u := range []string{ok.URL, stall.URL, reset.URL} {
			c := NewClient(u)
			for range 5 {
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				c.Do(ctx, Request{API: OpenAIChat, IdleTimeout: 100 * time.Millisecond})
				cancel()
			}
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			c.Do(ctx, Request{API: OpenAIChat})
			c.CloseIdleConnections()
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"2":                             2 * time.Second,
		" 120 ":                         2 * time.Minute,
		"0":                             0,
		"-5":                            0,
		"soon":                          0,
		"99999999999":                   24 * time.Hour,
		"Fri, 27 Nov 2026 08:00:30 GMT": 30 * time.Second,
		"Fri, 27 Nov 2026 07:59:00 GMT": 0,
	} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestServerMessage(t *testing.T) {
	for body, want := range map[string]string{
		`{"error":{"message":"too long","type":"BadRequestError","code":400}}`:           "too long",
		`{"object":"error","message":"bad model","type":"NotFoundError"}`:                "bad model",
		`{"error":"Input validation error: inputs too long","error_type":"validation"}`:  "Input validation error: inputs too long",
		`{"detail":[{"loc":["body","prompt"],"msg":"field required"},{"msg":"second"}]}`: "field required; second",
		`{"detail":"Not Found"}`:                "Not Found",
		"upstream connect error\nor disconnect": "upstream connect error or disconnect",
		"":                                      "",
		`{"error":{"code":500}}`:                `{"error":{"code":500}}`,
		strings.Repeat("é", 400):                strings.Repeat("é", 256) + "...",
	} {
		if got := serverMessage([]byte(body)); got != want {
			t.Errorf("serverMessage(%.40q) = %q, want %q", body, got, want)
		}
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{Class: RateLimited, Endpoint: "http://h/v1/completions", Status: 429, Msg: "slow down", RetryAfter: 2 * time.Second}
	if got, want := e.Error(), "stream: POST http://h/v1/completions: rate limited (HTTP 429): slow down (retry after 2s)"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	e = &Error{Class: Connection, Endpoint: "http://h/generate_stream", Msg: "connection lost mid-stream", Err: io.ErrUnexpectedEOF}
	if got, want := e.Error(), "stream: POST http://h/generate_stream: connection failed: connection lost mid-stream: unexpected EOF"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if !errors.Is(e, io.ErrUnexpectedEOF) {
		t.Errorf("Unwrap lost the cause")
	}
	if Retryable(io.EOF) || Retryable(nil) || ClassOf(io.EOF) != "" {
		t.Errorf("a plain error is not retryable and has no class")
	}
	if Timeout.String() != "timeout" {
		t.Errorf("Class.String")
	}
}

// stubTransport answers every request with body, for fuzzing Do without sockets.
type stubTransport struct {
	status int
	ct     string
	body   []byte
}

func (s stubTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: s.status, Status: http.StatusText(s.status),
		Header:  http.Header{"Content-Type": {s.ct}},
		Body:    io.NopCloser(bytes.NewReader(s.body)),
		Request: r, ProtoMajor: 1, ProtoMinor: 1,
	}, nil
}

// FuzzDo feeds arbitrary bodies to Do: it must never panic, return only
// *Error, and keep the timing invariants.
func FuzzDo(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txtar")
	for _, fn := range files {
		ex := loadExchange(f, filepath.Base(fn))
		f.Add(uint8(0), uint16(ex.status), ex.body)
		f.Add(uint8(2), uint16(ex.status), ex.body)
	}
	apis := []API{OpenAICompletions, OpenAIChat, TGIGenerate}
	f.Fuzz(func(t *testing.T, api uint8, status uint16, body []byte) {
		code := int(status)%500 + 100
		c := NewClient("http://stub", WithTransport(stubTransport{code, "text/event-stream", body}), WithMaxEventSize(4096))
		res, err := c.Do(context.Background(), Request{API: apis[int(api)%len(apis)], IdleTimeout: time.Minute})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Class == "" {
				t.Fatalf("error %v (%T) is not a classified *Error", err, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error message spans lines: %q", err)
			}
		}
		checkTimes(t, res)
	})
}

// The response body is read by a bufio.Reader inside the transport; check
// that pieces of odd sizes read through a real socket parse the same as a
// whole body (guards the sse/stream seam rather than the sse package).
func TestPiecesAgree(t *testing.T) {
	ex := loadExchange(t, "lmdeploy-chat.txtar")
	var texts []string
	for _, piece := range []int{0, 1, 2, 3, 5, 11, 13} {
		srv := httptest.NewServer(replay(ex, piece, nil))
		c := NewClient(srv.URL)
		res, err := c.Do(context.Background(), Request{API: OpenAIChat})
		c.CloseIdleConnections()
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, res.Text)
	}
	for _, s := range texts[1:] {
		if s != texts[0] {
			t.Fatalf("texts differ by piece size: %q", texts)
		}
	}
}
