// Package constituency answers "whose is this IP address, AS number, domain or
// country?" from this node's own constituency and its partners', in one in-memory
// index built whole and swapped atomically. Overlapping claims are all answered,
// the most specific first: a partner that claims a network another team also claims
// is shown beside it, never hidden. (internal/route, which sends each feed event to
// exactly one place, takes the same claims through Index.RoutePartners and resolves
// overlaps its own way, recording them as conflicts.)
package constituency

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/gaissmai/bart"

	"csirtlink/internal/route"
)

// Sources of a claim.
const (
	Self    = "self"    // this node's own constituency
	Partner = "partner" // a partner's, as it sent it to us
)

// Claim is one team's constituency.
type Claim struct {
	Team      string
	Source    string
	Countries []string
	ASNs      []uint32
	Networks  []netip.Prefix
	Domains   []string
}

// Owner is one answer: the team, what of its constituency matched, and whose claim it is.
type Owner struct {
	Team    string `json:"team"`
	Matched string `json:"matched"`
	Source  string `json:"source"`
}

type netEntry struct {
	prefix netip.Prefix
	claims []int32 // into Index.claims
	parent int32   // the next less specific claimed prefix, or -1
}

// Index is a built, immutable index; any number of goroutines may read it.
type Index struct {
	claims []Claim
	nets   *bart.Table[int32] // value: into entries
	netsFn []netEntry
	// first repeats each entry's first claimant densely: routing reads 4 bytes, not
	// the cache lines of a netEntry and its claims.
	first []int32
	asn   map[uint32][]int32
	dom   map[string][]int32
	cc    map[string][]int32
}

// Build makes an index of claims. Prefixes are masked; a network claimed by several
// teams keeps every claimant, in the order of claims.
func Build(claims []Claim) *Index {
	x := &Index{claims: claims, nets: &bart.Table[int32]{}, asn: map[uint32][]int32{}, dom: map[string][]int32{}, cc: map[string][]int32{}}
	for i, c := range claims {
		ci := int32(i)
		for _, p := range c.Networks {
			p = p.Masked()
			if e, ok := x.nets.Get(p); ok {
				if !slices.Contains(x.netsFn[e].claims, ci) {
					x.netsFn[e].claims = append(x.netsFn[e].claims, ci)
				}
				continue
			}
			x.nets.Insert(p, int32(len(x.netsFn)))
			x.netsFn = append(x.netsFn, netEntry{prefix: p, claims: []int32{ci}, parent: -1})
		}
		add := func(m map[string][]int32, k string) {
			if !slices.Contains(m[k], ci) {
				m[k] = append(m[k], ci)
			}
		}
		for _, a := range c.ASNs {
			if !slices.Contains(x.asn[a], ci) {
				x.asn[a] = append(x.asn[a], ci)
			}
		}
		for _, d := range c.Domains {
			add(x.dom, strings.ToLower(strings.TrimSuffix(d, ".")))
		}
		for _, cc := range c.Countries {
			add(x.cc, strings.ToUpper(cc))
		}
	}
	x.first = make([]int32, len(x.netsFn))
	for i := range x.netsFn {
		x.first[i] = x.netsFn[i].claims[0]
	}
	// Each prefix points to the claimed prefix just above it, so one lookup finds every
	// covering claim by walking up.
	for i := range x.netsFn {
		p := x.netsFn[i].prefix
		if p.Bits() == 0 {
			continue
		}
		if _, e, ok := x.nets.LookupPrefixLPM(netip.PrefixFrom(p.Addr(), p.Bits()-1)); ok {
			x.netsFn[i].parent = e
		}
	}
	return x
}

// Len is the number of distinct networks claimed.
func (x *Index) Len() int { return len(x.netsFn) }

func (x *Index) owner(ci int32, matched string) Owner {
	return Owner{Team: x.claims[ci].Team, Matched: matched, Source: x.claims[ci].Source}
}

// IP appends the owners of every claimed network holding ip to dst, the most
// specific network first.
func (x *Index) IP(dst []Owner, ip netip.Addr) []Owner {
	e, ok := x.nets.Lookup(ip.Unmap())
	for ok && e >= 0 {
		n := &x.netsFn[e]
		for _, ci := range n.claims {
			dst = append(dst, x.owner(ci, n.prefix.String()))
		}
		e = n.parent
	}
	return dst
}

// First returns the team of the most specific claim holding ip, without allocating:
// the question routing asks for every event.
func (x *Index) First(ip netip.Addr) (string, bool) {
	e, ok := x.nets.Lookup(ip.Unmap())
	if !ok {
		return "", false
	}
	return x.claims[x.first[e]].Team, true
}

// ASN appends the owners of an AS number.
func (x *Index) ASN(dst []Owner, asn uint32) []Owner {
	for _, ci := range x.asn[asn] {
		dst = append(dst, x.owner(ci, "AS"+uitoa(asn)))
	}
	return dst
}

// Domain appends the owners of a domain or of the nearest parent domain claimed, then
// of the parents above it.
func (x *Index) Domain(dst []Owner, d string) []Owner {
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	for d != "" {
		for _, ci := range x.dom[d] {
			dst = append(dst, x.owner(ci, d))
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
	}
	return dst
}

// Country appends the owners of an ISO 3166-1 alpha-2 country.
func (x *Index) Country(dst []Owner, cc string) []Owner {
	cc = strings.ToUpper(cc)
	for _, ci := range x.cc[cc] {
		dst = append(dst, x.owner(ci, cc))
	}
	return dst
}

// RoutePartners gives the partners' claims in the form feed routing builds its index
// from.
func (x *Index) RoutePartners() []route.Partner {
	var out []route.Partner
	for _, c := range x.claims {
		if c.Source != Partner {
			continue
		}
		out = append(out, route.Partner{ID: c.Team, Countries: c.Countries, ASNs: c.ASNs, Networks: c.Networks, Domains: c.Domains})
	}
	return out
}

func uitoa(v uint32) string {
	var b [10]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}
