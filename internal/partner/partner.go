// Package partner is the partner directory (docs/partners.md): partners added,
// approved, suspended, revoked and removed at runtime; onboarding by signed
// introduction and safety number; key rotation; constituencies federated and indexed;
// re-verification. It owns the directory's rows and keeps the in-memory
// team.Directory, which every other package reads, in step with them.
package partner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/clock"
	"csirtlink/internal/config"
	"csirtlink/internal/constituency"
	"csirtlink/internal/federation"
	"csirtlink/internal/identity"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
	"csirtlink/internal/wire"
)

// Defaults.
const (
	// DefaultReverify is how often a partner is asked to confirm its entry.
	DefaultReverify = 90 * 24 * time.Hour
	// DefaultGrace is how long a rotated-away key still verifies what it signed before.
	DefaultGrace = 7 * 24 * time.Hour
)

// Options tune the directory; zero values take the defaults.
type Options struct {
	Reverify time.Duration
	Grace    time.Duration
	// NoAsks: the node does not ask partners to re-verify (config.Directory.NoAsks).
	NoAsks bool
	// Client fetches introductions (default: a client of its own, 15 s).
	Client *http.Client
}

// Service is the partner directory of one node.
type Service struct {
	st    store.Store
	dir   *team.Directory
	fed   *federation.Federation
	key   identity.Key
	clock clock.Clock
	log   *slog.Logger
	opts  Options

	client *http.Client
	mailer Mailer // mails hotline codes; nil: no relay configured
	// mailing is held from the decision that a code is due until its attempt is
	// recorded, so that an approval and an engine round never both mail one.
	mailing sync.Mutex

	mu       sync.Mutex
	index    *constituency.Index
	indexAt  uint64    // the directory version the index was built from
	rotating *rotation // our key rotation under way, if any
}

// New makes the directory service and registers its envelope handlers; call Load
// before serving.
func New(st store.Store, fed *federation.Federation, key identity.Key, clk clock.Clock, log *slog.Logger, opts Options) *Service {
	if opts.Reverify <= 0 {
		opts.Reverify = DefaultReverify
	}
	if opts.Grace <= 0 {
		opts.Grace = DefaultGrace
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 15 * time.Second}
	}
	s := &Service{st: st, dir: fed.Directory(), fed: fed, key: key, clock: clk, log: log.With("component", "partner"), opts: opts, client: opts.Client}
	s.registerHandlers()
	return s
}

// Load reads the stored partners into the directory: a stored entry takes precedence
// over a configuration seed of the same id.
func (s *Service) Load(ctx context.Context) error {
	rows, err := s.st.ListPartners(ctx)
	if err != nil {
		return fmt.Errorf("partner: load: %w", err)
	}
	now := s.clock.Now()
	for _, r := range rows {
		var p team.Peer
		if err := json.Unmarshal(r.Doc, &p); err != nil {
			return fmt.Errorf("partner: load %s: %w", r.ID, err)
		}
		p.Status, p.Source = r.Status, team.SourceDirectory
		if err := s.dir.Put(p); err != nil {
			return fmt.Errorf("partner: load %s: %w", r.ID, err)
		}
		keys, err := s.st.PartnerKeys(ctx, r.ID)
		if err != nil {
			return fmt.Errorf("partner: load %s: %w", r.ID, err)
		}
		for _, k := range keys {
			if k.RetiredAt == nil || k.GraceUntil == nil || !now.Before(*k.GraceUntil) || k.Reason == ReasonCompromised {
				continue
			}
			pub, err := identity.ParsePublic(k.PublicKey)
			if err == nil {
				s.dir.Retire(r.ID, pub, *k.RetiredAt, *k.GraceUntil)
			}
		}
	}
	return nil
}

// Key history reasons.
const (
	ReasonIntroduced  = "introduced"
	ReasonRotated     = "rotated"
	ReasonReplaced    = "replaced"    // a new introduction with another key: checked by fingerprint again
	ReasonCompromised = "compromised" // revoked without the old key's signature
)

// View is a partner as the API and the console show it.
type View struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	URL          string     `json:"url"`
	Status       string     `json:"status"`
	Source       string     `json:"source"`
	Fingerprint  string     `json:"fingerprint"`
	PublicKey    string     `json:"public_key"`
	VerifiedAt   *time.Time `json:"verified_at"`
	Unverified   bool       `json:"unverified"` // not confirmed within the re-verification period
	Timezone     string     `json:"timezone"`
	Languages    []string   `json:"languages"`
	HotlineEmail string     `json:"hotline_email,omitempty"`
	HasPGPKey    bool       `json:"has_pgp_key"`
	// Hotline is the check of HotlineEmail by a mailed code (WithHotline fills it).
	Hotline      *HotlineStatus `json:"hotline,omitempty"`
	Constituency struct {
		Countries  []string   `json:"countries"`
		ASNs       []uint32   `json:"asns"`
		Networks   []string   `json:"networks"`
		Domains    []string   `json:"domains"`
		Version    int64      `json:"version"`
		ValidUntil *time.Time `json:"valid_until,omitempty"`
	} `json:"constituency"`
}

