package ollama

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/internal/gguf"
)

// TestRealOllama runs the real engine on the tiny random-weight model.
func TestRealOllama(t *testing.T) {
	bin, ok := Cached()
	if os.Getenv("LLMSWEEP_E2E") == "" {
		t.Skip("the real-engine tests run under make e2e (LLMSWEEP_E2E=1), which builds ollama with tools/ollama/build.sh")
	}
	if !ok {
		var err error
		if bin, err = Binary(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	model := filepath.Join(dir, "tiny.gguf")
	if err := gguf.DefaultLlama().WriteFile(model); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(model)
	if err != nil {
		t.Fatal(err)
	}

	t0 := time.Now()
	s, err := Start(ctx, Options{Binary: bin, Dir: dir, NumParallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("%s ends:\n%s", s.LogPath(), logTail(s.LogPath(), 3000))
		}
	}()
	started := time.Since(t0)

	t0 = time.Now()
	if err := s.Create(ctx, "tiny", model); err != nil {
		t.Fatal(err)
	}
	created := time.Since(t0)
	t0 = time.Now()
	if err := s.Load(ctx, "tiny"); err != nil {
		t.Fatal(err)
	}
	loaded := time.Since(t0)

	const maxTokens = 32
	st := streamCompletion(t, ctx, s.URL(), "tiny", "the story of a river and the sea", maxTokens)
	if st.usage == nil {
		t.Fatal("no usage chunk although stream_options.include_usage was set")
	}
	// The model is built never to emit EOS, so the length is exact, and each
	// token is its own chunk.
	if st.usage.CompletionTokens != maxTokens || st.chunks != maxTokens {
		t.Errorf("completion_tokens %d in %d chunks, want %d", st.usage.CompletionTokens, st.chunks, maxTokens)
	}
	if st.usage.PromptTokens <= 0 {
		t.Errorf("prompt_tokens %d", st.usage.PromptTokens)
	}

	const numPredict = 200 // past ollama's 31-repeat abort
	g, err := s.Generate(ctx, "tiny", "a letter to my friend about the water", numPredict)
	if err != nil {
		t.Fatal(err)
	}
	if g.EvalCount != numPredict || g.EvalDuration <= 0 || g.DoneReason != "length" || g.PromptEvalCount <= 0 {
		t.Errorf("generate: eval_count %d (want %d), eval_duration %v, done_reason %q, prompt_eval_count %d",
			g.EvalCount, numPredict, g.EvalDuration, g.DoneReason, g.PromptEvalCount)
	}

	// Two at once: with NumParallel 2 both are served together.
	var wg sync.WaitGroup
	par := make([]GenerateResult, 2)
	errs := make([]error, 2)
	t0 = time.Now()
	for i := range par {
		wg.Go(func() {
			par[i], errs[i] = s.Generate(ctx, "tiny", fmt.Sprintf("request %d: one more time for the people", i), numPredict)
		})
	}
	wg.Wait()
	both := time.Since(t0)
	for i, err := range errs {
		if err != nil {
			t.Errorf("parallel generate %d: %v", i, err)
		} else if par[i].EvalCount != numPredict {
			t.Errorf("parallel generate %d: eval_count %d", i, par[i].EvalCount)
		}
	}

	t.Logf("ollama %s, pid %d, GOMAXPROCS %d; model %d bytes", s.Version(), s.Pid(), runtime.GOMAXPROCS(0), fi.Size())
	t.Logf("start %v, create %v, load %v", started.Round(time.Millisecond), created.Round(time.Millisecond), loaded.Round(time.Millisecond))
	t.Logf("stream: TTFT %v, %d tokens in %v (%.0f tok/s after the first); text %q",
		st.ttft.Round(time.Microsecond), st.chunks, st.total.Round(time.Microsecond),
		float64(st.chunks-1)/(st.total-st.ttft).Seconds(), st.text)
	t.Logf("generate: %d prompt tokens in %v, %d tokens at %.0f tok/s (server's figures); text %q…",
		g.PromptEvalCount, g.PromptEvalDuration, g.EvalCount, g.TokensPerSecond(), tail([]byte(g.Response), 60))
	t.Logf("2 parallel generates of %d tokens: %v wall, %.0f and %.0f tok/s each", numPredict, both.Round(time.Millisecond),
		par[0].TokensPerSecond(), par[1].TokensPerSecond())
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

type streamed struct {
	chunks      int
	text        string
	ttft, total time.Duration
	usage       *usage
}

// streamCompletion sends one OpenAI-style streamed /v1/completions request
// and reads the SSE lines.
func streamCompletion(t *testing.T, ctx context.Context, base, model, prompt string, maxTokens int) streamed {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"model": model, "prompt": prompt, "max_tokens": maxTokens, "stream": true,
		"stream_options": map[string]any{"include_usage": true},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/completions", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/v1/completions: %s", resp.Status)
	}
	var st streamed
	var text strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			st.total = time.Since(t0)
			break
		}
		var c struct {
			Choices []struct {
				Text string `json:"text"`
			} `json:"choices"`
			Usage *usage `json:"usage"`
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("chunk %q: %v", data, err)
		}
		if c.Usage != nil {
			st.usage = c.Usage
		}
		for _, ch := range c.Choices {
			if ch.Text == "" {
				continue
			}
			if st.chunks == 0 {
				st.ttft = time.Since(t0)
			}
			st.chunks++
			text.WriteString(ch.Text)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	st.text = text.String()
	return st
}

func TestBinaryFromEnv(t *testing.T) {
	t.Setenv("LLMSWEEP_OLLAMA", "/opt/ollama/bin/ollama")
	if p, err := Binary(); err != nil || p != "/opt/ollama/bin/ollama" {
		t.Errorf("Binary() = %q, %v", p, err)
	}
	if p, ok := Cached(); !ok || p != "/opt/ollama/bin/ollama" {
		t.Errorf("Cached() = %q, %v", p, ok)
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Error(err)
	}
}

// fakeBinary writes a shell script standing in for ollama.
func fakeBinary(t *testing.T, script string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("needs sh")
	}
	p := filepath.Join(t.TempDir(), "ollama")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStartQuotesLog(t *testing.T) {
	bin := fakeBinary(t, `echo "Error: listen on $OLLAMA_HOST: the sky fell (models in $OLLAMA_MODELS)" >&2; exit 1`)
	dir := t.TempDir()
	_, err := Start(t.Context(), Options{Binary: bin, Dir: dir})
	if err == nil {
		t.Fatal("Start succeeded with a binary that exits")
	}
	for _, want := range []string{"exited", "the sky fell", filepath.Join(dir, "models"), "127.0.0.1:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestStartCancelled(t *testing.T) {
	bin := fakeBinary(t, "exec sleep 60\n")
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := Start(ctx, Options{Binary: bin, Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "abandoned") {
		t.Errorf("error %v, want one saying the start was abandoned", err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("Start took %v to give up and stop the server", d)
	}
}

func TestGenerateParsesAndRejectsEarlyEnd(t *testing.T) {
	var got map[string]any
	done := true
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/generate" {
			http.NotFound(w, r)
			return
		}
		json.NewDecoder(r.Body).Decode(&got)
		fmt.Fprintf(w, `{"model":"m","response":" a b","done":%v,"done_reason":"length","prompt_eval_count":5,"prompt_eval_duration":1000,"eval_count":2,"eval_duration":4000000,"load_duration":7,"total_duration":9000000}`, done)
	}))
	defer ts.Close()
	s := &Server{host: strings.TrimPrefix(ts.URL, "http://")}
	r, err := s.Generate(t.Context(), "m", "hi", 2)
	if err != nil {
		t.Fatal(err)
	}
	want := GenerateResult{Response: " a b", Done: true, DoneReason: "length", PromptEvalCount: 5, PromptEvalDuration: time.Microsecond,
		EvalCount: 2, EvalDuration: 4 * time.Millisecond, LoadDuration: 7, TotalDuration: 9 * time.Millisecond}
	if r != want {
		t.Errorf("got %+v\nwant %+v", r, want)
	}
	if tps := r.TokensPerSecond(); tps != 500 {
		t.Errorf("TokensPerSecond %v, want 500", tps)
	}
	opts, _ := got["options"].(map[string]any)
	if got["stream"] != false || opts["num_predict"] != 2.0 || opts["temperature"] != 0.0 {
		t.Errorf("request %v", got)
	}
	done = false
	if _, err := s.Generate(t.Context(), "m", "hi", 2); err == nil || !strings.Contains(err.Error(), "without done") {
		t.Errorf("an unfinished generation gave error %v", err)
	}
	if err := s.Load(t.Context(), "missing"); err != nil {
		t.Errorf("Load: %v", err)
	}
	s.host = "127.0.0.1:1"
	if err := s.Load(t.Context(), "m"); err == nil {
		t.Error("Load against a closed port succeeded")
	}
}
