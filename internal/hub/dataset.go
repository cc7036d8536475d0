package hub

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// Dataset repos are read through the same two documented endpoints as model
// repos, under their dataset prefixes, as huggingface_hub builds them:
// HfApi.dataset_info's GET {base}/api/datasets/{repo}/revision/{revision} and
// hf_hub_url(repo_type="dataset")'s GET {base}/datasets/{repo}/resolve/{revision}/{path}.

// ConvertedParquet is the branch where the Hub keeps its own Parquet export
// of a dataset, laid out as {config}/{split}/NNNN.parquet.
const ConvertedParquet = "refs/convert/parquet"

// DatasetInfo fetches the repo info of a dataset repo at revision, as
// HfApi.dataset_info does. Its SHA is the commit the revision resolved to.
func (c *Client) DatasetInfo(ctx context.Context, repo, revision string) (*Info, error) {
	t := target{repo: repo, revision: revisionOrMain(revision), file: "info.json", what: "dataset info", dataset: true}
	return fetchAs(ctx, c, t, c.base()+"/api/datasets/"+escapeRepo(repo)+"/revision/"+url.PathEscape(t.revision), decodeInfo)
}

// DatasetFile fetches the file at path (slash-separated, inside the repo) of
// a dataset repo at revision. Only files at a commit SHA are cached; check,
// when set, validates the bytes before they are returned or cached, so that a
// truncated or wrong file is reported as malformed rather than kept.
func (c *Client) DatasetFile(ctx context.Context, repo, revision, path string, check func([]byte) error) ([]byte, error) {
	if err := checkPath(path); err != nil {
		return nil, &Error{Kind: ErrInvalid, Repo: repo, Revision: revision, msg: err.Error()}
	}
	t := target{repo: repo, revision: revisionOrMain(revision), file: "files/" + path, what: path, dataset: true}
	var out []byte
	err := c.fetch(ctx, t, c.base()+"/datasets/"+escapeRepo(repo)+"/resolve/"+url.PathEscape(t.revision)+"/"+escapeRepo(path),
		func(b []byte) error {
			if check != nil {
				if err := check(b); err != nil {
					return err
				}
			}
			out = b
			return nil
		})
	return out, err
}

// checkPath accepts a relative, slash-separated path inside a repo: no empty,
// "." or ".." segments, no backslashes, so that it cannot leave the cache.
func checkPath(path string) error {
	if path == "" || strings.ContainsAny(path, "\\\x00") || strings.HasPrefix(path, "/") {
		return fmt.Errorf("%q is not a file path inside a repo", path)
	}
	for _, seg := range strings.Split(path, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%q is not a file path inside a repo", path)
		}
	}
	return nil
}
