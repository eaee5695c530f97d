package route

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/gaissmai/bart"
	"golang.org/x/net/idna"

	"csirtlink/internal/feed"
)

// Limits on what an index holds: owners come from bulk imports and partners
// from peers, so both are bounded.
const (
	MaxOwners   = 1_000_000
	MaxPartners = 10_000
	maxClaims   = 100_000 // networks, ASNs, domains or countries of one owner or partner
	maxID       = 128
	maxDomain   = 253
)

// Claimant is who made a claim.
type Claimant struct {
	Kind Kind // ToOwner or ToPartner
	ID   string
}

func (c Claimant) String() string { return c.Kind.String() + " " + c.ID }

// Conflict is a claim more than one owner or partner made, and how routing
// resolves it. Exact duplicates go to the first claimant by ID; overlapping
// networks go to the most specific; our owners always come before partners.
type Conflict struct {
	By     Match  // what was claimed: a network, AS number, domain or country
	Key    string // the claim: "192.0.2.0/24", "64500", "example.jp", "JP"
	Winner Claimant
	Losers []Claimant
	Note   string // how it was resolved
}

func (c Conflict) String() string {
	losers := make([]string, len(c.Losers))
	for i, l := range c.Losers {
		losers[i] = l.String()
	}
	return fmt.Sprintf("%s %s: %s; also claimed by %s (%s)", c.By, c.Key, c.Winner, strings.Join(losers, ", "), c.Note)
}

