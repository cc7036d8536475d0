package runner_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/plugins"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/runlog"
	"github.com/llmsweep/llmsweep/internal/runner"
	"github.com/llmsweep/llmsweep/internal/store"
	"github.com/llmsweep/llmsweep/internal/telemetry"
	"github.com/llmsweep/llmsweep/plugins/sdk/scriptserver"
)

var pluginDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "runner-plugins-")
	if err != nil {
		panic(err)
	}
	root, _ := exec.Command("go", "env", "GOMOD").Output()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "llmsweep-plugin-openai"), "./plugins/openai")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
	if out, err := cmd.CombinedOutput(); err != nil {
		panic(string(out))
	}
	pluginDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// quickstart is the quickstart campaign's configs, with 20 requests each.
func quickstart(t *testing.T) (*campaign.Set, campaign.Campaign, []matrix.Config) {
	set := campaigntest.Repo(t)
	w := set.Workloads["smoke"]
	w.Requests, w.Warmup = 20, 2
	set.Workloads["smoke"] = w
	c := set.Campaigns["quickstart"]
	var configs []matrix.Config
	x := &matrix.Compiler{Set: set}
	for _, m := range set.Select(c).Models {
		x.Model(c, m, func(g *matrix.Group) { configs = append(configs, g.Configs...) }, nil)
	}
	return set, c, configs
}

