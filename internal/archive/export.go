package archive

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/store"
)

// RunOptions say where a run's archive goes; empty fields take the campaign's.
type RunOptions struct {
	// To is the archive URL (default: the campaign's archive.url).
	To string
	// RetentionDays (default: the campaign's archive.retention_days, else 90).
	RetentionDays int
	// Staging is the local folder the export is written to before upload.
	Staging string
	// Reports is the reports folder archived with the data (skipped when missing).
	Reports string
}

// Archived is what Run uploaded.
type Archived struct {
	URL      string    `json:"url"`
	Expires  time.Time `json:"expires"`
	Outcomes []Outcome `json:"objects"`
}

// Run exports a run from st into the staging folder and uploads it, with the
// reports, to the campaign's archive. An upload that fails leaves the export
// in staging and says so: nothing is lost.
func Run(ctx context.Context, st store.Store, c campaign.Campaign, runID string, o RunOptions) (*Archived, error) {
	url, retention := o.To, o.RetentionDays
	if c.Archive != nil {
		if url == "" {
			url = c.Archive.URL
		}
		if retention == 0 {
			retention = c.Archive.RetentionDays
		}
	}
	if url == "" {
		return nil, fmt.Errorf("campaign %s has no archive: set its archive.url or give --to", c.Name)
	}
	if retention <= 0 {
		retention = int(DefaultRetention / (24 * time.Hour))
	}
	dir := filepath.Join(o.Staging, c.Name, runID)
	files, ended, err := Export(ctx, st, runID, dir)
	if err != nil {
		return nil, err
	}
	files = append(files, ReportFiles(o.Reports)...)
	out := &Archived{URL: url, Expires: ended.AddDate(0, 0, retention)}
	b, err := Open(ctx, url)
	if err == nil {
		defer b.Close()
		if _, out.Outcomes, err = b.Upload(ctx, c.Name, runID, files, out.Expires); err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("%v\nnothing was lost: the export stays in %s and the results in the store", err, dir)
}

// Export writes a run's results (result.Result, one JSON object a line) and
// per-request records from the store into dir, deterministically: the same
// run gives the same bytes, so a repeated archive uploads nothing. It returns
// the files and when the run ended.
func Export(ctx context.Context, st store.Store, runID, dir string) ([]File, time.Time, error) {
	run, err := st.Run(ctx, runID)
	if err != nil {
		return nil, time.Time{}, err
	}
	if run == nil {
		return nil, time.Time{}, fmt.Errorf("run %s is not in the store", runID)
	}
	ended := run.Finished
	if ended.IsZero() {
		ended = run.Started
	}
	results, err := st.Results(ctx, store.Filter{RunID: runID})
	if err != nil {
		return nil, time.Time{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, time.Time{}, err
	}
	resPath := filepath.Join(dir, "results.jsonl.gz")
	recPath := filepath.Join(dir, "records.jsonl.gz")
	err = writeGzip(resPath, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, r := range results {
			r.Finished = r.Finished.UTC()
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	err = writeGzip(recPath, func(w io.Writer) error {
		for _, r := range results {
			recs, err := st.Records(ctx, runID, r.Fingerprint)
			if err != nil {
				return err
			}
			for _, rec := range recs {
				b, err := protojson.Marshal(rec)
				if err != nil {
					return err
				}
				// protojson varies its whitespace on purpose; compacting makes
				// the bytes, and so the content address, stable.
				var c bytes.Buffer
				if err := json.Compact(&c, b); err != nil {
					return err
				}
				fmt.Fprintf(w, `{"fingerprint":%q,"record":%s}`+"\n", r.Fingerprint, c.Bytes())
			}
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	return []File{
		{Name: "results.jsonl.gz", Path: resPath, ContentType: "application/gzip"},
		{Name: "records.jsonl.gz", Path: recPath, ContentType: "application/gzip"},
	}, ended, nil
}

// writeGzip writes a gzip file with a fixed header (no name, no time), so that
// its bytes depend on its content alone.
func writeGzip(path string, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	zw := gzip.NewWriter(tmp)
	if err := fill(zw); err != nil {
		tmp.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ReportFiles lists the reports folder, in name order.
func ReportFiles(dir string) []File {
	var out []File
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, File{Name: "reports/" + filepath.ToSlash(rel), Path: p, ContentType: contentTypeOf(p)})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func contentTypeOf(p string) string {
	switch filepath.Ext(p) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".json":
		return "application/json"
	case ".pdf":
		return "application/pdf"
	case ".png":
		return "image/png"
	case ".svg":
		return "image/svg+xml"
	}
	return "application/octet-stream"
}
