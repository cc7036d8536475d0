package hub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// fakeHub answers like huggingface.co on the two endpoints the client uses,
// with the Hub's status codes and X-Error-Code headers: model info is public
// for gated repos and their files need a token that has access; private and
// missing repos answer 401 without a token.
type fakeHub struct {
	srv   *httptest.Server
	token string // the only token with access to gated and private repos

	mu    sync.Mutex
	repos map[string]*fakeRepo
	reqs  []fakeReq
	// intercept, when set, sees request n (0-based) first and answers it
	// itself by returning true.
	intercept func(n int, w http.ResponseWriter, r *http.Request) bool
}

type fakeRepo struct {
	info    []byte
	config  []byte // nil: the repo has no config.json
	sha     string
	refs    []string // revisions besides main and sha
	gated   bool
	private bool
}

type fakeReq struct {
	Path string // escaped, as sent
	Auth string
}

func newFakeHub(t *testing.T) *fakeHub {
	t.Helper()
	h := &fakeHub{token: "hf_test", repos: map[string]*fakeRepo{}}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

// client is a Client of h that records its sleeps instead of sleeping.
func (h *fakeHub) client(sleeps *[]time.Duration) *Client {
	tr := h.srv.Client().Transport.(*http.Transport).Clone()
	// A fresh connection per request: the transport never retries on its
	// own, so the tests see every retry the client makes.
	tr.DisableKeepAlives = true
	return &Client{
		BaseURL: h.srv.URL,
		HTTP:    &http.Client{Transport: tr},
		Backoff: 10 * time.Millisecond,
		Sleep:   func(d time.Duration) { *sleeps = append(*sleeps, d) },
	}
}

func (h *fakeHub) requests() []fakeReq {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]fakeReq(nil), h.reqs...)
}

func (h *fakeHub) paths() []string {
	var ps []string
	for _, r := range h.requests() {
		ps = append(ps, r.Path)
	}
	return ps
}

// add serves a repo with the config fixture of model; info is the info
// fixture, or a minimal one made from m when info is "".
func (h *fakeHub) add(t *testing.T, m campaign.Model, configFile, infoFile string) *fakeRepo {
	t.Helper()
	r := &fakeRepo{sha: "9f2c1e0d4b3a29180716253443526170819a0b1c", gated: m.HF.Gated}
	if configFile != "" {
		r.config = readFile(t, configFile)
	}
	if infoFile != "" {
		r.info = readFile(t, infoFile)
		var v struct{ SHA string }
		if err := json.Unmarshal(r.info, &v); err != nil {
			t.Fatal(err)
		}
		r.sha = v.SHA
	} else {
		gated := any(false)
		if m.HF.Gated {
			gated = "auto"
		}
		b, err := json.Marshal(map[string]any{
			"id": m.HF.Repo, "modelId": m.HF.Repo, "sha": r.sha, "private": false, "disabled": false,
			"gated": gated, "cardData": map[string]any{"license": m.License},
			"config":   map[string]any{"architectures": []string{m.Architecture}},
			"siblings": []map[string]string{{"rfilename": ".gitattributes"}, {"rfilename": "config.json"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		r.info = b
	}
	h.mu.Lock()
	h.repos[m.HF.Repo] = r
	h.mu.Unlock()
	return r
}

func (h *fakeHub) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	n := len(h.reqs)
	h.reqs = append(h.reqs, fakeReq{Path: r.URL.EscapedPath(), Auth: r.Header.Get("Authorization")})
	intercept := h.intercept
	h.mu.Unlock()
	if intercept != nil && intercept(n, w, r) {
		return
	}

	var seg []string
	for _, s := range strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/") {
		u, err := url.PathUnescape(s)
		if err != nil {
			hubError(w, http.StatusBadRequest, "", "bad path")
			return
		}
		seg = append(seg, u)
	}
	var repoID, rev, file string
	switch {
	case len(seg) == 6 && seg[0] == "api" && seg[1] == "models" && seg[4] == "revision":
		repoID, rev = seg[2]+"/"+seg[3], seg[5]
	case len(seg) == 5 && seg[2] == "resolve":
		repoID, rev, file = seg[0]+"/"+seg[1], seg[3], seg[4]
	default:
		hubError(w, http.StatusNotFound, "", "Sorry, we can't find the page you are looking for.")
		return
	}

	authorized := r.Header.Get("Authorization") == "Bearer "+h.token
	h.mu.Lock()
	repo := h.repos[repoID]
	h.mu.Unlock()
	if repo == nil || (repo.private && !authorized) {
		status := http.StatusNotFound
		if !authorized {
			status = http.StatusUnauthorized // the Hub hides whether it exists
		}
		hubError(w, status, "RepoNotFound", "Repository not found")
		return
	}
	if rev != "main" && rev != repo.sha && !contains(repo.refs, rev) {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	if file == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(repo.info)
		return
	}
	if repo.gated && !authorized {
		if r.Header.Get("Authorization") == "" {
			hubError(w, http.StatusUnauthorized, "GatedRepo",
				fmt.Sprintf("Access to model %s is restricted. You must have access to it and be authenticated to access it. Please log in.", repoID))
		} else {
			hubError(w, http.StatusForbidden, "GatedRepo",
				fmt.Sprintf("Access to model %s is restricted and you are not in the authorized list. Visit https://huggingface.co/%s to ask for access.", repoID, repoID))
		}
		return
	}
	if file != "config.json" || repo.config == nil {
		hubError(w, http.StatusNotFound, "EntryNotFound", file+" does not exist on \""+rev+"\"")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Repo-Commit", repo.sha)
	w.Write(repo.config)
}

func hubError(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// catalogModel is the entry of testdata/models.json, a copy of the catalog's
// values in the JSON that campaign decodes.
func catalogModel(t *testing.T, name string) campaign.Model {
	t.Helper()
	var all map[string]campaign.Model
	if err := json.Unmarshal(readFile(t, "models.json"), &all); err != nil {
		t.Fatal(err)
	}
	m, ok := all[name]
	if !ok {
		t.Fatalf("no model %q in testdata/models.json", name)
	}
	return m
}
