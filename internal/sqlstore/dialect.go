package sqlstore

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	// The pure-Go SQLite driver keeps the binary static and cgo-free.
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
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
}

type sqliteDialect struct{}

func (sqliteDialect) name() string { return "sqlite" }

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
