package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/llmsweep/llmsweep/plugins/sdk/stream"
)

func startServer(t *testing.T, lim Limits) *Server {
	t.Helper()
	srv, err := StartServer("org/model", "", testTiming(), lim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// The SDK's streaming client reads the emulated server's streams as it reads a
// real server's: every token a content chunk, the usage chunk's counts, the
// finish reason, and the text.
func TestWireFormat(t *testing.T) {
	srv := startServer(t, Limits{MaxModelLen: 4096})
	c := stream.NewClient(srv.URL)
	defer c.CloseIdleConnections()
	prompt := "the of and to in is that for it as"
	want, start := "", 0
	_, start = natural(prompt)
	for i := range 7 {
		want += token(start, i)
	}
	for _, api := range []stream.API{stream.OpenAICompletions, stream.OpenAIChat} {
		res, err := c.Do(context.Background(), stream.Request{API: api, Model: "org/model", Prompt: prompt, MaxTokens: 7, IgnoreEOS: true})
		if err != nil {
			t.Fatalf("%s: %v", api, err)
		}
		if res.ClientTokens != 7 || res.CompletionTokens != 7 || len(res.ChunkTimes) != 7 || res.FinishReason != "length" {
			t.Errorf("%s: %d chunks, %d completion tokens, finish %q; want 7, 7, length", api, res.ClientTokens, res.CompletionTokens, res.FinishReason)
		}
		if res.PromptTokens != 10 { // the words; no chat template is counted
			t.Errorf("%s: %d prompt tokens, want 10", api, res.PromptTokens)
		}
		if res.Text != want {
			t.Errorf("%s: text %q, want %q", api, res.Text, want)
		}
	}
}

// Without ignore_eos the emulated model stops by itself, at a length that
// depends only on the prompt; max_tokens still caps it.
func TestNaturalStop(t *testing.T) {
	srv := startServer(t, Limits{})
	c := stream.NewClient(srv.URL)
	defer c.CloseIdleConnections()
	prompt := "What is 17 + 25?"
	length, _ := natural(prompt)
	res, err := c.Do(context.Background(), stream.Request{API: stream.OpenAIChat, Prompt: prompt, MaxTokens: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if res.CompletionTokens != length || res.FinishReason != "stop" || length < minNatural || length > maxNatural {
		t.Errorf("%d tokens, finish %q; want the natural %d, stop", res.CompletionTokens, res.FinishReason, length)
	}
	res, err = c.Do(context.Background(), stream.Request{API: stream.OpenAICompletions, Prompt: prompt, MaxTokens: 3})
	if err != nil || res.CompletionTokens != 3 || res.FinishReason != "length" {
		t.Errorf("max_tokens 3: %d tokens, finish %q, %v", res.CompletionTokens, res.FinishReason, err)
	}
}

// The raw stream is OpenAI's: data: lines, the role first in chat, a usage
// chunk with no choices, then [DONE]; usage is null in the other chunks.
func TestRawStream(t *testing.T) {
	srv := startServer(t, Limits{})
	body := `{"model":"org/model","messages":[{"role":"user","content":[{"type":"text","text":"hello there"}]}],"max_tokens":3,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}}`
	resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
	var events []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("line %q is not an SSE data line", line)
		}
		events = append(events, data)
	}
	if len(events) != 6 || events[5] != "[DONE]" {
		t.Fatalf("events: %q; want role, 3 tokens, usage, [DONE]", events)
	}
	type ev struct {
		Object  string `json:"object"`
		Choices []struct {
			Delta struct {
				Role    string  `json:"role"`
				Content *string `json:"content"`
			} `json:"delta"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage *struct {
			Prompt     int `json:"prompt_tokens"`
			Completion int `json:"completion_tokens"`
			Total      int `json:"total_tokens"`
		} `json:"usage"`
	}
	var evs []ev
	for _, e := range events[:5] {
		var x ev
		dec := json.NewDecoder(strings.NewReader(e))
		if err := dec.Decode(&x); err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		if x.Object != "chat.completion.chunk" || !strings.Contains(e, `"usage":`) {
			t.Errorf("event %s: want a chat.completion.chunk with a usage field", e)
		}
		evs = append(evs, x)
	}
	if evs[0].Choices[0].Delta.Role != "assistant" {
		t.Errorf("first event %s: want the assistant role", events[0])
	}
	if f := evs[3].Choices[0].FinishReason; f == nil || *f != "length" || evs[2].Choices[0].FinishReason != nil {
		t.Errorf("finish reasons: %s / %s; want it on the last token only", events[2], events[3])
	}
	if u := evs[4].Usage; len(evs[4].Choices) != 0 || u == nil || u.Prompt != 2 || u.Completion != 3 || u.Total != 5 {
		t.Errorf("usage event %s: want no choices and 2 + 3 = 5 tokens", events[4])
	}
}

func TestOtherEndpoints(t *testing.T) {
	srv := startServer(t, Limits{MaxModelLen: 100})
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/health"); code != 200 {
		t.Errorf("/health: %d", code)
	}
	if code, body := get("/v1/models"); code != 200 || !strings.Contains(body, `"id":"org/model"`) {
		t.Errorf("/v1/models: %d %s", code, body)
	}
	// Not streamed: one JSON answer with the text and the usage.
	resp, err := http.Post(srv.URL+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"a b c","max_tokens":4,"ignore_eos":true}`))
	if err != nil {
		t.Fatal(err)
	}
	var whole struct {
		Object  string `json:"object"`
		Choices []struct {
			Text         string `json:"text"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			Completion int `json:"completion_tokens"`
		} `json:"usage"`
	}
	err = json.NewDecoder(resp.Body).Decode(&whole)
	resp.Body.Close()
	if err != nil || whole.Object != "text_completion" || len(whole.Choices) != 1 || len(strings.Fields(whole.Choices[0].Text)) != 4 || whole.Usage.Completion != 4 {
		t.Errorf("unstreamed completion: %+v %v", whole, err)
	}

	// Errors come in OpenAI's shape, and the client classifies them.
	c := stream.NewClient(srv.URL)
	defer c.CloseIdleConnections()
	for name, req := range map[string]stream.Request{
		"another model":  {API: stream.OpenAICompletions, Model: "other", Prompt: "x", MaxTokens: 2},
		"over the limit": {API: stream.OpenAIChat, Prompt: "x", MaxTokens: 200},
	} {
		_, err := c.Do(context.Background(), req)
		var se *stream.Error
		if !errors.As(err, &se) || se.Class != stream.BadRequest || se.Msg == "" {
			t.Errorf("%s: %v; want a bad request with the server's message", name, err)
		}
	}
}

func TestCountTokens(t *testing.T) {
	for text, want := range map[string]int{"": 0, "the of and": 3, "  a\tb\nc ": 3, "https://example.com/a/long/path": 3, "development": 1} {
		if got := countTokens(text); got != want {
			t.Errorf("countTokens(%q) = %d, want %d", text, got, want)
		}
	}
}
