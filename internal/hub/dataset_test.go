package hub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmsweep/llmsweep/internal/testing/hubtest"
)

const (
	dataSHA      = "740312add88f781978c0658806c59bc2815b9866"
	convertedSHA = "1f0e7a2c3b4d5e6f708192a3b4c5d6e7f8091a2b"
)

func dataRepo() *hubtest.Repo {
	return &hubtest.Repo{SHA: dataSHA, Gated: true,
		Files: map[string][]byte{"main/test-00000-of-00001.parquet": []byte("PAR1 test PAR1")},
		Converted: &hubtest.Tree{SHA: convertedSHA,
			Files: map[string][]byte{"main/test/0000.parquet": []byte("PAR1 converted PAR1")}},
	}
}

func TestDatasetFiles(t *testing.T) {
	h := newFakeHub(t)
	h.Dataset("org/data", dataRepo())
	var sleeps []time.Duration
	c := h.client(&sleeps)
	c.Token = h.token
	c.CacheDir = t.TempDir()
	ctx := context.Background()

	info, err := c.DatasetInfo(ctx, "org/data", "main")
	if err != nil {
		t.Fatal(err)
	}
	if info.SHA != dataSHA || !info.HasFile("main/test-00000-of-00001.parquet") || info.Gated != "auto" {
		t.Errorf("info = %+v", info)
	}
	b, err := c.DatasetFile(ctx, "org/data", dataSHA, "main/test-00000-of-00001.parquet", nil)
	if err != nil || string(b) != "PAR1 test PAR1" {
		t.Fatalf("file = %q, %v", b, err)
	}
	// The converted branch is one path segment, escaped as huggingface_hub does.
	conv, err := c.DatasetInfo(ctx, "org/data", ConvertedParquet)
	if err != nil || conv.SHA != convertedSHA || !conv.HasFile("main/test/0000.parquet") {
		t.Fatalf("converted info = %+v, %v", conv, err)
	}
	if _, err := c.DatasetFile(ctx, "org/data", convertedSHA, "main/test/0000.parquet", nil); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/api/datasets/org/data/revision/main",
		"/datasets/org/data/resolve/" + dataSHA + "/main/test-00000-of-00001.parquet",
		"/api/datasets/org/data/revision/refs%2Fconvert%2Fparquet",
		"/datasets/org/data/resolve/" + convertedSHA + "/main/test/0000.parquet",
	}
	if d := cmp.Diff(want, h.paths()); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}

	// Files at a commit come from the cache the second time, under datasets/.
	if _, err := os.Stat(filepath.Join(c.CacheDir, "datasets", "org--data", dataSHA, "files", "main", "test-00000-of-00001.parquet")); err != nil {
		t.Error(err)
	}
	before := len(h.requests())
	if _, err := c.DatasetFile(ctx, "org/data", dataSHA, "main/test-00000-of-00001.parquet", nil); err != nil {
		t.Fatal(err)
	}
	if len(h.requests()) != before {
		t.Error("a cached file was fetched again")
	}

	// A check that rejects the bytes makes the file malformed, and nothing is cached.
	_, err = c.DatasetFile(ctx, "org/data", convertedSHA, "main/test/0000.parquet", func([]byte) error { return errors.New("not Parquet") })
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "main/test/0000.parquet of org/data at revision "+convertedSHA+" is malformed: not Parquet") {
		t.Errorf("error = %v", err)
	}
}

func TestDatasetErrors(t *testing.T) {
	h := newFakeHub(t)
	h.Dataset("org/data", dataRepo())
	var sleeps []time.Duration
	c := h.client(&sleeps)
	ctx := context.Background()

	// Gated: the info is public, the files need a token.
	if _, err := c.DatasetInfo(ctx, "org/data", "main"); err != nil {
		t.Fatal(err)
	}
	_, err := c.DatasetFile(ctx, "org/data", "main", "main/test-00000-of-00001.parquet", nil)
	if !errors.Is(err, ErrAccess) || !strings.Contains(err.Error(), "https://huggingface.co/datasets/org/data") {
		t.Errorf("gated: %v", err)
	}
	c.Token = h.token
	_, err = c.DatasetFile(ctx, "org/data", "main", "main/nope.parquet", nil)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "org/data has no main/nope.parquet at revision main") {
		t.Errorf("missing file: %v", err)
	}
	_, err = c.DatasetInfo(ctx, "org/data", "0123456789012345678901234567890123456789")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "revision 0123456789012345678901234567890123456789 not found in org/data") {
		t.Errorf("missing revision: %v", err)
	}
	// A model repo of that name is not the dataset.
	if _, err := c.ModelInfo(ctx, "org/data", "main"); !errors.Is(err, ErrNotFound) {
		t.Errorf("model endpoint: %v", err)
	}
	for _, p := range []string{"", "/etc/passwd", "../x", "a//b", "a/./b", `a\b`} {
		before := len(h.requests())
		_, err := c.DatasetFile(ctx, "org/data", "main", p, nil)
		if !errors.Is(err, ErrInvalid) || len(h.requests()) != before {
			t.Errorf("path %q: %v", p, err)
		}
	}
	// 5xx answers are retried with backoff, as for model repos.
	first := len(h.requests())
	h.Intercept(func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n > first+1 {
			return false
		}
		hubtest.Error(w, http.StatusServiceUnavailable, "", fmt.Sprint("down ", n))
		return true
	})
	sleeps = nil
	if _, err := c.DatasetInfo(ctx, "org/data", "main"); err != nil || len(sleeps) != 2 {
		t.Errorf("after 503s: %v, %d sleeps", err, len(sleeps))
	}
}
