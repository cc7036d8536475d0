// Package hub reads model metadata from the Hugging Face Hub for the
// validate-model pipeline step: the repo info and config.json at a model's
// pinned revision, checked field by field against the catalog entry.
//
// Only two documented endpoints are used, as huggingface_hub builds them:
// HfApi.model_info's GET {base}/api/models/{repo}/revision/{revision} and
// hf_hub_url's GET {base}/{repo}/resolve/{revision}/{filename}, with the
// revision path-escaped as a single segment.
package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Defaults for the zero values of Client's fields.
const (
	DefaultBaseURL = "https://huggingface.co"
	DefaultRetries = 4
	DefaultBackoff = time.Second
	// MaxBackoff caps the exponential backoff between retries.
	MaxBackoff = 60 * time.Second
	// maxRetryAfter bounds how long a Retry-After header can stall a run.
	maxRetryAfter = 5 * time.Minute
	// maxBody bounds a response read into memory: info of a repo with many
	// files is a few MB at most; config.json is a few KB.
	maxBody = 32 << 20
)

// Client fetches model metadata from the Hub. The zero value is usable and
// talks to huggingface.co anonymously, without a cache.
type Client struct {
	// BaseURL is the Hub endpoint; empty means DefaultBaseURL.
	BaseURL string
	// Token is sent as "Authorization: Bearer <token>" when set (HF_TOKEN);
	// gated and private repos need it.
	Token string
	// HTTP is the client used for requests; nil means one with a 2-minute timeout.
	HTTP *http.Client
	// CacheDir, when set, keeps fetched JSON under
	// CacheDir/<org--name>/<revision>/{info.json,config.json}. Only commit
	// SHAs are cached: a branch or tag can move, a commit cannot.
	CacheDir string
	// Retries is how many times a request is retried after a 429, a 5xx or
	// a dropped connection; 0 means DefaultRetries and a negative value none.
	Retries int
	// Backoff is the base of the exponential backoff (factor 2, capped at
	// MaxBackoff, with jitter); 0 means DefaultBackoff. A Retry-After header
	// in seconds (or an HTTP date) takes precedence.
	Backoff time.Duration
	// Sleep waits between retries; nil means a timer that ctx can cancel.
	// Tests inject it so that none sleeps for real.
	Sleep func(time.Duration)
}

var defaultHTTP = &http.Client{Timeout: 2 * time.Minute}

func (c *Client) base() string {
	if c.BaseURL == "" {
		return DefaultBaseURL
	}
	return strings.TrimRight(c.BaseURL, "/")
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP == nil {
		return defaultHTTP
	}
	return c.HTTP
}

func (c *Client) retries() int {
	switch {
	case c.Retries < 0:
		return 0
	case c.Retries == 0:
		return DefaultRetries
	}
	return c.Retries
}

// backoff is the wait before retry number attempt (0-based): base*2^attempt,
// capped, with "equal jitter" so that it stays within [d/2, d].
func (c *Client) backoff(attempt int) time.Duration {
	d := c.Backoff
	if d <= 0 {
		d = DefaultBackoff
	}
	for i := 0; i < attempt && d < MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, MaxBackoff)
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(d-half)+1))
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		c.Sleep(d)
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ModelInfo fetches the repo info of repo at revision, as HfApi.model_info does.
func (c *Client) ModelInfo(ctx context.Context, repo, revision string) (*Info, error) {
	t := target{repo: repo, revision: revisionOrMain(revision), file: "info.json", what: "repo info"}
	return fetchAs(ctx, c, t, c.base()+"/api/models/"+escapeRepo(repo)+"/revision/"+url.PathEscape(t.revision), decodeInfo)
}

// Config fetches and decodes config.json of repo at revision.
func (c *Client) Config(ctx context.Context, repo, revision string) (*Config, error) {
	t := target{repo: repo, revision: revisionOrMain(revision), file: "config.json", what: "config.json"}
	return fetchAs(ctx, c, t, c.base()+"/"+escapeRepo(repo)+"/resolve/"+url.PathEscape(t.revision)+"/config.json", DecodeConfig)
}

