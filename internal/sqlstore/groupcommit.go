package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"database/sql"

	"csirtlink/internal/store"
)

// committer is the queue of writers where the database takes one writer at a time
// (SQLite). Writers that arrive while another holds the write lock share the next
// transaction: each runs its function in a savepoint of its own, on its own goroutine,
// one after the other, and the last one makes the one COMMIT, and with it the one
// fsync, for all of them. A writer whose function fails is rolled back to its savepoint
// and told at once; the others are not touched. A writer whose function succeeded
// returns only after the shared COMMIT did, with its result, so synchronous=FULL still
// means that what a caller was told is on disk.
//
// On this disk a FULL commit costs 0.5–1 ms of fsync under the write lock, one per
// timeline entry before; with writers queued together it is one per group.
type committer struct {
	// turn is held by the one writer running statements, or committing. Queued in Go,
	// not in SQLite's busy handler, which sleeps 1–100 ms at a time while later
	// writers barge in.
	turn sync.Mutex
	// waiting counts writers queued for turn: a writer that finds others waiting
	// leaves the transaction open for them instead of committing.
	waiting atomic.Int32
	// open is the transaction being filled; written under turn, atomic so that it can
	// be looked at (tests) without taking turn.
	open atomic.Pointer[group]
	// commits and writes count shared commits and the writes they held, for the
	// benchmarks (CommitStats).
	commits, writes atomic.Int64
}

// CommitStats reports how many commits were made through the commit queue and how many
// writes they held: writes/commits is the mean group.
func (db *DB) CommitStats() (commits, writes int64) {
	return db.commits.commits.Load(), db.commits.writes.Load()
}

// maxGroup bounds the writers sharing one commit, and so how long the first of them
// waits for the others.
const maxGroup = 64

// group is one transaction shared by the writers that joined it.
type group struct {
	tx *sql.Tx
	// local is shared by the members, one after the other: their statements, made
	// once for the group. Each member starts with no incidents read (txLocal.begin).
	local *txLocal
	// head is the audit chain's head as the members left it, one after the other.
	head    *auditHead
	members int
	good    int // members whose function succeeded and who wait for the commit
	done    chan struct{}
	err     error // the commit's result, set before done is closed
}

var errGroupAborted = errors.New("sqlstore: a transaction shared with this write was rolled back")

// run runs fn as one member of a group transaction and returns the hooks fn registered
// once its writes are committed.
func (db *DB) runGrouped(ctx context.Context, fn func(store.Tx) error) (after []func(), err error) {
	gc := &db.commits
	gc.waiting.Add(1)
	gc.turn.Lock()
	gc.waiting.Add(-1)
	held := true
	defer func() {
		if held {
			gc.turn.Unlock()
		}
	}()
	g := gc.open.Load()
	if g == nil {
		// The shared transaction outlives any one member's context: a member whose
		// request ends must not roll back the others' writes.
		tx, err := db.db.BeginTx(context.WithoutCancel(ctx), nil)
		if err != nil && db.d.isUnwritable(err) {
			// Nothing has run yet: begin once more, on a connection opened after the
			// recycling.
			db.recycle()
			tx, err = db.db.BeginTx(context.WithoutCancel(ctx), nil)
		}
		if err != nil {
			return nil, db.checkWrite(fmt.Errorf("sqlstore: begin: %w", err))
		}
		g = &group{tx: tx, local: newTxLocal(), head: &auditHead{}, done: make(chan struct{})}
		gc.open.Store(g)
	}
	g.members++
	after, ferr, broken := db.member(ctx, g, fn)
	if broken != nil {
		// The transaction is in a state no member can rely on: undo it for all.
		gc.open.Store(nil)
		g.tx.Rollback()
		g.err = errors.Join(errGroupAborted, broken)
		close(g.done)
		return nil, db.checkWrite(broken)
	}
	if ferr == nil {
		g.good++
	}
	if gc.waiting.Load() > 0 && g.members < maxGroup {
		// Others are queued: let them add their writes to this transaction; the last
		// one commits for all.
		held = false
		gc.turn.Unlock()
		if ferr != nil {
			return nil, db.checkWrite(ferr)
		}
		<-g.done
		if g.err != nil {
			return nil, g.err
		}
		return after, nil
	}
	gc.open.Store(nil)
	if g.good == 0 {
		g.tx.Rollback()
		g.err = errGroupAborted
	} else if cerr := g.tx.Commit(); cerr != nil {
		g.err = db.checkWrite(fmt.Errorf("sqlstore: commit: %w", cerr))
	} else {
		gc.commits.Add(1)
		gc.writes.Add(int64(g.good))
	}
	close(g.done)
	if ferr != nil {
		return nil, db.checkWrite(ferr)
	}
	if g.err != nil {
		return nil, g.err
	}
	return after, nil
}

// member runs fn in a savepoint of tx. ferr is fn's error, its writes undone; broken
// is set when the savepoint itself could not be handled, or the database could not
// write at all, which leaves the whole transaction unusable.
func (db *DB) member(ctx context.Context, g *group, fn func(store.Tx) error) (after []func(), ferr, broken error) {
	var hooks []func()
	tx := g.tx
	c := conn{q: tx, d: db.d, onAfter: &hooks, stmts: db.stmts, owner: db, recycle: db.recycle, head: g.head, local: g.local}
	if err := ctx.Err(); err != nil {
		// A writer whose request ended while it queued writes nothing, and must not
		// fail the others' transaction on its way out.
		return nil, fmt.Errorf("sqlstore: begin: %w", err), nil
	}
	if _, err := c.exec(context.WithoutCancel(ctx), `SAVEPOINT grouped`); err != nil {
		return nil, nil, fmt.Errorf("sqlstore: savepoint: %w", err)
	}
	panicked := true
	defer func() {
		if panicked {
			// A panic in fn must not leave the transaction, and with it SQLite's
			// write lock, open; the members before it are told it was rolled back.
			if g := db.commits.open.Load(); g != nil && g.tx == tx {
				db.commits.open.Store(nil)
				tx.Rollback()
				g.err = errGroupAborted
				close(g.done)
			}
		}
	}()
	err := fn(c)
	if err == nil {
		if mark := store.IdempotencyMarkFrom(ctx); mark != nil && !mark.Applied() {
			err = c.markApplied(ctx, mark)
		}
	}
	panicked = false
	if err != nil {
		if db.d.isUnwritable(err) {
			return nil, nil, err
		}
		// The rollback uses a context of its own: a member cancelled mid-way must
		// still undo its writes.
		bg := context.WithoutCancel(ctx)
		c.local.forget()
		c.head.forget()
		if _, rerr := c.exec(bg, `ROLLBACK TO SAVEPOINT grouped`); rerr != nil {
			return nil, nil, errors.Join(err, fmt.Errorf("sqlstore: rollback to savepoint: %w", rerr))
		}
		if _, rerr := c.exec(bg, `RELEASE SAVEPOINT grouped`); rerr != nil {
			return nil, nil, errors.Join(err, fmt.Errorf("sqlstore: release savepoint: %w", rerr))
		}
		return nil, err, nil
	}
	if _, err := c.exec(context.WithoutCancel(ctx), `RELEASE SAVEPOINT grouped`); err != nil {
		return nil, nil, fmt.Errorf("sqlstore: release savepoint: %w", err)
	}
	return hooks, nil, nil
}
