package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Changes is the feed that carries "this changed" notices between the replicas of one
// node on PostgreSQL (LISTEN/NOTIFY), so that a console open on one replica updates
// live when another replica changes an incident or a page. It carries only a kind and an
// id, never content: a console re-reads what changed through its own replica.
//
// A notice is published after the change commits. It is a hint, not a record: one
// published while no replica listens (or lost with a replica killed between its commit
// and its notice) is not replayed, and consoles catch up on their next refresh.
type Changes interface {
	// Publish tells the other replicas that kind/id changed. It never blocks.
	Publish(kind, id string)
	// Subscribe adds f, told of every change another replica publishes. f must not block.
	Subscribe(f func(kind, id string))
	// Listening is closed once this replica listens, for the first time.
	Listening() <-chan struct{}
}

// Changes returns the replicas' change feed, or nil where one replica is all there is
// (SQLite).
func (db *DB) Changes() Changes {
	if db.notifier == nil {
		return nil
	}
	return db.notifier
}

// pgNotifier publishes with pg_notify through the pool and listens on a connection of
// its own (LISTEN holds a session, which a pooled connection cannot). It starts on first
// use, so that a store nobody asks for changes opens no extra connection.
type pgNotifier struct {
	cfg  *pgx.ConnConfig
	db   *DB
	self string // this replica's id; its own notices come back and are skipped

	start     sync.Once
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	out       chan string
	channel   string
	listening chan struct{}

	mu   sync.Mutex
	subs []func(kind, id string)
}

// maxQueued bounds the notices waiting to be published; beyond it they are dropped
// (a console misses a live update, nothing else).
const maxQueued = 4096

func newPGNotifier(cfg *pgx.ConnConfig, db *DB) *pgNotifier {
	var b [8]byte
	rand.Read(b[:])
	ctx, cancel := context.WithCancel(context.Background())
	return &pgNotifier{cfg: cfg, db: db, self: hex.EncodeToString(b[:]), ctx: ctx, cancel: cancel,
		out: make(chan string, maxQueued), listening: make(chan struct{})}
}

func (n *pgNotifier) run() {
	n.start.Do(func() {
		n.wg.Add(1)
		go func() { defer n.wg.Done(); n.serve() }()
	})
}

func (n *pgNotifier) serve() {
	// Notices are per database, and nodes (or tests) may share one in separate schemas:
	// the channel is named after the schema. A hash keeps the name inside PostgreSQL's
	// 63 bytes whatever the schema is called.
	var schema string
	for {
		err := n.db.db.QueryRowContext(n.ctx, `SELECT current_schema()`).Scan(&schema)
		if err == nil {
			break
		}
		if !sleepCtx(n.ctx, time.Second) {
			return
		}
	}
	sum := sha256.Sum256([]byte(schema))
	n.channel = "csirtlink_" + hex.EncodeToString(sum[:8])
	n.wg.Add(1)
	go func() { defer n.wg.Done(); n.listen() }()
	n.publish()
}

// sleepCtx waits for d or the end of ctx; false if ctx ended.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (n *pgNotifier) Publish(kind, id string) {
	n.run()
	// Kinds and ids are ours (incident and page ids), but a notice is bounded anyway:
	// PostgreSQL refuses payloads of 8000 bytes or more.
	msg := n.self + " " + kind + " " + id
	if len(msg) > 1000 || strings.ContainsAny(kind, " \n") {
		return
	}
	select {
	case n.out <- msg:
	default:
	}
}

func (n *pgNotifier) Subscribe(f func(kind, id string)) {
	n.mu.Lock()
	n.subs = append(n.subs, f)
	n.mu.Unlock()
	n.run()
}

func (n *pgNotifier) Listening() <-chan struct{} {
	n.run()
	return n.listening
}

func (n *pgNotifier) publish() {
	for {
		select {
		case <-n.ctx.Done():
			return
		case msg := <-n.out:
			// A failed notice is dropped: it is a hint (see Changes), and retrying would
			// hold up the ones behind it.
			n.db.exec(n.ctx, `SELECT pg_notify(?, ?)`, n.channel, msg)
		}
	}
}

// listen holds a connection that LISTENs, and reconnects when it breaks.
func (n *pgNotifier) listen() {
	wait := 100 * time.Millisecond
	for n.ctx.Err() == nil {
		if err := n.listenOnce(); err != nil && n.ctx.Err() == nil {
			sleepCtx(n.ctx, wait)
			wait = min(2*wait, 10*time.Second)
		}
	}
}

func (n *pgNotifier) listenOnce() error {
	c, err := pgx.ConnectConfig(n.ctx, n.cfg)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(n.ctx))
	if _, err := c.Exec(n.ctx, "LISTEN "+pgx.Identifier{n.channel}.Sanitize()); err != nil {
		return err
	}
	select {
	case <-n.listening:
	default:
		close(n.listening)
	}
	for {
		m, err := c.WaitForNotification(n.ctx)
		if err != nil {
			return err
		}
		from, rest, ok := strings.Cut(m.Payload, " ")
		if !ok || from == n.self {
			continue
		}
		kind, id, ok := strings.Cut(rest, " ")
		if !ok {
			continue
		}
		n.mu.Lock()
		subs := n.subs
		n.mu.Unlock()
		for _, f := range subs {
			f(kind, id)
		}
	}
}

func (n *pgNotifier) close() {
	n.cancel()
	n.wg.Wait()
}
