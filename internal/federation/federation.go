// Package federation moves signed envelopes between nodes: a durable per-peer outbox,
// push and pull delivery with retry, exactly-once in-order apply, and signed receipts.
package federation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/egress"
	"csirtlink/internal/envelope"
	"csirtlink/internal/identity"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
)

// Handler applies one envelope of a type inside the receiving transaction. Returning a
// *Reject means the envelope is valid but breaks a rule: it is recorded as rejected and
// never applied. Any other error aborts the delivery, and the sender retries.
type Handler func(ctx context.Context, tx store.Tx, env *envelope.Envelope) error

// Reject is a rule violation found while applying an envelope.
type Reject struct{ Reason string }

func (r *Reject) Error() string { return r.Reason }

// Rejectf makes a *Reject.
func Rejectf(format string, args ...any) error { return &Reject{Reason: fmt.Sprintf(format, args...)} }

// Options tune delivery; zero values take the defaults.
type Options struct {
	BatchSize    int           // envelopes per push or pull (default 200)
	RetryMin     time.Duration // first back-off after a failed delivery (default 500ms)
	RetryMax     time.Duration // longest back-off (default 30s)
	IdlePoll     time.Duration // how often an idle sender re-checks its outbox (default 30s)
	PullInterval time.Duration // how often a puller asks (default 2s)
	Timeout      time.Duration // one HTTP exchange (default 30s)
}

func (o *Options) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.BatchSize <= 0 || o.BatchSize > envelope.MaxBatch {
		o.BatchSize = 200
	}
	set(&o.RetryMin, 500*time.Millisecond)
	set(&o.RetryMax, 30*time.Second)
	set(&o.IdlePoll, 30*time.Second)
	set(&o.PullInterval, 2*time.Second)
	set(&o.Timeout, 30*time.Second)
}

// Federation is a node's side of every link.
type Federation struct {
	dir       *team.Directory
	key       identity.Key
	st        store.Store
	clock     clock.Clock
	log       *slog.Logger
	opts      Options
	client    *http.Client
	handlers  map[string]Handler
	delivered []DeliveredHook

	kicks map[string]chan struct{} // fixed at New; read without a lock
	wg    sync.WaitGroup

	refusalMu     sync.Mutex
	refusalWindow time.Time
	refusalCount  map[string]int
}

// New makes a Federation; call Handle for each envelope type, then Start.
func New(dir *team.Directory, key identity.Key, st store.Store, clk clock.Clock, log *slog.Logger, opts Options) *Federation {
	opts.defaults()
	f := &Federation{dir: dir, key: key, st: st, clock: clk, log: log.With("component", "federation"), opts: opts,
		client:   &http.Client{Timeout: opts.Timeout},
		handlers: map[string]Handler{}, kicks: map[string]chan struct{}{}}
	for _, p := range dir.Peers() {
		f.kicks[p.ID] = make(chan struct{}, 1)
	}
	return f
}

// Handle registers the handler for an envelope type.
func (f *Federation) Handle(typ string, h Handler) { f.handlers[typ] = h }

// DeliveredHook is told, inside the transaction that stores it, of each verified
// receipt a peer returned for one of our envelopes.
type DeliveredHook func(ctx context.Context, tx store.Tx, env *envelope.Envelope, r *envelope.Receipt) error

// OnDelivered adds a hook for receipts; call it before Start.
func (f *Federation) OnDelivered(h DeliveredHook) { f.delivered = append(f.delivered, h) }

// Self is this node's team id.
func (f *Federation) Self() string { return f.dir.Self.ID }

// Directory returns the teams this node knows.
func (f *Federation) Directory() *team.Directory { return f.dir }

// Message is something to send to one team.
type Message struct {
	To       string
	Type     string
	ObjectID string
	// Item and Participants are what the TLP rule decides on.
	Item         tlp.Item
	Participants []string
	Payload      []byte
}

// ErrNotAllowed means the TLP rule forbids sending an item to a team.
var ErrNotAllowed = errors.New("not allowed by TLP")

// Enqueue queues a message for its destination inside tx, so it is sent if and only if
// the change that caused it commits. Whether it may go is egress.Decide's answer, as
// for every way out of the node: a message it refuses (the TLP rule forbids it, or the
// team is not an active peer) is not queued and ErrNotAllowed is returned.
func (f *Federation) Enqueue(ctx context.Context, tx store.Tx, m Message) error {
	dec := egress.Decide(egress.Request{Item: m.Item, Context: egress.NewContext(f.dir, m.Participants),
		To: egress.Destination{Kind: egress.Federation, Team: m.To}})
	if !dec.Full() {
		return fmt.Errorf("federation: %s %s to %s: %s: %w", m.Type, m.ObjectID, m.To, dec.Reason(), ErrNotAllowed)
	}
	if len(m.Payload) > envelope.MaxPayload {
		return fmt.Errorf("federation: %s %s: payload larger than %d bytes", m.Type, m.ObjectID, envelope.MaxPayload)
	}
	seq, err := tx.TakeSeq(ctx, m.To)
	if err != nil {
		return fmt.Errorf("federation: enqueue: %w", err)
	}
	now := f.clock.Now()
	env := &envelope.Envelope{Origin: f.Self(), Destination: m.To, Seq: seq, Type: m.Type, ObjectID: m.ObjectID,
		Time: now, TLP: string(m.Item.Label), Payload: m.Payload}
	env.Sign(f.key)
	err = tx.Enqueue(ctx, store.OutboxItem{Peer: m.To, Seq: seq, Type: m.Type, ObjectID: m.ObjectID, Envelope: env.Marshal(), CreatedAt: now})
	if err != nil {
		return fmt.Errorf("federation: enqueue: %w", err)
	}
	tx.OnCommit(func() { f.kick(m.To) })
	return nil
}

