package modelcache

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmsweep/llmsweep/internal/hub"
	"github.com/llmsweep/llmsweep/internal/testing/hubtest"
)

const (
	repo = "org/tiny-llm"
	sha  = "0123456789abcdef0123456789abcdef01234567"
)

// tinyRepo is a model repo laid out as the Hub's are: sharded safetensors
// with their index, a PyTorch copy, the original consolidated checkpoint,
// tokenizer and config files, and a README.
func tinyRepo() *hubtest.Repo {
	return &hubtest.Repo{SHA: sha, Gated: true, Files: map[string][]byte{
		"config.json":                      []byte(`{"architectures":["LlamaForCausalLM"]}`),
		"generation_config.json":           []byte(`{"do_sample":true}`),
		"model-00001-of-00002.safetensors": bytes.Repeat([]byte{1}, 4096),
		"model-00002-of-00002.safetensors": bytes.Repeat([]byte{2}, 1000),
		"model.safetensors.index.json":     []byte(`{"weight_map":{}}`),
		"pytorch_model.bin":                bytes.Repeat([]byte{3}, 5096),
		"original/consolidated.00.pth":     bytes.Repeat([]byte{4}, 5096),
		"tokenizer.json":                   []byte(`{"model":{}}`),
		"tokenizer_config.json":            []byte(`{}`),
		"README.md":                        []byte("# tiny"),
		"onnx/model.onnx":                  []byte("onnx"),
		"special_tokens_map.json":          []byte(`{}`),
	}}
}

var wantFiles = []string{"config.json", "generation_config.json", "model-00001-of-00002.safetensors",
	"model-00002-of-00002.safetensors", "model.safetensors.index.json", "special_tokens_map.json",
	"tokenizer.json", "tokenizer_config.json"}

func newCache(t *testing.T, h *hubtest.Hub) *Cache {
	t.Helper()
	dir := t.TempDir()
	return &Cache{Dir: dir, Hub: &hub.Client{BaseURL: h.URL, Token: hubtest.Token, CacheDir: filepath.Join(dir, HubCache),
		Backoff: time.Millisecond, Sleep: func(time.Duration) {}}}
}

// downloads counts the requests for files, as opposed to repo info.
func downloads(h *hubtest.Hub) int {
	n := 0
	for _, p := range h.Paths() {
		if strings.Contains(p, "/resolve/") {
			n++
		}
	}
	return n
}

