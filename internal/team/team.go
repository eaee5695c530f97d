// Package team describes CSIRT teams: this node's own and the peers it federates with.
package team

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
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
	ASNs         []uint32 `json:"asns,omitempty"`
	Domains      []string `json:"domains,omitempty"`
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
	// Revoked peers are refused and sent nothing. In the configuration file it is the
	// only status a seed peer can have besides active; the directory keeps it equal to
	// Status == StatusRevoked.
	Revoked bool `json:"revoked,omitempty"`
	// Status is where the partner stands (StatusPending, …); "" in a configuration
	// file means active, or revoked when Revoked is set.
	Status string `json:"status,omitempty"`
	// Source says where the entry comes from: SourceConfig (a seed in the
	// configuration file) or SourceDirectory (added at runtime, stored in the
	// database). A database row takes precedence over a seed of the same id.
	Source string `json:"source,omitempty"`
	// VerifiedAt is when the partner last confirmed its entry (or an admin entered its
	// fingerprint); nil for a seed never confirmed.
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
	// ConstituencyVersion and ValidUntil describe the constituency the partner last
	// sent us.
	ConstituencyVersion int64      `json:"constituency_version,omitempty"`
	ValidUntil          *time.Time `json:"valid_until,omitempty"`
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
	for _, a := range t.ASNs {
		if a == 0 {
			errs = append(errs, errors.New("asns: 0 is not an AS number"))
		}
	}
	for _, d := range t.Domains {
		if !validDomain(d) {
			errs = append(errs, fmt.Errorf("domains: %q is not a lower-case domain name", d))
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

// validDomain accepts a lower-case DNS name (a top-level domain alone too) of at most
// 253 characters, labels of a-z, 0-9 and inner hyphens.
func validDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// IsActive reports whether the peer is sent to and heard (a directory entry's status).
func (p Peer) IsActive() bool { return p.Status == StatusActive }
