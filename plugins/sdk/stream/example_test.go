package stream_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/llmsweep/llmsweep/plugins/sdk/stream"
)

func ExampleClient_Do() {
	// A stand-in for vLLM's /v1/completions.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, tok := range []string{" Paris", ".", ""} {
			fin := "null"
			if tok == "" {
				fin = `"stop"`
			}
			fmt.Fprintf(w, "data: {\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":%q,\"finish_reason\":%s}]}\n\n", tok, fin)
		}
		io.WriteString(w, `data: {"choices":[],"usage":{"prompt_tokens":6,"completion_tokens":2,"total_tokens":8}}`+"\n\n")
		io.WriteString(w, "data: [DONE]\n\n")
	}))
	defer srv.Close()

	c := stream.NewClient(srv.URL)
	defer c.CloseIdleConnections()
	res, err := c.Do(context.Background(), stream.Request{
		API:         stream.OpenAICompletions,
		Model:       "meta-llama/Llama-3.1-8B-Instruct",
		Prompt:      "The capital of France is",
		MaxTokens:   16,
		IdleTimeout: 10 * time.Second,
	})
	if err != nil {
		fmt.Println("error:", err, "retryable:", stream.Retryable(err))
		return
	}
	ttft := res.FirstToken.Sub(res.Start)
	fmt.Printf("text %q, %d chunks, usage %d+%d, finish %s, ttft>0 %v\n",
		res.Text, res.ClientTokens, res.PromptTokens, res.CompletionTokens, res.FinishReason, ttft > 0)
	// Output: text " Paris.", 2 chunks, usage 6+2, finish stop, ttft>0 true
}
