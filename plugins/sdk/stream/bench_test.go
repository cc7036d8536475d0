package stream

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// benchServer streams n completion chunks, a usage chunk and [DONE].
func benchServer(n int) *httptest.Server {
	var b strings.Builder
	for range n {
		b.WriteString(`data: {"id":"cmpl-4f3b2c1d9e8a7b6c5d4e3f2a1b0c9d8e","object":"text_completion","created":1764230400,"model":"meta-llama/Llama-3.1-8B-Instruct","choices":[{"index":0,"text":" tok","logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}` + "\n\n")
	}
	b.WriteString(`data: {"choices":[],"usage":{"prompt_tokens":6,"completion_tokens":` + fmt.Sprint(n) + `,"total_tokens":0}}` + "\n\ndata: [DONE]\n\n")
	body := b.String()
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, body)
	}))
}

// BenchmarkDo measures whole requests against a local server, both on this
// machine's cores; it reports requests and chunks per second.
func BenchmarkDo(b *testing.B) {
	for _, n := range []int{1, 64} {
		for _, par := range []int{4, 500} {
			b.Run(fmt.Sprintf("chunks=%d/streams=%d", n, par*runtime.GOMAXPROCS(0)), func(b *testing.B) {
				srv := benchServer(n)
				defer srv.Close()
				c := NewClient(srv.URL)
				defer c.CloseIdleConnections()
				req := Request{API: OpenAICompletions, Model: "m", Prompt: "The capital of France is", MaxTokens: n}
				b.ReportAllocs()
				b.SetParallelism(par)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if res, err := c.Do(context.Background(), req); err != nil || res.ClientTokens != n {
							b.Error(res.ClientTokens, err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
				b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "chunks/s")
			})
		}
	}
}
