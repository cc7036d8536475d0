// Package hubtest is a local fake of the Hugging Face Hub for tests: it answers
// the four endpoints llmsweep reads (model and dataset repo info, model and
// dataset file downloads) with the Hub's status codes and X-Error-Code headers.
// Repo info is public for gated repos, whose files need a token with access;
// private and missing repos answer 401 without a token. A dataset repo may have
// a refs/convert/parquet branch with its own commit and files, as the Hub's
// Parquet export has.
package hubtest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Token is the only token with access to gated and private repos.
const Token = "hf_test"

// ConvertedParquet is the branch name of the Hub's Parquet export.
const ConvertedParquet = "refs/convert/parquet"

// Repo is one repo on the fake Hub. Every revision in Refs, "main" and SHA
// serve Files; Converted, when set, is served at ConvertedParquet and at its
// own SHA.
type Repo struct {
	SHA     string
	Refs    []string
	Gated   bool
	Private bool
	// Info is the repo info served; nil means one made from the files.
	Info  []byte
	Files map[string][]byte
	// Converted is the refs/convert/parquet branch of a dataset repo.
	Converted *Tree
}

// Tree is the files of one commit.
type Tree struct {
	SHA   string
	Files map[string][]byte
}

// Request is one request the fake Hub saw.
type Request struct {
	Path string // escaped, as sent
	Auth string
}

// Hub is a running fake Hub.
type Hub struct {
	URL string

	mu       sync.Mutex
	models   map[string]*Repo
	datasets map[string]*Repo
	reqs     []Request
	// intercept, when set, sees request n (0-based) first and answers it
	// itself by returning true.
	intercept func(n int, w http.ResponseWriter, r *http.Request) bool
}

// New starts a fake Hub that stops when the test ends.
func New(t testing.TB) *Hub {
	t.Helper()
	h := &Hub{models: map[string]*Repo{}, datasets: map[string]*Repo{}}
	srv := httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(srv.Close)
	h.URL = srv.URL
	return h
}

// Model serves a model repo.
func (h *Hub) Model(id string, r *Repo) *Repo {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.models[id] = r
	return r
}

// Dataset serves a dataset repo.
func (h *Hub) Dataset(id string, r *Repo) *Repo {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.datasets[id] = r
	return r
}

// Intercept sets a hook that sees every request first, with its 0-based
// number, and answers it itself by returning true.
func (h *Hub) Intercept(f func(n int, w http.ResponseWriter, r *http.Request) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.intercept = f
}

// Requests returns the requests seen so far.
func (h *Hub) Requests() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reqs)
}

// Paths returns the escaped paths of the requests seen so far.
func (h *Hub) Paths() []string {
	var ps []string
	for _, r := range h.Requests() {
		ps = append(ps, r.Path)
	}
	return ps
}

