package indicator

import (
	"context"
	"net/netip"
	"strings"

	"csirtlink/internal/observable"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

// Search and correlation. A query is parsed as an observable, then turned into the
// exact values that would match it: itself; for an address, every CIDR that contains it
// (one per prefix length, in canonical form); for a host, every parent domain. Each is
// a lookup of one indexed value, so a search costs a few dozen index probes whatever
// the number of objects held (bench/search).

// Match says how a hit matched the query.
const (
	MatchExact  = "exact"
	MatchCIDR   = "cidr"   // the query is an address inside a shared network
	MatchDomain = "domain" // the query is a host under a shared domain
)

// Hit is one thing this node holds that matches a query.
type Hit struct {
	// Source is indicator (a shared object) or incident (an incident's observable).
	Source string `json:"source"`
	Match  string `json:"match"`
	Type   string `json:"type"`
	Value  string `json:"value"`
	TLP    string `json:"tlp"`
	// Team is the indicator's author, or the team that added the observable.
	Team        string   `json:"team"`
	IndicatorID string   `json:"indicator_id,omitempty"`
	IncidentID  string   `json:"incident_id,omitempty"`
	Category    string   `json:"category,omitempty"`
	Confidence  int      `json:"confidence,omitempty"`
	Expired     bool     `json:"expired,omitempty"`
	Sightings   *Summary `json:"sightings,omitempty"`
}

// MaxHits bounds one search's answer.
const MaxHits = 200

// Candidates returns the query's canonical observable and the values that match it.
func Candidates(q string) (observable.Observable, map[string]string, error) {
	o, err := observable.Parse("", q)
	if err != nil {
		return o, nil, problem.Invalid("q", "%v", err)
	}
	c := map[string]string{o.Value: MatchExact}
	host := ""
	switch o.Type {
	case observable.IPv4, observable.IPv6:
		a := netip.MustParseAddr(o.Value)
		for bits := 0; bits <= a.BitLen(); bits++ {
			p, _ := a.Prefix(bits)
			c[p.String()] = MatchCIDR
		}
	case observable.CIDR:
		p := netip.MustParsePrefix(o.Value)
		for bits := 0; bits < p.Bits(); bits++ {
			q, _ := p.Addr().Prefix(bits)
			c[q.String()] = MatchCIDR
		}
	case observable.Domain:
		host = o.Value
	case observable.URL:
		if h, err := urlHost(o.Value); err == nil {
			host = h
			if _, ok := c[h]; !ok {
				c[h] = MatchDomain
			}
		}
	case observable.Email:
		host = o.Value[strings.LastIndex(o.Value, "@")+1:]
		c[host] = MatchDomain
	}
	for h := host; ; {
		i := strings.IndexByte(h, '.')
		if i < 0 {
			break
		}
		h = h[i+1:]
		if strings.IndexByte(h, '.') < 0 {
			break // a top-level domain alone is never a shared domain
		}
		c[h] = MatchDomain
	}
	return o, c, nil
}

func urlHost(u string) (string, error) {
	rest := u[strings.Index(u, "://")+3:]
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if strings.HasPrefix(rest, "[") {
		return "", problem.Invalid("q", "not a host")
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		rest = rest[:i]
	}
	o, err := observable.Parse("domain", rest)
	return o.Value, err
}

// Search finds what this node holds about q: shared indicators (not revoked, not
// withdrawn), with what their sightings say, and incidents' observables.
func (s *Service) Search(ctx context.Context, q string) ([]Hit, error) {
	o, cands, err := Candidates(q)
	if err != nil {
		return nil, err
	}
	// The query's own value first: MatchIndicators ranks its holders first.
	values := make([]string, 1, len(cands))
	values[0] = o.Value
	for v := range cands {
		if v != o.Value {
			values = append(values, v)
		}
	}
	hits := []Hit{}
	// One statement for every candidate, the value itself ranked first: many wide
	// networks around an address must not crowd out the address. Only the covering
	// index is read (store.MatchIndicators): no row, no JSON document.
	inds, err := s.st.MatchIndicators(ctx, values, MaxHits)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	var ids []string
	for _, ind := range inds {
		if ind.Sighted {
			ids = append(ids, ind.ID)
		}
	}
	// One query for the sightings of every hit that has some (none when no hit has
	// any), not one per hit.
	all, err := s.st.SightingsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	seen := map[string][]store.Sighting{}
	for _, x := range all {
		seen[x.IndicatorID] = append(seen[x.IndicatorID], x)
	}
	for _, ind := range inds {
		m := cands[ind.Value]
		if m == MatchDomain && ind.Type != string(observable.Domain) {
			m = MatchExact // a URL or address equal to the query's host
		}
		h := Hit{Source: "indicator", Match: m, Type: ind.Type, Value: ind.Value, TLP: ind.TLP, Team: ind.Author,
			IndicatorID: ind.ID, Category: ind.Category, Confidence: ind.Confidence, Expired: expiredAt(ind.ValidUntil, now)}
		if ss := seen[ind.ID]; len(ss) > 0 {
			sum := summarise(ss)
			h.Sightings = &sum
		}
		hits = append(hits, h)
	}
	entries, err := s.st.ObservableEntries(ctx, values, MaxHits)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		typ := ""
		if o, err := observable.Parse("", e.Body); err == nil {
			typ = string(o.Type)
		}
		if cands[e.Body] == MatchDomain && typ != string(observable.Domain) {
			continue
		}
		hits = append(hits, Hit{Source: "incident", Match: cands[e.Body], Type: typ, Value: e.Body, TLP: e.TLP, Team: e.Team,
			IncidentID: e.IncidentID})
	}
	return hits, nil
}

// Related is what else this node knows about one of an incident's observables: the
// search's hits less that incident's own entries.
func (s *Service) Related(ctx context.Context, incidentID, value string) ([]Hit, error) {
	hits, err := s.Search(ctx, value)
	if err != nil {
		return nil, err
	}
	out := hits[:0]
	for _, h := range hits {
		if h.IncidentID != incidentID {
			out = append(out, h)
		}
	}
	return out, nil
}
