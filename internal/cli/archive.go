package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/llmsweep/llmsweep/internal/archive"
	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/store"
)

func newArchive() *cobra.Command {
	var f tailFlags
	var to, staging, reports string
	var days int
	cmd := &cobra.Command{
		Use:   "archive [campaign files...] --run ID",
		Short: "Upload a run's raw per-request data and its reports to S3, GCS or a directory",
		Long: `archive exports a run's per-request records (JSON Lines, gzip) and per-config
results from the store into a local folder (--staging), then uploads them, with
the reports folder, to the campaign's archive.url (or --to): s3://BUCKET/PREFIX,
gs://BUCKET/PREFIX or file:///DIR. S3 URLs take the driver's parameters, e.g.
?region=eu-west-1 or ?endpoint=http://minio:9000&use_path_style=true.

Objects are content-addressed (objects/sha256/DIGEST) and listed by the run's
manifest (runs/CAMPAIGN/RUN/manifest.json). An object already stored with the
same digest is not uploaded again; every upload is verified by checksum. Each
object carries its expiry (the run's end plus archive.retention_days, 90 by
default) in its metadata: see archive prune and archive lifecycle.

A target that cannot be written is an error naming it; the export stays in the
staging folder and the store is untouched.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.run == "" {
				return errors.New("archive needs --run")
			}
			_, c, err := f.campaign(cmd, args)
			if err != nil {
				return err
			}
			if err := archiveRun(cmd.Context(), cmd.OutOrStdout(), c, f.storeURL(c), f.run, to, days, staging, reports); err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), err)
				return exitError{exitFail}
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&to, "to", "", "the archive `URL` (default: the campaign's archive.url)")
	cmd.Flags().IntVar(&days, "retention-days", 0, "days to keep the archived data (default: the campaign's archive.retention_days, else 90)")
	cmd.Flags().StringVar(&staging, "staging", ".llmsweep/archive", "the local `directory` the export is written to before upload")
	cmd.Flags().StringVar(&reports, "reports", ".llmsweep/reports", "the reports `directory` to archive with the data (skipped when missing)")
	cmd.AddCommand(newArchivePrune(), newArchiveLifecycle())
	return cmd
}

// archiveRun exports a run from the store into staging and uploads it, with
// the reports, to the campaign's archive (or to, with days of retention when
// set). An upload that fails leaves the export in staging and says so.
func archiveRun(ctx context.Context, w io.Writer, c campaign.Campaign, storeURL, runID, to string, days int, staging, reports string) error {
	url, retention := to, days
	if c.Archive != nil {
		if url == "" {
			url = c.Archive.URL
		}
		if retention == 0 {
			retention = c.Archive.RetentionDays
		}
	}
	if url == "" {
		return fmt.Errorf("campaign %s has no archive: set its archive.url or give --to", c.Name)
	}
	if retention <= 0 {
		retention = int(archive.DefaultRetention / (24 * time.Hour))
	}
	dir := filepath.Join(staging, c.Name, runID)
	files, ended, err := exportRun(ctx, storeURL, runID, dir)
	if err != nil {
		return err
	}
	files = append(files, reportFiles(reports)...)
	expires := ended.AddDate(0, 0, retention)

	b, err := archive.Open(ctx, url)
	if err == nil {
		defer b.Close()
		var outs []archive.Outcome
		if _, outs, err = b.Upload(ctx, c.Name, runID, files, expires); err == nil {
			printArchived(w, outs, url, expires)
			return nil
		}
	}
	return fmt.Errorf("%v\nnothing was lost: the export stays in %s and the results in the store", err, dir)
}

func printArchived(w io.Writer, outs []archive.Outcome, url string, expires time.Time) {
	var up, skip int
	var bytes int64
	for _, o := range outs {
		if o.Skipped {
			skip++
			continue
		}
		up++
		bytes += o.Size
	}
	for _, o := range outs {
		state := "uploaded"
		if o.Skipped {
			state = "already there"
		}
		fmt.Fprintf(w, "%-13s %s -> %s\n", state, o.Name, o.Key)
	}
	fmt.Fprintf(w, "archived to %s: %d uploaded (%d bytes), %d already there; expires %s\n",
		url, up, bytes, skip, expires.UTC().Format(time.RFC3339))
}

// exportRun writes a run's results and per-request records from the store into
// dir, deterministically (the same run gives the same bytes, so a repeated
// archive uploads nothing), and returns the files and when the run ended.
func exportRun(ctx context.Context, url, runID, dir string) ([]archive.File, time.Time, error) {
	st, err := store.Open(ctx, url)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("results store: %w", err)
	}
	defer st.Close()
	run, err := st.Run(ctx, runID)
	if err != nil {
		return nil, time.Time{}, err
	}
	if run == nil {
		return nil, time.Time{}, fmt.Errorf("run %s is not in the store %s", runID, redact(url))
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
			if err := enc.Encode(map[string]any{"run": r.RunID, "fingerprint": r.Fingerprint, "attempts": r.Attempts,
				"config": r.Config, "summary": r.Summary, "accuracy": rawOrNull(r.Accuracy), "served_by": r.ServedBy,
				"finished": r.Finished.UTC()}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	n := 0
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
				n++
			}
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	return []archive.File{
		{Name: "results.jsonl.gz", Path: resPath, ContentType: "application/gzip"},
		{Name: "records.jsonl.gz", Path: recPath, ContentType: "application/gzip"},
	}, ended, nil
}

func rawOrNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
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

// reportFiles lists the reports folder, in name order.
func reportFiles(dir string) []archive.File {
	var out []archive.File
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, archive.File{Name: "reports/" + filepath.ToSlash(rel), Path: p, ContentType: contentTypeOf(p)})
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

func newArchivePrune() *cobra.Command {
	var dryRun bool
	var at string
	cmd := &cobra.Command{
		Use:   "prune URL",
		Short: "Delete archived objects whose expiry has passed (for buckets without a lifecycle rule)",
		Long: `prune lists the archive at URL and deletes every object whose llmsweep-expires
metadata lies in the past. Objects without that metadata are left alone.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			now, err := parseNow(at)
			if err != nil {
				return err
			}
			b, err := archive.Open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer b.Close()
			p, err := b.Prune(cmd.Context(), now, dryRun)
			if err != nil {
				return err
			}
			verb := "deleted"
			if dryRun {
				verb = "would delete"
			}
			for _, k := range p.Deleted {
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", verb, k)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %d expired object%s; kept %d, and %d not llmsweep's\n",
				verb, len(p.Deleted), plural(len(p.Deleted)), p.Kept, p.Foreign)
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be deleted, delete nothing")
	cmd.Flags().StringVar(&at, "now", "", "prune as of this RFC 3339 `time` instead of now")
	return cmd
}

// parseNow reads a --now flag: an RFC 3339 time, or now when empty.
func parseNow(at string) (time.Time, error) {
	if at == "" {
		return time.Now(), nil
	}
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		return time.Time{}, fmt.Errorf("--now: %v", err)
	}
	return t, nil
}

