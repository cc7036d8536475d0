package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// rawConn is a connection of its own to the database file, through the SQLite
// C API (as transpiled to Go by modernc), for bulk inserts. The database/sql
// driver prepares a statement anew on every Exec, which caps inserts near
// 50,000 rows/s; here a statement is prepared once per transaction and only
// bound, stepped and reset per row. It takes part in WAL locking like any
// other connection. Values are copied into C memory with libc.CString, so no
// Go pointer crosses over.
type rawConn struct {
	mu  sync.Mutex
	tls *libc.TLS
	db  uintptr
}

func openRaw(path string) (*rawConn, error) {
	c := &rawConn{tls: libc.NewTLS()}
	if err := c.open(path); err != nil {
		return nil, errors.Join(err, c.close())
	}
	return c, nil
}

func (c *rawConn) open(path string) error {
	name, err := libc.CString(path)
	if err != nil {
		return err
	}
	defer libc.Xfree(c.tls, name)
	pp := c.tls.Alloc(ptrSize)
	defer c.tls.Free(ptrSize)
	rc := sqlite3.Xsqlite3_open_v2(c.tls, name, pp, sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	c.db = readPtr(pp)
	if rc != sqlite3.SQLITE_OK {
		return c.err(rc)
	}
	sqlite3.Xsqlite3_extended_result_codes(c.tls, c.db, 1)
	sqlite3.Xsqlite3_busy_timeout(c.tls, c.db, 30_000)
	// A checkpoint every 64 MB of WAL rather than 4: bulk loads pay for fewer.
	return c.exec("PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 16384")
}

const ptrSize = int(unsafe.Sizeof(uintptr(0)))

// readPtr reads the pointer that the C API stored at p.
func readPtr(p uintptr) uintptr {
	b := libc.GoBytes(p, ptrSize)
	if ptrSize == 4 {
		return uintptr(binary.NativeEndian.Uint32(b))
	}
	return uintptr(binary.NativeEndian.Uint64(b))
}

func (c *rawConn) close() error {
	var err error
	if c.db != 0 {
		if rc := sqlite3.Xsqlite3_close_v2(c.tls, c.db); rc != sqlite3.SQLITE_OK {
			err = c.err(rc)
		}
		c.db = 0
	}
	c.tls.Close()
	return err
}

func (c *rawConn) err(rc int32) error {
	if c.db == 0 {
		return fmt.Errorf("sqlite: error %d", rc)
	}
	return fmt.Errorf("sqlite: %s (%d)", libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db)), rc)
}

func (c *rawConn) exec(sql string) error {
	s, err := libc.CString(sql)
	if err != nil {
		return err
	}
	defer libc.Xfree(c.tls, s)
	if rc := sqlite3.Xsqlite3_exec(c.tls, c.db, s, 0, 0, 0); rc != sqlite3.SQLITE_OK {
		return c.err(rc)
	}
	return nil
}

// rawStmt is a prepared statement and the C strings bound to it: those of
// one row, freed after it runs, and short values that repeat from row to row
// (finish reasons, error classes), kept until the statement is closed.
type rawStmt struct {
	c      *rawConn
	p      uintptr
	bound  []uintptr
	cached map[string]uintptr
	err    error // the first bind error, reported by step
}

func (c *rawConn) prepare(sql string) (*rawStmt, error) {
	s, err := libc.CString(sql)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(c.tls, s)
	pp := c.tls.Alloc(ptrSize)
	defer c.tls.Free(ptrSize)
	if rc := sqlite3.Xsqlite3_prepare_v2(c.tls, c.db, s, -1, pp, 0); rc != sqlite3.SQLITE_OK {
		return nil, c.err(rc)
	}
	return &rawStmt{c: c, p: readPtr(pp), cached: map[string]uintptr{}}, nil
}

// The bind methods set parameter n (from 1) of the next row.

func (s *rawStmt) check(rc int32) {
	if rc != sqlite3.SQLITE_OK && s.err == nil {
		s.err = s.c.err(rc)
	}
}

func (s *rawStmt) int(n int32, v int64) { s.check(sqlite3.Xsqlite3_bind_int64(s.c.tls, s.p, n, v)) }

func (s *rawStmt) float(n int32, v float64) {
	s.check(sqlite3.Xsqlite3_bind_double(s.c.tls, s.p, n, v))
}

// text binds v, or NULL when it is empty; repeats keeps v's C copy for the
// rows to come.
func (s *rawStmt) text(n int32, v string, repeats bool) {
	if v == "" {
		s.check(sqlite3.Xsqlite3_bind_null(s.c.tls, s.p, n))
		return
	}
	p, ok := s.cached[v]
	if !ok {
		var err error
		if p, err = libc.CString(v); err != nil {
			s.check(sqlite3.SQLITE_NOMEM)
			return
		}
		if repeats && len(s.cached) < 256 {
			s.cached[v] = p
		} else {
			s.bound = append(s.bound, p)
		}
	}
	// SQLITE_STATIC (0): SQLite reads p when the row runs, until rebound.
	s.check(sqlite3.Xsqlite3_bind_text(s.c.tls, s.p, n, p, int32(len(v)), 0))
}

// blob binds b, or NULL when it is empty.
func (s *rawStmt) blob(n int32, b []byte) {
	if len(b) == 0 {
		s.check(sqlite3.Xsqlite3_bind_null(s.c.tls, s.p, n))
		return
	}
	// CString copies the bytes into C memory at once: the string that
	// aliases b need not outlive the call.
	p, err := libc.CString(unsafe.String(unsafe.SliceData(b), len(b)))
	if err != nil {
		s.check(sqlite3.SQLITE_NOMEM)
		return
	}
	s.bound = append(s.bound, p)
	s.check(sqlite3.Xsqlite3_bind_blob(s.c.tls, s.p, n, p, int32(len(b)), 0))
}

// step runs the row as bound, and readies the statement for the next.
func (s *rawStmt) step() error {
	defer s.free()
	if s.err != nil {
		return s.err
	}
	rc := sqlite3.Xsqlite3_step(s.c.tls, s.p)
	sqlite3.Xsqlite3_reset(s.c.tls, s.p)
	if rc != sqlite3.SQLITE_DONE {
		return s.c.err(rc)
	}
	return nil
}

func (s *rawStmt) free() {
	for _, p := range s.bound {
		libc.Xfree(s.c.tls, p)
	}
	s.bound = s.bound[:0]
}

func (s *rawStmt) close() {
	// Finalize before the C strings go.
	sqlite3.Xsqlite3_finalize(s.c.tls, s.p)
	s.free()
	for _, p := range s.cached {
		libc.Xfree(s.c.tls, p)
	}
}

// tx runs fn in a BEGIN IMMEDIATE transaction on the connection.
func (c *rawConn) tx(fn func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.exec("BEGIN IMMEDIATE"); err != nil {
		return err
	}
	if err := fn(); err != nil {
		return errors.Join(err, c.exec("ROLLBACK"))
	}
	if err := c.exec("COMMIT"); err != nil {
		return errors.Join(err, c.exec("ROLLBACK"))
	}
	return nil
}
