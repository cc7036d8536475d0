// Package taskdata loads the data sets of the accuracy tasks (GSM8K, MMLU)
// from the Hugging Face Hub at pinned revisions, as Parquet, through the Hub
// client (HF_TOKEN, backoff, cache). Nothing of the data sets ships with
// llmsweep: a run, or the Argo workflow's fetch step, downloads them into the
// cache, and every later read at the same commit is local.
package taskdata

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/llmsweep/llmsweep/internal/hub"
)

// Dataset is a data set repo on the Hub, pinned to a commit.
type Dataset struct {
	Repo     string
	Revision string
	// Config is the data set's configuration (the repo's top-level folder).
	Config string
}

// The pinned data sets. lm-evaluation-harness reads the same repos
// (dataset_path gsm8k, now openai/gsm8k, config main; cais/mmlu), at whatever
// revision the Hub has; pinning makes two runs read the same questions.
var (
	GSM8K = Dataset{Repo: "openai/gsm8k", Revision: "740312add88f781978c0658806c59bc2815b9866", Config: "main"}
	// MMLU's "all" configuration holds every subject in one file per split,
	// each row naming its subject.
	MMLU = Dataset{Repo: "cais/mmlu", Revision: "c30699e8356da336a370243923dbaf21066bb9fe", Config: "all"}
)

// Loader reads data sets through a Hub client.
type Loader struct {
	Hub *hub.Client
}

// Files is where a split's rows were read from.
type Files struct {
	Repo string `json:"repo"`
	// Revision is the commit the files were read at: the pinned one, or the
	// commit of refs/convert/parquet when the repo has no Parquet files of
	// its own.
	Revision string   `json:"revision"`
	Paths    []string `json:"paths"`
}

// files lists the Parquet files of split: the repo's own at the pinned
// revision ({config}/{split}-NNNNN-of-NNNNN.parquet, as the datasets library
// pushes them), else the Hub's export on refs/convert/parquet
// ({config}/{split}/NNNN.parquet).
func (l *Loader) files(ctx context.Context, d Dataset, split string) (Files, error) {
	info, err := l.Hub.DatasetInfo(ctx, d.Repo, d.Revision)
	if err != nil {
		return Files{}, err
	}
	f := Files{Repo: d.Repo, Revision: d.Revision}
	if info.SHA != "" {
		f.Revision = info.SHA
	}
	for _, s := range info.Siblings {
		dir, name := path.Split(s.RFilename)
		if dir == d.Config+"/" && strings.HasPrefix(name, split+"-") && strings.HasSuffix(name, ".parquet") {
			f.Paths = append(f.Paths, s.RFilename)
		}
	}
	if len(f.Paths) == 0 {
		conv, err := l.Hub.DatasetInfo(ctx, d.Repo, hub.ConvertedParquet)
		if err != nil {
			return Files{}, fmt.Errorf("taskdata: %s at %s has no %s/%s-*.parquet, and its Parquet export: %w", d.Repo, d.Revision, d.Config, split, err)
		}
		f.Revision = conv.SHA
		for _, s := range conv.Siblings {
			if path.Dir(s.RFilename) == d.Config+"/"+split && strings.HasSuffix(s.RFilename, ".parquet") {
				f.Paths = append(f.Paths, s.RFilename)
			}
		}
		if len(f.Paths) == 0 {
			return Files{}, fmt.Errorf("taskdata: %s has no Parquet files for %s/%s at %s nor on %s", d.Repo, d.Config, split, d.Revision, hub.ConvertedParquet)
		}
	}
	slices.Sort(f.Paths) // shards in order: rows keep the data set's order
	return f, nil
}

// read fetches split's files and decodes their rows.
func read[T any](ctx context.Context, l *Loader, d Dataset, split string, decode func(name string, b []byte) ([]T, error)) ([]T, Files, error) {
	f, err := l.files(ctx, d, split)
	if err != nil {
		return nil, Files{}, err
	}
	var rows []T
	for _, p := range f.Paths {
		// The check decodes, on a download and on a cache hit alike: a
		// file that does not decode is never cached.
		var got []T
		if _, err := l.Hub.DatasetFile(ctx, d.Repo, f.Revision, p, func(b []byte) error {
			var err error
			got, err = decode(d.Repo+"/"+p, b)
			return err
		}); err != nil {
			return nil, Files{}, err
		}
		rows = append(rows, got...)
	}
	if len(rows) == 0 {
		return nil, Files{}, fmt.Errorf("taskdata: %s %s/%s has no rows", d.Repo, d.Config, split)
	}
	return rows, f, nil
}

