package team

import (
	"crypto/ed25519"
	"fmt"
	"sort"
	"sync"
	"time"

	"csirtlink/internal/identity"
)

// Partner statuses. Only an active partner is sent anything or heard; a pending one
// has introduced itself and waits for an admin to check its fingerprint.
const (
	StatusPending   = "pending"
	StatusActive    = "active"
	StatusSuspended = "suspended"
	StatusRevoked   = "revoked"
)

// ValidStatus reports whether s is one of the statuses.
func ValidStatus(s string) bool {
	return s == StatusPending || s == StatusActive || s == StatusSuspended || s == StatusRevoked
}

// Where a directory entry comes from.
const (
	SourceConfig    = "config"    // a seed in the configuration file
	SourceDirectory = "directory" // added at runtime, stored in the database
)

// retiredKey is a peer's former key, still valid for what it signed before it was
// retired until the grace period ends.
type retiredKey struct {
	key        ed25519.PublicKey
	retiredAt  time.Time
	graceUntil time.Time
}

// Directory is the set of teams a node knows: itself and its peers. It changes at
// runtime (partners are added, approved, suspended, revoked, their keys rotated);
// every reader sees one consistent version. Seeds from the configuration file are the
// starting point; an entry put at runtime (from the database) takes precedence over a
// seed of the same id, and removing it brings the seed back.
type Directory struct {
	Self Team

	mu       sync.RWMutex
	seeds    map[string]Peer
	peers    map[string]Peer
	keys     map[string]ed25519.PublicKey
	retired  map[string][]retiredKey
	version  uint64
	watchers []func()
}

// NewDirectory builds a directory of this node's team and the configured peers.
func NewDirectory(self Team, peers []Peer) (*Directory, error) {
	d := &Directory{Self: self, seeds: map[string]Peer{}, peers: map[string]Peer{},
		keys: map[string]ed25519.PublicKey{}, retired: map[string][]retiredKey{}}
	if err := self.Validate(); err != nil {
		return nil, fmt.Errorf("team: %w", err)
	}
	pub, err := identity.ParsePublic(self.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("team: own public key: %w", err)
	}
	d.keys[self.ID] = pub
	for i, p := range peers {
		if _, dup := d.peers[p.ID]; dup {
			return nil, fmt.Errorf("peers[%d]: id: %q listed twice", i, p.ID)
		}
		p.Source = SourceConfig
		p, k, err := d.check(p)
		if err != nil {
			return nil, fmt.Errorf("peers[%d]: %w", i, err)
		}
		d.seeds[p.ID], d.peers[p.ID], d.keys[p.ID] = p, p, k
	}
	return d, nil
}

// check validates a peer entry and fills its defaults.
func (d *Directory) check(p Peer) (Peer, ed25519.PublicKey, error) {
	if err := p.Validate(); err != nil {
		return p, nil, err
	}
	if p.ID == d.Self.ID {
		return p, nil, fmt.Errorf("id: %q is this node's own team", p.ID)
	}
	switch p.Delivery {
	case "":
		p.Delivery = Push
	case Push, Pull:
	default:
		return p, nil, fmt.Errorf("delivery: %q is not push or pull", p.Delivery)
	}
	if p.Delivery == Push && p.URL == "" {
		return p, nil, fmt.Errorf("url: required for push delivery")
	}
	if p.PullFrom && p.URL == "" {
		return p, nil, fmt.Errorf("url: required for pull_from")
	}
	switch {
	case p.Status == "" && p.Revoked:
		p.Status = StatusRevoked
	case p.Status == "":
		p.Status = StatusActive
	case !ValidStatus(p.Status):
		return p, nil, fmt.Errorf("status: %q is not pending, active, suspended or revoked", p.Status)
	}
	p.Revoked = p.Status == StatusRevoked
	k, err := identity.ParsePublic(p.PublicKey)
	if err != nil {
		return p, nil, fmt.Errorf("public_key: %w", err)
	}
	return p, k, nil
}

// Put adds or replaces a peer at runtime. A key different from the one on file
// replaces it at once, with no grace for the old one (Rotate keeps one).
func (d *Directory) Put(p Peer) error {
	if p.Source == "" {
		p.Source = SourceDirectory
	}
	p, k, err := d.check(p)
	if err != nil {
		return err
	}
	d.mu.Lock()
	if old, ok := d.keys[p.ID]; !ok || !old.Equal(k) {
		delete(d.retired, p.ID)
	}
	d.peers[p.ID], d.keys[p.ID] = p, k
	d.changed()
	return nil
}

