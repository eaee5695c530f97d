package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgconn"
	// The pure-Go SQLite driver keeps the binary static and cgo-free.
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"csirtlink/internal/store"
)

// dialect holds every difference between the databases we support; nothing else in
// this package may know which one it talks to.
type dialect interface {
	name() string
	rebind(q string) string
	// isUnique reports whether err is a unique or primary-key violation.
	isUnique(err error) bool

	// serialWriter is true when the database takes one writer at a time and the writers
	// are queued in Go (DB.writer). Every transaction then runs alone, so reads inside it
	// need no locks and no transaction is ever a deadlock victim.
	serialWriter() bool
	// forUpdate is appended to a read of one record made inside a transaction that may
	// write it back ("read, change, write"): it locks the row until the transaction
	// ends, so that concurrent writers of that record take turns.
	forUpdate() string
	// lockSQL is a statement with one parameter (a name) that takes a lock held until
	// the transaction ends, for what no single row stands for (the audit chain's end,
	// the default policy, a peer's inbound sequence); "" when writers are serial anyway.
	lockSQL() string
	// retryable reports whether err aborted a transaction that may simply be run again
	// (a deadlock victim, a serialization failure).
	retryable(err error) bool

	// cachesStatements is true when sqlstore prepares each statement once through
	// database/sql (stmtCache). False when the driver caches prepared statements per
	// connection itself: preparing through the pool from inside a transaction takes a
	// second connection, and with every connection held by transactions waiting on the
	// one that needs it, the pool starves.
	cachesStatements() bool

	// tablesSQL lists the schema's tables (name) and, for each foreign key, the table it
	// references (refers, "" for none), for copying a node table by table.
	tablesSQL() string
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
//   - temp_store=MEMORY, so the sub-journal of a savepoint (every member of a group
//     commit, every applied envelope has one) is kept in memory, not written to a
//     temporary file page by page: those writes were 14 % of the CPU a propagated
//     entry cost. It holds the pages one transaction changes, which batch limits keep
//     small;
//   - _txlock=immediate, so a writer takes the lock at BEGIN and never fails to upgrade
//     a read lock halfway through a transaction ("database is locked").
func (sqliteDialect) dsn(path string) string {
	v := url.Values{}
	v.Add("_pragma", "busy_timeout(10000)")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "synchronous(FULL)")
	v.Add("_pragma", "foreign_keys(1)")
	v.Add("_pragma", "temp_store(MEMORY)")
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

func (sqliteDialect) serialWriter() bool       { return true }
func (sqliteDialect) forUpdate() string        { return "" }
func (sqliteDialect) lockSQL() string          { return "" }
func (sqliteDialect) retryable(err error) bool { return false }

func (sqliteDialect) cachesStatements() bool { return true }

func (sqliteDialect) tablesSQL() string {
	return `SELECT m.name, COALESCE(f."table", '') FROM sqlite_master m LEFT JOIN pragma_foreign_key_list(m.name) f ` +
		`WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`
}

// postgresDialect is PostgreSQL through pgx's database/sql driver.
//
// Writers run concurrently (several replicas, and many goroutines of each), at READ
// COMMITTED. What SQLite's single writer gave for free is made explicit:
//   - statements that read and write one row atomically stay single statements: TakeSeq
//     and NextCounter (UPDATE/INSERT … RETURNING), TryLease and the dedupe of
//     notifications and entries (INSERT … ON CONFLICT, which PostgreSQL resolves under a
//     row lock), claims and one-time uses (UPDATE … WHERE state = …);
//   - a read of one record inside a transaction that writes it back takes the row with
//     SELECT … FOR UPDATE (forUpdate): incidents, pages, deliveries, escalations,
//     notifications;
//   - an advisory transaction lock (lockSQL) serialises what no row stands for: the
//     audit chain's end, the default policy, a peer's inbound sequence (LockLink);
//   - a transaction chosen as a deadlock victim is run again (retryable, DB.InTx).
type postgresDialect struct{}

func (postgresDialect) name() string { return "postgres" }

// rebind turns ? placeholders into $1, $2, …, leaving quoted text alone.
func (postgresDialect) rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '\'':
			quoted = !quoted
			b.WriteByte(c)
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// PostgreSQL error codes (Appendix A of its manual).
const (
	pgUniqueViolation      = "23505"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
)

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func (postgresDialect) isUnique(err error) bool { return pgCode(err) == pgUniqueViolation }
func (postgresDialect) serialWriter() bool      { return false }
func (postgresDialect) forUpdate() string       { return " FOR UPDATE" }

// lockSQL keys the advisory lock by the schema as well as the name, so that nodes (or
// tests) sharing one database in different schemas do not wait for each other.
func (postgresDialect) lockSQL() string {
	return `SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '/' || ?, 0))`
}

// cachesStatements is false: pgx prepares and caches every statement on each connection
// by itself (QueryExecModeCacheStatement), on the connection the statement runs on.
func (postgresDialect) cachesStatements() bool { return false }

func (postgresDialect) tablesSQL() string {
	return `SELECT t.table_name, COALESCE(r.table_name, '') FROM information_schema.tables t ` +
		`LEFT JOIN information_schema.table_constraints c ON c.table_schema = t.table_schema AND c.table_name = t.table_name AND c.constraint_type = 'FOREIGN KEY' ` +
		`LEFT JOIN information_schema.constraint_column_usage r ON r.constraint_schema = c.constraint_schema AND r.constraint_name = c.constraint_name ` +
		`WHERE t.table_schema = current_schema() AND t.table_type = 'BASE TABLE'`
}

func (postgresDialect) retryable(err error) bool {
	c := pgCode(err)
	return c == pgDeadlockDetected || c == pgSerializationFailure
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

// PostgreSQL never hands out a connection that stays read-only after a fault ends: a
// failed write aborts only its transaction, and the pool has nothing to recycle.
func (postgresDialect) isUnwritable(error) bool { return false }

// PostgreSQL error codes for a full disk and a read-only server (a hot standby, or
// default_transaction_read_only).
const (
	pgDiskFull      = "53100"
	pgReadOnlySQLTx = "25006"
)

func (postgresDialect) storageProblem(err error) error {
	switch pgCode(err) {
	case pgDiskFull:
		return store.ErrStorageFull
	case pgReadOnlySQLTx:
		return store.ErrStorageReadOnly
	}
	return nil
}
