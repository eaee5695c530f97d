package sqlstore

import (
	"net/url"

	// The pure-Go SQLite driver keeps the binary static and cgo-free.
	_ "modernc.org/sqlite"
)

// dialect holds every difference between the databases we support; nothing else in
// this package may know which one it talks to.
type dialect interface {
	name() string
	driver() string
	rebind(q string) string
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
	return "file:" + path + "?" + v.Encode()
}

func (sqliteDialect) rebind(q string) string { return q }
