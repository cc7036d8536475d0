package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Migrations are SQL files named NNNN_name.sql, applied in order, up only,
// each recorded in schema_version. A version may instead come in variants,
// NNNN_name.<variant>.sql, of which the backend applies one: PostgreSQL picks
// "timescale" or "native" for the per-request tables.
//
//go:embed migrations
var migrationFiles embed.FS

type migration struct {
	version int
	name    string // the file name without .sql, as recorded in schema_version
	variant string
	sql     string
}

var migrationName = regexp.MustCompile(`^(\d{4})_[a-z0-9_]+(?:\.([a-z]+))?\.sql$`)

// loadMigrations reads a dialect's migrations, sorted by version.
func loadMigrations(fsys fs.FS, dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration %s/%s: want NNNN_name.sql or NNNN_name.variant.sql", dir, e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		v, _ := strconv.Atoi(m[1])
		out = append(out, migration{version: v, name: strings.TrimSuffix(e.Name(), ".sql"), variant: m[2], sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int {
		if a.version != b.version {
			return a.version - b.version
		}
		return strings.Compare(a.variant, b.variant)
	})
	return out, nil
}

// latest is the highest version among migrations.
func latest(all []migration) int {
	if len(all) == 0 {
		return 0
	}
	return all[len(all)-1].version
}

// needsVariant reports whether a migration still to apply comes in variants.
func needsVariant(all []migration, applied map[int]bool) bool {
	for _, m := range all {
		if m.variant != "" && !applied[m.version] {
			return true
		}
	}
	return false
}

// plan picks the migrations still to apply, taking the given variant where a
// version has several. Versions must run 1, 2, … without gaps.
func plan(all []migration, applied map[int]bool, variant string) ([]migration, error) {
	var out []migration
	for v := 1; v <= latest(all); v++ {
		var base, chosen *migration
		var variants []string
		for i := range all {
			m := &all[i]
			switch {
			case m.version != v:
			case m.variant == "":
				base = m
			default:
				variants = append(variants, m.variant)
				if m.variant == variant {
					chosen = m
				}
			}
		}
		switch {
		case base == nil && variants == nil:
			return nil, fmt.Errorf("migration %04d is missing", v)
		case base != nil && variants != nil:
			return nil, fmt.Errorf("migration %04d has both a plain file and variants %v", v, variants)
		case applied[v]:
			continue
		case base != nil:
			out = append(out, *base)
		case chosen == nil:
			return nil, fmt.Errorf("migration %04d has no variant %q, only %v", v, variant, variants)
		default:
			out = append(out, *chosen)
		}
	}
	return out, nil
}

// applyMigrations brings a schema up to date inside q, a transaction that
// already holds the migration lock: concurrent migrators queue behind it and
// then find nothing left to do. variant is asked for only when needed.
func applyMigrations(ctx context.Context, q querier, d *dialect, variant func(context.Context, querier) (string, error)) error {
	all, err := loadMigrations(migrationFiles, d.name)
	if err != nil {
		return err
	}
	if _, err := q.exec(ctx, d.createSchemaVersion); err != nil {
		return fmt.Errorf("schema_version: %w", err)
	}
	rows, err := q.query(ctx, `SELECT version FROM schema_version`)
	if err != nil {
		return err
	}
	applied := map[int]bool{}
	top := 0
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
		top = max(top, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if top > latest(all) {
		return fmt.Errorf("database schema is at version %d, newer than this llmsweep knows (%d): upgrade llmsweep", top, latest(all))
	}
	v := ""
	if needsVariant(all, applied) {
		if v, err = variant(ctx, q); err != nil {
			return err
		}
	}
	todo, err := plan(all, applied, v)
	if err != nil {
		return err
	}
	for _, m := range todo {
		if _, err := q.exec(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := q.exec(ctx, `INSERT INTO schema_version (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}
