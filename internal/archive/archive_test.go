package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

var runStart = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func files(t *testing.T) []File {
	t.Helper()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return []File{
		{Name: "records.jsonl.gz", Path: write("records.jsonl.gz", strings.Repeat(`{"index":1,"ttft_ns":12345}`+"\n", 2000)), ContentType: "application/gzip"},
		{Name: "reports/latest.html", Path: write("latest.html", "<html>report</html>"), ContentType: "text/html"},
		// The same bytes under a second name: stored once.
		{Name: "reports/copy.html", Path: write("copy.html", "<html>report</html>"), ContentType: "text/html"},
	}
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// exercise runs the archive's life cycle against one bucket: upload, a
// repeated upload that skips, a later run that shares content, and prune.
func exercise(t *testing.T, url string) {
	ctx := context.Background()
	b, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fs := files(t)
	expires := runStart.Add(DefaultRetention)
	man, outs, err := b.Upload(ctx, "nightly", "run-1", fs, expires)
	if err != nil {
		t.Fatal(err)
	}
	if len(man.Files) != 3 || len(outs) != 4 {
		t.Fatalf("manifest %+v, outcomes %+v", man, outs)
	}
	html := ObjectKey(sha("<html>report</html>"))
	if outs[1].Key != html || outs[2].Key != html || outs[1].Skipped || !outs[2].Skipped {
		t.Errorf("the report's copy should reuse the first upload: %+v", outs)
	}
	for _, o := range outs[:2] {
		if o.Skipped {
			t.Errorf("%s skipped on the first upload", o.Name)
		}
	}
	attrs, err := b.Attributes(ctx, html)
	if err != nil {
		t.Fatal(err)
	}
	if attrs.Metadata[MetaExpires] != "2027-01-30T12:00:00Z" || attrs.Metadata[MetaSHA256] != sha("<html>report</html>") ||
		attrs.Metadata[MetaRun] != "run-1" || attrs.Metadata[MetaCampaign] != "nightly" {
		t.Errorf("metadata %v", attrs.Metadata)
	}
	body, err := b.ReadAll(ctx, html)
	if err != nil || string(body) != "<html>report</html>" {
		t.Errorf("read back %q, %v", body, err)
	}
	back, err := b.ReadManifest(ctx, "nightly", "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := mustJSON(back), mustJSON(man); got != want {
		t.Errorf("manifest read back:\n%s\nwant\n%s", got, want)
	}

	// Again: nothing is written.
	_, outs, err = b.Upload(ctx, "nightly", "run-1", fs, expires)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		if !o.Skipped {
			t.Errorf("second upload wrote %s", o.Name)
		}
	}

	// A later run with the same report refreshes its expiry.
	later := expires.Add(24 * time.Hour)
	_, outs, err = b.Upload(ctx, "nightly", "run-2", fs[1:2], later)
	if err != nil {
		t.Fatal(err)
	}
	if outs[0].Skipped {
		t.Error("a later expiry did not refresh the shared object")
	}

	// Prune: nothing before run-1 expires; after it, run-1's own objects go,
	// and the shared report stays until run-2's expiry.
	p, err := b.Prune(ctx, expires.Add(-time.Minute), false)
	if err != nil || len(p.Deleted) != 0 || p.Kept != 4 {
		t.Fatalf("early prune: %+v %v", p, err)
	}
	p, err = b.Prune(ctx, expires.Add(time.Minute), false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ManifestKey("nightly", "run-1"), ObjectKey(sha(strings.Repeat(`{"index":1,"ttft_ns":12345}`+"\n", 2000)))}
	if strings.Join(sortStrings(p.Deleted), ",") != strings.Join(sortStrings(want), ",") || p.Kept != 2 {
		t.Errorf("prune deleted %v (kept %d), want %v", p.Deleted, p.Kept, want)
	}
	if ok, _ := b.Exists(ctx, html); !ok {
		t.Error("the report run-2 still needs was pruned")
	}
}

func TestFileArchive(t *testing.T) {
	dir := t.TempDir()
	exercise(t, "file://"+filepath.Join(dir, "archive"))
	// A foreign file in the archive is never pruned.
	if err := os.WriteFile(filepath.Join(dir, "archive", "README"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Open(context.Background(), "file://"+filepath.Join(dir, "archive"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, err := b.Prune(context.Background(), time.Now().Add(1000*24*time.Hour), false)
	if err != nil || p.Foreign != 1 {
		t.Errorf("prune %+v %v", p, err)
	}
}

func TestS3Archive(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("results"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "test-key")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	url := "s3://results/nightly?region=us-east-1&use_path_style=true&disable_https=true&endpoint=" + srv.URL
	exercise(t, url)

	// The keys sit under the URL's prefix in the real bucket.
	objs, err := backend.ListBucket("results", nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs.Contents {
		if !strings.HasPrefix(o.Key, "nightly/objects/sha256/") && !strings.HasPrefix(o.Key, "nightly/runs/") {
			t.Errorf("key %s is outside the prefix", o.Key)
		}
	}
	if len(objs.Contents) != 2 { // the shared report and run-2's manifest outlive the prune
		t.Errorf("%d objects left, want 2", len(objs.Contents))
	}

	// A bucket that does not exist: a clear error naming the target.
	b, err := Open(context.Background(), "s3://missing?region=us-east-1&use_path_style=true&disable_https=true&endpoint="+srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, _, err = b.Upload(context.Background(), "nightly", "run-1", files(t)[:1], runStart)
	if err == nil || !strings.Contains(err.Error(), "archive s3://missing") {
		t.Errorf("missing bucket: %v", err)
	}
}

func TestUnwritableTarget(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), "file://"+blocker+"/archive")
	if err == nil || !strings.Contains(err.Error(), "archive file://"+blocker+"/archive") || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("got %v", err)
	}
	for _, bad := range []string{"ftp://x/y", "s3:///nobucket", "file://"} {
		if _, err := Open(context.Background(), bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestLifecycle(t *testing.T) {
	s3, gcs, err := Lifecycle(Prefix("s3://results/nightly/"), 30)
	if err != nil {
		t.Fatal(err)
	}
	var s3doc struct {
		Rules []struct {
			ID, Status string
			Filter     struct{ Prefix string }
			Expiration struct{ Days int }
		}
	}
	if err := json.Unmarshal(s3, &s3doc); err != nil {
		t.Fatal(err)
	}
	if r := s3doc.Rules[0]; r.Filter.Prefix != "nightly/" || r.Expiration.Days != 30 || r.Status != "Enabled" {
		t.Errorf("S3 rule %s", s3)
	}
	var gcsdoc struct {
		Rule []struct {
			Action    struct{ Type string }
			Condition struct {
				Age           int
				MatchesPrefix []string
			}
		}
	}
	if err := json.Unmarshal(gcs, &gcsdoc); err != nil {
		t.Fatal(err)
	}
	if r := gcsdoc.Rule[0]; r.Action.Type != "Delete" || r.Condition.Age != 30 || r.Condition.MatchesPrefix[0] != "nightly/" {
		t.Errorf("GCS rule %s", gcs)
	}
	if _, _, err := Lifecycle("", 0); err == nil {
		t.Error("0 days accepted")
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