func newArchiveLifecycle() *cobra.Command {
	var f tailFlags
	var days int
	var to string
	cmd := &cobra.Command{
		Use:   "lifecycle [campaign files...] [--to URL] [--retention-days N]",
		Short: "Print the S3 and GCS lifecycle rules that expire the archive",
		Long: `lifecycle prints the bucket lifecycle rules that delete archived objects
after the retention period, so that the bucket expires them itself:

  S3:  aws s3api put-bucket-lifecycle-configuration --bucket BUCKET --lifecycle-configuration file://s3.json
  GCS: gcloud storage buckets update gs://BUCKET --lifecycle-file=gcs.json

The archive and retention come from the campaign, or from --to and
--retention-days. A lifecycle rule counts days from each object's upload.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			url, retention := to, days
			if url == "" {
				_, c, err := f.campaign(cmd, args)
				if err != nil {
					return err
				}
				if c.Archive != nil {
					if url == "" {
						url = c.Archive.URL
					}
					if retention == 0 {
						retention = c.Archive.RetentionDays
					}
				}
			}
			if retention == 0 {
				retention = int(archive.DefaultRetention / (24 * time.Hour))
			}
			s3, gcs, err := archive.Lifecycle(archive.Prefix(url), retention)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "# S3 (s3.json): aws s3api put-bucket-lifecycle-configuration --bucket BUCKET --lifecycle-configuration file://s3.json\n%s\n", s3)
			fmt.Fprintf(w, "# GCS (gcs.json): gcloud storage buckets update gs://BUCKET --lifecycle-file=gcs.json\n%s\n", gcs)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().IntVar(&days, "retention-days", 0, "days to keep (default: the campaign's archive.retention_days, else 90)")
	cmd.Flags().StringVar(&to, "to", "", "the archive `URL` (default: the campaign's archive.url)")
	return cmd
}
