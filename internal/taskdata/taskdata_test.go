package taskdata_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/llmsweep/llmsweep/internal/hub"
	"github.com/llmsweep/llmsweep/internal/taskdata"
	"github.com/llmsweep/llmsweep/internal/testing/hubtest"
	"github.com/llmsweep/llmsweep/internal/testing/taskfiles"
)

func TestLoad(t *testing.T) {
	for _, converted := range []bool{false, true} {
		h := hubtest.New(t)
		taskfiles.Serve(h, converted)
		cache := t.TempDir()
		l := &taskdata.Loader{Hub: &hub.Client{BaseURL: h.URL, CacheDir: cache}}
		ctx := context.Background()

		test, files, err := l.GSM8KSplit(ctx, "test")
		if err != nil {
			t.Fatal(err)
		}
		if len(test) != taskfiles.GSM8KTest {
			t.Fatalf("converted=%v: %d rows", converted, len(test))
		}
		if d := cmp.Diff(taskfiles.GSM8KDoc("test", 7), test[7]); d != "" {
			t.Errorf("row 7 (-want +got):\n%s", d)
		}
		wantRev, wantPath := taskdata.GSM8K.Revision, "main/test-00000-of-00001.parquet"
		if converted {
			wantRev, wantPath = "c0"+taskdata.GSM8K.Revision[2:], "main/test/0000.parquet"
		}
		if files.Revision != wantRev || len(files.Paths) != 1 || files.Paths[0] != wantPath {
			t.Errorf("files = %+v", files)
		}

		dev, _, err := l.MMLUSplit(ctx, "dev")
		if err != nil {
			t.Fatal(err)
		}
		if len(dev) != taskfiles.MMLUDev*len(taskfiles.Subjects) {
			t.Fatalf("%d dev rows", len(dev))
		}
		if d := cmp.Diff(taskfiles.MMLUDoc("world_religions", "dev", 3), dev[2*taskfiles.MMLUDev+3]); d != "" {
			t.Errorf("dev row (-want +got):\n%s", d)
		}

		// Read again: everything at a commit comes from the cache.
		before := len(h.Requests())
		if _, _, err := l.GSM8KSplit(ctx, "test"); err != nil {
			t.Fatal(err)
		}
		after := len(h.Requests())
		if want := 0; converted {
			if after-before != 1 {
				t.Errorf("converted: %d requests on a second read, want 1 (the export branch is a name, not a commit: its info is asked again)", after-before)
			}
		} else if after-before != want {
			t.Errorf("%d requests on a second read, want %d", after-before, want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	type wrong struct {
		Question string `parquet:"question,optional"`
		Solution string `parquet:"solution,optional"`
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, []wrong{{"q", "s"}}); err != nil {
		t.Fatal(err)
	}
	_, err := taskdata.DecodeGSM8K("x.parquet", buf.Bytes())
	if err == nil || !strings.Contains(err.Error(), `x.parquet: no column "answer" (columns: question, solution)`) {
		t.Errorf("missing column: %v", err)
	}
	if _, err := taskdata.DecodeMMLU("y.parquet", []byte("not parquet at all")); err == nil || !strings.Contains(err.Error(), "y.parquet: not a Parquet file") {
		t.Errorf("garbage: %v", err)
	}
	bad := []taskdata.MMLUDoc{{Question: "q", Subject: "s", Choices: []string{"a", "b"}, Answer: 1}}
	buf.Reset()
	if err := parquet.Write(&buf, bad); err != nil {
		t.Fatal(err)
	}
	if _, err := taskdata.DecodeMMLU("z.parquet", buf.Bytes()); err == nil || !strings.Contains(err.Error(), "z.parquet: row 0: want a question, a subject, 4 choices and an answer in 0..3, got question \"q\", subject \"s\", 2 choices, answer 1") {
		t.Errorf("two choices: %v", err)
	}
	noAnswer := []taskdata.GSM8KDoc{{Question: "q", Answer: "42"}}
	buf.Reset()
	if err := parquet.Write(&buf, noAnswer); err != nil {
		t.Fatal(err)
	}
	if _, err := taskdata.DecodeGSM8K("g.parquet", buf.Bytes()); err == nil || !strings.Contains(err.Error(), `row 0: want a question and an answer ending in "#### <number>"`) {
		t.Errorf("answer without ####: %v", err)
	}
}

func TestMissingSplit(t *testing.T) {
	h := hubtest.New(t)
	taskfiles.Serve(h, false)
	l := &taskdata.Loader{Hub: &hub.Client{BaseURL: h.URL}}
	_, _, err := l.GSM8KSplit(context.Background(), "validation")
	if err == nil || !strings.Contains(err.Error(), "openai/gsm8k at 740312add88f781978c0658806c59bc2815b9866 has no main/validation-*.parquet") {
		t.Errorf("error = %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(taskfiles.GSM8K("train", 3))
	f.Add(taskfiles.MMLU("dev", 2))
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Errors are fine; panics and rows that break the checks are not.
		if rows, err := taskdata.DecodeGSM8K("f", b); err == nil {
			for _, r := range rows {
				if !strings.Contains(r.Answer, "#### ") {
					t.Fatalf("row without ####: %+v", r)
				}
			}
		}
		if rows, err := taskdata.DecodeMMLU("f", b); err == nil {
			for _, r := range rows {
				if len(r.Choices) != 4 || r.Answer < 0 || r.Answer > 3 {
					t.Fatalf("bad row: %+v", r)
				}
			}
		}
	})
}
