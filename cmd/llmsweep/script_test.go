package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/llmsweep/llmsweep/internal/cli"
	"github.com/llmsweep/llmsweep/internal/testing/shipped"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"llmsweep": func() { os.Exit(cli.Main()) },
	})
}

var update = flag.Bool("update", false, "rewrite the scripts' cmp golden files in place")

// TestScripts runs the CLI scripts in testdata/script. Each script's $WORK has no
// cue.mod, so llmsweep uses its built-in schema and catalog there, as it would in a
// user's own repository.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       *update,
		Setup: func(env *testscript.Env) error {
			dir, err := buildPlugins()
			env.Setenv("PLUGINS", dir)
			env.Setenv("XDG_DATA_HOME", env.WorkDir+"/data") // not the user's plugins
			// The scripts read what a person reads; a script's stderr is not a
			// terminal, which would mean JSON. log_json.txtar unsets this.
			env.Setenv("LLMSWEEP_LOG_FORMAT", "text")
			if root, rerr := shipped.Root(); rerr == nil {
				env.Setenv("SDK", root+"/plugins/sdk")    // the checkout's plugin SDK
				env.Setenv("LLMSWEEP_CI_DIR", root+"/ci") // the shipped CI scripts
			}
			return err
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"mkcue":   mkcue,
			"mkbytes": mkbytes,
			"fakegcs": fakegcs,
			"capture": capture,
			"exits":   exits,
			"jsonlog": jsonlog,
			"jsondoc": jsondoc,
		},
	})
}

var (
	pluginsOnce sync.Once
	pluginsDir  string
	pluginsErr  error
)

// buildPlugins builds the shipped plugins once for all scripts, into $PLUGINS.
func buildPlugins() (string, error) {
	pluginsOnce.Do(func() {
		pluginsDir, pluginsErr = os.MkdirTemp("", "llmsweep-plugins-")
		if pluginsErr != nil {
			return
		}
		pluginsErr = shipped.Build(pluginsDir)
	})
	return pluginsDir, pluginsErr
}

// exits CODE PROG ARGS... runs PROG as exec does and checks its exit code:
// the README's table (0 fine, 1 findings, 2 could not run).
func exits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d; stderr:\n%s", strings.Join(args[1:], " "), got, want, ts.ReadFile("stderr"))
	}
}

// capture VAR REGEXP sets $VAR to the first group of REGEXP's first match in
// the last command's stdout, then its stderr: a run ID a later command needs.
func capture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: capture VAR REGEXP")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	for _, f := range []string{"stdout", "stderr"} {
		if m := re.FindStringSubmatch(ts.ReadFile(f)); len(m) > 1 {
			ts.Setenv(args[0], m[1])
			return
		}
	}
	ts.Fatalf("capture: no match for %s", args[1])
}

// mkcue FILE MB writes a syntactically valid CUE file of about MB megabytes.
func mkcue(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mkcue FILE MB")
	}
	mb, err := strconv.Atoi(args[1])
	ts.Check(err)
	var b bytes.Buffer
	b.WriteString("campaigns: big: {\n")
	for i := 0; b.Len() < mb<<20; i++ {
		fmt.Fprintf(&b, "\t_padding%d: %q\n", i, strings.Repeat("x", 100))
	}
	b.WriteString("}\n")
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b.Bytes(), 0o644))
}

// mkbytes FILE TEXT HEX TEXT writes the concatenation of its arguments, with every
// second argument decoded from hex: a way to write bytes txtar cannot hold.
func mkbytes(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: mkbytes FILE TEXT [HEX TEXT]...")
	}
	var b bytes.Buffer
	for i, a := range args[1:] {
		if i%2 == 1 {
			x, err := hex.DecodeString(a)
			ts.Check(err)
			b.Write(x)
			continue
		}
		b.WriteString(strings.NewReplacer(`\n`, "\n", `\t`, "\t").Replace(a))
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b.Bytes(), 0o644))
}

// fakegcs BUCKET... starts fake-gcs-server in the test process, with these
// buckets, for the rest of the script, and points llmsweep's GCS client at it
// ($STORAGE_EMULATOR_HOST).
func fakegcs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: fakegcs BUCKET...")
	}
	// The GCS client reads objects through the XML API at the emulator's own
	// host: PublicHost makes the fake answer there.
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", PublicHost: "127.0.0.1", Writer: io.Discard})
	ts.Check(err)
	ts.Defer(srv.Stop)
	for _, b := range args {
		srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: b})
	}
	u, err := url.Parse(srv.URL())
	ts.Check(err)
	ts.Setenv("STORAGE_EMULATOR_HOST", u.Host)
}

// jsonlog all|some KEY... parses every line of the last command's stderr as a
// JSON log record (time, level and msg, at the least): with all, every line
// has each KEY; with some, at least one line has every KEY, none empty.
// jsondoc KEY... checks that the last command's stdout is exactly one JSON
// document (what -o json promises) and, when it is an object, has each KEY.
func jsondoc(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: jsondoc [KEY...]")
	}
	dec := json.NewDecoder(strings.NewReader(ts.ReadFile("stdout")))
	var v any
	if err := dec.Decode(&v); err != nil {
		ts.Fatalf("jsondoc: stdout is not JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		ts.Fatalf("jsondoc: stdout holds more than one JSON document")
	}
	if len(args) == 0 {
		return
	}
	obj, ok := v.(map[string]any)
	if !ok {
		ts.Fatalf("jsondoc: stdout is a %T, not an object with %s", v, strings.Join(args, ", "))
	}
	for _, k := range args {
		if _, ok := obj[k]; !ok {
			ts.Fatalf("jsondoc: no %q in stdout's object", k)
		}
	}
}

func jsonlog(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || args[0] != "all" && args[0] != "some" {
		ts.Fatalf("usage: jsonlog all|some KEY...")
	}
	text := ts.ReadFile("stderr")
	if text == "" {
		ts.Fatalf("jsonlog: stderr is empty")
	}
	found := false
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		var rec map[string]any
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&rec); err != nil || dec.More() {
			ts.Fatalf("jsonlog: stderr line %d is not one JSON object (%v): %s", i+1, err, line)
		}
		if t, _ := rec["time"].(string); t == "" {
			ts.Fatalf("jsonlog: stderr line %d has no time: %s", i+1, line)
		} else if _, err := time.Parse(time.RFC3339Nano, t); err != nil {
			ts.Fatalf("jsonlog: stderr line %d: time: %v", i+1, err)
		}
		if l, _ := rec["level"].(string); !slices.Contains([]string{"DEBUG", "INFO", "WARN", "ERROR"}, l) {
			ts.Fatalf("jsonlog: stderr line %d: level %q: %s", i+1, rec["level"], line)
		}
		if m, _ := rec["msg"].(string); m == "" {
			ts.Fatalf("jsonlog: stderr line %d has no msg: %s", i+1, line)
		}
		has := true
		for _, k := range args[1:] {
			if v, ok := rec[k]; !ok || v == "" || v == nil {
				if args[0] == "all" {
					ts.Fatalf("jsonlog: stderr line %d has no %s: %s", i+1, k, line)
				}
				has = false
			}
		}
		found = found || has
	}
	if !found {
		ts.Fatalf("jsonlog: no stderr line has all of %s", strings.Join(args[1:], ", "))
	}
}
