package serve_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"cuelang.org/go/cue/cuecontext"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/cli"
	"github.com/llmsweep/llmsweep/internal/serve"
	"github.com/llmsweep/llmsweep/internal/store"
	"github.com/llmsweep/llmsweep/internal/testing/shipped"
)

// scratch holds what the package's tests share: the sim plugin and the
// SQLite store they read; TestMain removes it.
var scratch string

func TestMain(m *testing.M) {
	var err error
	if scratch, err = os.MkdirTemp("", "serve-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(scratch)
	os.Exit(code)
}

var (
	pluginsOnce sync.Once
	pluginsDir  string
	pluginsErr  error
)

// plugins builds the sim plugin once for the package's tests.
func plugins(t testing.TB) string {
	pluginsOnce.Do(func() {
		pluginsDir = filepath.Join(scratch, "plugins")
		pluginsErr = shipped.Build(pluginsDir, "sim")
	})
	if pluginsErr != nil {
		t.Fatal(pluginsErr)
	}
	return pluginsDir
}

// campaignCUE is a small sweep on the sim engine: two loads of one stack, and
// a second hardware, so that rankings and fronts have something to choose.
const campaignCUE = `campaigns: catalogtest: {
	description: "The catalog service's test sweep on the emulated engine"
	models: ["llama-3.2-1b-instruct"]
	select: {hardware: ["h100-sxm-x1", "l4-x1"], frameworks: ["vllm"], quantizations: ["bf16"], workloads: ["smoke"]}
	grid: {
		concurrency: [4, 16]
		sequence_lengths: [{input_tokens: 32, output_tokens: 8}]
	}
	engine: plugin: "sim"
	store: url: %q
	%s
}
`

// reviewCUE is a campaign on a framework this machine cannot launch.
const reviewCUE = `campaigns: reviewtest: {
	description: "TGI, which this machine does not have"
	models: ["llama-3.2-1b-instruct"]
	select: {hardware: ["h100-sxm-x1"], frameworks: ["tgi"], quantizations: ["bf16"], workloads: ["smoke"]}
	grid: concurrency: [4]
	store: url: %q
}
`

// filled is a store that real pipeline runs filled.
type filled struct {
	URL      string
	Dir      string // where the campaign file is
	Campaign string // its path
	Runs     []string
}

// llmsweep runs the CLI in dir, failing the test on a non-zero exit.
func llmsweep(t testing.TB, dir string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	code := cli.Run(args, &out, &errb)
	os.Chdir(wd)
	if code != 0 {
		t.Fatalf("llmsweep %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String() + errb.String()
}

// fill runs the test campaign twice on the sim engine into the store at url
// (the second time with --force, so that there are two runs to compare), and
// imports a vLLM result whose model name holds markup. cacheURL, when set, is
// the campaign's cache, which the pipeline's tail invalidates.
func fill(t testing.TB, url, cacheURL string) filled {
	t.Helper()
	t.Setenv("LLMSWEEP_PLUGIN_PATH", plugins(t))
	t.Setenv("LLMSWEEP_STORE", url)
	dir := t.TempDir()
	cache := ""
	if cacheURL != "" {
		cache = fmt.Sprintf("cache: url: %q", cacheURL)
	}
	path := filepath.Join(dir, "catalogtest.cue")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(campaignCUE, url, cache)), 0o644); err != nil {
		t.Fatal(err)
	}
	llmsweep(t, dir, "run", path)
	llmsweep(t, dir, "run", path, "--force")
	// A real vLLM bench serve file (internal/benchfmt/testdata/real), with a
	// model name that would run as script if a page did not escape it.
	b, err := os.ReadFile("../benchfmt/testdata/real/vllm/bench_serve_v0.25.1.json")
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte(`"model_id": "facebook/opt-125m"`), []byte(`"model_id": "<script>alert(1)</script>"`), 1)
	imp := filepath.Join(dir, "bench_serve.json")
	if err := os.WriteFile(imp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	llmsweep(t, dir, "results", "import", "--framework", "vllm", "--server-version", "0.25.1", imp)
	// A campaign whose one config fails for good (TGI cannot launch here), so
	// the review queue has an entry.
	review := filepath.Join(dir, "reviewtest.cue")
	if err := os.WriteFile(review, []byte(fmt.Sprintf(reviewCUE, url)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := cli.Run([]string{"run", review}, io.Discard, io.Discard); code != 1 {
		t.Fatalf("llmsweep run reviewtest.cue: exit %d, want 1 (a config failed)", code)
	}
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.RefreshViews(context.Background()); err != nil {
		t.Fatal(err)
	}
	runs, err := st.Runs(context.Background(), "catalogtest")
	if err != nil || len(runs) != 2 {
		t.Fatalf("runs of catalogtest: %v, %v", runs, err)
	}
	return filled{URL: url, Dir: dir, Campaign: path, Runs: []string{runs[0].ID, runs[1].ID}}
}

var (
	setOnce sync.Once
	set     *campaign.Set
	setErr  error
)

// server opens the store at url and serves it with the built-in catalog and
// the shipped policies.
func server(t testing.TB, url string, o serve.Options) (*serve.Server, store.Store) {
	t.Helper()
	setOnce.Do(func() {
		set, setErr = campaign.Load(cuecontext.New(), nil, campaign.Options{})
		if setErr == nil {
			set.Policies, setErr = campaign.ShippedPolicies(cuecontext.New(), "")
		}
	})
	if setErr != nil {
		t.Fatal(setErr)
	}
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	o.Store, o.Set = st, set
	s, err := serve.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}