func options(t *testing.T, url string) runner.Options {
	log, err := runlog.Create(t.TempDir(), result.Run{Campaign: "quickstart", Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	return runner.Options{
		Host:   &plugins.Host{Dirs: []string{pluginDir}},
		Log:    log,
		Engine: &runner.Engine{Plugin: "openai", URL: url, Model: "scripted"},
		Retry: runner.Retry{Retries: 3, Base: 10 * time.Millisecond, Cap: 50 * time.Millisecond, Factor: 2,
			Breaker: 5, BreakerOpen: time.Minute, HalfOpenCall: 3},
		IdleTimeout: 300 * time.Millisecond,
	}
}

func TestRun(t *testing.T) {
	srv := scriptserver.Start(scriptserver.Script{})
	defer srv.Close()
	set, c, configs := quickstart(t)
	opt := options(t, srv.URL)
	rep, err := runner.Run(context.Background(), set, c, configs, opt)
	if err != nil || rep.Done != len(configs) || rep.Failed != 0 {
		t.Fatalf("report %+v, %v", rep, err)
	}
	for _, cfg := range configs {
		recs, err := opt.Log.Records(opt.Identity(&cfg))
		if err != nil || len(recs) != 20 {
			t.Errorf("%s: %d records, %v", cfg.Fingerprint[:12], len(recs), err)
		}
	}
	// A second pass over the same log has nothing to do.
	rep, err = runner.Run(context.Background(), set, c, configs, opt)
	if err != nil || rep.Skipped != len(configs) || rep.Done != 0 {
		t.Errorf("rerun: %+v, %v", rep, err)
	}
}

// A server that answers 500 to everything: each config is retried with backoff,
// the endpoint's breaker opens after 5 failures, and both configs end as failed
// with their reasons.
func TestServerErrorsBreaker(t *testing.T) {
	srv := scriptserver.Start(scriptserver.Script{Status: 500})
	defer srv.Close()
	set, c, configs := quickstart(t)
	opt := options(t, srv.URL)
	rep, err := runner.Run(context.Background(), set, c, configs, opt)
	if err != nil || rep.Failed != 2 || rep.Done != 0 {
		t.Fatalf("report %+v, %v", rep, err)
	}
	fails, _ := opt.Log.Failures()
	if len(fails) != 2 {
		t.Fatalf("final failures: %v", fails)
	}
	if !strings.Contains(fails[0].Reason, "every request failed: 20 × server_error") {
		t.Errorf("first config: %s", fails[0].Reason)
	}
	if !strings.Contains(fails[1].Reason, "circuit breaker open after 5 consecutive failures") {
		t.Errorf("second config: %s", fails[1].Reason)
	}
}

func TestRateLimitedAndHanging(t *testing.T) {
	for name, script := range map[string]scriptserver.Script{
		"429":  {Status: 429},
		"hang": {Hang: true},
	} {
		t.Run(name, func(t *testing.T) {
			srv := scriptserver.Start(script)
			defer srv.Close()
			set, c, configs := quickstart(t)
			opt := options(t, srv.URL)
			opt.Retry.Retries = 1
			opt.IdleTimeout = 100 * time.Millisecond
			start := time.Now()
			rep, err := runner.Run(context.Background(), set, c, configs[:1], opt)
			if err != nil || rep.Failed != 1 {
				t.Fatalf("report %+v, %v", rep, err)
			}
			fails, _ := opt.Log.Failures()
			want := map[string]string{"429": "rate_limited (retryable)", "hang": "timeout (retryable)"}[name]
			if len(fails) != 1 || !strings.Contains(fails[0].Reason, want) {
				t.Errorf("failure %v, want %q", fails, want)
			}
			if el := time.Since(start); el > 30*time.Second {
				t.Errorf("took %v", el)
			}
		})
	}
}

// A plugin killed with -9 in the middle of a config is detected, and the config
// is retried on a new plugin process; it completes with every request once.
func TestPluginKilledIsRetried(t *testing.T) {
	srv := scriptserver.Start(scriptserver.Script{Delay: 5 * time.Millisecond})
	defer srv.Close()
	set, c, configs := quickstart(t)
	opt := options(t, srv.URL)
	go func() {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if srv.Requests.Load() >= 5 {
				if pid := childPlugin(); pid > 0 {
					syscall.Kill(pid, syscall.SIGKILL)
				}
				return
			}
		}
	}()
	rep, err := runner.Run(context.Background(), set, c, configs[:1], opt)
	if err != nil || rep.Done != 1 {
		t.Fatalf("report %+v, %v", rep, err)
	}
	data, _ := os.ReadFile(filepath.Join(opt.Log.Dir, "failures.jsonl"))
	if !strings.Contains(string(data), "crashed or was killed during run") {
		t.Errorf("failures: %s", data)
	}
	recs, _ := opt.Log.Records(opt.Identity(&configs[0]))
	if len(recs) != 20 {
		t.Errorf("%d records after the retry, want 20", len(recs))
	}
}

// childPlugin finds the pid of this process's plugin child.
func childPlugin() int {
	entries, _ := os.ReadDir("/proc")
	self := strconv.Itoa(os.Getpid())
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.Contains(s[:i], "llmsweep-plugin") {
			continue
		}
		if f := strings.Fields(s[i+1:]); len(f) > 1 && f[1] == self {
			pid, _ := strconv.Atoi(e.Name())
			return pid
		}
	}
	return 0
}

