package plugins

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/go-hclog"
)

// hclogTo hands go-plugin's hclog records (warnings and worse) to log, so that
// a plugin's complaints come out in the command's log format: its own writer
// is discarded and a sink forwards each record.
func hclogTo(log *slog.Logger) hclog.Logger {
	l := hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: "plugin", Output: io.Discard, Level: hclog.Warn})
	l.RegisterSink(slogSink{log})
	return l
}

type slogSink struct{ log *slog.Logger }

// Accept logs hclog's key-value pairs as slog attributes; hclog gives the
// sink every level, so the ones below a warning are dropped here.
func (s slogSink) Accept(name string, level hclog.Level, msg string, args ...any) {
	var l slog.Level
	switch {
	case level >= hclog.Error:
		l = slog.LevelError
	case level == hclog.Warn:
		l = slog.LevelWarn
	default:
		return
	}
	s.log.Log(context.Background(), l, name+": "+msg, args...)
}

// NewHost is the host llmsweep's commands use: plugins found in Dirs, warnings
// logged to log, and checksums pinned by the lock file at lock (empty for none).
func NewHost(log *slog.Logger, lock string) (*Host, error) {
	h := &Host{Dirs: Dirs(), StartTimeout: 10 * time.Second, Logger: hclogTo(log)}
	if lock != "" {
		l, err := ReadLock(lock)
		if err != nil {
			return nil, err
		}
		h.Lock = l
	}
	return h, nil
}

// Listed is what a plugin found says about itself, or why it said nothing.
type Listed struct {
	Name      string   `json:"name"`
	Version   string   `json:"version,omitempty"`
	Protocols []string `json:"protocols,omitempty"`
	Versions  []string `json:"framework_versions,omitempty"`
	Path      string   `json:"path"`
	Error     string   `json:"error,omitempty"`
}

// List starts each plugin found and asks it what it is.
func (h *Host) List(ctx context.Context) []Listed {
	var out []Listed
	for _, f := range Discover(h.Dirs) {
		r := Listed{Name: f.Name, Path: f.Path}
		p, err := h.OpenFound(f)
		if err == nil {
			info, ierr := p.Info(ctx)
			p.Close()
			err = ierr
			if err == nil {
				r.Version, r.Protocols = info.GetVersion(), info.GetProtocols()
				for _, v := range info.GetVersions() {
					r.Versions = append(r.Versions, v.GetVersion())
				}
			}
		}
		if err != nil {
			r.Error = err.Error()
		}
		out = append(out, r)
	}
	return out
}

// WriteListing writes a listing as a table on w, and each plugin's error on errw.
func WriteListing(w, errw io.Writer, ls []Listed) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tPROTOCOLS\tFRAMEWORK VERSIONS\tPATH")
	for _, r := range ls {
		if r.Error != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t%s\n", r.Name, r.Path)
			fmt.Fprintf(errw, "%s: %s\n", r.Name, r.Error)
			continue
		}
		versions := strings.Join(r.Versions, ",")
		if versions == "" {
			versions = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, r.Version, strings.Join(r.Protocols, ","), versions, r.Path)
	}
	return tw.Flush()
}
