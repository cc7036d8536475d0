// Package ollama drives a real ollama binary (built by tools/ollama/build.sh)
// for end-to-end tests: start a server on a free loopback port, import a GGUF
// model, and ask it for completions with the server's own timing figures.
package ollama

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Version is the ollama release that tools/ollama/build.sh builds by default.
const Version = "v0.17.4"

// Binary returns the ollama binary: $LLMSWEEP_OLLAMA if set, else the one
// tools/ollama/build.sh builds (a cold build takes minutes; a cached one
// returns at once).
func Binary() (string, error) {
	if p := os.Getenv("LLMSWEEP_OLLAMA"); p != "" {
		return p, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("sh", filepath.Join(root, "tools", "ollama", "build.sh"))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("ollama: tools/ollama/build.sh: %v\n%s", err, tail(stderr.Bytes(), 4096))
	}
	lines := strings.Fields(stdout.String())
	if len(lines) == 0 {
		return "", fmt.Errorf("ollama: tools/ollama/build.sh printed no path\n%s", tail(stderr.Bytes(), 4096))
	}
	return lines[len(lines)-1], nil
}

// Cached returns the binary if it is available without building: set by
// $LLMSWEEP_OLLAMA or already in build.sh's cache.
func Cached() (string, bool) {
	if p := os.Getenv("LLMSWEEP_OLLAMA"); p != "" {
		return p, true
	}
	v := os.Getenv("OLLAMA_VERSION") // build.sh honours it too
	if v == "" {
		v = Version
	}
	// build.sh's cache: outside the checkout, so that clean clones (CI) reuse it.
	cache := os.Getenv("LLMSWEEP_CACHE")
	if cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return "", false
		}
		cache = filepath.Join(dir, "llmsweep")
	}
	p := filepath.Join(cache, "ollama", v, "ollama")
	if fi, err := os.Stat(p); err != nil || fi.Mode()&0o111 == 0 {
		return "", false
	}
	return p, true
}

// repoRoot finds the module root: from this source file when it is on disk
// (tests, go run), else from `go env GOMOD`.
func repoRoot() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		root := filepath.Join(filepath.Dir(file), "..", "..")
		if _, err := os.Stat(filepath.Join(root, "tools", "ollama", "build.sh")); err == nil {
			return filepath.Clean(root), nil
		}
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("ollama: finding the repository root: go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("ollama: finding the repository root: not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// Options configure Start.
type Options struct {
	// Binary is the ollama executable; "" means Binary().
	Binary string
	// Dir holds the models (Dir/models), the log (Dir/ollama.log) and HOME,
	// where ollama writes its key. Required.
	Dir string
	// NumParallel sets OLLAMA_NUM_PARALLEL (requests batched per model);
	// 0 leaves ollama's default, which serves one at a time.
	NumParallel int
	// NumThread is the CPU threads per model, written by Create as a
	// Modelfile parameter: 0 means 1, negative leaves ollama's default (the
	// core count). One is the safe choice for tiny models: ggml's threads
	// spin-wait, and on a busy 2-core machine the default gave 7-16 tokens/s
	// where one thread gave 1800-4500.
	NumThread int
	// Env is appended last to the server's environment, so it overrides.
	Env []string
}

// Server is a running `ollama serve`.
type Server struct {
	opts    Options
	bin     string
	host    string // 127.0.0.1:port
	version string
	cmd     *exec.Cmd
	log     *os.File
	exited  chan struct{} // closed when the process has been waited for
	waitErr error
	stop    sync.Once
	stopErr error
}

// StartTimeout bounds how long Start waits for /api/version to answer.
const StartTimeout = 30 * time.Second

// Start runs `ollama serve` on a free loopback port and waits until it
// answers. ctx bounds only the start; call Stop to end the server.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.Dir == "" {
		return nil, errors.New("ollama: Options.Dir is required")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	o.Dir = dir
	bin := o.Binary
	if bin == "" {
		if bin, err = Binary(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "models"), 0o755); err != nil {
		return nil, err
	}
	// The port is free when picked but may be taken before ollama binds it:
	// retry then, rather than fail a test run.
	for attempt := 1; ; attempt++ {
		s, err := start(ctx, o, bin)
		if err == nil || attempt == 3 || !errors.Is(err, errAddrInUse) {
			return s, err
		}
	}
}

var errAddrInUse = errors.New("address already in use")

