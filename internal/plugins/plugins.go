// Package plugins finds, verifies and starts framework plugins for the host.
//
// Plugins are binaries named llmsweep-plugin-<name>, looked up in order in ./bin,
// the directories of $LLMSWEEP_PLUGIN_PATH, and $XDG_DATA_HOME/llmsweep/plugins;
// the first one found of a name wins. A lock file may pin each binary's sha256.
package plugins

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// Prefix is the file name prefix of every plugin binary.
const Prefix = "llmsweep-plugin-"

// Found is a discovered plugin binary.
type Found struct {
	Name string
	Path string
}

// Dirs are the directories searched, in order.
func Dirs() []string {
	dirs := []string{"bin"}
	if p := os.Getenv("LLMSWEEP_PLUGIN_PATH"); p != "" {
		dirs = append(dirs, filepath.SplitList(p)...)
	}
	data := os.Getenv("XDG_DATA_HOME")
	if data == "" {
		if home, err := os.UserHomeDir(); err == nil {
			data = filepath.Join(home, ".local", "share")
		}
	}
	if data != "" {
		dirs = append(dirs, filepath.Join(data, "llmsweep", "plugins"))
	}
	return dirs
}

// Discover lists the plugin binaries in dirs, sorted by name. Missing directories
// are skipped; a name found twice is taken from the earlier directory.
func Discover(dirs []string) []Found {
	seen := map[string]bool{}
	var out []Found
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name, ok := strings.CutPrefix(e.Name(), Prefix)
			if !ok || name == "" || seen[name] || e.IsDir() {
				continue
			}
			info, err := e.Info()
			if err != nil || info.Mode()&0o111 == 0 {
				continue
			}
			seen[name] = true
			out = append(out, Found{Name: name, Path: filepath.Join(d, e.Name())})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lock pins plugin binaries to sha256 checksums. Its file format is sha256sum's:
// "<hex>  <file name>" per line, so `sha256sum llmsweep-plugin-*` writes one.
type Lock map[string][]byte // base file name -> sha256

// ReadLock reads a lock file.
func ReadLock(path string) (Lock, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l := Lock{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sum, name, ok := strings.Cut(line, " ")
		b, err := hex.DecodeString(sum)
		if !ok || err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("%s:%d: want \"<sha256 hex>  <file name>\", got %q", path, n, line)
		}
		l[filepath.Base(strings.TrimLeft(strings.TrimSpace(name), "*"))] = b
	}
	return l, sc.Err()
}

// Pin is a plugin binary's checksum as a lock file holds it.
type Pin struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// Pins pins the given plugins as they are now.
func Pins(found []Found) ([]Pin, error) {
	out := []Pin{}
	for _, f := range found {
		sum, err := fileSum(f.Path)
		if err != nil {
			return nil, err
		}
		out = append(out, Pin{Name: f.Name, Path: f.Path, SHA256: fmt.Sprintf("%x", sum)})
	}
	return out, nil
}

// WriteLock writes a lock file of pins, in sha256sum's format.
func WriteLock(w io.Writer, pins []Pin) error {
	for _, p := range pins {
		if _, err := fmt.Fprintf(w, "%s  %s\n", p.SHA256, filepath.Base(p.Path)); err != nil {
			return err
		}
	}
	return nil
}

func fileSum(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// Host starts plugins.
type Host struct {
	Dirs         []string
	Lock         Lock // nil: no pinning
	Logger       hclog.Logger
	StartTimeout time.Duration
}

// Find returns the plugin of a name.
func (h *Host) Find(name string) (Found, error) {
	var names []string
	for _, f := range Discover(h.Dirs) {
		if f.Name == name {
			return f, nil
		}
		names = append(names, f.Name)
	}
	return Found{}, fmt.Errorf("%w %q%s: looked for %s%s in %s (build them with make build, or set LLMSWEEP_PLUGIN_PATH); found %s",
		ErrNoPlugin, name, campaign.Suggest(name, names), Prefix, name, strings.Join(h.Dirs, ", "), strings.Join(names, ", "))
}

// ErrNoPlugin is returned for a plugin that no directory holds: a run cannot
// go on by retrying.
var ErrNoPlugin = errors.New("no plugin")

// Open finds and starts the plugin of a name.
func (h *Host) Open(name string) (*Plugin, error) {
	f, err := h.Find(name)
	if err != nil {
		return nil, err
	}
	return h.OpenFound(f)
}

// OpenFound starts a discovered plugin, checking its checksum when the lock
// pins it.
func (h *Host) OpenFound(f Found) (*Plugin, error) {
	opt := sdk.OpenOptions{Logger: h.Logger, StartTimeout: h.StartTimeout}
	if h.Lock != nil {
		sum, ok := h.Lock[filepath.Base(f.Path)]
		if !ok {
			return nil, fmt.Errorf("plugin %s: %s is not in the lock file; add it with llmsweep plugins lock", f.Name, filepath.Base(f.Path))
		}
		opt.Secure = &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	}
	c, err := sdk.Open(f.Path, opt)
	if err != nil {
		return nil, err
	}
	return &Plugin{Name: f.Name, client: c}, nil
}

// Plugin is a started plugin. Its methods name the plugin in their errors, and
// say so plainly when its process has died.
type Plugin struct {
	Name   string
	client *sdk.Client
}

var _ sdk.Framework = (*Plugin)(nil)

// Close stops the plugin process.
func (p *Plugin) Close() { p.client.Close() }

// Path is the plugin binary.
func (p *Plugin) Path() string { return p.client.Path }

func (p *Plugin) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sdk.ErrPluginGone) || p.client.Exited() {
		return fmt.Errorf("plugin %s (%s) crashed or was killed during %s: %w", p.Name, p.client.Path, op, errors.Join(sdk.ErrPluginGone, err))
	}
	return fmt.Errorf("plugin %s: %s: %w", p.Name, op, err)
}

func (p *Plugin) Info(ctx context.Context) (*sdk.Info, error) {
	i, err := p.client.Info(ctx)
	return i, p.wrap("info", err)
}

func (p *Plugin) LaunchSpec(ctx context.Context, cfg *sdk.ServerConfig) (*sdk.LaunchSpec, error) {
	l, err := p.client.LaunchSpec(ctx, cfg)
	return l, p.wrap("launch-spec", err)
}

func (p *Plugin) Start(ctx context.Context, req *sdk.StartRequest) (*sdk.Server, error) {
	s, err := p.client.Start(ctx, req)
	return s, p.wrap("start", err)
}

func (p *Plugin) Stop(ctx context.Context, id string) error {
	return p.wrap("stop", p.client.Stop(ctx, id))
}

func (p *Plugin) Health(ctx context.Context, req *sdk.HealthRequest) (*sdk.Health, error) {
	h, err := p.client.Health(ctx, req)
	return h, p.wrap("health", err)
}

func (p *Plugin) Run(ctx context.Context, spec *sdk.BenchmarkSpec, send func(*sdk.Record) error) (*sdk.Summary, error) {
	s, err := p.client.Run(ctx, spec, send)
	return s, p.wrap("run", err)
}