// GSM8KDoc is a row of openai/gsm8k: a question, and an answer whose
// reasoning ends in "#### <number>".
type GSM8KDoc struct {
	Question string `parquet:"question,optional"`
	Answer   string `parquet:"answer,optional"`
}

// GSM8KSplit reads a split ("train" or "test") of GSM8K.
func (l *Loader) GSM8KSplit(ctx context.Context, split string) ([]GSM8KDoc, Files, error) {
	return read(ctx, l, GSM8K, split, DecodeGSM8K)
}

// DecodeGSM8K decodes a GSM8K Parquet file; name is for messages.
func DecodeGSM8K(name string, b []byte) ([]GSM8KDoc, error) {
	rows, err := decode[GSM8KDoc](name, b, "question", "answer")
	if err != nil {
		return nil, err
	}
	for i, r := range rows {
		if strings.TrimSpace(r.Question) == "" || !strings.Contains(r.Answer, "#### ") {
			return nil, fmt.Errorf("%s: row %d: want a question and an answer ending in \"#### <number>\", got question %q, answer %q",
				name, i, clip(r.Question), clip(r.Answer))
		}
	}
	return rows, nil
}

// MMLUDoc is a row of cais/mmlu: a question with four choices; Answer is the
// index of the right one (a ClassLabel A-D).
type MMLUDoc struct {
	Question string   `parquet:"question,optional"`
	Subject  string   `parquet:"subject,optional"`
	Choices  []string `parquet:"choices,optional,list"`
	Answer   int64    `parquet:"answer,optional"`
}

// MMLUSplit reads a split ("test", "dev" or "validation") of every MMLU subject.
func (l *Loader) MMLUSplit(ctx context.Context, split string) ([]MMLUDoc, Files, error) {
	return read(ctx, l, MMLU, split, DecodeMMLU)
}

// DecodeMMLU decodes an MMLU Parquet file; name is for messages.
func DecodeMMLU(name string, b []byte) ([]MMLUDoc, error) {
	rows, err := decode[MMLUDoc](name, b, "question", "subject", "choices", "answer")
	if err != nil {
		return nil, err
	}
	for i, r := range rows {
		if strings.TrimSpace(r.Question) == "" || r.Subject == "" || len(r.Choices) != 4 || r.Answer < 0 || r.Answer > 3 {
			return nil, fmt.Errorf("%s: row %d: want a question, a subject, 4 choices and an answer in 0..3, got question %q, subject %q, %d choices, answer %d",
				name, i, clip(r.Question), r.Subject, len(r.Choices), r.Answer)
		}
	}
	return rows, nil
}

// decode reads every row of a Parquet file into T, after checking that the
// file has the columns T reads: parquet-go would leave a missing column's
// fields empty, which must not pass for data.
func decode[T any](name string, b []byte, columns ...string) (rows []T, err error) {
	// parquet-go trusts page headers; a corrupt file must be an error, not a crash.
	defer func() {
		if p := recover(); p != nil {
			rows, err = nil, fmt.Errorf("%s: not a readable Parquet file: %v", name, p)
		}
	}()
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: not a Parquet file: %w", name, err)
	}
	have := topLevel(f.Schema())
	for _, c := range columns {
		if !slices.Contains(have, c) {
			return nil, fmt.Errorf("%s: no column %q (columns: %s)", name, c, strings.Join(have, ", "))
		}
	}
	r := parquet.NewGenericReader[T](f)
	defer r.Close()
	// NumRows comes from the footer: trust it only as far as the bytes go.
	rows = make([]T, 0, min(f.NumRows(), int64(len(b))))
	buf := make([]T, 256)
	for {
		n, err := r.Read(buf)
		rows = append(rows, buf[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if n == 0 {
			break
		}
	}
	return rows, nil
}

func topLevel(s *parquet.Schema) []string {
	var names []string
	for _, f := range s.Fields() {
		names = append(names, f.Name())
	}
	return names
}

func clip(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "..."
	}
	return s
}
