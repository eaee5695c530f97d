// Package federation moves signed envelopes between nodes: a durable per-peer outbox,
// push and pull delivery with retry, exactly-once in-order apply, and signed receipts.
package federation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
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
	// Retention is how long envelope copies are kept after delivery (outbox) or
	// receipt (inbox); rows, digests and receipts stay for evidence and replay
	// detection (default 90 days).
	Retention time.Duration
}

// DefaultRetention is how long envelope copies are kept when Options.Retention is zero.
const DefaultRetention = 90 * 24 * time.Hour

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
	set(&o.Retention, DefaultRetention)
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

	// peers holds the in-memory state of each link, made on first use; running says
	// which senders and pullers run. The directory changes at runtime: sync starts
	// those an active peer needs, and each stops itself when its peer is no longer
	// active (both under peersMu, so a peer that comes back is never left without).
	peersMu sync.Mutex
	peers   map[string]*peerState
	running map[string]bool
	runCtx  context.Context
	wg      sync.WaitGroup

	// started is when this process began; requests signed before it are refused,
	// because the nonces seen before a restart are forgotten.
	started time.Time
	nonces  *nonceCache

	// refused is told of every refusal, recorded or over the cap (OnRefusal).
	refused []func(reason string)

	refusalMu     sync.Mutex
	refusalWindow time.Time
	refusalCount  map[string]int
}

// New makes a Federation; call Handle for each envelope type, then Start.
func New(dir *team.Directory, key identity.Key, st store.Store, clk clock.Clock, log *slog.Logger, opts Options) *Federation {
	opts.defaults()
	// A transport of its own: the federation's connections are not shared with any
	// other client in the process (nor, in tests, with other nodes).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = MaxConcurrentPerPeer
	f := &Federation{dir: dir, key: key, st: st, clock: clk, log: log.With("component", "federation"), opts: opts,
		client:   &http.Client{Timeout: opts.Timeout, Transport: tr},
		handlers: map[string]Handler{}, peers: map[string]*peerState{}, running: map[string]bool{},
		started: clk.Now(), nonces: newNonceCache(), refusalCount: map[string]int{}}
	dir.OnChange(f.sync)
	return f
}

// state is the in-memory state of the link with peer, made on first use.
func (f *Federation) state(peer string) *peerState {
	f.peersMu.Lock()
	defer f.peersMu.Unlock()
	ps, ok := f.peers[peer]
	if !ok {
		ps = newPeerState()
		f.peers[peer] = ps
	}
	return ps
}

// Handle registers the handler for an envelope type.
func (f *Federation) Handle(typ string, h Handler) { f.handlers[typ] = h }

// DeliveredHook is told, inside the transaction that stores it, of each verified
// receipt a peer returned for one of our envelopes.
type DeliveredHook func(ctx context.Context, tx store.Tx, env *envelope.Envelope, r *envelope.Receipt) error

// OnDelivered adds a hook for receipts; call it before Start.
func (f *Federation) OnDelivered(h DeliveredHook) { f.delivered = append(f.delivered, h) }

// OnRefusal adds a function told of every refusal's reason, including those over the
// per-minute cap that are neither stored nor logged; call it before Start. The reasons
// are this package's fixed words, never text from a peer. h must not block.
func (f *Federation) OnRefusal(h func(reason string)) { f.refused = append(f.refused, h) }

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
	// Embargo, when the item is under one (a vulnerability case), holds it back from
	// every team but its participants until the instant.
	Embargo *egress.Embargo
	Payload []byte
}

// ErrNotAllowed means the TLP rule forbids sending an item to a team.
var ErrNotAllowed = errors.New("not allowed by TLP")