func (h *Hub) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	n := len(h.reqs)
	h.reqs = append(h.reqs, Request{Path: r.URL.EscapedPath(), Auth: r.Header.Get("Authorization")})
	intercept := h.intercept
	h.mu.Unlock()
	if intercept != nil && intercept(n, w, r) {
		return
	}

	var seg []string
	for _, s := range strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/") {
		u, err := url.PathUnescape(s)
		if err != nil {
			Error(w, http.StatusBadRequest, "", "bad path")
			return
		}
		seg = append(seg, u)
	}
	var repos map[string]*Repo
	var kind, repoID, rev, file string
	switch {
	case len(seg) == 6 && seg[0] == "api" && (seg[1] == "models" || seg[1] == "datasets") && seg[4] == "revision":
		kind, repoID, rev = seg[1], seg[2]+"/"+seg[3], seg[5]
	case len(seg) >= 6 && seg[0] == "datasets" && seg[3] == "resolve":
		kind, repoID, rev, file = "datasets", seg[1]+"/"+seg[2], seg[4], strings.Join(seg[5:], "/")
	case len(seg) >= 5 && seg[2] == "resolve":
		kind, repoID, rev, file = "models", seg[0]+"/"+seg[1], seg[3], strings.Join(seg[4:], "/")
	default:
		Error(w, http.StatusNotFound, "", "Sorry, we can't find the page you are looking for.")
		return
	}

	authorized := r.Header.Get("Authorization") == "Bearer "+Token
	h.mu.Lock()
	repos = h.models
	if kind == "datasets" {
		repos = h.datasets
	}
	repo := repos[repoID]
	h.mu.Unlock()
	if repo == nil || (repo.Private && !authorized) {
		status := http.StatusNotFound
		if !authorized {
			status = http.StatusUnauthorized // the Hub hides whether it exists
		}
		Error(w, status, "RepoNotFound", "Repository not found")
		return
	}
	sha, files := repo.SHA, repo.Files
	switch {
	case rev == "main" || rev == repo.SHA || slices.Contains(repo.Refs, rev):
	case repo.Converted != nil && (rev == ConvertedParquet || rev == repo.Converted.SHA):
		sha, files = repo.Converted.SHA, repo.Converted.Files
	default:
		Error(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	if file == "" {
		info := repo.Info
		if info == nil {
			info = makeInfo(repoID, sha, repo, files, r.URL.Query().Get("blobs") == "true")
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(info)
		return
	}
	if repo.Gated && !authorized {
		what := "model"
		if kind == "datasets" {
			what = "dataset"
		}
		if r.Header.Get("Authorization") == "" {
			Error(w, http.StatusUnauthorized, "GatedRepo",
				fmt.Sprintf("Access to %s %s is restricted. You must have access to it and be authenticated to access it. Please log in.", what, repoID))
		} else {
			Error(w, http.StatusForbidden, "GatedRepo",
				fmt.Sprintf("Access to %s %s is restricted and you are not in the authorized list. Visit https://huggingface.co/%s to ask for access.", what, repoID, repoID))
		}
		return
	}
	body, ok := files[file]
	if !ok {
		Error(w, http.StatusNotFound, "EntryNotFound", file+" does not exist on \""+rev+"\"")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Repo-Commit", sha)
	w.Write(body)
}

// makeInfo is the repo info the Hub answers, reduced to the fields llmsweep
// reads. With blobs (?blobs=true) each sibling has its size and git blob id,
// and files the Hub keeps in Git LFS (weights: .safetensors, .bin, .pt,
// .parquet) their sha256 and size, as the Hub answers.
func makeInfo(id, sha string, r *Repo, files map[string][]byte, blobs bool) []byte {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	siblings := make([]map[string]any, 0, len(names)+1)
	gitattributes := []byte("*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
	siblings = append(siblings, sibling(".gitattributes", gitattributes, blobs))
	for _, name := range names {
		siblings = append(siblings, sibling(name, files[name], blobs))
	}
	gated := any(false)
	if r.Gated {
		gated = "auto"
	}
	b, err := json.Marshal(map[string]any{"id": id, "sha": sha, "private": r.Private, "disabled": false,
		"gated": gated, "siblings": siblings})
	if err != nil {
		panic(err) // plain maps of strings and numbers always marshal
	}
	return b
}

func sibling(name string, b []byte, blobs bool) map[string]any {
	s := map[string]any{"rfilename": name}
	if !blobs {
		return s
	}
	blob := sha1.Sum(append([]byte(fmt.Sprintf("blob %d\x00", len(b))), b...))
	s["size"], s["blobId"] = len(b), hex.EncodeToString(blob[:])
	switch path.Ext(name) {
	case ".safetensors", ".bin", ".pt", ".parquet":
		sum := sha256.Sum256(b)
		pointer := fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%x\nsize %d\n", sum, len(b))
		// The Hub's size is the content's; blobId is the pointer's git blob.
		blob = sha1.Sum(append([]byte(fmt.Sprintf("blob %d\x00", len(pointer))), pointer...))
		s["blobId"] = hex.EncodeToString(blob[:])
		s["lfs"] = map[string]any{"sha256": hex.EncodeToString(sum[:]), "size": len(b), "pointerSize": len(pointer)}
	}
	return s
}

// Error answers as the Hub does on an error: X-Error-Code (when code is set),
// X-Error-Message and a JSON body {"error": msg}.
func Error(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