// fetchAs fetches u through the cache and decodes it.
func fetchAs[T any](ctx context.Context, c *Client, t target, u string, decode func([]byte) (T, error)) (T, error) {
	var v T
	err := c.fetch(ctx, t, u, func(b []byte) error {
		var err error
		v, err = decode(b)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// target names what is fetched, for cache paths and error messages.
type target struct {
	repo, revision string
	file           string // cache file name, a slash-separated path for dataset files
	what           string // in messages
	dataset        bool   // a dataset repo: cached under CacheDir/datasets, linked under /datasets
}

func (t target) String() string {
	return fmt.Sprintf("%s of %s at revision %s", t.what, t.repo, t.revision)
}

func revisionOrMain(rev string) string {
	if rev == "" {
		return "main"
	}
	return rev
}

// fetch serves t from the cache or GETs u, and hands the body to decode. A
// body that decode rejects is reported as malformed and never cached.
func (c *Client) fetch(ctx context.Context, t target, u string, decode func([]byte) error) error {
	if err := checkRepoID(t.repo); err != nil {
		return err
	}
	cache := c.cachePath(t)
	if cache != "" {
		if b, err := os.ReadFile(cache); err == nil && decode(b) == nil {
			return nil
		}
		// A missing or unreadable entry is fetched again and overwritten.
	}
	b, err := c.get(ctx, t, u)
	if err != nil {
		return err
	}
	if err := decode(b); err != nil {
		return &Error{Kind: ErrMalformed, Repo: t.repo, Revision: t.revision,
			msg: fmt.Sprintf("%s is malformed: %v", t, err), err: err}
	}
	if cache != "" {
		if err := writeAtomic(cache, b); err != nil {
			return fmt.Errorf("hub: caching %s: %w", t, err)
		}
	}
	return nil
}

var commitSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// cachePath is where t is cached, or "" when it is not cacheable.
func (c *Client) cachePath(t target) string {
	if c.CacheDir == "" || !commitSHA.MatchString(t.revision) {
		return ""
	}
	// checkRepoID forbids "--" in repo ids, so this mapping is one-to-one.
	// Model repos keep the layout they always had; dataset repos get their
	// own tree, so that a model and a dataset of one name cannot collide.
	dir := filepath.Join(c.CacheDir, strings.ReplaceAll(t.repo, "/", "--"), t.revision)
	if t.dataset {
		dir = filepath.Join(c.CacheDir, "datasets", strings.ReplaceAll(t.repo, "/", "--"), t.revision)
	}
	return filepath.Join(dir, filepath.FromSlash(t.file))
}

func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// repoID follows huggingface_hub's validate_repo_id: [namespace/]name of
// letters, digits, '-', '_' and '.', with no "--" or "..".
var repoID = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)?$`)

func checkRepoID(repo string) error {
	if len(repo) > 96 || !repoID.MatchString(repo) || strings.Contains(repo, "--") ||
		strings.Contains(repo, "..") || strings.HasPrefix(repo, "-") || strings.HasPrefix(repo, ".") {
		return &Error{Kind: ErrInvalid, Repo: repo,
			msg: fmt.Sprintf("%q is not a valid Hub repo id: want namespace/name of letters, digits, '-', '_' and '.'", repo)}
	}
	return nil
}

func escapeRepo(repo string) string {
	parts := strings.Split(repo, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// get GETs u, retrying 429s, 5xxs and dropped connections with backoff.
func (c *Client) get(ctx context.Context, t target, u string) ([]byte, error) {
	retries := c.retries()
	for attempt := 0; ; attempt++ {
		b, resp, err := c.do(ctx, u)
		if ctx.Err() != nil {
			return nil, &Error{Kind: ctx.Err(), Repo: t.repo, Revision: t.revision,
				msg: fmt.Sprintf("fetching %s: %v", t, ctx.Err()), err: ctx.Err()}
		}
		if err == nil && resp.StatusCode == http.StatusOK {
			return b, nil
		}
		var wait time.Duration
		switch {
		case err != nil && transient(err):
		case err != nil:
			return nil, &Error{Kind: ErrUnavailable, Repo: t.repo, Revision: t.revision,
				msg: fmt.Sprintf("fetching %s: %v", t, err), err: err}
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			wait = retryAfter(resp.Header)
		default:
			return nil, c.statusError(t, u, resp, b)
		}
		if attempt >= retries {
			cause := "the connection failed: " + errString(err)
			if err == nil {
				cause = "the Hub answered " + resp.Status + excerpt(resp.Header, b)
			}
			return nil, &Error{Kind: ErrUnavailable, Repo: t.repo, Revision: t.revision, err: err,
				msg: fmt.Sprintf("fetching %s failed after %d attempts: %s; try again later", t, attempt+1, cause)}
		}
		if wait <= 0 {
			wait = c.backoff(attempt)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, &Error{Kind: err, Repo: t.repo, Revision: t.revision,
				msg: fmt.Sprintf("fetching %s: %v", t, err), err: err}
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// do makes one request and reads the whole body, so that a connection
// dropped mid-body is retried like one dropped before the headers.
func (c *Client) do(ctx context.Context, u string) ([]byte, *http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("User-Agent", "llmsweep")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, nil, err
	}
	if len(b) > maxBody {
		return nil, nil, fmt.Errorf("response body exceeds %d MiB", maxBody>>20)
	}
	return b, resp, nil
}

// transient reports whether a transport error is worth retrying: the peer
// reset or closed the connection, refused it, or timed out.
func transient(err error) bool {
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// retryAfter parses Retry-After as seconds or an HTTP date; 0 when absent.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.Atoi(v); err == nil {
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	return min(max(d, 0), maxRetryAfter)
}

func (c *Client) statusError(t target, u string, resp *http.Response, body []byte) error {
	code := resp.Header.Get("X-Error-Code")
	e := &Error{Repo: t.repo, Revision: t.revision, Status: resp.StatusCode}
	license := "https://huggingface.co/" + t.repo
	if t.dataset {
		license = "https://huggingface.co/datasets/" + t.repo
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		e.Kind = ErrAccess
		what := "is gated or private (or does not exist)"
		if code == "GatedRepo" {
			what = "is gated"
		}
		hint := "set HF_TOKEN to a token that has accepted the license at " + license
		if c.Token != "" {
			hint = "the token in HF_TOKEN was refused; " + hint
		}
		e.msg = fmt.Sprintf("%s at revision %s %s (%s): %s", t.repo, t.revision, what, resp.Status, hint)
	case resp.StatusCode == http.StatusNotFound:
		e.Kind = ErrNotFound
		switch code {
		case "RevisionNotFound":
			e.msg = fmt.Sprintf("revision %s not found in %s (%s)", t.revision, t.repo, resp.Status)
		case "EntryNotFound":
			e.msg = fmt.Sprintf("%s has no %s at revision %s (%s)", t.repo, t.what, t.revision, resp.Status)
		case "RepoNotFound":
			e.msg = fmt.Sprintf("repository %s not found (%s, revision %s)", t.repo, resp.Status, t.revision)
		default:
			e.msg = fmt.Sprintf("repository %s or its revision %s not found (%s)", t.repo, t.revision, resp.Status)
		}
	default:
		e.Kind = ErrStatus
		e.msg = fmt.Sprintf("fetching %s: GET %s answered %s%s", t, u, resp.Status, excerpt(resp.Header, body))
	}
	return e
}

// excerpt is a short, single-line rendering of the Hub's error message.
func excerpt(h http.Header, body []byte) string {
	msg := h.Get("X-Error-Message")
	if msg == "" {
		var j struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &j) == nil && j.Error != "" {
			msg = j.Error
		} else {
			msg = string(body)
		}
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if msg == "" {
		return ""
	}
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200]) + "..."
	}
	return ": " + strconv.Quote(msg)
}

// Kinds of Error, for errors.Is. A cancelled or expired context is reported
// with context.Canceled or context.DeadlineExceeded instead.
var (
	ErrInvalid     = errors.New("invalid request")
	ErrAccess      = errors.New("gated or private repository")
	ErrNotFound    = errors.New("repository or revision not found")
	ErrUnavailable = errors.New("hub unavailable")
	ErrStatus      = errors.New("unexpected HTTP status")
	ErrMalformed   = errors.New("malformed response")
)

// Error is a failure to fetch or decode one Hub resource.
type Error struct {
	Kind     error // one of the Err* kinds above, or a context error
	Repo     string
	Revision string
	Status   int // HTTP status, when the Hub answered with an error
	msg      string
	err      error // underlying cause, if any
}

func (e *Error) Error() string { return "hub: " + e.msg }

// Is matches the kind, so that errors.Is(err, hub.ErrAccess) works.
func (e *Error) Is(target error) bool { return target == e.Kind }

func (e *Error) Unwrap() error { return e.err }
