package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// The PostgreSQL the tests use; each test gets a schema of its own there.
// LLMSWEEP_TEST_POSTGRES=off skips the PostgreSQL cases.
func testPostgresURL() string {
	if u := os.Getenv("LLMSWEEP_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

var (
	pgOnce sync.Once
	pgErr  error
)

func requirePostgres(t testing.TB) {
	t.Helper()
	if testPostgresURL() == "off" {
		t.Skip("LLMSWEEP_TEST_POSTGRES=off")
	}
	pgOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var c *pgx.Conn
		if c, pgErr = pgx.Connect(ctx, testPostgresURL()); pgErr == nil {
			c.Close(ctx)
		}
	})
	if pgErr != nil {
		t.Skipf("no PostgreSQL at %s (set LLMSWEEP_TEST_POSTGRES): %v", testPostgresURL(), pgErr)
	}
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// pgSchemaURL creates a fresh schema, dropped when the test ends, and returns
// a URL whose connections use it.
func pgSchemaURL(t testing.TB) string {
	t.Helper()
	requirePostgres(t)
	b := make([]byte, 4)
	rand.Read(b)
	name := unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "_")
	name = "st_" + name[:min(len(name), 40)] + "_" + hex.EncodeToString(b)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, testPostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, testPostgresURL())
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			t.Error(err)
		}
	})
	return withSearchPath(testPostgresURL(), name)
}

func withSearchPath(raw, schema string) string {
	u, _ := url.Parse(raw)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20") // pgx reads + as itself
	return u.String()
}

func sqliteURL(t testing.TB) string {
	return "sqlite://" + filepath.ToSlash(filepath.Join(t.TempDir(), "sub", "results.db"))
}

// backends runs fn against a fresh database of each backend.
func backends(t *testing.T, fn func(t *testing.T, url string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, sqliteURL(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, pgSchemaURL(t)) })
}

func open(t testing.TB, url string) Store {
	t.Helper()
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rec is a record with every field set, distinct per (index, seed).
func rec(i int32, seed int64) *sdk.Record {
	base := 1_764_000_000_000_000_000 + int64(i)*1_000_000 + seed
	return &sdk.Record{
		Index:              i,
		ScheduledNs:        base,
		StartNs:            base + 10,
		FirstTokenNs:       base + 5_000_000,
		EndNs:              base + 50_000_000,
		ItlNs:              []int64{4_000_000 + seed, 5_000_000, 6_000_001, -1},
		PromptTokens:       100 + i,
		OutputTokens:       17,
		ClientPromptTokens: 90,
		ClientOutputTokens: 16,
		ErrorClass:         "",
		Status:             200,
		FinishReason:       "stop",
		Output:             "out " + string(rune('a'+i%26)),
		Expected:           "exp",
	}
}

func recs(from, to int32, seed int64) []*sdk.Record {
	var out []*sdk.Record
	for i := from; i < to; i++ {
		out = append(out, rec(i, seed))
	}
	return out
}

func seq(from, to int32) []int32 {
	out := []int32{}
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}
