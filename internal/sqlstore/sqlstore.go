// Package sqlstore implements the store interfaces over database/sql.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"csirtlink/internal/store"
)

//go:embed migrations
var migrations embed.FS

// DB is a node's database; it implements store.Store.
type DB struct {
	conn
	db *sql.DB
	// writer lets one write run at a time, queued in Go. SQLite has one write lock; a
	// writer that finds it taken sleeps in the busy handler (1 to 100 ms at a time)
	// while later writers can take it first, which starved writers for seconds under
	// load. Queued here, each waits its turn and gets the lock the moment it is free.
	writer sync.Mutex
	// notes say what opening found wrong with the files' permissions, and did.
	notes []string
	path  string
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// conn runs the aggregate methods on a querier: the database or one transaction.
type conn struct {
	q       querier
	d       dialect
	onAfter *[]func()   // set inside a transaction
	writer  *sync.Mutex // set outside one: a lone write statement queues for its turn
	stmts   *stmtCache
	recycle func() // closes the pool's connections when a write finds them unable to
}

// checkWrite recycles the pool when err says a connection could not write: the
// connection, or state it shares with the others, was opened during a fault.
func (c conn) checkWrite(err error) error {
	if err != nil && c.d.isUnwritable(err) {
		c.recycle()
	}
	return err
}

func (c conn) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if c.writer != nil {
		c.writer.Lock()
		defer c.writer.Unlock()
	}
	st, err := c.stmt(ctx, q)
	if err != nil {
		return nil, c.checkWrite(err)
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil && c.writer != nil && c.d.isUnwritable(err) {
		// A lone statement that could not write did nothing: once more, on a
		// connection opened after the recycling.
		c.recycle()
		res, err = st.ExecContext(ctx, args...)
	}
	return res, c.checkWrite(err)
}

func (c conn) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (c conn) row(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := c.stmt(ctx, q)
	if err != nil {
		// QueryRowContext on the plain querier reports the same preparation error
		// through Row.Scan, which is where callers look.
		return c.q.QueryRowContext(ctx, c.d.rebind(q), args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// stmtCache keeps one prepared statement per query text: SQLite parsing every statement
// anew was a fifth of the CPU a timeline entry costs. database/sql prepares a statement
// once per pooled connection, and Tx.StmtContext reuses it inside a transaction.
type stmtCache struct {
	db *sql.DB
	d  dialect
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func (c conn) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	c.stmts.mu.Lock()
	st, ok := c.stmts.m[q]
	if !ok {
		var err error
		if st, err = c.stmts.db.PrepareContext(ctx, c.d.rebind(q)); err != nil {
			c.stmts.mu.Unlock()
			return nil, fmt.Errorf("sqlstore: prepare: %w", err)
		}
		c.stmts.m[q] = st
	}
	c.stmts.mu.Unlock()
	if tx, ok := c.q.(*sql.Tx); ok {
		return tx.StmtContext(ctx, st), nil
	}
	return st, nil
}

func (sc *stmtCache) close() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, st := range sc.m {
		st.Close()
	}
	sc.m = map[string]*sql.Stmt{}
}

// OnCommit runs f after the transaction commits, or at once outside a transaction.
func (c conn) OnCommit(f func()) {
	if c.onAfter == nil {
		f()
		return
	}
	*c.onAfter = append(*c.onAfter, f)
}

// Within runs fn in a savepoint inside a transaction; outside one it just runs fn.
func (c conn) Within(ctx context.Context, fn func() error) error {
	if c.onAfter == nil {
		return fn()
	}
	if _, err := c.exec(ctx, `SAVEPOINT within`); err != nil {
		return fmt.Errorf("sqlstore: savepoint: %w", err)
	}
	hooks := len(*c.onAfter)
	if err := fn(); err != nil {
		// What fn asked to run after commit belongs to the writes being undone.
		*c.onAfter = (*c.onAfter)[:hooks]
		if _, rerr := c.exec(ctx, `ROLLBACK TO SAVEPOINT within`); rerr != nil {
			return errors.Join(err, fmt.Errorf("sqlstore: rollback to savepoint: %w", rerr))
		}
		if _, rerr := c.exec(ctx, `RELEASE SAVEPOINT within`); rerr != nil {
			return errors.Join(err, fmt.Errorf("sqlstore: release savepoint: %w", rerr))
		}
		return err
	}
	if _, err := c.exec(ctx, `RELEASE SAVEPOINT within`); err != nil {
		return fmt.Errorf("sqlstore: release savepoint: %w", err)
	}
	return nil
}

// OpenSQLite opens (creating if needed) the SQLite database at path and migrates it.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	d := sqliteDialect{}
	notes, err := secureFiles(path)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	sdb, recycle, err := d.open(path)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	db := &DB{db: sdb, notes: notes, path: path}
	db.conn = conn{q: sdb, d: d, writer: &db.writer, stmts: &stmtCache{db: sdb, d: d, m: map[string]*sql.Stmt{}}, recycle: recycle}
	if err := db.Migrate(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error {
	db.stmts.close()
	return db.db.Close()
}

// InTx runs fn in a transaction, then the OnCommit hooks fn registered.
func (db *DB) InTx(ctx context.Context, fn func(store.Tx) error) error {
	after, err := db.inTx(ctx, fn)
	if err != nil {
		return err
	}
	// The hooks run after the writer's turn ends, so that one may write.
	for _, f := range after {
		f()
	}
	return nil
}

func (db *DB) inTx(ctx context.Context, fn func(store.Tx) error) ([]func(), error) {
	db.writer.Lock()
	defer db.writer.Unlock()
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil && db.d.isUnwritable(err) {
		// Nothing has run yet: begin once more, on a connection opened after the
		// recycling.
		db.recycle()
		tx, err = db.db.BeginTx(ctx, nil)
	}
	if err != nil {
		return nil, db.checkWrite(fmt.Errorf("sqlstore: begin: %w", err))
	}
	defer func() {
		// A panic in fn must not leave the transaction, and with it SQLite's write lock, open.
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
	}()
	var after []func()
	c := conn{q: tx, d: db.d, onAfter: &after, stmts: db.stmts, recycle: db.recycle}
	if err := fn(c); err != nil {
		tx.Rollback()
		return nil, db.checkWrite(err)
	}
	mark := store.IdempotencyMarkFrom(ctx)
	if mark != nil && !mark.Applied() {
		if err := c.markApplied(ctx, mark); err != nil {
			tx.Rollback()
			return nil, db.checkWrite(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, db.checkWrite(fmt.Errorf("sqlstore: commit: %w", err))
	}
	if mark != nil {
		mark.SetApplied()
	}
	return after, nil
}

// Migrate applies the embedded migrations not yet applied, each in its own transaction.
func (db *DB) Migrate(ctx context.Context) error {
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	dir := path.Join("migrations", db.d.name())
	files, err := fs.Glob(migrations, dir+"/*.sql")
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	sort.Strings(files)
	for _, f := range files {
		v, err := strconv.Atoi(strings.SplitN(path.Base(f), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("sqlstore: migration %s: name must start with a number", f)
		}
		var n int
		if err := db.row(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil {
			return fmt.Errorf("sqlstore: migrate: %w", err)
		}
		if n > 0 {
			continue
		}
		body, err := migrations.ReadFile(f)
		if err != nil {
			return fmt.Errorf("sqlstore: migrate: %w", err)
		}
		tx, err := db.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("sqlstore: migrate %s: %w", f, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlstore: migrate %s: %w", f, err)
		}
		if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), v, micros(time.Now())); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlstore: migrate %s: %w", f, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlstore: migrate %s: %w", f, err)
		}
	}
	return nil
}

// SchemaVersion returns the newest applied migration.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := db.row(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlstore: schema version: %w", err)
	}
	return int(v.Int64), nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.db.PingContext(ctx) }

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func ptrMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return fmt.Errorf("sqlstore: %s: %w", what, err)
}

var _ store.Store = (*DB)(nil)