func (s *Service) view(p team.Peer) View {
	v := View{ID: p.ID, Name: p.Name, URL: p.URL, Status: p.Status, Source: p.Source, PublicKey: p.PublicKey,
		VerifiedAt: p.VerifiedAt, Timezone: p.Timezone, Languages: nonNil(p.Languages), HotlineEmail: p.HotlineEmail, HasPGPKey: p.PGPKey != ""}
	if pub, err := identity.ParsePublic(p.PublicKey); err == nil {
		v.Fingerprint = SafetyNumber(s.key.PublicKey(), pub)
	}
	v.Unverified = s.Unverified(p)
	c := &v.Constituency
	c.Countries, c.ASNs, c.Networks, c.Domains = nonNil(p.Countries), nonNil(p.ASNs), nonNil(p.Networks), nonNil(p.Domains)
	c.Version, c.ValidUntil = p.ConstituencyVersion, p.ValidUntil
	return v
}

// Unverified reports whether a partner has not confirmed its entry within the
// re-verification period: every screen that uses the entry says "unverified since …".
func (s *Service) Unverified(p team.Peer) bool {
	return p.VerifiedAt == nil || s.clock.Now().Sub(*p.VerifiedAt) > s.opts.Reverify
}

// Filter selects partners in List.
type Filter struct {
	Query      string // in id, name, URL, countries, domains
	Country    string
	Status     string
	Unverified *bool
}

// List returns the partners, by id.
func (s *Service) List(f Filter) []View {
	out := []View{}
	for _, p := range s.dir.Peers() {
		v := s.view(p)
		if f.matches(v) {
			out = append(out, v)
		}
	}
	return out
}

// Get returns one partner.
func (s *Service) Get(id string) (View, bool) {
	p, ok := s.dir.Peer(id)
	if !ok {
		return View{}, false
	}
	return s.view(p), true
}

// Keys is a partner's key history, oldest first.
func (s *Service) Keys(ctx context.Context, id string) ([]store.PartnerKey, error) {
	return s.st.PartnerKeys(ctx, id)
}

// Add fetches the introduction at a node's federation URL and adds the team as a
// pending partner. Adding a partner already known with the same key refreshes its
// entry; with another key (its old key was compromised) it becomes pending again, so
// that an admin checks the new safety number.
func (s *Service) Add(ctx context.Context, rawURL, actor string) (View, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return View{}, problem.Invalid("url", "%q is not an http(s) URL", rawURL)
	}
	if err := config.CheckPeerURL(team.Peer{Team: team.Team{URL: rawURL}}); err != nil {
		return View{}, problem.Invalid("url", "%v", err)
	}
	in, err := s.fetchIntroduction(ctx, rawURL)
	if err != nil {
		return View{}, &problem.Error{Status: http.StatusBadGateway, Code: "introduction_failed", Field: "url",
			Message: fmt.Sprintf("no valid introduction at %s: %v", rawURL, err)}
	}
	return s.addIntroduced(ctx, in, rawURL, actor)
}

// AddIntroduction adds a pending partner from a signed introduction obtained some
// other way (a file handed over, the demo's seeding).
func (s *Service) AddIntroduction(ctx context.Context, signed []byte, actor string) (View, error) {
	in, err := ParseIntroduction(signed)
	if err != nil {
		return View{}, problem.Invalid("introduction", "%v", err)
	}
	return s.addIntroduced(ctx, in, in.URL, actor)
}

func (s *Service) addIntroduced(ctx context.Context, in wire.Introduction, rawURL, actor string) (View, error) {
	if in.Team == s.dir.Self.ID {
		return View{}, problem.Invalid("url", "%s is this node", rawURL)
	}
	p := peerOf(in)
	if p.URL == "" {
		p.URL = rawURL
	}
	p.Status, p.Source = team.StatusPending, team.SourceDirectory
	now := s.clock.Now()
	reason := ReasonIntroduced
	if old, ok := s.dir.Peer(p.ID); ok {
		switch {
		case old.PublicKey == p.PublicKey && old.Status != team.StatusPending:
			return View{}, problem.Conflict("%s is already a partner (%s)", p.ID, old.Status)
		case old.PublicKey != p.PublicKey:
			reason = ReasonReplaced
		}
		p.Delivery, p.PullFrom, p.Community, p.AllowInsecure = old.Delivery, old.PullFrom, old.Community, old.AllowInsecure
	}
	if err := s.save(ctx, p, actor, "partner.add", fmt.Sprintf("%s at %s, pending its safety number", p.Name, p.URL), func(tx store.Tx) error {
		if reason == ReasonReplaced {
			if err := s.retireAll(ctx, tx, p.ID, now, ReasonReplaced); err != nil {
				return err
			}
		}
		return tx.PutPartnerKey(ctx, store.PartnerKey{Team: p.ID, PublicKey: p.PublicKey, AddedAt: now, Reason: reason})
	}); err != nil {
		return View{}, err
	}
	return s.view(p), nil
}

