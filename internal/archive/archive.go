// Package archive copies a run's raw per-request data and its reports to object
// storage (s3://, gs:// or file://, through gocloud.dev/blob) and expires them
// there (DESIGN: raw rows are archived after aggregation and kept 90 days by
// default).
//
// Objects are content-addressed: a file's key is objects/sha256/<digest>, so
// uploading the same bytes twice stores them once, and a run's manifest
// (runs/<campaign>/<run>/manifest.json) maps its file names to digests. An
// upload is skipped when the object exists with the same digest and an expiry
// at least as late; otherwise it is written with a Content-MD5 the service
// checks, and verified afterwards against the stored object's MD5 and size,
// or by reading it back where the service keeps no MD5.
//
// Every object carries its expiry in its metadata (llmsweep-expires, RFC 3339),
// which Prune honours on buckets without a lifecycle rule; Lifecycle gives the
// rule to install on S3 and GCS instead.
package archive

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file://
	_ "gocloud.dev/blob/gcsblob"  // gs://
	_ "gocloud.dev/blob/s3blob"   // s3://
	"gocloud.dev/gcerrors"
)

// Metadata keys every archived object carries.
const (
	MetaSHA256   = "llmsweep-sha256"
	MetaExpires  = "llmsweep-expires"
	MetaCampaign = "llmsweep-campaign"
	MetaRun      = "llmsweep-run"
)

// DefaultRetention is how long archived data is kept when the campaign does
// not say.
const DefaultRetention = 90 * 24 * time.Hour

// File is a local file to archive under Name (a slash-separated path).
type File struct {
	Name        string
	Path        string
	ContentType string
}

// Manifest lists a run's archived files.
type Manifest struct {
	Version  int            `json:"version"`
	Campaign string         `json:"campaign"`
	Run      string         `json:"run"`
	Expires  time.Time      `json:"expires"`
	Files    []ManifestFile `json:"files"`
}