// With a store, each finished config lands there too: the records of measured
// requests and the result, once each, and the run is finished in both.
func TestRunStore(t *testing.T) {
	srv := scriptserver.Start(scriptserver.Script{})
	defer srv.Close()
	set, c, configs := quickstart(t)
	opt := options(t, srv.URL)
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	opt.Store = st
	opt.Engine.Pid, opt.SampleEvery = os.Getpid(), 20*time.Millisecond
	if _, err := runner.Run(context.Background(), set, c, configs, opt); err != nil {
		t.Fatal(err)
	}
	results, err := st.Results(context.Background(), store.Filter{RunID: opt.Log.Run.ID})
	if err != nil || len(results) != len(configs) {
		t.Fatalf("%d results in the store (%v), want %d", len(results), err, len(configs))
	}
	for i, cfg := range configs {
		id := opt.Identity(&cfg)
		recs, err := st.Records(context.Background(), opt.Log.Run.ID, id)
		if err != nil || len(recs) != 20 {
			t.Errorf("%s: %d records in the store (%v)", cfg.Fingerprint[:12], len(recs), err)
		}
		// The engine served it, not the config's own framework on its GPUs:
		// the result is kept under an identity of its own, and says so.
		r := results[i]
		if r.Fingerprint != id || id == cfg.Fingerprint || r.Config.Fingerprint != cfg.Fingerprint ||
			r.Engine != "openai:scripted" || r.Provenance.Kind != result.Measured {
			t.Errorf("result %s: fingerprint %s, config %s, engine %q, provenance %v", cfg.Fingerprint[:12], r.Fingerprint[:12],
				r.Config.Fingerprint[:12], r.Engine, r.Provenance)
		}
		// The engine's process (this test's) was sampled while it ran.
		if r.Utilization == nil || r.Utilization.Source != telemetry.SourceProc || !r.Utilization.CPUMeanPct.OK() || !r.Utilization.RSSPeakBytes.OK() {
			t.Errorf("result %s: utilization %+v", cfg.Fingerprint[:12], r.Utilization)
		}
		if s, err := st.Samples(context.Background(), opt.Log.Run.ID, id); err != nil || len(s) == 0 || len(s) != r.Utilization.Samples {
			t.Errorf("%s: %d samples in the store for a summary of %d (%v)", cfg.Fingerprint[:12], len(s), r.Utilization.Samples, err)
		}
	}
	if r, err := st.Run(context.Background(), opt.Log.Run.ID); err != nil || r.Finished.IsZero() {
		t.Errorf("run %+v, %v", r, err)
	}
}

// A config that failed for good is not done: a resume retries it with a new
// round of attempts, numbered on from the last, and once it succeeds nothing
// of the run is failed any more.
func TestResumeRetriesFailed(t *testing.T) {
	bad := scriptserver.Start(scriptserver.Script{Status: 500})
	defer bad.Close()
	set, c, configs := quickstart(t)
	opt := options(t, bad.URL)
	opt.Retry.Retries = 1
	rep, err := runner.Run(context.Background(), set, c, configs[:1], opt)
	if err != nil || rep.Failed != 1 {
		t.Fatalf("first pass: %+v, %v", rep, err)
	}
	id := opt.Identity(&configs[0])
	if opt.Log.Done(id) || !opt.Log.Failed(id) || opt.Log.Attempts(id) != 2 {
		t.Fatalf("after failing: done %v failed %v attempts %d", opt.Log.Done(id), opt.Log.Failed(id), opt.Log.Attempts(id))
	}
	// Resume the same run directory, the server now healthy.
	good := scriptserver.Start(scriptserver.Script{})
	defer good.Close()
	log, err := runlog.Open(opt.Log.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	opt.Log, opt.Engine.URL = log, good.URL
	rep, err = runner.Run(context.Background(), set, c, configs[:1], opt)
	if err != nil || rep.Done != 1 || rep.Skipped != 0 || rep.Failed != 0 {
		t.Fatalf("resume: %+v, %v", rep, err)
	}
	results, _ := log.Results()
	if len(results) != 1 || results[0].Attempts != 3 {
		t.Errorf("results %+v, want one on attempt 3", results)
	}
	if fails, _ := log.Failures(); len(fails) != 0 {
		t.Errorf("still failed: %+v", fails)
	}
	// A resume of a config that fails again is failed again: exit code 1.
	log2, _ := runlog.Create(t.TempDir(), result.Run{Campaign: "quickstart", Started: time.Now()})
	defer log2.Close()
	opt.Log, opt.Engine.URL = log2, bad.URL
	runner.Run(context.Background(), set, c, configs[:1], opt)
	log3, _ := runlog.Open(log2.Dir)
	defer log3.Close()
	opt.Log = log3
	if rep, err := runner.Run(context.Background(), set, c, configs[:1], opt); err != nil || rep.Failed != 1 || rep.Skipped != 0 {
		t.Errorf("resumed and failed again: %+v, %v", rep, err)
	}
}
