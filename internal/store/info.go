package store

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// Info describes a store: what llmsweep store info prints.
type Info struct {
	Backend string `json:"backend"` // sqlite or postgres
	// Where is the file, or the server, database and schema (no password).
	Where   string `json:"where"`
	Version int    `json:"schema_version"`
	// Layout is how raw rows are kept: sqlite, native (monthly partitions) or
	// timescale (hypertables).
	Layout    string         `json:"layout"`
	Server    string         `json:"server_version,omitempty"`
	Timescale *TimescaleInfo `json:"timescaledb,omitempty"`
	// Features are the choices made for the TimescaleDB edition, in the
	// order they were made.
	Features []Feature `json:"features,omitempty"`
	// Tables are the raw-row tables with their partitions or chunks.
	Tables []TableInfo `json:"tables,omitempty"`
	// Notes say what the layout leaves out, e.g. TimescaleDB available to a
	// schema that keeps native partitions.
	Notes []string `json:"notes,omitempty"`
}

// TimescaleInfo is what the server offers of TimescaleDB.
type TimescaleInfo struct {
	Available bool   `json:"available"` // the extension's files are installed
	Preloaded bool   `json:"preloaded"` // in shared_preload_libraries
	Installed string `json:"installed"` // the version created in this database, or ""
	Schema    string `json:"schema,omitempty"`
	License   string `json:"license,omitempty"` // apache or timescale, once loaded
}

// TableInfo is a raw-row table: its partitions (native) or chunks (TimescaleDB).
type TableInfo struct {
	Name       string `json:"name"`
	Parts      int    `json:"parts"`
	Compressed *bool  `json:"compressed,omitempty"` // TimescaleDB only
}

// Describe opens the store at url (migrating it, as every command does) and
// says how it keeps its data.
func Describe(ctx context.Context, rawURL string) (*Info, error) {
	kind, target, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	s, err := Open(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	st := s.(*store)
	info := &Info{Backend: kind, Where: target, Layout: "sqlite"}
	if err := st.b.queryRow(ctx, `SELECT max(version) FROM schema_version`).Scan(&info.Version); err != nil {
		return nil, fmt.Errorf("store: schema_version: %w", err)
	}
	pg, ok := st.b.(*pgBackend)
	if !ok {
		return info, nil
	}
	info.Where = redactedURL(target)
	if err := describePostgres(ctx, pg, info); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return info, nil
}

func describePostgres(ctx context.Context, pg *pgBackend, info *Info) error {
	var schema string
	if err := pg.queryRow(ctx, `SELECT current_schema(), current_setting('server_version')`).Scan(&schema, &info.Server); err != nil {
		return err
	}
	info.Where += " schema " + schema
	ext, err := detectTimescale(ctx, pg)
	if err != nil {
		return err
	}
	if ext.available || ext.installed {
		ts := &TimescaleInfo{Available: ext.available, Preloaded: ext.preloaded}
		if ext.installed {
			if err := pg.queryRow(ctx, `SELECT e.extversion, n.nspname, coalesce(current_setting('timescaledb.license', true), '')
				FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'timescaledb'`).Scan(
				&ts.Installed, &ts.Schema, &ts.License); err != nil {
				return err
			}
		}
		info.Timescale = ts
	}
	if !pg.timescale {
		info.Layout = string(LayoutNative)
		rows, err := pg.query(ctx, `SELECT p.relname, count(i.inhrelid) FROM pg_class p
			LEFT JOIN pg_inherits i ON i.inhparent = p.oid
			WHERE p.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) AND p.relname IN ('requests', 'utilization')
			GROUP BY p.relname ORDER BY p.relname`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t TableInfo
			if err := rows.Scan(&t.Name, &t.Parts); err != nil {
				return err
			}
			info.Tables = append(info.Tables, t)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if useTimescale(ext) {
			info.Notes = append(info.Notes, "TimescaleDB is usable on this server, but this schema was made with native partitions and keeps them: converting in place is not supported (migrate a new schema with --layout timescale)")
		}
		return nil
	}
	info.Layout = string(LayoutTimescale)
	rows, err := pg.query(ctx, `SELECT hypertable_name, num_chunks, compression_enabled FROM timescaledb_information.hypertables
		WHERE hypertable_schema = current_schema() ORDER BY hypertable_name`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var t TableInfo
		var c bool
		if err := rows.Scan(&t.Name, &t.Parts, &c); err != nil {
			rows.Close()
			return err
		}
		t.Compressed = &c
		info.Tables = append(info.Tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if ok, err := hasFeatures(ctx, pg); err != nil || !ok {
		return err
	}
	rows, err = pg.query(ctx, `SELECT feature, choice, detail, decided FROM store_features
		ORDER BY decided, array_position(ARRAY['hypertables', 'compression', 'raw_retention'], feature), feature`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var f Feature
		var at time.Time
		if err := rows.Scan(&f.Name, &f.Choice, &f.Detail, &at); err != nil {
			return err
		}
		f.Decided = at.UTC()
		info.Features = append(info.Features, f)
	}
	return rows.Err()
}

// redactedURL is a PostgreSQL URL without its password.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