// Build checks owners and partners and builds their index. Errors name the
// owner or partner and the field. The result does not depend on the order of
// the input: owners and partners are taken sorted by ID.
func Build(owners []Owner, partners []Partner) (*Index, error) {
	if len(owners) > MaxOwners {
		return nil, fmt.Errorf("owners: %d, more than %d", len(owners), MaxOwners)
	}
	if len(partners) > MaxPartners {
		return nil, fmt.Errorf("partners: %d, more than %d", len(partners), MaxPartners)
	}
	x := &Index{
		ownNets: new(bart.Fast[int32]), ownASN: map[uint32]int32{}, ownDom: map[string]int32{},
		parNets: new(bart.Fast[int32]), parASN: map[uint32]int32{}, parDom: map[string]int32{}, parCC: map[string]int32{},
	}
	var errs []error
	x.owners = make([]Owner, 0, len(owners))
	for _, o := range owners {
		n, err := normOwner(o)
		if err != nil {
			errs = append(errs, fmt.Errorf("owner %q: %w", feed.Clip(o.ID), err))
			continue
		}
		x.owners = append(x.owners, n)
	}
	x.partners = make([]Partner, 0, len(partners))
	for _, p := range partners {
		n, err := normPartner(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("partner %q: %w", feed.Clip(p.ID), err))
			continue
		}
		x.partners = append(x.partners, n)
	}
	slices.SortFunc(x.owners, func(a, b Owner) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(x.partners, func(a, b Partner) int { return cmp.Compare(a.ID, b.ID) })
	for i := 1; i < len(x.owners); i++ {
		if x.owners[i].ID == x.owners[i-1].ID {
			errs = append(errs, fmt.Errorf("owner %q: id: used twice", feed.Clip(x.owners[i].ID)))
		}
	}
	for i := 1; i < len(x.partners); i++ {
		if x.partners[i].ID == x.partners[i-1].ID {
			errs = append(errs, fmt.Errorf("partner %q: id: used twice", feed.Clip(x.partners[i].ID)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	for _, o := range x.owners {
		x.ownerIDs = append(x.ownerIDs, o.ID)
	}
	for _, p := range x.partners {
		x.partnerIDs = append(x.partnerIDs, p.ID)
	}
	c := &conflicts{}
	for i, o := range x.owners {
		me := Claimant{ToOwner, o.ID}
		for _, p := range o.Networks {
			if j, dup := x.ownNets.Get(p); dup {
				c.add(ByNetwork, p.String(), Claimant{ToOwner, x.owners[j].ID}, me, "the first owner by id")
				continue
			}
			x.ownNets.Insert(p, int32(i))
		}
		claim(x.ownASN, o.ASNs, int32(i), func(a uint32, j int32) {
			c.add(ByASN, strconv.FormatUint(uint64(a), 10), Claimant{ToOwner, x.owners[j].ID}, me, "the first owner by id")
		})
		claim(x.ownDom, o.Domains, int32(i), func(d string, j int32) {
			c.add(ByDomain, d, Claimant{ToOwner, x.owners[j].ID}, me, "the first owner by id")
		})
	}
	for i, p := range x.partners {
		me := Claimant{ToPartner, p.ID}
		for _, n := range p.Networks {
			if j, dup := x.parNets.Get(n); dup {
				c.add(ByNetwork, n.String(), Claimant{ToPartner, x.partners[j].ID}, me, "the first partner by id")
				continue
			}
			// Partners whose networks nest: the more specific wins.
			for q, j := range x.parNets.Supernets(n) {
				if int(j) != i {
					c.add(ByNetwork, n.String(), me, Claimant{ToPartner, x.partners[j].ID}, "more specific than "+q.String())
				}
			}
			for q, j := range x.parNets.Subnets(n) {
				if int(j) != i {
					c.add(ByNetwork, q.String(), Claimant{ToPartner, x.partners[j].ID}, me, "more specific than "+n.String())
				}
			}
			x.parNets.Insert(n, int32(i))
		}
		claim(x.parASN, p.ASNs, int32(i), func(a uint32, j int32) {
			c.add(ByASN, strconv.FormatUint(uint64(a), 10), Claimant{ToPartner, x.partners[j].ID}, me, "the first partner by id")
		})
		claim(x.parDom, p.Domains, int32(i), func(d string, j int32) {
			c.add(ByDomain, d, Claimant{ToPartner, x.partners[j].ID}, me, "the first partner by id")
		})
		claim(x.parCC, p.Countries, int32(i), func(cc string, j int32) {
			c.add(ByCountry, cc, Claimant{ToPartner, x.partners[j].ID}, me, "the first partner by id")
		})
	}
	// Our owners come before any partner; where a partner claims the same,
	// say so: one side's records are probably wrong.
	for n, i := range x.ownNets.All() {
		if !x.parNets.OverlapsPrefix(n) {
			continue
		}
		me := Claimant{ToOwner, x.owners[i].ID}
		for q, j := range x.parNets.Supernets(n) {
			c.add(ByNetwork, n.String(), me, Claimant{ToPartner, x.partners[j].ID}, "our owner first; inside the partner's "+q.String())
		}
		for q, j := range x.parNets.Subnets(n) {
			c.add(ByNetwork, q.String(), me, Claimant{ToPartner, x.partners[j].ID}, "our owner first; inside the owner's "+n.String())
		}
	}
	for a, i := range x.ownASN {
		if j, ok := x.parASN[a]; ok {
			c.add(ByASN, strconv.FormatUint(uint64(a), 10), Claimant{ToOwner, x.owners[i].ID}, Claimant{ToPartner, x.partners[j].ID}, "our owner first")
		}
	}
	for d, i := range x.ownDom {
		if j, ok := x.parDom[d]; ok {
			c.add(ByDomain, d, Claimant{ToOwner, x.owners[i].ID}, Claimant{ToPartner, x.partners[j].ID}, "our owner first")
		}
	}
	x.conflicts = c.sorted()
	return x, nil
}

// claim inserts keys for claimant i, reporting keys another claimed first.
func claim[K comparable](m map[K]int32, keys []K, i int32, dup func(K, int32)) {
	for _, k := range keys {
		if j, ok := m[k]; ok {
			if j != i {
				dup(k, j)
			}
			continue
		}
		m[k] = i
	}
}

// conflicts gathers conflicts, merging the losers of one claim.
type conflicts struct {
	list []Conflict
	at   map[string]int
}

func (c *conflicts) add(by Match, key string, winner, loser Claimant, note string) {
	k := by.String() + " " + key + " " + winner.String() + " " + note
	if c.at == nil {
		c.at = map[string]int{}
	}
	if i, ok := c.at[k]; ok {
		if !slices.Contains(c.list[i].Losers, loser) {
			c.list[i].Losers = append(c.list[i].Losers, loser)
		}
		return
	}
	c.at[k] = len(c.list)
	c.list = append(c.list, Conflict{By: by, Key: key, Winner: winner, Losers: []Claimant{loser}, Note: note})
}

func (c *conflicts) sorted() []Conflict {
	slices.SortStableFunc(c.list, func(a, b Conflict) int {
		return cmp.Or(cmp.Compare(a.By, b.By), cmp.Compare(a.Key, b.Key), cmp.Compare(a.Winner.ID, b.Winner.ID), cmp.Compare(a.Note, b.Note))
	})
	return c.list
}

func normID(id string) error {
	switch {
	case id == "":
		return errors.New("id: required")
	case len(id) > maxID:
		return fmt.Errorf("id: longer than %d bytes", maxID)
	case strings.ContainsFunc(id, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return errors.New("id: control characters")
	}
	return nil
}

func normOwner(o Owner) (Owner, error) {
	var errs []error
	if err := normID(o.ID); err != nil {
		errs = append(errs, err)
	}
	nets, err := normNetworks(o.Networks)
	errs = append(errs, err)
	asns, err := normASNs(o.ASNs)
	errs = append(errs, err)
	doms, err := normDomains(o.Domains, 2)
	errs = append(errs, err)
	if len(nets)+len(asns)+len(doms) == 0 && errors.Join(errs...) == nil {
		errs = append(errs, errors.New("networks: an owner needs a network, AS number or domain"))
	}
	return Owner{ID: o.ID, Networks: nets, ASNs: asns, Domains: doms}, errors.Join(errs...)
}

func normPartner(p Partner) (Partner, error) {
	var errs []error
	if err := normID(p.ID); err != nil {
		errs = append(errs, err)
	}
	nets, err := normNetworks(p.Networks)
	errs = append(errs, err)
	asns, err := normASNs(p.ASNs)
	errs = append(errs, err)
	doms, err := normDomains(p.Domains, 1)
	errs = append(errs, err)
	if len(p.Countries) > maxClaims {
		errs = append(errs, fmt.Errorf("countries: more than %d", maxClaims))
	}
	var ccs []string
	for i, c := range p.Countries {
		cc, ok := feed.CountryCode(c)
		if !ok {
			errs = append(errs, fmt.Errorf("countries[%d]: %q is not a two-letter country code", i, feed.Clip(c)))
			continue
		}
		ccs = append(ccs, cc)
	}
	return Partner{ID: p.ID, Countries: dedupe(ccs), ASNs: asns, Networks: nets, Domains: doms}, errors.Join(errs...)
}

func normNetworks(in []netip.Prefix) ([]netip.Prefix, error) {
	if len(in) > maxClaims {
		return nil, fmt.Errorf("networks: more than %d", maxClaims)
	}
	var errs []error
	out := make([]netip.Prefix, 0, len(in))
	for i, p := range in {
		switch {
		case !p.IsValid():
			errs = append(errs, fmt.Errorf("networks[%d]: not a network", i))
		case p.Addr().Zone() != "":
			errs = append(errs, fmt.Errorf("networks[%d]: %s has a zone", i, p))
		case p.Addr().Is4In6():
			errs = append(errs, fmt.Errorf("networks[%d]: %s is IPv4-mapped; write the IPv4 network", i, p))
		case p.Masked() != p:
			errs = append(errs, fmt.Errorf("networks[%d]: %s has host bits set; did you mean %s?", i, p, p.Masked()))
		default:
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
	})
	return slices.Compact(out), errors.Join(errs...)
}

func normASNs(in []uint32) ([]uint32, error) {
	if len(in) > maxClaims {
		return nil, fmt.Errorf("asns: more than %d", maxClaims)
	}
	for i, a := range in {
		if a == 0 {
			return nil, fmt.Errorf("asns[%d]: 0 is not an AS number", i)
		}
	}
	return dedupe(in), nil
}

var idnaLookup = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false))

// normDomains returns the A-label, lower-case form of each domain; minLabels
// is 2 for owners (a registered domain) and 1 for partners (a ccTLD).
func normDomains(in []string, minLabels int) ([]string, error) {
	if len(in) > maxClaims {
		return nil, fmt.Errorf("domains: more than %d", maxClaims)
	}
	var errs []error
	var out []string
	for i, d := range in {
		n, err := normDomain(d, minLabels)
		if err != nil {
			errs = append(errs, fmt.Errorf("domains[%d]: %q: %w", i, feed.Clip(d), err))
			continue
		}
		out = append(out, n)
	}
	return dedupe(out), errors.Join(errs...)
}

func normDomain(d string, minLabels int) (string, error) {
	d = strings.TrimSuffix(strings.TrimSpace(d), ".")
	if d == "" {
		return "", errors.New("empty")
	}
	if _, err := netip.ParseAddr(d); err == nil {
		return "", errors.New("an IP address, not a domain")
	}
	a, err := idnaLookup.ToASCII(d)
	if err != nil {
		return "", fmt.Errorf("not a domain name: %v", err)
	}
	a = strings.ToLower(a)
	labels := strings.Split(a, ".")
	if len(labels) < minLabels {
		return "", fmt.Errorf("needs at least %d labels", minLabels)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "", fmt.Errorf("label %q: empty or longer than 63 bytes", feed.Clip(l))
		}
	}
	if len(a) > maxDomain {
		return "", fmt.Errorf("longer than %d bytes", maxDomain)
	}
	return a, nil
}

func dedupe[T cmp.Ordered](in []T) []T {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}
