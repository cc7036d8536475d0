package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Server is an emulated OpenAI-compatible inference server on loopback. It
// answers /v1/completions and /v1/chat/completions, streamed (SSE, with
// stream_options.include_usage) or not, and /v1/models and /health, in the
// documented OpenAI wire format; its tokens come when its Scheduler says.
type Server struct {
	URL   string
	Model string // the model name it answers to

	sched   *Scheduler
	lim     Limits
	http    *http.Server
	served  chan struct{}
	ids     atomic.Int64
	created int64
}

// StartServer starts a server for model on 127.0.0.1 (addr "" picks a free port).
func StartServer(model, addr string, t Timing, lim Limits) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + ln.Addr().String(), Model: model, lim: lim, served: make(chan struct{}), created: time.Now().Unix()}
	s.sched = NewScheduler(t, lim)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /v1/models", s.models)
	mux.HandleFunc("POST /v1/completions", func(w http.ResponseWriter, r *http.Request) { s.generate(w, r, false) })
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { s.generate(w, r, true) })
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}
	go func() {
		defer close(s.served)
		_ = s.http.Serve(ln)
	}()
	return s, nil
}

// Close stops the server: open streams end at once.
func (s *Server) Close() {
	s.sched.Close()
	_ = s.http.Close()
	<-s.served
}

// Steps is how many scheduler steps the server has run.
func (s *Server) Steps() int64 { return s.sched.Steps() }

func (s *Server) models(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []map[string]any{
		{"id": s.Model, "object": "model", "created": s.created, "owned_by": "llmsweep-sim", "max_model_len": s.lim.MaxModelLen},
	}})
}

