package sdk

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/llmsweep/llmsweep/plugins/sdk/loadgen"
	"github.com/llmsweep/llmsweep/plugins/sdk/stream"
)

// Adapter is a Framework built from a framework's launch mapping. It starts the
// launcher as a local process (or attaches to a running server), probes its
// readiness path, and measures it with the SDK's load generator over the
// framework's streaming protocol.
type Adapter struct {
	Meta *Info
	// Launch maps a resolved server config to the framework's launcher. It must be
	// pure: the conformance kit checks that it is deterministic. It is not asked
	// when the host sends the launch it compiled for this framework
	// (ServerConfig.launch): the adapter launches that as given.
	Launch func(cfg *ServerConfig) (*LaunchSpec, error)
	// ServedModel is the model name a launched server answers to; default cfg.Repo.
	ServedModel func(cfg *ServerConfig) string
	// ReadinessPath is probed for attached servers, which have no LaunchSpec.
	ReadinessPath string

	mu      sync.Mutex
	servers map[string]*server
	next    int
}

type server struct {
	info  *Server
	ready string // readiness URL
	cmd   *exec.Cmd
	done  chan struct{} // closed when the process has exited
	err   error         // the process's exit, once done
	log   *os.File
}

var _ Framework = (*Adapter)(nil)

func (a *Adapter) Info(context.Context) (*Info, error) { return a.Meta, nil }

func (a *Adapter) LaunchSpec(_ context.Context, cfg *ServerConfig) (*LaunchSpec, error) {
	if cfg == nil {
		return nil, fmt.Errorf("%w: no server config", ErrInvalid)
	}
	return a.launchSpec(cfg)
}

// Start attaches to req.AttachUrl, or launches the framework's command on this
// machine. A launched server's output goes to a log file in req.WorkDir.
func (a *Adapter) Start(ctx context.Context, req *StartRequest) (*Server, error) {
	a.mu.Lock()
	a.next++
	id := fmt.Sprintf("%s-%d", a.Meta.GetName(), a.next)
	a.mu.Unlock()
	if u := req.GetAttachUrl(); u != "" {
		if _, err := url.ParseRequestURI(u); err != nil {
			return nil, fmt.Errorf("%w: attach URL %q: %v", ErrInvalid, u, err)
		}
		s := &server{info: &Server{Id: id, BaseUrl: strings.TrimRight(u, "/"), Attached: true, ServedModel: req.GetServedModel()}}
		s.ready = s.info.BaseUrl + a.ReadinessPath
		if s.info.ServedModel == "" && req.GetConfig() != nil {
			s.info.ServedModel = req.GetConfig().GetRepo()
		}
		a.add(id, s)
		return s.info, nil
	}
	cfg := req.GetConfig()
	if cfg == nil {
		return nil, fmt.Errorf("%w: start needs a server config or an attach URL", ErrInvalid)
	}
	spec, err := a.launchSpec(cfg)
	if err != nil {
		return nil, err
	}
	argv := append(append([]string{}, spec.GetCommand()...), spec.GetArgs()...)
	if len(argv) == 0 {
		return nil, fmt.Errorf("%s: the launch spec has no command", a.Meta.GetName())
	}
	bin, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %q is %w on this machine (%v); run it elsewhere and attach to its URL instead", a.Meta.GetName(), argv[0], ErrNotInstalled, err)
	}
	dir := req.GetWorkDir()
	if dir == "" {
		dir = os.TempDir()
	}
	logPath := filepath.Join(dir, id+".log")
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, argv[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = os.Environ()
	for k, v := range spec.GetEnv() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Stop signals the whole tree
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("%s: starting %s: %w", a.Meta.GetName(), bin, err)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(int(spec.GetPort()))
	served := cfg.GetRepo()
	if a.ServedModel != nil {
		served = a.ServedModel(cfg)
	}
	s := &server{
		info: &Server{Id: id, BaseUrl: base, Pid: int64(cmd.Process.Pid), ServedModel: served, LogPath: logPath},
		cmd:  cmd, done: make(chan struct{}), log: log,
	}
	s.ready = base + spec.GetReadiness().GetPath()
	go func() {
		s.err = cmd.Wait()
		log.Close()
		close(s.done)
	}()
	a.add(id, s)
	return s.info, nil
}

func (a *Adapter) add(id string, s *server) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.servers == nil {
		a.servers = map[string]*server{}
	}
	a.servers[id] = s
}

func (a *Adapter) get(id string) (*server, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.servers[id]
	if !ok {
		return nil, fmt.Errorf("%w: no server %q was started by this plugin", ErrInvalid, id)
	}
	return s, nil
}

// Stop sends SIGTERM to a launched server's process group, and SIGKILL if it has
// not exited within 10 s or when ctx ends.
func (a *Adapter) Stop(ctx context.Context, id string) error {
	s, err := a.get(id)
	if err != nil {
		return err
	}
	a.mu.Lock()
	delete(a.servers, id)
	a.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	pg := -s.cmd.Process.Pid
	_ = syscall.Kill(pg, syscall.SIGTERM)
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-s.done:
	case <-t.C:
	case <-ctx.Done():
	}
	_ = syscall.Kill(pg, syscall.SIGKILL)
	<-s.done
	return nil
}

// Health probes the readiness URL. A launched server that has exited is an error
// that quotes the end of its log.
func (a *Adapter) Health(ctx context.Context, req *HealthRequest) (*Health, error) {
	probe := ""
	if req.GetId() != "" {
		s, err := a.get(req.GetId())
		if err != nil {
			return nil, err
		}
		if s.cmd != nil {
			select {
			case <-s.done:
				return nil, fmt.Errorf("%s server %s exited (%v); the end of its log %s:\n%s", a.Meta.GetName(), req.GetId(), s.err, s.info.LogPath, tail(s.info.LogPath, 2048))
			default:
			}
		}
		probe = s.ready
	} else if req.GetBaseUrl() != "" {
		probe = strings.TrimRight(req.GetBaseUrl(), "/") + a.ReadinessPath
	} else {
		return nil, fmt.Errorf("%w: health needs a server id or a base URL", ErrInvalid)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, probe, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return &Health{Detail: err.Error()}, nil // not up yet
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	h := &Health{Status: int32(resp.StatusCode), Ready: resp.StatusCode/100 == 2}
	if !h.Ready {
		h.Detail = strings.TrimSpace(string(body))
	}
	return h, nil
}

// Run measures the server at spec.BaseUrl with the load generator.
func (a *Adapter) Run(ctx context.Context, spec *BenchmarkSpec, send func(*Record) error) (*Summary, error) {
	api := stream.API(spec.GetProtocol())
	if api == "" && len(a.Meta.GetProtocols()) > 0 {
		api = stream.API(a.Meta.GetProtocols()[0])
	}
	supported := false
	for _, p := range a.Meta.GetProtocols() {
		supported = supported || stream.API(p) == api
	}
	if !supported {
		return nil, fmt.Errorf("%w: %s speaks %v, not protocol %q", ErrInvalid, a.Meta.GetName(), a.Meta.GetProtocols(), api)
	}
	client := stream.NewClient(spec.GetBaseUrl())
	defer client.CloseIdleConnections()
	return loadgen.Run(ctx, client, api, spec, send)
}

func tail(path string, n int64) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if int64(len(b)) > n {
		b = b[int64(len(b))-n:]
	}
	return string(bytes.TrimSpace(b))
}
