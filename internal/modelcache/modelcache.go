// Package modelcache keeps model checkpoints in a folder shared by a
// campaign's batch pods (a ReadWriteMany volume, or a folder on each node):
// Fetch downloads a checkpoint once, at its pinned revision, into the layout
// huggingface_hub's cache uses, so that a server given HF_HOME and
// HF_HUB_OFFLINE=1 loads it without the network.
//
// Layout under the cache folder:
//
//	huggingface/hub/models--ORG--NAME/snapshots/SHA/FILE  the checkpoint's files
//	huggingface/hub/models--ORG--NAME/refs/REVISION        SHA, when the revision is a branch or tag
//	huggingface/hub/models--ORG--NAME/.llmsweep/SHA.json   the manifest: written last, when every file checked out
//	llmsweep-hub/                                          the Hub metadata and accuracy data cache (hub.Client.CacheDir)
package modelcache

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/llmsweep/llmsweep/internal/hub"
)

// Folders inside the cache.
const (
	// HFHome is HF_HOME for the servers.
	HFHome = "huggingface"
	// HubCache is the llmsweep Hub client's cache (--hub-cache).
	HubCache = "llmsweep-hub"
)

// Result says what Fetch found or did.
type Result struct {
	Repo     string `json:"repo"`
	Revision string `json:"revision"`
	SHA      string `json:"sha"`
	Files    int    `json:"files"`
	Bytes    int64  `json:"bytes"`
	// Present is true when the checkpoint was already whole in the cache.
	Present bool `json:"present"`
	// Downloaded counts the files fetched by this call.
	Downloaded int `json:"downloaded"`
}

// Cache is a model cache folder.
type Cache struct {
	Dir string
	Hub *hub.Client
}

// RepoDir is where a repo's checkpoints live, as huggingface_hub names it.
func (c *Cache) RepoDir(repo string) string {
	return filepath.Join(c.Dir, HFHome, "hub", "models--"+strings.ReplaceAll(repo, "/", "--"))
}

// Fetch makes the checkpoint of repo at revision whole in the cache. It reads
// the revision's file list with sizes from the Hub; when the manifest of that
// commit exists and every file it lists is there at its size, it downloads
// nothing. Otherwise it downloads the missing or wrong files, checking each
// against the revision info (size, and sha256 for LFS files), then writes the
// manifest. Concurrent Fetches of one checkpoint (batch pods starting on one
// node) take turns on a lock file, so that each file is downloaded once.
// hubOnly stops after reading the revision info: the revision exists and the
// token may read it.
func (c *Cache) Fetch(ctx context.Context, repo, revision string, hubOnly bool) (*Result, error) {
	if revision == "" {
		revision = "main" // as the Hub and huggingface_hub read an unpinned repo
	}
	info, err := c.Hub.ModelFiles(ctx, repo, revision)
	if err != nil {
		return nil, err
	}
	if !commitSHA(info.SHA) {
		return nil, fmt.Errorf("%s at revision %s: the Hub's revision info has no commit sha (got %q)", repo, revision, info.SHA)
	}
	files := Weights(info.Siblings)
	if len(files) == 0 {
		return nil, fmt.Errorf("%s at revision %s: the revision info lists no files of a checkpoint", repo, revision)
	}
	res := &Result{Repo: repo, Revision: revision, SHA: info.SHA, Files: len(files)}
	for _, f := range files {
		res.Bytes += size(f)
	}
	if hubOnly {
		return res, nil
	}
	dir := c.RepoDir(repo)
	meta := filepath.Join(dir, ".llmsweep")
	if err := os.MkdirAll(meta, 0o755); err != nil {
		return nil, fmt.Errorf("model cache %s: %w", c.Dir, err)
	}
	unlock, err := lock(ctx, filepath.Join(meta, info.SHA+".lock"))
	if err != nil {
		return nil, fmt.Errorf("model cache %s: %w", c.Dir, err)
	}
	defer unlock()
	snap := filepath.Join(dir, "snapshots", info.SHA)
	manifest := filepath.Join(meta, info.SHA+".json")
	if _, err := os.Stat(manifest); err == nil && whole(snap, files) {
		res.Present = true
		return res, nil
	}
	for _, f := range files {
		dst := filepath.Join(snap, filepath.FromSlash(f.RFilename))
		if st, err := os.Stat(dst); err == nil && st.Size() == size(f) {
			// Kept from an interrupted fetch: files are renamed into place
			// only once checked.
			continue
		}
		if err := c.Hub.Download(ctx, repo, info.SHA, f, dst); err != nil {
			return nil, err
		}
		res.Downloaded++
	}
	if revision != info.SHA {
		if err := writeFile(filepath.Join(dir, "refs", filepath.FromSlash(revision)), []byte(info.SHA)); err != nil {
			return nil, err
		}
	}
	b, err := json.MarshalIndent(struct {
		Result
		Siblings []hub.Sibling `json:"siblings"`
	}{*res, files}, "", "  ")
	if err != nil {
		return nil, err
	}
	return res, writeFile(manifest, append(b, '\n'))
}

// Weights picks the files a server loads from a repo's file list, as vLLM's
// default loader does: the safetensors weights when there are any, else the
// PyTorch ones, plus every configuration and tokenizer file; never the
// original/ consolidated checkpoints, ONNX, Flax or GGUF exports, nor the
// repo's own .gitattributes and README.
func Weights(siblings []hub.Sibling) []hub.Sibling {
	safetensors := false
	for _, s := range siblings {
		if strings.HasSuffix(s.RFilename, ".safetensors") && !skipped(s.RFilename) {
			safetensors = true
		}
	}
	var out []hub.Sibling
	for _, s := range siblings {
		name := s.RFilename
		ext := path.Ext(name)
		switch {
		case skipped(name):
		case ext == ".safetensors":
			if safetensors {
				out = append(out, s)
			}
		case ext == ".bin" || ext == ".pt" || ext == ".pth":
			if !safetensors {
				out = append(out, s)
			}
		case ext == ".json" || ext == ".model" || ext == ".txt" || ext == ".tiktoken" || ext == ".py" || ext == ".jinja":
			if name == "model.safetensors.index.json" && !safetensors || name == "pytorch_model.bin.index.json" && safetensors {
				continue
			}
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RFilename < out[j].RFilename })
	return out
}

func skipped(name string) bool {
	return strings.HasPrefix(name, "original/") || strings.HasPrefix(name, "onnx/") || strings.HasPrefix(name, ".") ||
		strings.HasSuffix(name, ".msgpack") || strings.HasSuffix(name, ".h5") || strings.HasSuffix(name, ".gguf") ||
		strings.HasSuffix(name, ".onnx") || name == "README.md" || name == "LICENSE.txt" || name == "USE_POLICY.md"
}

func size(s hub.Sibling) int64 {
	if s.LFS != nil {
		return s.LFS.Size
	}
	return s.Size
}

// whole reports whether every file is in snap at its size.
func whole(snap string, files []hub.Sibling) bool {
	for _, f := range files {
		st, err := os.Stat(filepath.Join(snap, filepath.FromSlash(f.RFilename)))
		if err != nil || st.Size() != size(f) {
			return false
		}
	}
	return true
}

func commitSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// lock takes an exclusive flock on path, waiting for another holder; ctx
// cancels the wait.
func lock(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		return func() { f.Close() }, nil
	case <-ctx.Done():
		f.Close() // ends the waiting flock
		return nil, ctx.Err()
	}
}

func writeFile(name string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
