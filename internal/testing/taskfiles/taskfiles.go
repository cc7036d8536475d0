// Package taskfiles writes small Parquet files in the schemas of the accuracy
// tasks' data sets on the Hub (openai/gsm8k, cais/mmlu), with the column names
// and types the datasets library writes (pyarrow: optional UTF-8 strings, a
// three-level LIST of strings, int64 class labels), and serves them on a fake
// Hub. Every row is made up here: no data set content is copied.
package taskfiles

import (
	"bytes"
	"fmt"

	"github.com/parquet-go/parquet-go"

	"github.com/llmsweep/llmsweep/internal/taskdata"
	"github.com/llmsweep/llmsweep/internal/testing/hubtest"
)

// gsm8kSchema and mmluSchema are the data sets' schemas as pyarrow writes them.
var (
	gsm8kSchema = parquet.NewSchema("schema", parquet.Group{
		"question": parquet.Optional(parquet.String()),
		"answer":   parquet.Optional(parquet.String()),
	})
	mmluSchema = parquet.NewSchema("schema", parquet.Group{
		"question": parquet.Optional(parquet.String()),
		"subject":  parquet.Optional(parquet.String()),
		"choices":  parquet.Optional(parquet.List(parquet.Optional(parquet.String()))),
		"answer":   parquet.Optional(parquet.Int(64)),
	})
)

// GSM8KDoc is row i of our GSM8K-shaped split: a two-step word problem
// whose answer shows its work with calculator annotations and ends in
// "#### <number>", as GSM8K's answers do.
func GSM8KDoc(split string, i int) taskdata.GSM8KDoc {
	offset := 0
	if split == "test" {
		offset = 1000
	}
	k := i + offset
	boxes, per, given := 2+k%7, 3+k%11, 1+k%5
	total := boxes * per
	left := total - given
	names := []string{"Ada", "Bo", "Cy", "Di", "Ed", "Flo", "Gus"}
	name := names[k%len(names)]
	things := []string{"pencils", "apples", "stickers", "marbles", "cards"}
	thing := things[k%len(things)]
	q := fmt.Sprintf("%s has %d boxes with %d %s in each box. %s gives away %d %s. How many %s does %s have left?",
		name, boxes, per, thing, name, given, thing, thing, name)
	if k%4 == 3 { // some answers have thousands, which GSM8K writes with commas
		per *= 1000
		total, left = boxes*per, boxes*per-given
		q = fmt.Sprintf("A depot holds %d crates of %d %s each. %d %s are sold. How many %s remain?", boxes, per, thing, given, thing, thing)
	}
	a := fmt.Sprintf("There are %d*%d = <<%d*%d=%d>>%d %s.\nAfter giving away %d, %d-%d = <<%d-%d=%d>>%d are left.\n#### %s",
		boxes, per, boxes, per, total, total, thing, given, total, given, total, given, left, left, comma(left))
	return taskdata.GSM8KDoc{Question: q, Answer: a}
}

func comma(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// GSM8K writes n rows of split as GSM8K's Parquet.
func GSM8K(split string, n int) []byte {
	rows := make([]taskdata.GSM8KDoc, n)
	for i := range rows {
		rows[i] = GSM8KDoc(split, i)
	}
	return write(gsm8kSchema, rows)
}

// Subjects are the MMLU subjects our files have rows for.
var Subjects = []string{"abstract_algebra", "high_school_geography", "world_religions"}

// MMLUDoc is row i of a subject in our MMLU-shaped split.
func MMLUDoc(subject, split string, i int) taskdata.MMLUDoc {
	k := i
	if split == "dev" {
		k += 100
	}
	a, b := 2+k%9, 3+k%7
	right := a * b
	choices := []string{fmt.Sprint(right + 1), fmt.Sprint(right - 1), fmt.Sprint(right + 2), fmt.Sprint(right - 2)}
	answer := k % 4
	choices[answer] = fmt.Sprint(right)
	return taskdata.MMLUDoc{
		// A trailing space: MMLU's questions have some, and the harness strips them.
		Question: fmt.Sprintf("In our %s drill %d, what is %d times %d? ", subject, k, a, b),
		Subject:  subject,
		Choices:  choices,
		Answer:   int64(answer),
	}
}

// MMLU writes perSubject rows of each subject of split, subject by subject,
// as MMLU's "all" configuration has them.
func MMLU(split string, perSubject int) []byte {
	var rows []taskdata.MMLUDoc
	for _, s := range Subjects {
		for i := range perSubject {
			rows = append(rows, MMLUDoc(s, split, i))
		}
	}
	return write(mmluSchema, rows)
}

func write[T any](schema *parquet.Schema, rows []T) []byte {
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf, schema)
	if _, err := w.Write(rows); err != nil {
		panic(err) // our own rows in our own schema
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// Sizes of the served splits.
const (
	GSM8KTrain = 20
	GSM8KTest  = 60
	MMLUDev    = 5
	MMLUTest   = 12
)

// Serve puts both data sets on h at their pinned revisions: as the repos'
// own Parquet files, or, with converted, only on refs/convert/parquet (a repo
// whose pinned commit has no Parquet files of its own).
func Serve(h *hubtest.Hub, converted bool) {
	gsm := map[string][]byte{
		"main/train-00000-of-00001.parquet": GSM8K("train", GSM8KTrain),
		"main/test-00000-of-00001.parquet":  GSM8K("test", GSM8KTest),
	}
	mmlu := map[string][]byte{
		"all/dev-00000-of-00001.parquet":  MMLU("dev", MMLUDev),
		"all/test-00000-of-00001.parquet": MMLU("test", MMLUTest),
	}
	for _, d := range []struct {
		set   taskdata.Dataset
		files map[string][]byte
	}{{taskdata.GSM8K, gsm}, {taskdata.MMLU, mmlu}} {
		r := &hubtest.Repo{SHA: d.set.Revision, Files: d.files}
		if converted {
			conv := map[string][]byte{}
			for p, b := range d.files {
				// {config}/{split}-00000-of-00001.parquet -> {config}/{split}/0000.parquet
				conv[d.set.Config+"/"+splitOf(p)+"/0000.parquet"] = b
			}
			r.Files = map[string][]byte{"README.md": []byte("# our test repo\n")}
			r.Converted = &hubtest.Tree{SHA: "c0" + d.set.Revision[2:], Files: conv}
		}
		h.Dataset(d.set.Repo, r)
	}
}

// splitOf is the split of a file named {config}/{split}-NNNNN-of-NNNNN.parquet.
func splitOf(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			p = p[i+1:]
			break
		}
	}
	for i := range len(p) {
		if p[i] == '-' {
			return p[:i]
		}
	}
	return p
}
