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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"csirtlink/internal/store"
)

//go:embed migrations
var migrations embed.FS

// DB is a node's database; it implements store.Store.
type DB struct {
	conn
	db *sql.DB
	// commits queues writers in Go and lets those that arrive together share one
	// commit (groupcommit.go). Unused on PostgreSQL, whose writers run concurrently
	// (see postgresDialect).
	commits committer
	// notifier is the PostgreSQL change feed between replicas (notify.go); nil on SQLite.
	notifier *pgNotifier
	// where names the database for people, without credentials.
	where string
	// txSlots bounds the transactions open at once where writers run concurrently
	// (PostgreSQL): transactions queued on one hot row each hold a connection, and
	// without a bound they would take every connection of the pool, leaving none for
	// the reads that deliver what they wrote. Nil on SQLite (writer queues them).
	txSlots chan struct{}
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
	onAfter *[]func() // set inside a transaction
	lone    bool      // outside a transaction where writers are serial: a write statement joins the commit queue
	// head is the audit chain's newest record as this transaction wrote it, set inside
	// one: a batch appends a record per applied envelope, and each need not read back
	// the one before. Forgotten when a savepoint is rolled back.
	head *auditHead
	// local is what one transaction keeps for itself: its statements and the
	// incidents it read (txlocal.go). Nil outside a transaction.
	local   *txLocal
	stmts   *stmtCache
	owner   *DB
	recycle func() // closes the pool's connections when a write finds them unable to
}

// inTx reports whether c is one transaction.
func (c conn) inTx() bool { return c.onAfter != nil }

// lock takes the named advisory lock until the transaction ends (dialect.lockSQL);
// nothing where writers are serial, or outside a transaction.
func (c conn) lock(ctx context.Context, name string) error {
	q := c.d.lockSQL()
	if q == "" || !c.inTx() {
		return nil
	}
	if _, err := c.exec(ctx, q, name); err != nil {
		return fmt.Errorf("sqlstore: lock %s: %w", name, err)
	}
	return nil
}

// serialised runs fn holding the named lock: inside a transaction until it ends, outside
// one in a transaction of its own. Where writers are serial anyway it just runs fn.
func (c conn) serialised(ctx context.Context, name string, fn func(conn) error) error {
	switch {
	case c.d.lockSQL() == "":
		return fn(c)
	case c.inTx():
		if err := c.lock(ctx, name); err != nil {
			return err
		}
		return fn(c)
	}
	return c.owner.InTx(ctx, func(tx store.Tx) error {
		tc := tx.(conn)
		if err := tc.lock(ctx, name); err != nil {
			return err
		}
		return fn(tc)
	})
}

// forUpdate returns q with the dialect's row lock when c is a transaction: a record read
// there is about to be written back.
func (c conn) forUpdate(q string) string {
	if !c.inTx() {
		return q
	}
	return q + c.d.forUpdate()
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
	if c.lone {
		return c.loneExec(ctx, q, args...)
	}
	if !c.d.cachesStatements() {
		return c.q.ExecContext(ctx, c.stmts.rebind(q), args...)
	}
	ctx, err := c.stmtContext(ctx)
	if err != nil {
		return nil, err
	}
	st, err := c.stmt(ctx, q)
	if err != nil {
		return nil, c.checkWrite(err)
	}
	res, err := st.ExecContext(ctx, args...)
	return res, c.checkWrite(err)
}

// loneExec runs one write statement made outside a transaction as a transaction of its
// own in the commit queue, so it neither waits in SQLite's busy handler nor takes the
// write lock from a group being filled.
func (c conn) loneExec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	var res sql.Result
	run := func() error {
		return c.owner.InTx(ctx, func(tx store.Tx) error {
			var err error
			res, err = tx.(conn).exec(ctx, q, args...)
			return err
		})
	}
	err := run()
	if err != nil && c.d.isUnwritable(err) {
		// A lone statement that could not write did nothing: once more, on a
		// connection opened after the recycling.
		c.recycle()
		err = run()
	}
	return res, err
}

func (c conn) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if !c.d.cachesStatements() {
		return c.q.QueryContext(ctx, c.stmts.rebind(q), args...)
	}
	ctx, err := c.stmtContext(ctx)
	if err != nil {
		return nil, err
	}
	st, err := c.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (c conn) row(ctx context.Context, q string, args ...any) *sql.Row {
	if !c.d.cachesStatements() {
		return c.q.QueryRowContext(ctx, c.stmts.rebind(q), args...)
	}
	if sctx, err := c.stmtContext(ctx); err == nil {
		ctx = sctx
	}
	// (An ended context is left as it is: the query below reports it through Row.Scan.)
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
	// rebound keeps each query text as the dialect writes it, where statements are not
	// prepared here (dialect.cachesStatements).
	rebound sync.Map
}

func (sc *stmtCache) rebind(q string) string {
	if r, ok := sc.rebound.Load(q); ok {
		return r.(string)
	}
	r := sc.d.rebind(q)
	sc.rebound.Store(q, r)
	return r
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
		if c.local == nil {
			return tx.StmtContext(ctx, st), nil
		}
		// Tx.StmtContext makes a new statement object on every call, each kept until
		// the transaction ends: hundreds per batch.
		ts, ok := c.local.stmts[q]
		if !ok {
			ts = tx.StmtContext(ctx, st)
			c.local.stmts[q] = ts
		}
		return ts, nil
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
		c.head.forget()
		c.local.forget()
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
	db, err := open(ctx, sdb, d, recycle)
	if err != nil {
		return nil, err
	}
	db.where, db.notes, db.path = path, notes, path
	return db, nil
}

