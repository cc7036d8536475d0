package store

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain doubles as the writer process that TestSQLiteKilledWriter kills.
func TestMain(m *testing.M) {
	if db := os.Getenv("STORE_TEST_WRITER_DB"); db != "" {
		if err := writer(db); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const (
	crashBatch   = 100 // records per committed transaction
	crashBatches = 30
)

// writer commits batches of records, reporting each, then starts a
// transaction too large to finish before it is killed.
func writer(db string) error {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+db)
	if err != nil {
		return err
	}
	run, err := s.CreateRun(ctx, Run{ID: "r", Campaign: "c"})
	if err != nil {
		return err
	}
	for b := range int32(crashBatches) {
		if err := s.AppendRecords(ctx, run.ID, "fp", 1, recs(b*crashBatch, (b+1)*crashBatch, 0)); err != nil {
			return err
		}
		fmt.Printf("committed %d\n", b+1)
	}
	big := recs(crashBatches*crashBatch, 400_000, 0)
	fmt.Println("in flight")
	return s.AppendRecords(ctx, run.ID, "fp", 1, big)
}

// A writer killed mid-transaction leaves a database, WAL and shared-memory
// file behind. The store must open them, also when the WAL or shared-memory
// file is then torn or overwritten, and hold only whole transactions.
func TestSQLiteKilledWriter(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a writer process")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "killed.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STORE_TEST_WRITER_DB="+db)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	committed := 0
	var walCommitted int64 // the WAL's size with only committed frames in it
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
			committed, _ = strconv.Atoi(n)
		}
		if sc.Text() == "in flight" {
			fi, err := os.Stat(db + "-wal")
			if err != nil {
				t.Fatal(err)
			}
			walCommitted = fi.Size()
			break
		}
	}
	// Let the big transaction spill uncommitted pages into the WAL.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(db + "-wal"); err == nil && fi.Size() > walCommitted+4<<20 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if committed != crashBatches {
		t.Fatalf("writer committed %d batches before the kill, want %d", committed, crashBatches)
	}
	fi, err := os.Stat(db + "-wal")
	if err != nil {
		t.Fatalf("no WAL left by the killed writer: %v", err)
	}
	if fi.Size() <= walCommitted {
		t.Fatalf("the WAL holds no uncommitted frames: %d bytes, %d committed", fi.Size(), walCommitted)
	}
	t.Logf("killed writer left a %d-byte WAL, %d bytes of it committed", fi.Size(), walCommitted)

	for _, c := range []struct {
		name   string
		tear   func(t *testing.T, db string)
		intact bool // every committed batch survives
	}{
		{"as left", func(*testing.T, string) {}, true},
		{"garbage appended to the WAL", func(t *testing.T, db string) { appendFile(t, db+"-wal", garbage(100_000)) }, true},
		{"WAL cut mid-frame", func(t *testing.T, db string) { truncate(t, db+"-wal", walCommitted*2/3+1000) }, false},
		{"WAL header overwritten", func(t *testing.T, db string) { writeAt(t, db+"-wal", 0, garbage(32)) }, false},
		{"shared memory overwritten", func(t *testing.T, db string) { writeAt(t, db+"-shm", 0, garbage(32768)) }, true},
		{"shared memory gone", func(t *testing.T, db string) { os.Remove(db + "-shm") }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cp := filepath.Join(t.TempDir(), "copy.db")
			for _, suffix := range []string{"", "-wal", "-shm"} {
				copyFile(t, db+suffix, cp+suffix)
			}
			c.tear(t, cp)
			s := open(t, "sqlite://"+cp)
			var got []int32
			if r, err := s.Run(ctx, "r"); err != nil {
				t.Fatal(err)
			} else if r != nil {
				got = recorded(t, s, "r", "fp")
			} else if c.intact {
				t.Fatal("the run is gone")
			} else {
				mustRun(t, s, Run{ID: "r", Campaign: "c"})
			}
			if len(got)%crashBatch != 0 || len(got) > committed*crashBatch || (c.intact && len(got) != committed*crashBatch) {
				t.Fatalf("%d records after reopening; want whole batches of %d, all %d of them: %v", len(got), crashBatch, committed, c.intact)
			}
			for i, idx := range got {
				if idx != int32(i) {
					t.Fatalf("index %d at position %d: not a prefix of the committed batches", idx, i)
				}
			}
			var check string
			if err := s.(*store).b.queryRow(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
				t.Fatalf("integrity_check: %q, %v", check, err)
			}
			// And the store takes new writes.
			if err := s.AppendRecords(ctx, "r", "fp", 2, recs(0, 10, 1)); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d of %d committed records back", len(got), committed*crashBatch)
		})
	}
}

func garbage(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*131 + 7)
	}
	return b
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		_, err = f.Write(b)
		err = errorsJoin(err, f.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
}

func writeAt(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err == nil {
		_, err = f.WriteAt(b, off)
		err = errorsJoin(err, f.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