func (f *Federation) kick(peer string) {
	if ch, ok := f.kicks[peer]; ok {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Init creates link rows for every peer; call it once before serving.
func (f *Federation) Init(ctx context.Context) error {
	for _, p := range f.dir.Peers() {
		if err := f.st.EnsureLink(ctx, p.ID); err != nil {
			return fmt.Errorf("federation: init: %w", err)
		}
	}
	return nil
}

// Start runs a sender for every push peer and a puller for every pull_from peer until
// ctx ends; Wait waits for them to stop.
func (f *Federation) Start(ctx context.Context) {
	for _, p := range f.dir.Peers() {
		if p.Revoked {
			continue
		}
		if p.Delivery == team.Push {
			f.wg.Add(1)
			go func() { defer f.wg.Done(); f.runSender(ctx, p) }()
		}
		if p.PullFrom {
			f.wg.Add(1)
			go func() { defer f.wg.Done(); f.runPuller(ctx, p) }()
		}
	}
}

// Wait blocks until every goroutine Start began has stopped.
func (f *Federation) Wait() { f.wg.Wait() }

// sleep waits for d, a kick when kick is non-nil, or the end of ctx.
func sleep(ctx context.Context, d time.Duration, kick <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-kick:
	}
	return true
}

func (f *Federation) backoff(n int) time.Duration {
	d := f.opts.RetryMin
	for i := 1; i < n && d < f.opts.RetryMax; i++ {
		d *= 2
	}
	return min(d, f.opts.RetryMax)
}

func (f *Federation) linkError(ctx context.Context, peer string, err error) {
	f.log.Warn("link error", "peer", peer, "err", err)
	if werr := f.st.LinkError(ctx, peer, f.clock.Now(), err.Error()); werr != nil && ctx.Err() == nil {
		f.log.Error("record link error", "peer", peer, "err", werr)
	}
}

// refusalsPerMinute caps how many refusals of one reason are stored a minute: anyone
// can send junk to the federation endpoints, and junk must not fill the database.
const refusalsPerMinute = 60

// refuse records federation traffic turned away, so operators can see it.
func (f *Federation) refuse(ctx context.Context, peer, remote, reason, detail string) {
	f.log.Warn("refused federation traffic", "peer", peer, "remote", remote, "reason", reason, "detail", detail)
	now := f.clock.Now()
	f.refusalMu.Lock()
	if now.Sub(f.refusalWindow) >= time.Minute {
		f.refusalWindow, f.refusalCount = now, map[string]int{}
	}
	f.refusalCount[reason]++
	over := f.refusalCount[reason] > refusalsPerMinute
	f.refusalMu.Unlock()
	if over {
		return
	}
	r := store.Refusal{ID: identity.RandomID(16), At: now, Peer: peer, Remote: remote, Reason: reason, Detail: detail}
	if err := f.st.AddRefusal(context.WithoutCancel(ctx), r); err != nil {
		f.log.Error("record refusal", "err", err)
	}
}

// RefusalRetention is how long refused traffic stays listed for operators.
const RefusalRetention = 30 * 24 * time.Hour

// Housekeeping is the engine module that keeps federation records bounded: refusals,
// which anyone reaching the port can cause, are kept for RefusalRetention. (Their rate
// is capped per reason as they are recorded.)
type Housekeeping struct {
	f    *Federation
	last time.Time
}

// Housekeeping returns the federation's engine module.
func (f *Federation) Housekeeping() *Housekeeping { return &Housekeeping{f: f} }

// Name names the module.
func (*Housekeeping) Name() string { return "federation-housekeeping" }

// UpdateAll prunes old refusals, at most once an hour.
func (h *Housekeeping) UpdateAll(ctx context.Context) error {
	now := h.f.clock.Now()
	if now.Sub(h.last) < time.Hour {
		return nil
	}
	n, err := h.f.st.PruneRefusals(ctx, now.Add(-RefusalRetention))
	if err != nil {
		return err
	}
	h.last = now
	if n > 0 {
		h.f.log.Info("pruned old refusals", "count", n)
	}
	return nil
}
