package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"

	// The pure-Go SQLite driver keeps the binary static and cgo-free.
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"csirtlink/internal/store"
)

// dialect holds every difference between the databases we support; nothing else in
// this package may know which one it talks to.
type dialect interface {
	name() string
	// open makes the connection pool for the database at path, and a function that
	// makes every connection opened so far be closed instead of used again.
	open(path string) (*sql.DB, func(), error)
	rebind(q string) string
	// isUnique reports whether err is a unique or primary-key violation.
	isUnique(err error) bool
	// isUnwritable reports whether err says the connection cannot write the database
	// (read-only, or a file it could not open): the pool must be recycled.
	isUnwritable(err error) bool
	// storageProblem returns store.ErrStorageFull or store.ErrStorageReadOnly when err
	// is one of those, else nil.
	storageProblem(err error) error
}

type sqliteDialect struct{}

func (sqliteDialect) name() string { return "sqlite" }

// open pools connections through a writablePool; recycle ends every connection
// opened so far (see writablePool).
func (d sqliteDialect) open(path string) (*sql.DB, func(), error) {
	c, err := sqlite.NewConnector(d.dsn(path))
	if err != nil {
		return nil, nil, err
	}
	p := &writablePool{Connector: c, path: path}
	return sql.OpenDB(p), func() { p.gen.Add(1) }, nil
}

// sqliteConn is what database/sql uses of the driver's connection, and IsReadOnly.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
	IsReadOnly(schema string) (bool, error)
}

// writablePool keeps the pool able to write once a fault that made the database
// unwritable ends, without a restart.
//
// When SQLite cannot open the database file for writing (its mode or attributes
// changed, a read-only remount) it opens it read-only, and the connection stays so for
// life; connections opened while readers grew the pool during a brief fault went back
// to the pool, and every later write failed with "attempt to write a readonly
// database" until the node was restarted. Worse, such a connection recreates the -wal
// and -shm files (SQLite deletes them when the last connection closes) with the
// database file's read-only mode, and every connection of the process shares the
// -shm mapping it made. So:
//   - a connection opened read-only answers the reader that asked for it, and is then
//     closed rather than pooled;
//   - a write that fails as read-only (or cannot open a file) makes every connection
//     opened so far stale (recycle): each is closed instead of being used again, so the
//     shared -wal and -shm state is opened afresh;
//   - before a connection opens, a -wal or -shm left without write permission by such a
//     connection is given back the private mode it was created with, once the database
//     file itself is writable again.
type writablePool struct {
	driver.Connector
	path string
	gen  atomic.Uint64
}

func (p *writablePool) Connect(ctx context.Context) (driver.Conn, error) {
	gen := p.gen.Load()
	healSidecars(p.path)
	dc, err := p.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	c, ok := dc.(sqliteConn)
	if !ok {
		dc.Close()
		return nil, fmt.Errorf("sqlstore: the SQLite driver's connection (%T) lacks a method the pool relies on", dc)
	}
	ro, err := c.IsReadOnly("main")
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("sqlstore: read-only check: %w", err)
	}
	return &guardedConn{sqliteConn: c, pool: p, gen: gen, readOnly: ro}, nil
}

type guardedConn struct {
	sqliteConn
	pool     *writablePool
	gen      uint64
	readOnly bool
}

func (c *guardedConn) stale() bool { return c.readOnly || c.gen != c.pool.gen.Load() }

// IsValid is asked before database/sql pools the connection again.
func (c *guardedConn) IsValid() bool { return !c.stale() && c.sqliteConn.IsValid() }

// ResetSession is called before a pooled connection is used again; ErrBadConn makes
// database/sql close it and take another.
func (c *guardedConn) ResetSession(ctx context.Context) error {
	if c.stale() {
		return driver.ErrBadConn
	}
	return c.sqliteConn.ResetSession(ctx)
}

// healSidecars gives the -wal and -shm back owner read and write when a connection
// made them from a read-only database file and the file is writable again. It changes
// nothing else: anything it cannot do leaves the open to report the problem.
func healSidecars(path string) {
	db, err := os.Stat(path)
	if err != nil || db.Mode().Perm()&0o600 != 0o600 {
		return
	}
	for _, p := range []string{path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o600 != 0o600 {
			os.Chmod(p, 0o600)
		}
	}
}

// dsn sets pragmas in the DSN so that every pooled connection gets them:
//   - busy_timeout first, so that even switching to WAL waits rather than failing;
//   - WAL, so readers never block the writer;
//   - synchronous=FULL, because receipts promise the data is on disk;
//   - foreign_keys, off by default in SQLite;
//   - _txlock=immediate, so a writer takes the lock at BEGIN and never fails to upgrade
//     a read lock halfway through a transaction ("database is locked").
func (sqliteDialect) dsn(path string) string {
	v := url.Values{}
	v.Add("_pragma", "busy_timeout(10000)")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "synchronous(FULL)")
	v.Add("_pragma", "foreign_keys(1)")
	v.Set("_txlock", "immediate")
	// SQLite decodes %XX in a file: URI, and the driver takes the first '?' as the start
	// of its parameters: escape what would be misread in the path itself.
	return "file:" + uriPath.Replace(path) + "?" + v.Encode()
}

var uriPath = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

func (sqliteDialect) rebind(q string) string { return q }

func (sqliteDialect) isUnique(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	c := e.Code()
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func (sqliteDialect) isUnwritable(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN:
		return true
	}
	return false
}

func (sqliteDialect) storageProblem(err error) error {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return nil
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_FULL:
		return store.ErrStorageFull
	case sqlite3.SQLITE_READONLY:
		return store.ErrStorageReadOnly
	}
	return nil
}