// Remove forgets a runtime entry; a seed of the same id comes back.
func (d *Directory) Remove(id string) {
	d.mu.Lock()
	delete(d.retired, id)
	if s, ok := d.seeds[id]; ok {
		k, _ := identity.ParsePublic(s.PublicKey)
		d.peers[id], d.keys[id] = s, k
	} else {
		delete(d.peers, id)
		delete(d.keys, id)
	}
	d.changed()
}

// Rotate makes next the peer's key; the former one stays valid for what it signed
// before at, until grace ends.
func (d *Directory) Rotate(id string, next ed25519.PublicKey, at, grace time.Time) error {
	d.mu.Lock()
	p, ok := d.peers[id]
	if !ok {
		d.mu.Unlock()
		return fmt.Errorf("team: rotate %q: not a peer", id)
	}
	if old := d.keys[id]; !old.Equal(next) {
		d.retired[id] = append(d.retired[id], retiredKey{key: old, retiredAt: at, graceUntil: grace})
	}
	p.PublicKey = identity.EncodePublic(next)
	d.peers[id], d.keys[id] = p, next
	d.changed()
	return nil
}

// SetSelfKey records this node's own new key after a rotation.
func (d *Directory) SetSelfKey(pub ed25519.PublicKey) {
	d.mu.Lock()
	d.keys[d.Self.ID] = pub
	d.changed()
}

// changed bumps the version and tells the watchers; call it with mu held.
func (d *Directory) changed() {
	d.version++
	ws := d.watchers
	d.mu.Unlock()
	for _, w := range ws {
		w()
	}
}

// OnChange adds a function called after every change (not under the directory's lock).
func (d *Directory) OnChange(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.watchers = append(d.watchers, f)
}

// Version increases with every change.
func (d *Directory) Version() uint64 {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.version
}

// Peer returns a peer, whatever its status.
func (d *Directory) Peer(id string) (Peer, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	p, ok := d.peers[id]
	return p, ok
}

// Seed returns the configuration file's entry for id.
func (d *Directory) Seed(id string) (Peer, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	p, ok := d.seeds[id]
	return p, ok
}

// Active reports whether id is a peer we exchange with (known and active).
func (d *Directory) Active(id string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	p, ok := d.peers[id]
	return ok && p.Status == StatusActive
}

// Key returns the current public key of us or an active peer.
func (d *Directory) Key(id string) (ed25519.PublicKey, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if id != d.Self.ID {
		if p, ok := d.peers[id]; !ok || p.Status != StatusActive {
			return nil, false
		}
	}
	k, ok := d.keys[id]
	return k, ok
}

// Retire records a former key of a peer, valid until grace for what it signed (a
// rotation read back from the database).
func (d *Directory) Retire(id string, key ed25519.PublicKey, at, grace time.Time) {
	d.mu.Lock()
	d.retired[id] = append(d.retired[id], retiredKey{key: key, retiredAt: at, graceUntil: grace})
	d.changed()
}

// Keys returns the keys that verify what id signs, as of now: the current one, then
// those retired still in their grace period (for envelopes signed before the peer's
// rotation reached us, and for its requests until it switches).
func (d *Directory) Keys(id string, now time.Time) []ed25519.PublicKey {
	cur, ok := d.Key(id)
	if !ok {
		return nil
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := []ed25519.PublicKey{cur}
	for _, r := range d.retired[id] {
		if now.Before(r.graceUntil) {
			out = append(out, r.key)
		}
	}
	return out
}

// Known reports whether id is us or an active peer.
func (d *Directory) Known(id string) bool { return id == d.Self.ID || d.Active(id) }

// Peers lists all peers, whatever their status, by id.
func (d *Directory) Peers() []Peer {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]Peer, 0, len(d.peers))
	for _, p := range d.peers {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ActivePeers lists the ids of the active peers.
func (d *Directory) ActivePeers() []string {
	var out []string
	for _, p := range d.Peers() {
		if p.Status == StatusActive {
			out = append(out, p.ID)
		}
	}
	return out
}

// Community lists the active peers that receive TLP:GREEN.
func (d *Directory) Community() []string {
	var out []string
	for _, p := range d.Peers() {
		if p.Status == StatusActive && p.InCommunity() {
			out = append(out, p.ID)
		}
	}
	return out
}

// Team returns the description of us or any peer.
func (d *Directory) Team(id string) (Team, bool) {
	if id == d.Self.ID {
		return d.Self, true
	}
	p, ok := d.Peer(id)
	return p.Team, ok
}