// retireAll marks every current key of a partner retired without grace.
func (s *Service) retireAll(ctx context.Context, tx store.Tx, id string, now time.Time, reason string) error {
	keys, err := tx.PartnerKeys(ctx, id)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.RetiredAt == nil {
			k.RetiredAt, k.GraceUntil, k.Reason = &now, &now, reason
			if err := tx.PutPartnerKey(ctx, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// ErrNotFound means no partner has the id.
var ErrNotFound = errors.New("no such partner")

// Approve makes a pending (or suspended) partner active once an admin has entered
// the safety number the partner read out. A wrong number leaves it as it was.
func (s *Service) Approve(ctx context.Context, id, fingerprint, actor string) (View, error) {
	p, ok := s.dir.Peer(id)
	if !ok {
		return View{}, problem.NotFound("no partner %q", id)
	}
	if p.Status == team.StatusRevoked {
		return View{}, problem.Conflict("%s is revoked; add it again to onboard it anew", id)
	}
	entered, ok := normalNumber(fingerprint)
	pub, err := identity.ParsePublic(p.PublicKey)
	if err != nil {
		return View{}, err
	}
	want, _ := normalNumber(SafetyNumber(s.key.PublicKey(), pub))
	if !ok {
		return View{}, problem.Invalid("fingerprint", "a safety number is 30 digits (six groups of five)")
	}
	if entered != want {
		return View{}, problem.Invalid("fingerprint", "does not match the safety number of %s's key and ours; ask %s to read it out again", id, id)
	}
	now := s.clock.Now().UTC()
	p.Status, p.VerifiedAt, p.Source = team.StatusActive, &now, team.SourceDirectory
	if err := s.save(ctx, p, actor, "partner.approve", "safety number checked", nil); err != nil {
		return View{}, err
	}
	// The new partner learns our constituency at once (it had it from our
	// introduction only if it fetched it; and it may have changed since).
	if err := s.sendConstituency(ctx, []string{id}); err != nil {
		s.log.Warn("send constituency to new partner", "peer", id, "err", err)
	}
	// Its hotline address (perhaps new: a re-introduction makes the entry pending) is
	// checked with a mailed code now that egress lets mail go to it.
	s.mailDueCodes(ctx, actor, id)
	return s.view(p), nil
}

// SetStatus suspends (status suspended) or revokes (status revoked) a partner:
// nothing is sent to it, and its traffic is refused before its body is read.
func (s *Service) SetStatus(ctx context.Context, id, status, actor string) (View, error) {
	if status != team.StatusSuspended && status != team.StatusRevoked {
		return View{}, problem.Invalid("status", "%q: only suspended or revoked", status)
	}
	p, ok := s.dir.Peer(id)
	if !ok {
		return View{}, problem.NotFound("no partner %q", id)
	}
	if p.Status == team.StatusRevoked {
		return View{}, problem.Conflict("%s is already revoked", id)
	}
	p.Status, p.Source = status, team.SourceDirectory
	action := "partner.suspend"
	if status == team.StatusRevoked {
		action = "partner.revoke"
	}
	if err := s.save(ctx, p, actor, action, "", nil); err != nil {
		return View{}, err
	}
	return s.view(p), nil
}

// Remove deletes a partner added at runtime (and its key history); a partner seeded by
// the configuration file falls back to its seed.
func (s *Service) Remove(ctx context.Context, id, actor string) error {
	if _, ok := s.dir.Peer(id); !ok {
		return problem.NotFound("no partner %q", id)
	}
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.DeletePartner(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return audit.Append(ctx, tx, s.clock.Now(), actor, "partner.remove", id, "")
	})
	if err != nil {
		return fmt.Errorf("partner: remove %s: %w", id, err)
	}
	s.dir.Remove(id)
	return nil
}

// save stores a partner's entry, audited, with more writes in the same transaction,
// and then puts it in the directory.
func (s *Service) save(ctx context.Context, p team.Peer, actor, action, detail string, more func(tx store.Tx) error) error {
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		if err := s.putRow(ctx, tx, p); err != nil {
			return err
		}
		if more != nil {
			if err := more(tx); err != nil {
				return err
			}
		}
		return audit.Append(ctx, tx, s.clock.Now(), actor, action, p.ID, detail)
	})
	if err != nil {
		return fmt.Errorf("partner: %s %s: %w", action, p.ID, err)
	}
	return s.dir.Put(p)
}

func (s *Service) putRow(ctx context.Context, tx store.Tx, p team.Peer) error {
	doc, err := json.Marshal(p)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	return tx.PutPartner(ctx, store.Partner{ID: p.ID, Status: p.Status, Doc: doc, CreatedAt: now, UpdatedAt: now})
}
