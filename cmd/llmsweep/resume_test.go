package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/plugins/sdk/scriptserver"
)

// llmsweepBinary links the test binary as "llmsweep": testscript.Main runs the
// CLI when it is invoked under that name.
func llmsweepBinary(t *testing.T) string {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "llmsweep")
	if err := os.Symlink(self, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// started reports whether a run has created its run directory.
func started(results string) bool {
	dirs, _ := filepath.Glob(filepath.Join(results, "quickstart", "*"))
	return len(dirs) > 0
}

// recordKeys reads every measured record's (fingerprint, index) from a run.
func recordKeys(t *testing.T, results string) []string {
	files, _ := filepath.Glob(filepath.Join(results, "quickstart", "*", "records.jsonl"))
	if len(files) != 1 {
		t.Fatalf("record files: %v", files)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keys []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line struct {
			Fingerprint string `json:"fingerprint"`
			Record      struct {
				Index  int  `json:"index"`
				Warmup bool `json:"warmup"`
			} `json:"record"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("%s: %v", files[0], err)
		}
		if !line.Record.Warmup {
			keys = append(keys, fmt.Sprintf("%s/%d", line.Fingerprint[:12], line.Record.Index))
		}
	}
	slices.Sort(keys)
	return keys
}

// Twenty runs, each stopped by SIGTERM at a random point and then resumed, end
// with exactly the records of an uninterrupted run: the same fingerprints and
// request indices, none twice.
func TestSIGTERMResume(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the quickstart 41 times")
	}
	plugins, err := buildPlugins()
	if err != nil {
		t.Fatal(err)
	}
	// Tokens 2 ms apart keep the run mostly measuring, not starting up, so that
	// most of the random signals land mid-run.
	srv := scriptserver.Start(scriptserver.Script{Delay: 2 * time.Millisecond})
	defer srv.Close()
	bin := llmsweepBinary(t)
	campaignFile, _ := filepath.Abs("../../campaigns/quickstart.cue")
	run := func(results string) *exec.Cmd {
		cmd := exec.Command(bin, "run", campaignFile, "--engine-url", srv.URL, "--engine-model", "scripted",
			"--results", results, "--store", "sqlite://"+filepath.Join(results, "results.db"), "--work-dir", t.TempDir())
		cmd.Env = append(os.Environ(), "LLMSWEEP_PLUGIN_PATH="+plugins, "XDG_DATA_HOME="+t.TempDir())
		cmd.Dir = results // the run's reports go to ./.llmsweep/reports
		return cmd
	}
	ref := t.TempDir()
	start := time.Now()
	if out, err := run(ref).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	full := time.Since(start)
	t.Logf("an uninterrupted run takes %v", full)
	want := recordKeys(t, ref)
	if len(want) != 200 {
		t.Fatalf("the uninterrupted run has %d records, want 200", len(want))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	interrupted := 0
	for i := range 20 {
		results := t.TempDir()
		cmd := run(results)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(full))))
		cmd.Process.Signal(syscall.SIGTERM)
		err := cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil: // it finished before the signal
		case errors.As(err, &ee) && ee.ExitCode() == 75:
			interrupted++
			if out, err := run(results).CombinedOutput(); err != nil {
				t.Fatalf("run %d, resumed: %v\n%s", i, err, out)
			}
		case errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGTERM && !started(results):
			// The signal came during start-up, before llmsweep installed its
			// handler: nothing had begun, and a run from scratch is complete.
			if out, err := run(results).CombinedOutput(); err != nil {
				t.Fatalf("run %d, after a SIGTERM during start-up: %v\n%s", i, err, out)
			}
		default:
			t.Fatalf("run %d after SIGTERM: %v", i, err)
		}
		if got := recordKeys(t, results); !slices.Equal(got, want) {
			t.Fatalf("run %d: %d records after the resume, want the %d of the uninterrupted run", i, len(got), len(want))
		}
	}
	t.Logf("%d of 20 runs were interrupted mid-run (the others finished before the signal); all resumed to the same 200 records", interrupted)
	if interrupted < 15 {
		t.Errorf("only %d of 20 runs were interrupted", interrupted)
	}
}
