package runner

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/llmsweep/llmsweep/internal/matrix"
)

// Progress is told what a run is doing.
type Progress interface {
	Start(total, skipped int)
	Current(cfg *matrix.Config)
	Done(cfg *matrix.Config, ok bool)
	Finish()
}

type nopProgress struct{}

func (nopProgress) Start(int, int)            {}
func (nopProgress) Current(*matrix.Config)    {}
func (nopProgress) Done(*matrix.Config, bool) {}
func (nopProgress) Finish()                   {}

// NewProgress shows a progress bar (configs done of total, ETA, the current
// config) when w is a terminal, and logs one structured line per config
// otherwise.
func NewProgress(w io.Writer, log *slog.Logger) Progress {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &bar{w: w}
	}
	return &lines{log: log}
}

func describe(cfg *matrix.Config) string {
	return fmt.Sprintf("%s %s %s %s %s %s", cfg.Model, cfg.Hardware, cfg.Framework, cfg.Quantization, cfg.Workload,
		matrix.Load(cfg.Concurrency, cfg.RequestRate))
}

type bar struct {
	w  io.Writer
	mu sync.Mutex
	pb *progressbar.ProgressBar
}

func (b *bar) Start(total, skipped int) {
	b.pb = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(b.w),
		progressbar.OptionSetDescription("configs"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionFullWidth(),
		progressbar.OptionClearOnFinish(),
	)
	_ = b.pb.Set(skipped)
}

func (b *bar) Current(cfg *matrix.Config) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pb.Describe(describe(cfg))
}

func (b *bar) Done(*matrix.Config, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.pb.Add(1)
}

func (b *bar) Finish() { _ = b.pb.Finish() }

type lines struct {
	log              *slog.Logger
	mu               sync.Mutex
	total, done, bad int
}

func (l *lines) Start(total, skipped int) {
	l.total, l.done = total, skipped
	l.log.Info("run", "configs", total, "already done", skipped)
}

func (l *lines) Current(cfg *matrix.Config) {
	l.log.Info("config", append(ConfigAttrs(cfg), "what", describe(cfg))...)
}

func (l *lines) Done(cfg *matrix.Config, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done++
	if !ok {
		l.bad++
	}
	l.log.Info("done", append(ConfigAttrs(cfg), "ok", ok, "progress", fmt.Sprintf("%d/%d", l.done, l.total), "failed", l.bad)...)
}

func (l *lines) Finish() {}
