package cli

import (
	"context"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/logging"
)

// logs is the root's --log-format and the logger it resolves to. Every
// command's diagnostics and progress go to that logger on stderr; what a
// command reports (tables, reports, listings) stays on stdout as it is.
type logs struct {
	format string
	stderr io.Writer
	log    *slog.Logger
}

const logFormatHelp = "how diagnostics are written to stderr: json (one object per line, for a log pipeline) or text (default $" +
	logging.EnvFormat + ", else text on a terminal and json otherwise)"

func (l *logs) register(root *cobra.Command) {
	root.PersistentFlags().StringVar(&l.format, "log-format", "", logFormatHelp)
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		f, err := logging.ParseFormat(l.format, l.stderr)
		if err != nil {
			return err
		}
		l.log = logging.New(l.stderr, f, slog.LevelInfo)
		cmd.SetContext(logging.NewContext(cmd.Context(), l.log))
		return nil
	}
}

// logger is the command's logger; one a flag error left unresolved writes in
// the format that the environment and stderr choose.
func (l *logs) logger() *slog.Logger {
	if l.log != nil {
		return l.log
	}
	f, err := logging.ParseFormat("", l.stderr)
	if err != nil {
		f = logging.Text
	}
	return logging.New(l.stderr, f, slog.LevelInfo)
}

// logger returns the logger the root's --log-format set up for cmd; a
// command run without the root (a test of one command) logs text to its stderr.
func logger(cmd *cobra.Command) *slog.Logger {
	if l, ok := logging.Lookup(cmd.Context()); ok {
		return l
	}
	return logging.New(cmd.ErrOrStderr(), logging.Text, slog.LevelInfo)
}

// diag is a writer for a command's diagnostics that logs each line written to
// it at level: the commands that print problems, warnings and notes line by
// line keep their wording, and the lines come out in the --log-format.
func diag(cmd *cobra.Command, level slog.Level) io.Writer {
	return lineLogger{log: logger(cmd), level: level}
}

type lineLogger struct {
	log   *slog.Logger
	level slog.Level
}

// Write logs p's lines; callers write whole lines (Fprintf, Fprintln), so a
// line is never split across two writes.
func (l lineLogger) Write(p []byte) (int, error) {
	for line := range strings.Lines(string(p)) {
		if line = strings.TrimRight(line, "\n"); line != "" {
			l.log.Log(context.Background(), l.level, line)
		}
	}
	return len(p), nil
}
