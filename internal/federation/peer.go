package federation

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/store"
)

// MaxConcurrentPerPeer caps the federation requests of one peer served at once. A
// peer's node makes at most two at a time (its sender and its puller); the cap leaves
// room for a retry racing a slow answer, and bounds what one peer's key can make us
// buffer (each request may carry up to envelope.MaxBatchBytes).
const MaxConcurrentPerPeer = 4

// peerState is what this node keeps in memory about its link with one peer.
type peerState struct {
	kick     chan struct{} // an envelope was queued for the peer
	wakeSend chan struct{} // the peer is back, or an operator asked: retry sending now
	wakePull chan struct{} // the same, for the puller
	slots    chan struct{} // one token per inbound request being served

	mu           sync.Mutex
	sendingSince time.Time // a push (or heartbeat) under way since; zero when none
	pullingSince time.Time // a pull under way since; zero when none
}

func newPeerState() *peerState {
	return &peerState{kick: make(chan struct{}, 1), wakeSend: make(chan struct{}, 1), wakePull: make(chan struct{}, 1),
		slots: make(chan struct{}, MaxConcurrentPerPeer)}
}

// signal sends on a channel of capacity one without blocking; a signal already
// pending is enough.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// acquire takes a slot for an inbound request, without waiting: a peer over its cap
// is told to come back later rather than queued, so waiting requests hold no memory.
func (ps *peerState) acquire() (release func(), ok bool) {
	select {
	case ps.slots <- struct{}{}:
		return func() { <-ps.slots }, true
	default:
		return nil, false
	}
}

// inFlight marks an outbound exchange as under way and returns the func that ends it.
func (ps *peerState) inFlight(pull bool, now time.Time) (done func()) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	at := &ps.sendingSince
	if pull {
		at = &ps.pullingSince
	}
	*at = now
	return func() {
		ps.mu.Lock()
		*at = time.Time{}
		ps.mu.Unlock()
	}
}

// inFlightSince is when the oldest exchange under way began, or zero.
func (ps *peerState) inFlightSince() time.Time {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	switch {
	case ps.sendingSince.IsZero():
		return ps.pullingSince
	case ps.pullingSince.IsZero() || ps.sendingSince.Before(ps.pullingSince):
		return ps.sendingSince
	}
	return ps.pullingSince
}

// wake tells a peer's sender and puller to try again at once, with their back-off
// reset: the peer has shown it is reachable, or an operator asked.
func (f *Federation) wake(peer string) {
	ps := f.state(peer)
	signal(ps.wakeSend)
	signal(ps.wakePull)
}

// ErrUnknownPeer means a team is not an active peer of this node.
var ErrUnknownPeer = errors.New("not an active peer")

// Retry is an operator's "retry now", recorded in the audit log as done by actor: the
// peer's sender (and puller) try again at once, with their back-off reset, instead of
// waiting out a back-off that reaches retry_max while a peer is down. An exchange
// already under way is not interrupted.
func (f *Federation) Retry(ctx context.Context, peer, actor string) error {
	if !f.dir.Active(peer) {
		return fmt.Errorf("federation: retry %q: %w", peer, ErrUnknownPeer)
	}
	err := f.st.InTx(ctx, func(tx store.Tx) error {
		return audit.Append(ctx, tx, f.clock.Now(), actor, "peer.retry", peer, "retry now")
	})
	if err != nil {
		return fmt.Errorf("federation: retry %s: %w", peer, err)
	}
	f.wake(peer)
	return nil
}
