// Package scriptserver is a scripted LLM server on loopback for testing plugins
// and the load generator: it speaks the OpenAI-compatible streaming endpoints
// (/v1/completions, /v1/chat/completions with stream_options.include_usage) and
// TGI's /generate_stream in their documented wire formats, and answers every
// request with a scripted token stream. It stamps each chunk with the time it was
// written, so that a client's timing overhead can be measured.
package scriptserver

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Script is how the server answers.
type Script struct {
	// Tokens per answer when the request does not ask for a length (default 16).
	Tokens int
	// FirstDelay is slept before the first token, Delay between tokens.
	FirstDelay, Delay time.Duration
	// Status, when not 0 or 200, is returned instead of a stream.
	Status int
	// Hang never sends a token (the connection stays open until the client goes).
	Hang bool
}

// Server is a running scripted server.
type Server struct {
	*httptest.Server
	script   Script
	Requests atomic.Int64 // completed streamed answers
}

// Start starts a server on a loopback port.
func Start(s Script) *Server {
	if s.Tokens == 0 {
		s.Tokens = 16
	}
	srv := &Server{script: s}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {})
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"object":"list","data":[{"id":"scripted","object":"model","owned_by":"llmsweep"}]}`)
	})
	mux.HandleFunc("POST /v1/completions", func(w http.ResponseWriter, r *http.Request) { srv.openAI(w, r, false) })
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { srv.openAI(w, r, true) })
	mux.HandleFunc("POST /generate_stream", srv.tgi)
	srv.Server = httptest.NewServer(mux)
	return srv
}

type request struct {
	Prompt        string `json:"prompt"`
	Inputs        string `json:"inputs"`
	MaxTokens     int    `json:"max_tokens"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Messages []struct {
		Content string `json:"content"`
	} `json:"messages"`
	Parameters struct {
		MaxNewTokens int `json:"max_new_tokens"`
	} `json:"parameters"`
}

// begin decodes the request and writes the stream's headers; ok is false when the
// script answers with an error status instead.
func (s *Server) begin(w http.ResponseWriter, r *http.Request) (req request, n, promptWords int, ok bool) {
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"error":{"message":"bad json","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return req, 0, 0, false
	}
	if st := s.script.Status; st != 0 && st != http.StatusOK {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(st)
		fmt.Fprintf(w, `{"error":{"message":"scripted status %d","type":"server_error"}}`, st)
		return req, 0, 0, false
	}
	n = s.script.Tokens
	if m := max(req.MaxTokens, req.Parameters.MaxNewTokens); m > 0 {
		n = m
	}
	text := req.Prompt + req.Inputs
	for _, m := range req.Messages {
		text += " " + m.Content
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	return req, n, len(strings.Fields(text)), true
}

// tokens writes n tokens with the script's delays; it returns false when the
// client went away.
func (s *Server) tokens(w http.ResponseWriter, r *http.Request, n int, chunk func(b []byte, i int, sent int64) []byte) bool {
	fl := w.(http.Flusher)
	fl.Flush()
	if s.script.Hang {
		<-r.Context().Done()
		return false
	}
	var b []byte
	for i := range n {
		d := s.script.Delay
		if i == 0 {
			d = s.script.FirstDelay
		}
		if d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return false
			}
		}
		b = chunk(b[:0], i, time.Now().UnixNano())
		if _, err := w.Write(b); err != nil {
			return false
		}
		// Flush the first token at once, and before every pause; without pauses
		// the rest goes out in one write (a flush per token costs a syscall each).
		if i == 0 || s.script.Delay > 0 {
			fl.Flush()
		}
	}
	return true
}

func (s *Server) openAI(w http.ResponseWriter, r *http.Request, chat bool) {
	req, n, words, ok := s.begin(w, r)
	if !ok {
		return
	}
	if chat { // role first, as vLLM and OpenAI send it
		io.WriteString(w, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`+"\n\n")
	}
	ok = s.tokens(w, r, n, func(b []byte, i int, sent int64) []byte {
		b = append(b, `data: {"id":"cmpl-1","object":"`...)
		if chat {
			b = append(b, `chat.completion.chunk","choices":[{"index":0,"delta":{"content":" t`...)
		} else {
			b = append(b, `text_completion","choices":[{"index":0,"text":" t`...)
		}
		b = strconv.AppendInt(b, int64(i), 10)
		if chat {
			b = append(b, '"', '}')
		} else {
			b = append(b, '"')
		}
		b = append(b, `,"finish_reason":`...)
		if i == n-1 {
			b = append(b, `"length"`...)
		} else {
			b = append(b, `null`...)
		}
		b = append(b, `}],"sent_ns":`...)
		b = strconv.AppendInt(b, sent, 10)
		return append(b, "}\n\n"...)
	})
	if !ok {
		return
	}
	if req.StreamOptions.IncludeUsage {
		fmt.Fprintf(w, `data: {"id":"cmpl-1","object":"text_completion","choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`+"\n\n", words, n, words+n)
	}
	io.WriteString(w, "data: [DONE]\n\n")
	s.Requests.Add(1)
}

func (s *Server) tgi(w http.ResponseWriter, r *http.Request) {
	_, n, words, ok := s.begin(w, r)
	if !ok {
		return
	}
	ok = s.tokens(w, r, n, func(b []byte, i int, sent int64) []byte {
		b = append(b, `data:{"index":`...)
		b = strconv.AppendInt(b, int64(i+1), 10)
		b = append(b, `,"token":{"id":`...)
		b = strconv.AppendInt(b, int64(100+i), 10)
		b = append(b, `,"text":" t`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `","logprob":-0.5,"special":false},"generated_text":`...)
		if i == n-1 {
			b = append(b, `"done","details":{"finish_reason":"length","generated_tokens":`...)
			b = strconv.AppendInt(b, int64(n), 10)
			b = append(b, `,"seed":null,"input_length":`...)
			b = strconv.AppendInt(b, int64(words), 10)
			b = append(b, '}')
		} else {
			b = append(b, `null,"details":null`...)
		}
		b = append(b, `,"sent_ns":`...)
		b = strconv.AppendInt(b, sent, 10)
		return append(b, "}\n\n"...)
	})
	if ok {
		s.Requests.Add(1)
	}
}
