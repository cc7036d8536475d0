// Package storetest gives tests a fresh results store of each backend: a
// SQLite file in a temporary directory, and a schema of its own in the
// machine's PostgreSQL (LLMSWEEP_TEST_POSTGRES overrides the server; "off"
// skips the PostgreSQL cases).
//
// On a server that preloads TimescaleDB (make test-timescale starts one), the
// extension is created once in the test database's public schema, as a
// database owner would, so that every test schema gets hypertables: a store
// creating it in its own schema would lose it, and every other test's, when
// that schema is dropped.
package storetest

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
)

// The PostgreSQL the tests use; each test gets a schema of its own there.
// LLMSWEEP_TEST_POSTGRES=off skips the PostgreSQL cases.
// ServerURL is the PostgreSQL server the tests use.
func ServerURL() string {
	if u := os.Getenv("LLMSWEEP_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

var (
	pgOnce    sync.Once
	pgErr     error
	timescale bool
)

// RequirePostgres skips the test when there is no PostgreSQL to use.
func RequirePostgres(t testing.TB) {
	t.Helper()
	if ServerURL() == "off" {
		t.Skip("LLMSWEEP_TEST_POSTGRES=off")
	}
	pgOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var c *pgx.Conn
		if c, pgErr = pgx.Connect(ctx, ServerURL()); pgErr == nil {
			timescale, pgErr = prepareTimescale(ctx, c)
			c.Close(ctx)
		}
	})
	if pgErr != nil {
		t.Skipf("no PostgreSQL at %s (set LLMSWEEP_TEST_POSTGRES): %v", ServerURL(), pgErr)
	}
	if os.Getenv("LLMSWEEP_TEST_TIMESCALE") != "" && !timescale {
		t.Fatalf("LLMSWEEP_TEST_TIMESCALE is set, but the PostgreSQL at %s does not preload timescaledb (tools/timescale/cluster.sh starts one)", ServerURL())
	}
}

// prepareTimescale creates the timescaledb extension in the public schema
// where the server preloads it, and reports whether it did (or found it).
func prepareTimescale(ctx context.Context, c *pgx.Conn) (bool, error) {
	var preload string
	var available, installed bool
	if err := c.QueryRow(ctx, `SELECT coalesce(current_setting('shared_preload_libraries', true), ''),
		EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'),
		EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')`).Scan(&preload, &available, &installed); err != nil {
		return false, err
	}
	if installed {
		return true, nil
	}
	if !available || !strings.Contains(preload, "timescaledb") {
		return false, nil
	}
	// Test packages run in parallel: one of them creates it, and a loser's
	// error is moot once the extension exists.
	_, err := c.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS timescaledb SCHEMA public`)
	if err != nil {
		if c.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')`).Scan(&installed); !installed {
			return false, err
		}
	}
	return true, nil
}

// Timescale reports whether the test server's stores get TimescaleDB
// hypertables; it skips the test where there is no PostgreSQL.
func Timescale(t testing.TB) bool {
	t.Helper()
	RequirePostgres(t)
	return timescale
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// PostgresURL creates a fresh schema, dropped when the test ends, and returns
// a URL whose connections use it.
func PostgresURL(t testing.TB) string {
	t.Helper()
	RequirePostgres(t)
	b := make([]byte, 4)
	rand.Read(b)
	name := unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "_")
	name = "st_" + name[:min(len(name), 40)] + "_" + hex.EncodeToString(b)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, ServerURL())
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			t.Error(err)
		}
	})
	return WithSearchPath(ServerURL(), name)
}

// WithSearchPath returns raw with its connections using schema.
func WithSearchPath(raw, schema string) string {
	u, _ := url.Parse(raw)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20") // pgx reads + as itself
	return u.String()
}

// SQLiteURL is a new database file in the test's temporary directory.
func SQLiteURL(t testing.TB) string {
	return "sqlite://" + filepath.ToSlash(filepath.Join(t.TempDir(), "sub", "results.db"))
}

// Backends runs fn against a fresh database of each backend.
func Backends(t *testing.T, fn func(t *testing.T, url string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLiteURL(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, PostgresURL(t)) })
}