func start(ctx context.Context, o Options, bin string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(o.Dir, "ollama.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, bin: bin, host: "127.0.0.1:" + strconv.Itoa(port), log: logf, exited: make(chan struct{})}
	env := append(os.Environ(),
		"HOME="+o.Dir,
		"OLLAMA_HOST="+s.host,
		"OLLAMA_MODELS="+filepath.Join(o.Dir, "models"),
		"OLLAMA_KEEP_ALIVE=-1", // keep the model loaded between requests
		"OLLAMA_NOPRUNE=1",     // do not scan and delete blobs at start
	)
	if o.NumParallel > 0 {
		env = append(env, "OLLAMA_NUM_PARALLEL="+strconv.Itoa(o.NumParallel))
	}
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Env = append(env, o.Env...)
	s.cmd.Dir = o.Dir
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	setProcessGroup(s.cmd)
	start := time.Now()
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("ollama: starting %s: %w", bin, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		logf.Close()
		close(s.exited)
	}()

	fail := func(why string) (*Server, error) {
		s.Stop()
		t := logTail(logPath, 4096)
		err := fmt.Errorf("ollama serve on %s %s; %s ends:\n%s", s.host, why, logPath, t)
		if strings.Contains(t, "address already in use") {
			err = fmt.Errorf("%w (%w)", err, errAddrInUse)
		}
		return nil, err
	}
	deadline := time.NewTimer(StartTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if v, err := s.getVersion(ctx); err == nil {
			s.version = v
			return s, nil
		}
		select {
		case <-s.exited:
			return fail(fmt.Sprintf("exited (%v) before answering", s.waitErr))
		case <-deadline.C:
			return fail(fmt.Sprintf("did not answer /api/version within %v", time.Since(start).Round(time.Millisecond)))
		case <-ctx.Done():
			return fail(fmt.Sprintf("start abandoned: %v", ctx.Err()))
		case <-tick.C:
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) getVersion(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var v struct{ Version string }
	err := s.do(ctx, http.MethodGet, "/api/version", nil, &v)
	return v.Version, err
}

// URL is the server's base URL, e.g. http://127.0.0.1:40123; the
// OpenAI-compatible API is under URL()+"/v1".
func (s *Server) URL() string { return "http://" + s.host }

// Pid is the process id of `ollama serve` (its model runners are children).
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Version is what /api/version reported.
func (s *Server) Version() string { return s.version }

// LogPath is the file that collects the server's and runners' output.
func (s *Server) LogPath() string { return filepath.Join(s.opts.Dir, "ollama.log") }

// Stop sends SIGTERM (ollama then stops its runners), sends SIGKILL to the
// whole process group after 5 s, and waits. It is safe to call twice.
func (s *Server) Stop() error {
	s.stop.Do(func() {
		terminate(s.cmd)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			s.stopErr = errors.New("ollama: serve ignored SIGTERM for 5s; killed")
		}
		killGroup(s.cmd) // also reaps runners orphaned by a hard exit
		<-s.exited
	})
	return s.stopErr
}

// Create imports a GGUF file as model name, running `ollama create` against
// this server.
func (s *Server) Create(ctx context.Context, name, ggufPath string) error {
	abs, err := filepath.Abs(ggufPath)
	if err != nil {
		return err
	}
	mf := "FROM " + abs + "\n"
	if n := s.opts.NumThread; n >= 0 {
		mf += fmt.Sprintf("PARAMETER num_thread %d\n", max(n, 1))
	}
	dir, err := os.MkdirTemp(s.opts.Dir, "modelfile-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "Modelfile")
	if err := os.WriteFile(path, []byte(mf), 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, s.bin, "create", name, "-f", path)
	cmd.Env = append(os.Environ(), "HOME="+s.opts.Dir, "OLLAMA_HOST="+s.host)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ollama create %s: %v\n%s", name, err, tail(out, 4096))
	}
	return nil
}

// GenerateResult is ollama's own account of one /api/generate call.
type GenerateResult struct {
	Response           string        `json:"response"`
	Done               bool          `json:"done"`
	DoneReason         string        `json:"done_reason"` // "length", "stop", "load"
	PromptEvalCount    int           `json:"prompt_eval_count"`
	PromptEvalDuration time.Duration `json:"prompt_eval_duration"`
	EvalCount          int           `json:"eval_count"`
	EvalDuration       time.Duration `json:"eval_duration"`
	LoadDuration       time.Duration `json:"load_duration"`
	TotalDuration      time.Duration `json:"total_duration"`
}

// TokensPerSecond is the decode rate: EvalCount over EvalDuration.
func (r GenerateResult) TokensPerSecond() float64 {
	if r.EvalDuration <= 0 {
		return 0
	}
	return float64(r.EvalCount) / r.EvalDuration.Seconds()
}

// Generate asks for numPredict tokens by greedy decoding (temperature 0, fixed
// seed) through the native API, unstreamed.
func (s *Server) Generate(ctx context.Context, model, prompt string, numPredict int) (GenerateResult, error) {
	req := map[string]any{
		"model":  model,
		"prompt": prompt,
		"stream": false,
		"options": map[string]any{
			"num_predict": numPredict,
			"temperature": 0,
			"seed":        1,
		},
	}
	var r GenerateResult
	if err := s.do(ctx, http.MethodPost, "/api/generate", req, &r); err != nil {
		return r, err
	}
	// ollama drops a generation that repeats one token 31 times in a row and
	// answers 200 with what it had, done false and no figures.
	if !r.Done {
		return r, fmt.Errorf("ollama: generate %s: ended without done after %q (ollama aborts a generation that repeats one token 31 times)", model, tail([]byte(r.Response), 200))
	}
	return r, nil
}

// Load loads model into memory (where OLLAMA_KEEP_ALIVE=-1 keeps it).
func (s *Server) Load(ctx context.Context, model string) error {
	var r GenerateResult
	return s.do(ctx, http.MethodPost, "/api/generate", map[string]any{"model": model}, &r)
}

// do sends a JSON request and decodes a JSON answer; non-2xx is an error
// quoting the body.
func (s *Server) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL()+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("ollama: %s %s: %s: %s", method, path, resp.Status, tail(b, 1024))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("ollama: %s %s: %w: %s", method, path, err, tail(b, 1024))
	}
	return nil
}

func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return tail(b, n)
}

// tail returns the last n bytes of b, trimmed, marking a cut.
func tail(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}
