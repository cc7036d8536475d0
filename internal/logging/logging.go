// Package logging builds llmsweep's diagnostics logger: JSON lines for a log
// pipeline (Fluent Bit, Fluentd), or the plain text a person reads at a
// terminal. Both take the same slog attributes, so that what a stage logs is
// written once.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/term"
)

// Format is how log records are written.
type Format string

const (
	// JSON writes one object per line: time, level, msg, then the attributes.
	JSON Format = "json"
	// Text writes the message and the record's attributes as key=value, without
	// time or level, as llmsweep's commands always printed to a terminal.
	Text Format = "text"
)

// Attribute keys shared by every stage, so that a log pipeline indexes one name.
const (
	Campaign    = "campaign"
	Run         = "run"
	Model       = "model"
	Batch       = "batch"
	Fingerprint = "fingerprint"
	Attempt     = "attempt"
	ErrorClass  = "error_class"
	Error       = "error"
)

// EnvFormat names the environment variable that sets the default format (a
// pod spec, or a test harness that wants text whatever stderr is).
const EnvFormat = "LLMSWEEP_LOG_FORMAT"

// ParseFormat resolves a --log-format value: "json" or "text"; empty takes
// $LLMSWEEP_LOG_FORMAT, and failing that text when w is a terminal and JSON
// otherwise (a pod's stderr, a pipe, a file).
func ParseFormat(s string, w io.Writer) (Format, error) {
	if s == "" {
		s = os.Getenv(EnvFormat)
	}
	switch Format(s) {
	case JSON, Text:
		return Format(s), nil
	case "":
		if IsTerminal(w) {
			return Text, nil
		}
		return JSON, nil
	}
	return "", fmt.Errorf("log format %q: want json or text", s)
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// New returns a logger writing records at level or above to w in format f.
func New(w io.Writer, f Format, level slog.Leveler) *slog.Logger {
	if f == JSON {
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
	}
	return slog.New(&textHandler{w: w, mu: &sync.Mutex{}, level: level})
}

// AtLeast returns l with records below level dropped: a stage's chatter that
// only -v shows, whatever the logger's own level.
func AtLeast(l *slog.Logger, level slog.Level) *slog.Logger {
	return slog.New(&minLevel{Handler: l.Handler(), level: level})
}

type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h *minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h *minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return &minLevel{Handler: h.Handler.WithAttrs(as), level: h.level}
}

func (h *minLevel) WithGroup(name string) slog.Handler {
	return &minLevel{Handler: h.Handler.WithGroup(name), level: h.level}
}

// quiet are the keys text leaves out: the person at the terminal named the
// campaign, and the run is in the summary line; JSON keeps them on every line.
var quiet = []string{Campaign, Run}

// textHandler writes "msg key=value ...": the message reads as the sentence
// it always was, and the attributes follow it.
type textHandler struct {
	w     io.Writer
	mu    *sync.Mutex
	level slog.Leveler
	attrs []slog.Attr
}

func (h *textHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *textHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &textHandler{w: h.w, mu: h.mu, level: h.level, attrs: append(slices.Clip(h.attrs), as...)}
}

// WithGroup is not used by llmsweep; a group's attributes are written with
// their plain keys.
func (h *textHandler) WithGroup(string) slog.Handler { return h }

func (h *textHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		if a.Equal(slog.Attr{}) || slices.Contains(quiet, a.Key) {
			return true
		}
		v := a.Value.Resolve().String()
		if v == "" || strings.ContainsAny(v, " \t\n\"=") {
			v = strconv.Quote(v)
		}
		b.WriteString(" " + a.Key + "=" + v)
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

type ctxKey struct{}

// NewContext returns ctx carrying l, for code below the command that logs
// without a logger of its own (the store's migrations).
func NewContext(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// FromContext returns the logger ctx carries, or slog.Default().
func FromContext(ctx context.Context) *slog.Logger {
	if l, ok := Lookup(ctx); ok {
		return l
	}
	return slog.Default()
}

// Lookup returns the logger ctx carries, if it carries one.
func Lookup(ctx context.Context) (*slog.Logger, bool) {
	l, ok := ctx.Value(ctxKey{}).(*slog.Logger)
	return l, ok
}
