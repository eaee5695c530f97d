package partner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"csirtlink/internal/audit"
	"csirtlink/internal/constituency"
	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

const settingConstituency = "constituency"

// Own is this node's constituency as it publishes it: the stored one, or at first the
// configuration file's (serial 1).
func (s *Service) Own(ctx context.Context) (wire.Constituency, error) {
	b, err := s.st.GetSetting(ctx, settingConstituency)
	if errors.Is(err, store.ErrNotFound) {
		self := s.dir.Self
		return wire.Constituency{Version: wire.PartnerVersion, Team: self.ID, Serial: 1, Countries: nonNil(self.Countries),
			ASNs: nonNil(self.ASNs), Networks: nonNil(self.Networks), Domains: nonNil(self.Domains),
			ValidUntil: s.clock.Now().UTC().Add(s.opts.Reverify).Truncate(1e6)}, nil
	}
	if err != nil {
		return wire.Constituency{}, fmt.Errorf("partner: own constituency: %w", err)
	}
	var c wire.Constituency
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("partner: own constituency: %w", err)
	}
	return c, nil
}

// ConstituencyInput is what an admin sets as our constituency.
type ConstituencyInput struct {
	Countries []string `json:"countries"`
	ASNs      []uint32 `json:"asns"`
	Networks  []string `json:"networks"`
	Domains   []string `json:"domains"`
}

// checkConstituency validates a constituency by the one rule a peer's is held to too.
func checkConstituency(c ConstituencyInput) error {
	t := team.Team{ID: "x0", Name: "x", Timezone: "UTC", Countries: c.Countries, ASNs: c.ASNs, Networks: c.Networks, Domains: c.Domains}
	if err := t.Validate(); err != nil {
		field, msg, _ := strings.Cut(err.Error(), ": ")
		return problem.Invalid(field, "%s", strings.SplitN(msg, "\n", 2)[0])
	}
	const max = 100_000
	if len(c.Countries) > 300 || len(c.ASNs) > max || len(c.Networks) > max || len(c.Domains) > max {
		return problem.Invalid("networks", "at most %d networks, AS numbers or domains, and 300 countries", max)
	}
	return nil
}

// SetOwn replaces our constituency, with the next serial, and sends it to every
// community peer in the same transaction (a signed TLP:GREEN envelope).
func (s *Service) SetOwn(ctx context.Context, in ConstituencyInput, actor string) (wire.Constituency, error) {
	if err := checkConstituency(in); err != nil {
		return wire.Constituency{}, err
	}
	prev, err := s.Own(ctx)
	if err != nil {
		return prev, err
	}
	now := s.clock.Now().UTC()
	c := wire.Constituency{Version: wire.PartnerVersion, Team: s.dir.Self.ID, Serial: prev.Serial + 1, Countries: nonNil(in.Countries),
		ASNs: nonNil(in.ASNs), Networks: nonNil(in.Networks), Domains: nonNil(in.Domains), ValidUntil: now.Add(s.opts.Reverify).Truncate(1e6)}
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		b, _ := json.Marshal(c)
		if err := tx.PutSetting(ctx, settingConstituency, b, now); err != nil {
			return err
		}
		if err := s.enqueueConstituency(ctx, tx, c, s.dir.Community()); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, actor, "constituency.update", s.dir.Self.ID, fmt.Sprintf("serial %d", c.Serial))
	})
	if err != nil {
		return c, fmt.Errorf("partner: set constituency: %w", err)
	}
	s.mu.Lock()
	s.index = nil // rebuilt with the new constituency on the next lookup
	s.mu.Unlock()
	return c, nil
}

func (s *Service) enqueueConstituency(ctx context.Context, tx store.Tx, c wire.Constituency, to []string) error {
	payload, err := wire.EncodeConstituency(c)
	if err != nil {
		return err
	}
	for _, t := range to {
		err := s.fed.Enqueue(ctx, tx, federation.Message{To: t, Type: wire.TypeConstituency, ObjectID: fmt.Sprintf("%s:%d", c.Team, c.Serial),
			Item: tlp.Item{Label: tlp.Green, Author: c.Team}, Payload: payload})
		if err != nil && !errors.Is(err, federation.ErrNotAllowed) {
			return err
		}
	}
	return nil
}

// sendConstituency sends our current constituency to some peers.
func (s *Service) sendConstituency(ctx context.Context, to []string) error {
	c, err := s.Own(ctx)
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx store.Tx) error { return s.enqueueConstituency(ctx, tx, c, to) })
}