// Enqueue queues a message for its destination inside tx, so it is sent if and only if
// the change that caused it commits. The envelope is not signed here: the sender seals
// each batch with one signature (envelope.Seal), which keeps signing out of the
// writer's transaction. Whether it may go is egress.Decide's answer, as
// for every way out of the node: a message it refuses (the TLP rule forbids it, or the
// team is not an active peer) is not queued and ErrNotAllowed is returned.
func (f *Federation) Enqueue(ctx context.Context, tx store.Tx, m Message) error {
	dec := egress.Decide(egress.Request{Item: m.Item, Context: egress.NewContext(f.dir, m.Participants),
		To: egress.Destination{Kind: egress.Federation, Team: m.To}, Embargo: m.Embargo, Now: f.clock.Now()})
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
	err = tx.Enqueue(ctx, store.OutboxItem{Peer: m.To, Seq: seq, Type: m.Type, ObjectID: m.ObjectID, Envelope: env.Marshal(), CreatedAt: now})
	if err != nil {
		return fmt.Errorf("federation: enqueue: %w", err)
	}
	tx.OnCommit(func() { f.kick(m.To) })
	return nil
}

func (f *Federation) kick(peer string) { signal(f.state(peer).kick) }

// Init creates link rows for every peer; call it once before serving.
func (f *Federation) Init(ctx context.Context) error {
	for _, p := range f.dir.Peers() {
		if err := f.st.EnsureLink(ctx, p.ID); err != nil {
			return fmt.Errorf("federation: init: %w", err)
		}
	}
	return nil
}

// Start runs a sender for every active push peer and a puller for every active
// pull_from peer until ctx ends, and for each peer that becomes active later; Wait
// waits for them to stop.
func (f *Federation) Start(ctx context.Context) {
	f.peersMu.Lock()
	f.runCtx = ctx
	f.peersMu.Unlock()
	f.sync()
}

// sync starts the senders and pullers active peers need, and wakes those of peers no
// longer active so that they stop.
func (f *Federation) sync() {
	f.peersMu.Lock()
	defer f.peersMu.Unlock()
	ctx := f.runCtx
	if ctx == nil || ctx.Err() != nil {
		return
	}
	for _, p := range f.dir.Peers() {
		ps, ok := f.peers[p.ID]
		if !ok {
			ps = newPeerState()
			f.peers[p.ID] = ps
		}
		if !p.IsActive() {
			signal(ps.kick)
			signal(ps.wakeSend)
			signal(ps.wakePull)
			continue
		}
		start := func(kind string, run func(context.Context, team.Peer)) {
			if f.running[kind+p.ID] {
				return
			}
			if err := f.st.EnsureLink(ctx, p.ID); err != nil {
				f.log.Error("start link", "peer", p.ID, "err", err)
				return
			}
			f.running[kind+p.ID] = true
			f.wg.Add(1)
			go func() { defer f.wg.Done(); run(ctx, p) }()
		}
		if p.Delivery == team.Push {
			start("send:", f.runSender)
		}
		if p.PullFrom {
			start("pull:", f.runPuller)
		}
	}
}

// current is the latest directory entry of a peer whose sender or puller (kind) runs,
// or false when the peer is no longer active and the goroutine must stop.
func (f *Federation) current(kind string, id string) (team.Peer, bool) {
	f.peersMu.Lock()
	defer f.peersMu.Unlock()
	p, ok := f.dir.Peer(id)
	if !ok || !p.IsActive() {
		f.running[kind+id] = false
		return p, false
	}
	return p, true
}

// Wait blocks until every goroutine Start began has stopped, then closes the idle
// connections they leave.
func (f *Federation) Wait() {
	f.wg.Wait()
	f.client.CloseIdleConnections()
}

// sleep waits for d, a signal on wake when wake is non-nil, or the end of ctx. It
// reports whether wake cut it short.
func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) (woken bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-wake:
		return true
	}
	return false
}

func (f *Federation) backoff(n int) time.Duration {
	d := f.opts.RetryMin
	for i := 1; i < n && d < f.opts.RetryMax; i++ {
		d *= 2
	}
	return min(d, f.opts.RetryMax)
}

// wakeFloor is the longest a failed link waits before a wake may cut its back-off
// short: a peer that talks to us while refusing what we send must not turn our
// retries into a busy loop.
const wakeFloor = time.Second

// backoffSleep waits after the n-th failure in a row. A wake (traffic from the peer,
// or an operator's retry) ends the wait early, but not before min(RetryMin, wakeFloor).
// It reports whether it was woken, which resets the caller's count of failures.
func (f *Federation) backoffSleep(ctx context.Context, n int, wake <-chan struct{}) (woken bool) {
	d := f.backoff(n)
	first := min(d, f.opts.RetryMin, wakeFloor)
	if sleep(ctx, first, nil); ctx.Err() != nil || d == first {
		// A wake that came during the floor is answered by the retry that follows.
		select {
		case <-wake:
			return true
		default:
			return false
		}
	}
	return sleep(ctx, d-first, wake)
}

