package sqlstore

import (
	"errors"
	"net/url"
	"strings"

	// The pure-Go SQLite driver keeps the binary static and cgo-free.
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds every difference between the databases we support; nothing else in
// this package may know which one it talks to.
type dialect interface {
	name() string
	driver() string
	rebind(q string) string
	// isUnique reports whether err is a unique or primary-key violation.
	isUnique(err error) bool
}

type sqliteDialect struct{}

func (sqliteDialect) name() string   { return "sqlite" }
func (sqliteDialect) driver() string { return "sqlite" }

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