// OpenPostgres connects to the PostgreSQL database dsn names and migrates it. Its errors
// never repeat the DSN, which may hold a password.
func OpenPostgres(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's own message quotes the string, with passwords masked only "on a best
		// effort basis"; say what is expected instead.
		return nil, errors.New("sqlstore: database.dsn: not a PostgreSQL connection string " +
			"(postgres://user@host:5432/db?sslmode=verify-full, or key=value pairs; not shown, as it may hold a password)")
	}
	sdb := stdlib.OpenDB(*cfg)
	// Enough for the engine, the federation senders and a busy console at once, and
	// few enough that several replicas stay well inside max_connections (100 by default).
	sdb.SetMaxOpenConns(pgMaxConns)
	sdb.SetMaxIdleConns(8)
	sdb.SetConnMaxIdleTime(5 * time.Minute)
	if err := sdb.PingContext(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("sqlstore: connect to PostgreSQL at %s: %w", where(cfg), redact(err, cfg.Password))
	}
	db, err := open(ctx, sdb, postgresDialect{}, func() {})
	if err != nil {
		return nil, redact(err, cfg.Password)
	}
	db.txSlots = make(chan struct{}, pgMaxConns-pgReadConns)
	db.notifier = newPGNotifier(cfg, db)
	db.where = "PostgreSQL " + where(cfg)
	return db, nil
}

// A replica's connections to PostgreSQL, and how many of them transactions never take.
const pgMaxConns, pgReadConns = 16, 4

// where names a PostgreSQL server and database for messages, without credentials.
func where(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
}

// redactedError is an error whose message had a secret cut out; errors.Is and As still
// see the original.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact removes secret from err's message, should a driver ever repeat it.
func redact(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), secret, "xxxxx"), err: err}
}

// open wraps an opened pool and migrates it. recycle ends the pool's connections when a
// write finds one unable to write (see sqliteDialect.open).
func open(ctx context.Context, sdb *sql.DB, d dialect, recycle func()) (*DB, error) {
	db := &DB{db: sdb}
	db.conn = conn{q: sdb, d: d, stmts: &stmtCache{db: sdb, d: d, m: map[string]*sql.Stmt{}}, owner: db, recycle: recycle}
	db.conn.lone = d.serialWriter()
	if err := db.Migrate(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	return db, nil
}

// Where names the database for messages: the SQLite file, or the PostgreSQL server and
// database (never the credentials).
func (db *DB) Where() string { return db.where }

// Dialect names the database: "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.d.name() }

// Close closes the database.
func (db *DB) Close() error {
	if db.notifier != nil {
		db.notifier.close()
	}
	db.stmts.close()
	return db.db.Close()
}

// maxTxAttempts bounds how often a transaction the database aborted as a deadlock
// victim is run again. fn must be safe to run again: every store.Tx caller starts from
// what it reads in the transaction, and OnCommit hooks of an aborted run are dropped.
const maxTxAttempts = 5

// InTx runs fn in a transaction, then the OnCommit hooks fn registered.
func (db *DB) InTx(ctx context.Context, fn func(store.Tx) error) error {
	var after []func()
	var err error
	for range maxTxAttempts {
		after, err = db.inTx(ctx, fn)
		if err == nil || !db.d.retryable(err) || ctx.Err() != nil {
			break
		}
	}
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
	if db.d.serialWriter() {
		after, err := db.runGrouped(ctx, fn)
		if mark := store.IdempotencyMarkFrom(ctx); err == nil && mark != nil {
			mark.SetApplied()
		}
		return after, err
	}
	if db.txSlots != nil {
		select {
		case db.txSlots <- struct{}{}:
			defer func() { <-db.txSlots }()
		case <-ctx.Done():
			return nil, fmt.Errorf("sqlstore: begin: %w", ctx.Err())
		}
	}
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
	c := conn{q: tx, d: db.d, onAfter: &after, stmts: db.stmts, owner: db, recycle: db.recycle, head: &auditHead{}, local: newTxLocal()}
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
// Replicas starting together on one PostgreSQL database take turns (an advisory lock),
// and each looks again under the lock at what is applied.
func (db *DB) Migrate(ctx context.Context) error {
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
		if err := db.migrate(ctx, f, v); err != nil {
			return fmt.Errorf("sqlstore: migrate %s: %w", f, err)
		}
	}
	return nil
}

func (db *DB) migrate(ctx context.Context, f string, v int) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if q := db.d.lockSQL(); q != "" {
		if _, err := tx.ExecContext(ctx, db.d.rebind(q), "migrate"); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), v).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := migrations.ReadFile(f)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), v, micros(time.Now())); err != nil {
		return err
	}
	return tx.Commit()
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

// diag cleans diagnostic text made from bytes we did not check (a peer's error body, a
// mail relay's reply): PostgreSQL's text holds only UTF-8 without NUL, and an error
// message must not be lost for a stray byte. Everything else a node stores is checked
// before (problem.CheckText refuses both).
func diag(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")
}

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