// ManifestFile is one archived file.
type ManifestFile struct {
	Name   string `json:"name"`
	Key    string `json:"key"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Outcome is what happened to one object.
type Outcome struct {
	Name    string `json:"name"`
	Key     string `json:"key"`
	Size    int64  `json:"size"`
	Skipped bool   `json:"skipped"` // already there with this content and expiry
}

// Bucket is an archive target: a bucket and the key prefix the URL's path gives.
type Bucket struct {
	*blob.Bucket
	URL string // as given, for messages
}

// Open opens an archive URL. For s3:// and gs:// the host is the bucket and the
// path a key prefix (s3://bucket/nightly?region=eu-west-1); for file:// the
// path is a directory, created if missing. Query parameters go to the driver
// (s3: region, endpoint, use_path_style, disable_https, …).
func Open(ctx context.Context, raw string) (*Bucket, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("archive URL %q: %v", raw, err)
	}
	var b *blob.Bucket
	switch u.Scheme {
	case "file":
		if u.Path == "" {
			return nil, fmt.Errorf("archive URL %q has no directory (file:///abs/dir)", raw)
		}
		if err := os.MkdirAll(u.Path, 0o755); err != nil {
			return nil, fmt.Errorf("archive %s: %v", raw, err)
		}
		b, err = blob.OpenBucket(ctx, u.String())
	case "s3", "gs":
		if u.Host == "" {
			return nil, fmt.Errorf("archive URL %q has no bucket", raw)
		}
		prefix := strings.Trim(u.Path, "/")
		bu := *u
		bu.Path, bu.RawPath = "", ""
		b, err = blob.OpenBucket(ctx, bu.String())
		if err == nil && prefix != "" {
			b = blob.PrefixedBucket(b, prefix+"/")
		}
	default:
		return nil, fmt.Errorf("archive URL %q: the scheme must be s3, gs or file", raw)
	}
	if err != nil {
		return nil, fmt.Errorf("archive %s: %v", raw, err)
	}
	return &Bucket{Bucket: b, URL: raw}, nil
}

// ObjectKey is the content address of a digest.
func ObjectKey(sha string) string { return "objects/sha256/" + sha }

// ManifestKey is where a run's manifest goes.
func ManifestKey(campaign, run string) string {
	return "runs/" + campaign + "/" + run + "/manifest.json"
}

// Upload archives files for a run and then its manifest. Any failure leaves
// the local files as they are and names the target.
func (b *Bucket) Upload(ctx context.Context, campaign, run string, files []File, expires time.Time) (*Manifest, []Outcome, error) {
	expires = expires.UTC().Truncate(time.Second)
	meta := map[string]string{MetaExpires: expires.Format(time.RFC3339), MetaCampaign: campaign, MetaRun: run}
	man := &Manifest{Version: 1, Campaign: campaign, Run: run, Expires: expires}
	var outs []Outcome
	for _, f := range files {
		d, err := digestFile(f.Path)
		if err != nil {
			return nil, outs, err
		}
		key := ObjectKey(d.sha)
		ct := f.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		skipped, err := b.put(ctx, key, d, ct, meta, expires, func() (io.ReadCloser, error) { return os.Open(f.Path) })
		if err != nil {
			return nil, outs, fmt.Errorf("archive %s: %s (%s): %w", b.URL, f.Name, key, err)
		}
		outs = append(outs, Outcome{Name: f.Name, Key: key, Size: d.size, Skipped: skipped})
		man.Files = append(man.Files, ManifestFile{Name: f.Name, Key: key, SHA256: d.sha, Size: d.size})
	}
	sort.Slice(man.Files, func(i, j int) bool { return man.Files[i].Name < man.Files[j].Name })
	body, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return nil, outs, err
	}
	d, _ := digestOf(bytes.NewReader(body))
	key := ManifestKey(campaign, run)
	skipped, err := b.put(ctx, key, d, "application/json", meta, expires, func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(body)), nil
	})
	if err != nil {
		return nil, outs, fmt.Errorf("archive %s: manifest (%s): %w", b.URL, key, err)
	}
	outs = append(outs, Outcome{Name: "manifest.json", Key: key, Size: int64(len(body)), Skipped: skipped})
	return man, outs, nil
}

// put writes one object unless it is already there with this digest and an
// expiry at least as late, then verifies it.
func (b *Bucket) put(ctx context.Context, key string, d digest, contentType string, meta map[string]string, expires time.Time, open func() (io.ReadCloser, error)) (skipped bool, err error) {
	attrs, err := b.Attributes(ctx, key)
	switch {
	case err == nil:
		if attrs.Metadata[MetaSHA256] == d.sha {
			if old, err := time.Parse(time.RFC3339, attrs.Metadata[MetaExpires]); err == nil && !old.Before(expires) {
				return true, nil
			}
		}
	case gcerrors.Code(err) != gcerrors.NotFound:
		return false, err
	}
	r, err := open()
	if err != nil {
		return false, err
	}
	defer r.Close()
	m := map[string]string{MetaSHA256: d.sha}
	for k, v := range meta {
		m[k] = v
	}
	// The bytes stream from the file; the Content-MD5 computed beforehand
	// makes the service refuse them if they changed meanwhile.
	if err := b.Bucket.Upload(ctx, key, r, &blob.WriterOptions{ContentType: contentType, ContentMD5: d.md5, Metadata: m}); err != nil {
		return false, err
	}
	return false, b.verify(ctx, key, d)
}

// verify checks a written object against what was sent: the stored MD5 and
// size where the service keeps them, else the sha256 of the bytes read back.
func (b *Bucket) verify(ctx context.Context, key string, d digest) error {
	attrs, err := b.Attributes(ctx, key)
	if err != nil {
		return fmt.Errorf("verifying: %w", err)
	}
	if attrs.Size != d.size {
		return fmt.Errorf("verifying: stored %d bytes, sent %d", attrs.Size, d.size)
	}
	if attrs.MD5 != nil {
		if !bytes.Equal(attrs.MD5, d.md5) {
			return fmt.Errorf("verifying: stored MD5 %x, sent %x", attrs.MD5, d.md5)
		}
		return nil
	}
	r, err := b.NewReader(ctx, key, nil)
	if err != nil {
		return fmt.Errorf("verifying: %w", err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return fmt.Errorf("verifying: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != d.sha {
		return fmt.Errorf("verifying: read back sha256 %s, sent %s", got, d.sha)
	}
	return nil
}

// Pruned is what Prune did.
type Pruned struct {
	// Deleted are the expired keys: deleted, or with DryRun to be.
	Deleted []string `json:"deleted"`
	DryRun  bool     `json:"dry_run"`
	Kept    int      `json:"kept"`
	Foreign int      `json:"foreign"` // objects without llmsweep's expiry metadata, left alone
}

// Prune deletes the objects whose expiry has passed at now, for buckets that
// have no lifecycle rule.
func (b *Bucket) Prune(ctx context.Context, now time.Time, dryRun bool) (*Pruned, error) {
	p := Pruned{Deleted: []string{}, DryRun: dryRun}
	it := b.List(nil)
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return &p, fmt.Errorf("archive %s: listing: %w", b.URL, err)
		}
		if obj.IsDir {
			continue
		}
		attrs, err := b.Attributes(ctx, obj.Key)
		if gcerrors.Code(err) == gcerrors.NotFound {
			continue // deleted meanwhile
		}
		if err != nil {
			return &p, fmt.Errorf("archive %s: %s: %w", b.URL, obj.Key, err)
		}
		exp, err := time.Parse(time.RFC3339, attrs.Metadata[MetaExpires])
		if err != nil {
			p.Foreign++
			continue
		}
		if !now.After(exp) {
			p.Kept++
			continue
		}
		if !dryRun {
			if err := b.Delete(ctx, obj.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
				return &p, fmt.Errorf("archive %s: deleting %s: %w", b.URL, obj.Key, err)
			}
		}
		p.Deleted = append(p.Deleted, obj.Key)
	}
	return &p, nil
}

// ReadManifest reads a run's manifest back.
func (b *Bucket) ReadManifest(ctx context.Context, campaign, run string) (*Manifest, error) {
	body, err := b.ReadAll(ctx, ManifestKey(campaign, run))
	if err != nil {
		return nil, fmt.Errorf("archive %s: %w", b.URL, err)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("archive %s: %s: %v", b.URL, ManifestKey(campaign, run), err)
	}
	return &m, nil
}

// digest identifies content: its sha256 (the key), MD5 (what services check)
// and size.
type digest struct {
	sha  string
	md5  []byte
	size int64
}

func digestOf(r io.Reader) (digest, error) {
	sh, h5 := sha256.New(), md5.New()
	n, err := io.Copy(io.MultiWriter(sh, h5), r)
	return digest{sha: hex.EncodeToString(sh.Sum(nil)), md5: h5.Sum(nil), size: n}, err
}

func digestFile(p string) (digest, error) {
	f, err := os.Open(p)
	if err != nil {
		return digest{}, err
	}
	defer f.Close()
	d, err := digestOf(f)
	if err != nil {
		return digest{}, fmt.Errorf("%s: %v", p, err)
	}
	return d, nil
}

// Lifecycle returns the bucket lifecycle rules that expire the archive's
// objects after days, for S3 (aws s3api put-bucket-lifecycle-configuration
// --lifecycle-configuration file://s3.json) and for GCS (gcloud storage
// buckets update gs://BUCKET --lifecycle-file=gcs.json). prefix is the
// archive URL's key prefix ("" for the whole bucket).
func Lifecycle(prefix string, days int) (s3, gcs []byte, err error) {
	if days < 1 {
		return nil, nil, errors.New("retention must be at least one day")
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	id := "llmsweep-archive-expiry"
	if prefix != "" {
		id += "-" + strings.ReplaceAll(strings.TrimSuffix(prefix, "/"), "/", "-")
	}
	s3, err = json.MarshalIndent(map[string]any{"Rules": []any{map[string]any{
		"ID": id, "Status": "Enabled", "Filter": map[string]any{"Prefix": prefix},
		"Expiration":                     map[string]any{"Days": days},
		"AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": 1},
	}}}, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	cond := map[string]any{"age": days}
	if prefix != "" {
		cond["matchesPrefix"] = []string{prefix}
	}
	gcs, err = json.MarshalIndent(map[string]any{"rule": []any{map[string]any{
		"action": map[string]any{"type": "Delete"}, "condition": cond,
	}}}, "", "  ")
	return s3, gcs, err
}

// Prefix is the key prefix of an s3:// or gs:// archive URL.
func Prefix(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "file" {
		return ""
	}
	return path.Clean("/" + u.Path)[1:]
}
