// Package team describes CSIRT teams: this node's own and the peers it federates with.
package team

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
	// Teams name IANA zones; embed the database so a bare machine can still load them.
	_ "time/tzdata"

	"csirtlink/internal/envelope"
	"csirtlink/internal/identity"
)

// Team is a CSIRT and its constituency.
type Team struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Countries    []string `json:"countries,omitempty"`
	Networks     []string `json:"networks,omitempty"`
	Timezone     string   `json:"timezone"`
	Languages    []string `json:"languages,omitempty"`
	URL          string   `json:"url,omitempty"`
	PublicKey    string   `json:"public_key,omitempty"`
	HotlineEmail string   `json:"hotline_email,omitempty"`
	// PGPKey is the team's armored OpenPGP public key: hotline mail to the team's
	// address is encrypted to it.
	PGPKey string `json:"pgp_key,omitempty"`
}

// Delivery modes: how our envelopes reach a peer.
const (
	Push = "push" // we call the peer
	Pull = "pull" // the peer cannot be called; it fetches from us
)

// Peer is another team's node we federate with.
type Peer struct {
	Team
	// Delivery says how our envelopes reach this peer.
	Delivery string `json:"delivery,omitempty"`
	// PullFrom makes us fetch this peer's envelopes for us, for when we accept no
	// inbound connections.
	PullFrom bool `json:"pull_from,omitempty"`
	// Community peers receive TLP:GREEN.
	Community *bool `json:"community,omitempty"`
	// Revoked peers are refused and sent nothing.
	Revoked bool `json:"revoked,omitempty"`
	// AllowInsecure permits an http:// URL for a peer that is not on loopback; without
	// it the configuration is refused, since federation traffic would travel in clear.
	AllowInsecure bool `json:"allow_insecure,omitempty"`
}

// InCommunity reports whether the peer receives TLP:GREEN (default yes).
func (p Peer) InCommunity() bool { return p.Community == nil || *p.Community }

// Validate checks a team's fields; field names in errors are JSON names.
func (t Team) Validate() error {
	var errs []error
	if !envelope.ValidTeamID(t.ID) {
		errs = append(errs, fmt.Errorf("id: %q is not a team id (2-32 of a-z, 0-9, -; starting with a letter)", t.ID))
	}
	if strings.TrimSpace(t.Name) == "" {
		errs = append(errs, errors.New("name: required"))
	}
	if _, err := time.LoadLocation(t.Timezone); err != nil || t.Timezone == "" {
		errs = append(errs, fmt.Errorf("timezone: %q is not an IANA time zone", t.Timezone))
	}
	for _, c := range t.Countries {
		if len(c) != 2 || strings.ToUpper(c) != c {
			errs = append(errs, fmt.Errorf("countries: %q is not an ISO 3166 alpha-2 code", c))
		}
	}
	for _, n := range t.Networks {
		if _, err := netip.ParsePrefix(n); err != nil {
			errs = append(errs, fmt.Errorf("networks: %q: %v", n, err))
		}
	}
	if t.URL != "" {
		if u, err := url.Parse(t.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("url: %q is not an http(s) URL", t.URL))
		}
	}
	if t.PublicKey != "" {
		if _, err := identity.ParsePublic(t.PublicKey); err != nil {
			errs = append(errs, fmt.Errorf("public_key: %v", err))
		}
	}
	return errors.Join(errs...)
}

// Location returns the team's time zone (UTC if it cannot be loaded).
func (t Team) Location() *time.Location {
	if loc, err := LoadLocation(t.Timezone); err == nil {
		return loc
	}
	return time.UTC
}

// zones caches loaded time zones: time.LoadLocation reads and parses the zone each
// time, and screens show several times per row. Only zones that load are kept, and
// there are a few hundred of them.
var zones sync.Map

// LoadLocation is time.LoadLocation, cached.
func LoadLocation(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, loc)
	return loc, nil
}

// Directory is the set of teams a node knows: itself and its peers.
type Directory struct {
	Self  Team
	peers map[string]Peer
	keys  map[string]ed25519.PublicKey
}

// NewDirectory builds a directory; selfKey is our own public key.
func NewDirectory(self Team, peers []Peer) (*Directory, error) {
	d := &Directory{Self: self, peers: map[string]Peer{}, keys: map[string]ed25519.PublicKey{}}
	if err := self.Validate(); err != nil {
		return nil, fmt.Errorf("team: %w", err)
	}
	pub, err := identity.ParsePublic(self.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("team: own public key: %w", err)
	}
	d.keys[self.ID] = pub
	for i, p := range peers {
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("peers[%d]: %w", i, err)
		}
		if p.ID == self.ID {
			return nil, fmt.Errorf("peers[%d]: id: %q is this node's own team", i, p.ID)
		}
		if _, dup := d.peers[p.ID]; dup {
			return nil, fmt.Errorf("peers[%d]: id: %q listed twice", i, p.ID)
		}
		switch p.Delivery {
		case "":
			p.Delivery = Push
		case Push, Pull:
		default:
			return nil, fmt.Errorf("peers[%d]: delivery: %q is not push or pull", i, p.Delivery)
		}
		if p.Delivery == Push && p.URL == "" {
			return nil, fmt.Errorf("peers[%d]: url: required for push delivery", i)
		}
		if p.PullFrom && p.URL == "" {
			return nil, fmt.Errorf("peers[%d]: url: required for pull_from", i)
		}
		k, err := identity.ParsePublic(p.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("peers[%d]: public_key: %w", i, err)
		}
		d.peers[p.ID] = p
		d.keys[p.ID] = k
	}
	return d, nil
}

// Peer returns a configured peer, revoked or not.
func (d *Directory) Peer(id string) (Peer, bool) {
	p, ok := d.peers[id]
	return p, ok
}

// Active reports whether id is a peer we exchange with (configured, not revoked).
func (d *Directory) Active(id string) bool {
	p, ok := d.peers[id]
	return ok && !p.Revoked
}

// Key returns the public key of us or an active peer.
func (d *Directory) Key(id string) (ed25519.PublicKey, bool) {
	if id != d.Self.ID && !d.Active(id) {
		return nil, false
	}
	k, ok := d.keys[id]
	return k, ok
}

// Known reports whether id is us or an active peer.
func (d *Directory) Known(id string) bool { return id == d.Self.ID || d.Active(id) }

// Peers lists all configured peers by id.
func (d *Directory) Peers() []Peer {
	out := make([]Peer, 0, len(d.peers))
	for _, p := range d.peers {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Community lists the active peers that receive TLP:GREEN.
func (d *Directory) Community() []string {
	var out []string
	for _, p := range d.Peers() {
		if !p.Revoked && p.InCommunity() {
			out = append(out, p.ID)
		}
	}
	return out
}

// Team returns the description of us or any configured peer.
func (d *Directory) Team(id string) (Team, bool) {
	if id == d.Self.ID {
		return d.Self, true
	}
	p, ok := d.peers[id]
	return p.Team, ok
}
