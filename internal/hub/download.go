package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// ModelFiles fetches the repo info of repo at revision with every file's size
// and, for files in Git LFS, its sha256: huggingface_hub's
// HfApi.model_info(files_metadata=True), GET
// {base}/api/models/{repo}/revision/{revision}?blobs=true.
func (c *Client) ModelFiles(ctx context.Context, repo, revision string) (*Info, error) {
	t := target{repo: repo, revision: revisionOrMain(revision), file: "info-blobs.json", what: "repo info with file sizes"}
	return fetchAs(ctx, c, t, c.base()+"/api/models/"+escapeRepo(repo)+"/revision/"+url.PathEscape(t.revision)+"?blobs=true",
		func(b []byte) (*Info, error) {
			info, err := decodeInfo(b)
			if err != nil {
				return nil, err
			}
			for _, s := range info.Siblings {
				if err := checkPath(s.RFilename); err != nil {
					return nil, err
				}
			}
			return info, nil
		})
}

// Download writes file of a model repo at revision (a commit SHA, so that
// every file comes from one commit) to dst, streaming: checkpoints are many
// GB. It writes a temporary file beside dst and renames it into place only
// when the size, and the sha256 when want has one, match want, so dst is
// either whole and checked or absent. 429s, 5xxs and dropped connections are
// retried with the client's backoff.
func (c *Client) Download(ctx context.Context, repo, revision string, want Sibling, dst string) error {
	if err := checkRepoID(repo); err != nil {
		return err
	}
	if err := checkPath(want.RFilename); err != nil {
		return &Error{Kind: ErrInvalid, Repo: repo, Revision: revision, msg: err.Error()}
	}
	t := target{repo: repo, revision: revision, what: want.RFilename}
	u := c.base() + "/" + escapeRepo(repo) + "/resolve/" + url.PathEscape(revision) + "/" + escapeRepo(want.RFilename)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		resp, err := c.stream(ctx, u, dst, want)
		if ctx.Err() != nil {
			return &Error{Kind: ctx.Err(), Repo: repo, Revision: revision, msg: fmt.Sprintf("fetching %s: %v", t, ctx.Err()), err: ctx.Err()}
		}
		if err == nil {
			return nil
		}
		var wait time.Duration
		switch {
		case resp == nil && transient(err):
		case resp == nil && errors.As(err, new(errMismatch)):
			return &Error{Kind: ErrMalformed, Repo: repo, Revision: revision, msg: fmt.Sprintf("fetching %s: %v", t, err), err: err}
		case resp == nil:
			return fmt.Errorf("hub: writing %s to %s: %w", t, dst, err)
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			wait = retryAfter(resp.Header)
		default:
			return c.statusError(t, u, resp, nil)
		}
		if attempt >= c.retries() {
			return &Error{Kind: ErrUnavailable, Repo: repo, Revision: revision, err: err,
				msg: fmt.Sprintf("fetching %s failed after %d attempts: %v; try again later", t, attempt+1, err)}
		}
		if wait <= 0 {
			wait = c.backoff(attempt)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return &Error{Kind: err, Repo: repo, Revision: revision, msg: fmt.Sprintf("fetching %s: %v", t, err), err: err}
		}
	}
}

// errMismatch marks a download whose bytes differ from the revision info.
type errMismatch struct{ msg string }

func (e errMismatch) Error() string { return e.msg }

// stream makes one attempt. It returns the response when the Hub answered
// with an error status (and an error), nil and a transport, write or
// mismatch error otherwise. A size or hash mismatch is not retried: the Hub
// served what it has.
func (c *Client) stream(ctx context.Context, u, dst string, want Sibling) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "llmsweep")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	// No client timeout: a checkpoint shard takes minutes; ctx bounds it.
	hc := *c.httpClient()
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return resp, fmt.Errorf("%s", resp.Status)
	}
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.part")
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	size := want.Size
	if want.LFS != nil {
		size = want.LFS.Size
	}
	if size > 0 && n != size {
		return nil, errMismatch{fmt.Sprintf("%s: got %d bytes, the revision info says %d", want.RFilename, n, size)}
	}
	if want.LFS != nil && want.LFS.SHA256 != "" {
		if got := hex.EncodeToString(h.Sum(nil)); got != want.LFS.SHA256 {
			return nil, errMismatch{fmt.Sprintf("%s: sha256 %s, the revision info says %s", want.RFilename, got, want.LFS.SHA256)}
		}
	}
	return nil, os.Rename(tmp, dst)
}
