package plugins

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/llmsweep/llmsweep/plugins/sdk"
	"github.com/llmsweep/llmsweep/plugins/sdk/scriptserver"
)

// The test binary doubles as plugins: linked as llmsweep-plugin-<mode>, it serves
// the plugin that mode names.
func TestMain(m *testing.M) {
	mode, ok := strings.CutPrefix(filepath.Base(os.Args[0]), Prefix)
	if !ok {
		os.Exit(m.Run())
	}
	adapter := &sdk.Adapter{
		Meta:          &sdk.Info{Name: mode, Version: "1.2.3", Protocols: []string{"openai-completions"}},
		Launch:        func(*sdk.ServerConfig) (*sdk.LaunchSpec, error) { return &sdk.LaunchSpec{}, nil },
		ReadinessPath: "/health",
	}
	switch mode {
	case "good":
		sdk.Serve(adapter)
	case "v2": // a plugin built against a future SDK
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig:  plugin.HandshakeConfig{ProtocolVersion: 2, MagicCookieKey: sdk.Handshake.MagicCookieKey, MagicCookieValue: sdk.Handshake.MagicCookieValue},
			VersionedPlugins: map[int]plugin.PluginSet{2: {sdk.PluginName: &sdk.GRPCPlugin{Impl: adapter}}},
			GRPCServer:       plugin.DefaultGRPCServer,
		})
	case "cookie": // another program's plugin
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig: plugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: "OTHER_PLUGIN", MagicCookieValue: "x"},
			Plugins:         map[string]plugin.Plugin{sdk.PluginName: &sdk.GRPCPlugin{Impl: adapter}},
			GRPCServer:      plugin.DefaultGRPCServer,
		})
	case "echo": // not a plugin at all
		os.Stdout.WriteString("hello, I am a program\n")
	}
	os.Exit(0)
}

// link makes plugin binaries of the given modes in a new directory.
func link(t *testing.T, modes ...string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, m := range modes {
		if err := os.Symlink(self, filepath.Join(dir, Prefix+m)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDiscoverOrder(t *testing.T) {
	first, second := link(t, "good", "v2"), link(t, "good", "echo")
	if err := os.WriteFile(filepath.Join(second, Prefix+"notexec"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := Discover([]string{filepath.Join(first, "missing"), first, second})
	var names []string
	for _, f := range got {
		names = append(names, f.Name+"@"+filepath.Base(filepath.Dir(f.Path)))
	}
	want := []string{"echo@" + filepath.Base(second), "good@" + filepath.Base(first), "v2@" + filepath.Base(first)}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want %v", names, want)
	}
}

func TestDirs(t *testing.T) {
	t.Setenv("LLMSWEEP_PLUGIN_PATH", "/a"+string(os.PathListSeparator)+"/b")
	t.Setenv("XDG_DATA_HOME", "/data")
	got := strings.Join(Dirs(), " ")
	if got != "bin /a /b /data/llmsweep/plugins" {
		t.Errorf("Dirs() = %s", got)
	}
}

func TestOpen(t *testing.T) {
	dir := link(t, "good", "v2", "cookie", "echo")
	h := &Host{Dirs: []string{dir}, StartTimeout: 5 * time.Second}
	p, err := h.Open("good")
	if err != nil {
		t.Fatal(err)
	}
	info, err := p.Info(context.Background())
	p.Close()
	if err != nil || info.GetVersion() != "1.2.3" {
		t.Fatalf("Info: %v %v", info, err)
	}
	for name, want := range map[string]string{
		"v2":      "speaks another protocol version: this llmsweep expects handshake LLMSWEEP_PLUGIN=framework-adapter-5b0d3c1e, protocol version 1 over gRPC",
		"cookie":  "is not an llmsweep plugin, or not one this llmsweep can talk to: expected handshake LLMSWEEP_PLUGIN",
		"echo":    "is not an llmsweep plugin",
		"missing": `no plugin "missing": looked for llmsweep-plugin-missing in ` + dir,
	} {
		_, err := h.Open(name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%s): %v\nwant it to contain %q", name, err, want)
		}
	}
}

func TestLock(t *testing.T) {
	dir := link(t, "good")
	var b strings.Builder
	pins, err := Pins(Discover([]string{dir}))
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteLock(&b, pins); err != nil {
		t.Fatal(err)
	}
	lockPath := filepath.Join(t.TempDir(), "plugins.lock")
	os.WriteFile(lockPath, []byte("# pinned\n"+b.String()), 0o644)
	l, err := ReadLock(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	h := &Host{Dirs: []string{dir}, Lock: l}
	p, err := h.Open("good")
	if err != nil {
		t.Fatalf("a pinned plugin: %v", err)
	}
	p.Close()

	for k := range l {
		l[k][0] ^= 0xff
	}
	if _, err := h.Open("good"); err == nil || !strings.Contains(err.Error(), "checksum does not match the lock file") {
		t.Errorf("a plugin whose checksum changed: %v", err)
	}
	h.Lock = Lock{}
	if _, err := h.Open("good"); err == nil || !strings.Contains(err.Error(), "is not in the lock file") {
		t.Errorf("a plugin missing from the lock: %v", err)
	}
	os.WriteFile(lockPath, []byte("abc  x\n"), 0o644)
	if _, err := ReadLock(lockPath); err == nil || !strings.Contains(err.Error(), "plugins.lock:1:") {
		t.Errorf("a bad lock line: %v", err)
	}
}

// A plugin killed with -9 in the middle of a run is reported as such, by name.
func TestPluginKilled(t *testing.T) {
	srv := scriptserver.Start(scriptserver.Script{Tokens: 10000, Delay: 10 * time.Millisecond})
	defer srv.Close()
	h := &Host{Dirs: []string{link(t, "good")}}
	p, err := h.Open("good")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	errc := make(chan error, 1)
	got := make(chan struct{}, 1)
	go func() {
		_, err := p.Run(context.Background(), &sdk.BenchmarkSpec{BaseUrl: srv.URL, Requests: 3, Concurrency: 1,
			OutputTokens: &sdk.Distribution{Kind: "fixed", Value: 10000}}, func(*sdk.Record) error { got <- struct{}{}; return nil })
		errc <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if err := syscall.Kill(p.client.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, sdk.ErrPluginGone) || !strings.Contains(err.Error(), "plugin good (") || !strings.Contains(err.Error(), "crashed or was killed during run") {
			t.Errorf("error: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not end after its plugin was killed")
	}
	if _, err := p.Info(context.Background()); !errors.Is(err, sdk.ErrPluginGone) {
		t.Errorf("a call after the kill: %v", err)
	}
}