func TestFetchOnceThenPresent(t *testing.T) {
	h := hubtest.New(t)
	r := tinyRepo()
	h.Model(repo, r)
	c := newCache(t, h)
	ctx := context.Background()

	res, err := c.Fetch(ctx, repo, "main", false)
	if err != nil {
		t.Fatal(err)
	}
	if res.SHA != sha || res.Present || res.Downloaded != len(wantFiles) || res.Files != len(wantFiles) {
		t.Fatalf("first fetch: %+v", res)
	}
	snap := filepath.Join(c.RepoDir(repo), "snapshots", sha)
	var got []string
	filepath.WalkDir(snap, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(snap, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	if diff := cmp.Diff(wantFiles, got); diff != "" {
		t.Errorf("snapshot files (-want +got):\n%s", diff)
	}
	for _, name := range got {
		b, _ := os.ReadFile(filepath.Join(snap, name))
		if !bytes.Equal(b, r.Files[name]) {
			t.Errorf("%s differs from the Hub's", name)
		}
	}
	// huggingface_hub resolves the branch through refs/main.
	if ref, err := os.ReadFile(filepath.Join(c.RepoDir(repo), "refs", "main")); err != nil || string(ref) != sha {
		t.Errorf("refs/main = %q, %v; want %s", ref, err, sha)
	}
	if !strings.HasSuffix(c.RepoDir(repo), filepath.Join("huggingface", "hub", "models--org--tiny-llm")) {
		t.Errorf("repo folder %s is not huggingface_hub's", c.RepoDir(repo))
	}

	// Idempotent: a second fetch, by branch or by commit, downloads nothing.
	before := downloads(h)
	for _, rev := range []string{"main", sha} {
		res, err := c.Fetch(ctx, repo, rev, false)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Present || res.Downloaded != 0 {
			t.Errorf("fetch at %s of a cached checkpoint: %+v", rev, res)
		}
	}
	if n := downloads(h) - before; n != 0 {
		t.Errorf("a cached checkpoint caused %d downloads", n)
	}

	// A file lost from the cache is fetched again, and only it.
	os.Remove(filepath.Join(snap, "model-00002-of-00002.safetensors"))
	before = downloads(h)
	res, err = c.Fetch(ctx, repo, "main", false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Present || res.Downloaded != 1 || downloads(h)-before != 1 {
		t.Errorf("refetch after losing a shard: %+v, %d downloads; want the one shard", res, downloads(h)-before)
	}
	if _, err := os.Stat(filepath.Join(snap, "model-00002-of-00002.safetensors")); err != nil {
		t.Errorf("the lost shard was not fetched again: %v", err)
	}
}

func TestFetchHubOnly(t *testing.T) {
	h := hubtest.New(t)
	h.Model(repo, tinyRepo())
	c := newCache(t, h)
	res, err := c.Fetch(context.Background(), repo, "main", true)
	if err != nil {
		t.Fatal(err)
	}
	if res.SHA != sha || res.Files != len(wantFiles) || res.Bytes == 0 || res.Downloaded != 0 {
		t.Errorf("hub-only: %+v", res)
	}
	if n := downloads(h); n != 0 {
		t.Errorf("hub-only downloaded %d files", n)
	}
	if _, err := os.Stat(c.RepoDir(repo)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("hub-only wrote the cache: %v", err)
	}
}

// TestFetchRejectsCorruptFile: a file whose bytes do not match the revision
// info is never left in the cache, and no manifest is written.
func TestFetchRejectsCorruptFile(t *testing.T) {
	h := hubtest.New(t)
	h.Model(repo, tinyRepo())
	h.Intercept(func(n int, w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "model-00001-of-00002.safetensors") {
			w.Write(bytes.Repeat([]byte{9}, 4096)) // right size, wrong content
			return true
		}
		return false
	})
	c := newCache(t, h)
	_, err := c.Fetch(context.Background(), repo, "main", false)
	if !errors.Is(err, hub.ErrMalformed) || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("corrupt shard: err = %v, want a sha256 mismatch", err)
	}
	snap := filepath.Join(c.RepoDir(repo), "snapshots", sha)
	if _, err := os.Stat(filepath.Join(snap, "model-00001-of-00002.safetensors")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the corrupt shard is in the cache")
	}
	if m, _ := filepath.Glob(filepath.Join(c.RepoDir(repo), ".llmsweep", "*.json")); len(m) != 0 {
		t.Errorf("a manifest was written: %v", m)
	}
	if parts, _ := filepath.Glob(filepath.Join(snap, ".*.part")); len(parts) != 0 {
		t.Errorf("partial files left behind: %v", parts)
	}
}

// TestFetchRetries: a 503 and a truncated body are retried with backoff.
func TestFetchRetries(t *testing.T) {
	h := hubtest.New(t)
	h.Model(repo, tinyRepo())
	var mu sync.Mutex
	failed := map[string]bool{}
	h.Intercept(func(n int, w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		name := r.URL.Path
		if !strings.Contains(name, "/resolve/") || failed[name] {
			return false
		}
		failed[name] = true
		if strings.HasSuffix(name, ".safetensors") {
			// Promise the whole file, send half, and drop the connection.
			w.Header().Set("Content-Length", "4096")
			w.Write(bytes.Repeat([]byte{1}, 100))
			return true
		}
		hubtest.Error(w, http.StatusServiceUnavailable, "", "try later")
		return true
	})
	c := newCache(t, h)
	res, err := c.Fetch(context.Background(), repo, "main", false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Downloaded != len(wantFiles) {
		t.Errorf("downloaded %d files, want %d", res.Downloaded, len(wantFiles))
	}
	if n := downloads(h); n != 2*len(wantFiles) {
		t.Errorf("%d file requests, want %d (each failed once)", n, 2*len(wantFiles))
	}
}

// TestFetchConcurrent: batch pods starting together on one node take turns,
// and each file is downloaded once.
func TestFetchConcurrent(t *testing.T) {
	h := hubtest.New(t)
	h.Model(repo, tinyRepo())
	c := newCache(t, h)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	present := make([]bool, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cc := *c
			res, err := cc.Fetch(context.Background(), repo, "main", false)
			errs[i] = err
			if err == nil {
				present[i] = res.Present
			}
		}()
	}
	wg.Wait()
	fetched := 0
	for i, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
		if !present[i] {
			fetched++
		}
	}
	if fetched != 1 || downloads(h) != len(wantFiles) {
		t.Errorf("%d fetchers downloaded, %d file requests; want 1 and %d", fetched, downloads(h), len(wantFiles))
	}
}

func TestFetchGatedNeedsToken(t *testing.T) {
	h := hubtest.New(t)
	h.Model(repo, tinyRepo())
	c := newCache(t, h)
	c.Hub.Token = ""
	_, err := c.Fetch(context.Background(), repo, "main", false)
	if !errors.Is(err, hub.ErrAccess) {
		t.Fatalf("gated repo without a token: %v", err)
	}
}

// TestRevisionInfoFixture decodes a real ?blobs=true answer (testdata/README.md).
func TestRevisionInfoFixture(t *testing.T) {
	b, err := os.ReadFile("testdata/whisper.cpp.revision-info.json")
	if err != nil {
		t.Fatal(err)
	}
	h := hubtest.New(t)
	const rev = "5359861c739e955e79d9a303bcbc70fb988958b1"
	h.Model("ggerganov/whisper.cpp", &hubtest.Repo{SHA: rev, Info: b})
	c := newCache(t, h)
	info, err := c.Hub.ModelFiles(context.Background(), "ggerganov/whisper.cpp", rev)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Siblings) != 12 {
		t.Fatalf("%d siblings, want 12", len(info.Siblings))
	}
	tiny := info.Siblings[4]
	want := hub.Sibling{RFilename: "ggml-tiny.bin", BlobID: "d144f735b005ae8cbfa04a49e22fe40faa24dbec", Size: 77691713,
		LFS: &hub.LFS{SHA256: "be07e048e1e599ad46341c8d2a135645097a538221678b7acdd1b1919c6e1b21", Size: 77691713, PointerSize: 133}}
	if diff := cmp.Diff(want, tiny); diff != "" {
		t.Errorf("ggml-tiny.bin (-want +got):\n%s", diff)
	}
	// No safetensors: the PyTorch-format weights, never the README.
	w := Weights(info.Siblings)
	if len(w) != 11 || w[0].RFilename != "ggml-base.bin" {
		t.Errorf("weights: %d files, first %q", len(w), w[0].RFilename)
	}
	res, err := c.Fetch(context.Background(), "ggerganov/whisper.cpp", rev, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Bytes != 12308278561 || res.Files != 11 {
		t.Errorf("hub-only: %d files, %d bytes", res.Files, res.Bytes)
	}
}
