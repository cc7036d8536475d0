package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/archive"
	"github.com/llmsweep/llmsweep/internal/pipeline"
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
			_, c, err := f.inv.campaign(cmd, args)
			if err != nil {
				return err
			}
			st, _, err := f.inv.readStore(cmd.Context(), &c)
			if err != nil {
				return err
			}
			defer st.Close()
			a, err := archive.Run(cmd.Context(), st, c, f.run, archive.RunOptions{To: to, RetentionDays: days, Staging: staging, Reports: reports})
			if err != nil {
				fmt.Fprintln(diag(cmd, slog.LevelWarn), err)
				return exitError{exitFail}
			}
			if f.inv.output == "json" {
				return writeJSON(cmd.OutOrStdout(), a)
			}
			pipeline.PrintArchived(cmd.OutOrStdout(), a)
			return nil
		},
	}
	f.add(cmd)
	f.inv.addOutput(cmd, "table", "json")
	cmd.Flags().StringVar(&to, "to", "", "the archive `URL` (default: the campaign's archive.url)")
	cmd.Flags().IntVar(&days, "retention-days", 0, "days to keep the archived data (default: the campaign's archive.retention_days, else 90)")
	cmd.Flags().StringVar(&staging, "staging", ".llmsweep/archive", "the local `directory` the export is written to before upload")
	cmd.Flags().StringVar(&reports, "reports", ".llmsweep/reports", "the reports `directory` to archive with the data (skipped when missing)")
	cmd.AddCommand(newArchivePrune(), newArchiveLifecycle())
	return cmd
}

func newArchivePrune() *cobra.Command {
	var inv invocation
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
			if inv.output == "json" {
				return writeJSON(cmd.OutOrStdout(), p)
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
	inv.addOutput(cmd, "table", "json")
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
				_, c, err := f.inv.campaign(cmd, args)
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
			if f.inv.output == "json" {
				return writeJSON(w, lifecycleRules{S3: s3, GCS: gcs})
			}
			fmt.Fprintf(w, "# S3 (s3.json): aws s3api put-bucket-lifecycle-configuration --bucket BUCKET --lifecycle-configuration file://s3.json\n%s\n", s3)
			fmt.Fprintf(w, "# GCS (gcs.json): gcloud storage buckets update gs://BUCKET --lifecycle-file=gcs.json\n%s\n", gcs)
			return nil
		},
	}
	f.add(cmd)
	f.inv.addOutput(cmd, "table", "json")
	cmd.Flags().IntVar(&days, "retention-days", 0, "days to keep (default: the campaign's archive.retention_days, else 90)")
	cmd.Flags().StringVar(&to, "to", "", "the archive `URL` (default: the campaign's archive.url)")
	return cmd
}

// lifecycleRules is archive lifecycle's -o json: each bucket's rule document.
type lifecycleRules struct {
	S3  json.RawMessage `json:"s3"`
	GCS json.RawMessage `json:"gcs"`
}