// applyConstituency takes a partner's new constituency: its own, newer than the one
// we hold, valid by the same rule as ours.
func (s *Service) applyConstituency(ctx context.Context, tx store.Tx, env *envelope.Envelope) error {
	c, err := wire.DecodeConstituency(env.Payload)
	if err != nil {
		return federation.Rejectf("%v", err)
	}
	if c.Team != env.Origin {
		return federation.Rejectf("team: %q sent the constituency of %q", env.Origin, c.Team)
	}
	if err := checkConstituency(ConstituencyInput{c.Countries, c.ASNs, c.Networks, c.Domains}); err != nil {
		return federation.Rejectf("%v", err)
	}
	p, ok := s.dir.Peer(env.Origin)
	if !ok {
		return federation.Rejectf("%q is not a partner", env.Origin)
	}
	if c.Serial <= p.ConstituencyVersion {
		return federation.Rejectf("serial: %d is not newer than %d", c.Serial, p.ConstituencyVersion)
	}
	vu := c.ValidUntil
	p.Countries, p.ASNs, p.Networks, p.Domains, p.ConstituencyVersion, p.ValidUntil = c.Countries, c.ASNs, c.Networks, c.Domains, c.Serial, &vu
	p.Source = team.SourceDirectory
	if err := s.putRow(ctx, tx, p); err != nil {
		return err
	}
	if err := audit.Append(ctx, tx, s.clock.Now(), env.Origin, "constituency.update", env.Origin, fmt.Sprintf("serial %d", c.Serial)); err != nil {
		return err
	}
	tx.OnCommit(func() {
		if err := s.dir.Put(p); err != nil {
			s.log.Error("directory", "peer", p.ID, "err", err)
		}
	})
	return nil
}

// Index is the constituency index of us and our active partners, rebuilt when the
// directory or our constituency changed.
func (s *Service) Index(ctx context.Context) (*constituency.Index, error) {
	v := s.dir.Version()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.index != nil && s.indexAt == v {
		return s.index, nil
	}
	own, err := s.Own(ctx)
	if err != nil {
		return nil, err
	}
	claims := []constituency.Claim{claimOf(s.dir.Self.ID, constituency.Self, own.Countries, own.ASNs, own.Networks, own.Domains)}
	for _, p := range s.dir.Peers() {
		if p.IsActive() {
			claims = append(claims, claimOf(p.ID, constituency.Partner, p.Countries, p.ASNs, p.Networks, p.Domains))
		}
	}
	s.index, s.indexAt = constituency.Build(claims), v
	return s.index, nil
}

func claimOf(id, source string, countries []string, asns []uint32, networks, domains []string) constituency.Claim {
	c := constituency.Claim{Team: id, Source: source, Countries: countries, ASNs: asns, Domains: domains}
	for _, n := range networks {
		if p, err := netip.ParsePrefix(n); err == nil {
			c.Networks = append(c.Networks, p.Masked())
		}
	}
	return c
}

// Query is one lookup: exactly one of its fields set.
type Query struct {
	IP, ASN, Domain, Country string
}

// Lookup answers whose an IP address, AS number, domain or country is: every claim,
// the most specific first.
func (s *Service) Lookup(ctx context.Context, q Query) ([]constituency.Owner, error) {
	set := 0
	for _, v := range []string{q.IP, q.ASN, q.Domain, q.Country} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return nil, problem.Invalid("ip", "give exactly one of ip, asn, domain, country")
	}
	x, err := s.Index(ctx)
	if err != nil {
		return nil, err
	}
	out := []constituency.Owner{}
	switch {
	case q.IP != "":
		ip, err := netip.ParseAddr(q.IP)
		if err != nil {
			return nil, problem.Invalid("ip", "%q is not an IP address", q.IP)
		}
		out = x.IP(out, ip)
	case q.ASN != "":
		a := strings.TrimPrefix(strings.ToUpper(q.ASN), "AS")
		var n uint32
		if _, err := fmt.Sscan(a, &n); err != nil || n == 0 || fmt.Sprint(n) != a {
			return nil, problem.Invalid("asn", "%q is not an AS number", q.ASN)
		}
		out = x.ASN(out, n)
	case q.Domain != "":
		if len(q.Domain) > 253 {
			return nil, problem.Invalid("domain", "longer than 253 characters")
		}
		out = x.Domain(out, q.Domain)
	default:
		if len(q.Country) != 2 {
			return nil, problem.Invalid("country", "%q is not an ISO 3166 alpha-2 code", q.Country)
		}
		out = x.Country(out, q.Country)
	}
	return out, nil
}

func (f Filter) matches(v View) bool {
	if f.Status != "" && v.Status != f.Status {
		return false
	}
	if f.Country != "" && !slices.Contains(v.Constituency.Countries, strings.ToUpper(f.Country)) {
		return false
	}
	if f.Unverified != nil && v.Unverified != *f.Unverified {
		return false
	}
	if q := strings.ToLower(strings.TrimSpace(f.Query)); q != "" {
		hay := strings.ToLower(strings.Join(append(append([]string{v.ID, v.Name, v.URL}, v.Constituency.Countries...), v.Constituency.Domains...), " "))
		return strings.Contains(hay, q)
	}
	return true
}
