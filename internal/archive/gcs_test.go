package archive

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/api/option"
	storagev1 "google.golang.org/api/storage/v1"
)

// fakeGCS starts fake-gcs-server in-process with a bucket, and points the
// real GCS client (through gocloud.dev/blob/gcsblob) at it.
func fakeGCS(t *testing.T, bucket string) *fakestorage.Server {
	t.Helper()
	// The GCS client reads objects through the XML API at the emulator's own
	// host: PublicHost makes the fake answer there.
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", PublicHost: "127.0.0.1", Writer: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: bucket})
	u, _ := url.Parse(srv.URL())
	t.Setenv("STORAGE_EMULATOR_HOST", u.Host)
	return srv
}

// The archive's life cycle on gs:// (upload, verification, a repeated
// upload, listing, expiry metadata, prune), through the GCS JSON API.
func TestGCSArchive(t *testing.T) {
	srv := fakeGCS(t, "results")
	exercise(t, "gs://results/nightly")

	// What is left, listed by the server: the shared report and run-2's
	// manifest, under the URL's prefix, with their metadata and MD5.
	objs, _, err := srv.ListObjectsWithOptions("results", fakestorage.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Name)
		if o.Metadata[MetaExpires] == "" || o.Metadata[MetaSHA256] == "" || o.Metadata[MetaCampaign] != "nightly" {
			t.Errorf("%s: metadata %v", o.Name, o.Metadata)
		}
	}
	want := []string{"nightly/" + ObjectKey(sha("<html>report</html>")), "nightly/" + ManifestKey("nightly", "run-2")}
	if strings.Join(sortStrings(keys), ",") != strings.Join(sortStrings(want), ",") {
		t.Errorf("objects %v, want %v", keys, want)
	}

	// GCS keeps an MD5, so verification compares it, not a read-back.
	ctx := context.Background()
	b, err := Open(ctx, "gs://results/nightly")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	attrs, err := b.Attributes(ctx, ObjectKey(sha("<html>report</html>")))
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum([]byte("<html>report</html>"))
	if !bytes.Equal(attrs.MD5, sum[:]) || attrs.Size != int64(len("<html>report</html>")) {
		t.Errorf("stored MD5 %x size %d", attrs.MD5, attrs.Size)
	}
	exp, err := time.Parse(time.RFC3339, attrs.Metadata[MetaExpires])
	if err != nil || !exp.Equal(runStart.Add(DefaultRetention).Add(24*time.Hour)) {
		t.Errorf("expiry %q: %v", attrs.Metadata[MetaExpires], err)
	}

	// Bytes that differ from the MD5 sent ahead are refused by the service,
	// and nothing is stored under the key.
	d, _ := digestOf(strings.NewReader("what was digested"))
	_, err = b.put(ctx, "objects/tampered", d, "text/plain", nil, runStart, func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("what was sent instead")), nil
	})
	if err == nil || !strings.Contains(err.Error(), "MD5") {
		t.Fatalf("an upload whose bytes changed after digesting: %v", err)
	}
	if ok, _ := b.Exists(ctx, "objects/tampered"); ok {
		t.Error("the refused upload left an object")
	}

	// A bucket that does not exist: a clear error naming the target.
	miss, err := Open(ctx, "gs://missing/x")
	if err != nil {
		t.Fatal(err)
	}
	defer miss.Close()
	_, _, err = miss.Upload(ctx, "nightly", "run-1", files(t)[:1], runStart)
	if err == nil || !strings.Contains(err.Error(), "archive gs://missing/x") {
		t.Errorf("missing bucket: %v", err)
	}
}

// The GCS lifecycle rules archive lifecycle prints, as the GCS client reads
// them: decoded strictly into the JSON API's own type, then served as a
// bucket resource and read back by cloud.google.com/go/storage into its
// LifecycleRule. (fake-gcs-server keeps no lifecycle, so a one-route server
// answers the bucket's GET.)
func TestGCSLifecycleParsesBack(t *testing.T) {
	_, gcs, err := Lifecycle(Prefix("gs://results/nightly/"), 30)
	if err != nil {
		t.Fatal(err)
	}
	var lc storagev1.BucketLifecycle
	dec := json.NewDecoder(bytes.NewReader(gcs))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&lc); err != nil {
		t.Fatalf("not a GCS lifecycle configuration: %v\n%s", err, gcs)
	}
	bucket, _ := json.Marshal(&storagev1.Bucket{Kind: "storage#bucket", Name: "results", Lifecycle: &lc})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/storage/v1/b/results" {
			http.Error(w, fmt.Sprintf(`{"error":{"code":404,"message":"no route %s %s"}}`, r.Method, r.URL.Path), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(bucket)
	}))
	defer api.Close()
	c, err := storage.NewClient(context.Background(), option.WithoutAuthentication(), option.WithEndpoint(api.URL+"/storage/v1/"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	attrs, err := c.Bucket("results").Attrs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rules := attrs.Lifecycle.Rules
	if len(rules) != 1 || rules[0].Action.Type != storage.DeleteAction || rules[0].Condition.AgeInDays != 30 ||
		len(rules[0].Condition.MatchesPrefix) != 1 || rules[0].Condition.MatchesPrefix[0] != "nightly/" {
		t.Errorf("the GCS client read %+v from\n%s", rules, gcs)
	}
}