// linkError records a failed send (pull false) or pull (pull true).
func (f *Federation) linkError(ctx context.Context, peer string, pull bool, err error) {
	record := f.st.LinkError
	if pull {
		record = f.st.LinkPullError
	}
	f.log.Warn("link error", "peer", peer, "pull", pull, "err", err)
	if werr := record(ctx, peer, f.clock.Now(), err.Error()); werr != nil && ctx.Err() == nil {
		f.log.Error("record link error", "peer", peer, "err", werr)
	}
}

// contact records a successful exchange with peer.
func (f *Federation) contact(ctx context.Context, peer string, ev store.LinkEvent) {
	if err := f.st.LinkContact(ctx, peer, f.clock.Now(), ev); err != nil && ctx.Err() == nil {
		f.log.Error("record link contact", "peer", peer, "err", err)
	}
}

// refusalsPerMinute caps how many refusals of one reason are stored, and logged, a
// minute: anyone can send junk to the federation endpoints, and junk must fill neither
// the database nor the log.
const refusalsPerMinute = 60

// refuse records federation traffic turned away, so operators can see it.
func (f *Federation) refuse(ctx context.Context, peer, remote, reason, detail string) {
	for _, h := range f.refused {
		h(reason)
	}
	now := f.clock.Now()
	f.refusalMu.Lock()
	suppressed := f.rollRefusalWindow(now)
	f.refusalCount[reason]++
	over := f.refusalCount[reason] > refusalsPerMinute
	f.refusalMu.Unlock()
	f.logSuppressed(suppressed)
	if over {
		return
	}
	f.log.Warn("refused federation traffic", "peer", peer, "remote", remote, "reason", reason, "detail", detail)
	r := store.Refusal{ID: identity.RandomID(16), At: now, Peer: peer, Remote: remote, Reason: reason, Detail: detail}
	if err := f.st.AddRefusal(context.WithoutCancel(ctx), r); err != nil {
		f.log.Error("record refusal", "err", err)
	}
}

// rollRefusalWindow starts a new minute when the current one is over, and returns how
// many refusals of each reason the ended minute did not record. Call it with
// refusalMu held.
func (f *Federation) rollRefusalWindow(now time.Time) map[string]int {
	if now.Sub(f.refusalWindow) < time.Minute {
		return nil
	}
	var suppressed map[string]int
	for reason, n := range f.refusalCount {
		if n > refusalsPerMinute {
			if suppressed == nil {
				suppressed = map[string]int{}
			}
			suppressed[reason] = n - refusalsPerMinute
		}
	}
	f.refusalWindow, f.refusalCount = now, map[string]int{}
	return suppressed
}

// logSuppressed writes one summary line for the refusals a minute did not log.
func (f *Federation) logSuppressed(suppressed map[string]int) {
	if len(suppressed) == 0 {
		return
	}
	total := 0
	attrs := make([]any, 0, 2*len(suppressed)+2)
	for _, reason := range slices.Sorted(maps.Keys(suppressed)) {
		total += suppressed[reason]
		attrs = append(attrs, slog.Int(reason, suppressed[reason]))
	}
	f.log.Warn("refused federation traffic not logged (over the cap of each reason per minute)",
		"suppressed", total, "per_minute_cap", refusalsPerMinute, slog.Group("by_reason", attrs...))
}

// flushRefusalSummary logs the summary of a finished minute even when no refusal came
// after it; housekeeping calls it.
func (f *Federation) flushRefusalSummary() {
	f.refusalMu.Lock()
	suppressed := f.rollRefusalWindow(f.clock.Now())
	f.refusalMu.Unlock()
	f.logSuppressed(suppressed)
}

// Refusals lists recent refused traffic, newest first.
func (f *Federation) Refusals(ctx context.Context, limit int) ([]store.Refusal, error) {
	return f.st.Refusals(ctx, limit)
}