// request is the part of an OpenAI completions or chat request the emulator
// reads; other parameters are accepted and have no effect, as sampling
// parameters have none on timing.
type request struct {
	Model         string          `json:"model"`
	Prompt        json.RawMessage `json:"prompt"`
	Messages      []message       `json:"messages"`
	MaxTokens     *int            `json:"max_tokens"`
	MaxCompTokens *int            `json:"max_completion_tokens"`
	Stream        bool            `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	IgnoreEOS bool `json:"ignore_eos"`
	N         *int `json:"n"`
}

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// promptText is the prompt of a completions request (a string, a list of one
// string, or token ids, counted as they are) or the text of a chat's messages.
func (r *request) promptText(chat bool) (text string, tokens int, err error) {
	if chat {
		if len(r.Messages) == 0 {
			return "", 0, errors.New("messages: at least one message is required")
		}
		texts := make([]string, len(r.Messages))
		for i, m := range r.Messages {
			c, err := messageText(m.Content)
			if err != nil {
				return "", 0, fmt.Errorf("messages[%d].content: %v", i, err)
			}
			texts[i] = c
		}
		// No chat template is added: the prompt is the messages' words.
		text := strings.Join(texts, "\n")
		return text, countTokens(text), nil
	}
	p := bytes.TrimSpace(r.Prompt)
	if len(p) == 0 || string(p) == "null" {
		return "", 0, errors.New("prompt: a prompt is required")
	}
	var str string
	if json.Unmarshal(p, &str) == nil {
		return str, countTokens(str), nil
	}
	var strs []string
	if json.Unmarshal(p, &strs) == nil && len(strs) == 1 {
		return strs[0], countTokens(strs[0]), nil
	}
	var ids []int
	if json.Unmarshal(p, &ids) == nil && len(ids) > 0 {
		return string(p), len(ids), nil
	}
	return "", 0, errors.New("prompt: want a string, a list of one string, or a list of token ids")
}

func messageText(raw json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errors.New("want a string or a list of content parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String(), nil
}

// apiError writes an error in OpenAI's shape.
func apiError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": status}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// The streamed chunk shapes, as OpenAI documents them.
type (
	usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	}
	delta struct {
		Role    string  `json:"role,omitempty"`
		Content *string `json:"content,omitempty"`
	}
	choice struct {
		Index        int     `json:"index"`
		Text         *string `json:"text,omitempty"`  // completions
		Delta        *delta  `json:"delta,omitempty"` // chat, streamed
		Message      *delta  `json:"message,omitempty"`
		Logprobs     any     `json:"logprobs"`
		FinishReason *string `json:"finish_reason"`
	}
	chunk struct {
		ID      string   `json:"id"`
		Object  string   `json:"object"`
		Created int64    `json:"created"`
		Model   string   `json:"model"`
		Choices []choice `json:"choices"`
		// Usage is null in every chunk but the last when usage is asked for,
		// and absent otherwise.
		Usage *usage `json:"usage,omitempty"`
		// UsageNull writes "usage": null.
		UsageNull bool `json:"-"`
	}
)

func (c *chunk) marshal() []byte {
	b, _ := json.Marshal(c) // plain structs of strings and numbers
	if c.UsageNull {
		b = append(b[:len(b)-1], `,"usage":null}`...)
	}
	return b
}

func (s *Server) generate(w http.ResponseWriter, r *http.Request, chat bool) {
	var req request
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<20)).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "the body is not a JSON request: "+err.Error())
		return
	}
	if req.Model != "" && req.Model != s.Model {
		apiError(w, http.StatusNotFound, "NotFoundError", fmt.Sprintf("The model `%s` does not exist; this server serves `%s`.", req.Model, s.Model))
		return
	}
	if req.N != nil && *req.N != 1 {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "n: the emulated server generates one choice per request")
		return
	}
	text, prompt, err := req.promptText(chat)
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
		return
	}
	length, start := natural(text)
	limit := -1
	for _, m := range []*int{req.MaxTokens, req.MaxCompTokens} {
		if m != nil {
			if *m < 1 {
				apiError(w, http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("max_tokens must be at least 1, got %d", *m))
				return
			}
			limit = *m
		}
	}
	if ml := s.lim.MaxModelLen; ml > 0 {
		if limit < 0 {
			limit = max(ml-prompt, 0)
		}
		if prompt+limit > ml || limit == 0 {
			apiError(w, http.StatusBadRequest, "invalid_request_error", fmt.Sprintf(
				"This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the messages, %d in the completion).",
				ml, prompt+limit, prompt, limit))
			return
		}
	}
	n, finish := length, "stop"
	if req.IgnoreEOS || (limit > 0 && limit < length) {
		n, finish = limit, "length"
	}
	if n <= 0 { // ignore_eos with no limit and no max_model_len: stop naturally
		n, finish = length, "stop"
	}
	q := NewSeq(prompt, n)
	if !s.sched.Submit(q) {
		apiError(w, http.StatusServiceUnavailable, "server_error", "the server is shutting down")
		return
	}
	if !req.Stream {
		s.whole(w, r, q, chat, prompt, start, finish)
		return
	}
	s.stream(w, r, q, chat, req.StreamOptions != nil && req.StreamOptions.IncludeUsage, prompt, start, finish)
}

func (s *Server) head(chat bool) chunk {
	c := chunk{Created: time.Now().Unix(), Model: s.Model}
	if chat {
		c.ID, c.Object = fmt.Sprintf("chatcmpl-sim-%d", s.ids.Add(1)), "chat.completion.chunk"
	} else {
		c.ID, c.Object = fmt.Sprintf("cmpl-sim-%d", s.ids.Add(1)), "text_completion"
	}
	return c
}

// wait blocks until q has new tokens; it returns false when the client left or
// the server is closing.
func (s *Server) wait(r *http.Request, q *Seq) bool {
	select {
	case <-q.Notify():
		return true
	case <-r.Context().Done():
		q.Cancel()
		return false
	case <-s.sched.quit:
		return false
	}
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, q *Seq, chat, withUsage bool, prompt, start int, finish string) {
	fl, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	base := s.head(chat)
	base.UsageNull = withUsage
	var buf bytes.Buffer
	event := func(c *chunk) {
		buf.WriteString("data: ")
		buf.Write(c.marshal())
		buf.WriteString("\n\n")
	}
	if chat { // the role comes first, as OpenAI and vLLM send it
		c, empty := base, ""
		c.Choices = []choice{{Delta: &delta{Role: "assistant", Content: &empty}}}
		event(&c)
	}
	sent := 0
	for {
		if buf.Len() > 0 {
			if _, err := w.Write(buf.Bytes()); err != nil {
				q.Cancel()
				return
			}
			buf.Reset()
			if fl != nil {
				fl.Flush()
			}
		}
		if !s.wait(r, q) {
			return
		}
		emitted, done := q.Progress()
		for ; sent < emitted; sent++ {
			c, tok := base, token(start, sent)
			ch := choice{}
			if chat {
				ch.Delta = &delta{Content: &tok}
			} else {
				ch.Text = &tok
			}
			if done && sent == emitted-1 {
				ch.FinishReason = &finish
			}
			c.Choices = []choice{ch}
			event(&c)
		}
		if done {
			break
		}
	}
	if withUsage {
		c := base
		c.UsageNull = false
		c.Choices = []choice{}
		c.Usage = &usage{PromptTokens: prompt, CompletionTokens: sent, TotalTokens: prompt + sent}
		event(&c)
	}
	buf.WriteString("data: [DONE]\n\n")
	_, _ = w.Write(buf.Bytes())
	if fl != nil {
		fl.Flush()
	}
}

// whole answers a request that did not ask for a stream, once it is generated.
func (s *Server) whole(w http.ResponseWriter, r *http.Request, q *Seq, chat bool, prompt, start int, finish string) {
	for {
		if !s.wait(r, q) {
			return
		}
		if _, done := q.Progress(); done {
			break
		}
	}
	n, _ := q.Progress()
	var b strings.Builder
	for i := range n {
		b.WriteString(token(start, i))
	}
	text := b.String()
	c := s.head(chat)
	ch := choice{FinishReason: &finish}
	if chat {
		c.Object = "chat.completion"
		ch.Message = &delta{Role: "assistant", Content: &text}
	} else {
		ch.Text = &text
	}
	c.Object = strings.TrimSuffix(c.Object, ".chunk")
	c.Choices = []choice{ch}
	c.Usage = &usage{PromptTokens: prompt, CompletionTokens: n, TotalTokens: prompt + n}
	writeJSON(w, http.StatusOK, c)
}

// ready reports whether the server answers its health check.
func ready(ctx context.Context, url string) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/health", nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err.Error()
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, resp.Status
}
