// Package cli is the llmsweep command line. Main is shared by cmd/llmsweep and the
// testscript harness, so the scripts exercise exactly what users run.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Exit codes shared by every command (the README's table):
//
//	0  it ran, and found nothing to report
//	1  it ran, and found something: vet problems, a diff, a regression, a config
//	   that failed, a run over budget
//	2  it could not run: bad flags or input, an unknown run, a store or cluster
//	   that cannot be reached
//	75 interrupted (SIGTERM, the spot warning) after a checkpoint: run again to resume
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// version and commit are set by the build (make build's -ldflags); a plain go
// build falls back to the module's build info.
var version, commit string

func versionString() string {
	v, c := version, commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
	}
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	if c == "" {
		c = "unknown"
	}
	return v + " (commit " + c + ")"
}

// exitError ends a command with a code after its output is written.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Main runs llmsweep with os.Args and returns the process exit code.
func Main() int {
	return Run(os.Args[1:], os.Stdout, os.Stderr)
}

// Run runs llmsweep with args, writing to stdout and stderr.
func Run(args []string, stdout, stderr io.Writer) int {
	l := &logs{stderr: stderr}
	root := newRoot(stdout, stderr)
	l.register(root)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	var ee exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	default:
		l.logger().Error("llmsweep: " + err.Error())
		return exitUsage
	}
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "llmsweep",
		Short:         "Declarative benchmarking of LLM inference serving",
		Long:          "llmsweep vets, compiles and runs benchmark campaigns written in CUE.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
	}
	root.SetVersionTemplate("llmsweep {{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newVet(), newCompile(), newValidateModel(), newFetchTaskData(), newFetchModel(), newDiff(), newRank(), newPlugins(), newRun(), newExec(), newResults(), newCompare(), newApply(), newStatus(), newPlan(), newAggregate(), newRefreshViews(), newInvalidateCache(), newReport(), newNotify(), newArchive(), newRuns(), newStore(), newCI(), newFailures(), newServe(), newCatalog())
	return root
}
