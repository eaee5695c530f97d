package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"

	"csirtlink/internal/enrich"
	"csirtlink/internal/route"
)

// world is the routing set-up of the benchmark: our 10,000 network owners,
// three partners, and the mix of addresses a report holds.
type world struct {
	owners   []route.Owner
	partners []route.Partner
	// ownerNets lists every owner network, to draw addresses from.
	ownerNets []netip.Prefix
}

// The partners are the demo's teams with their documentation ranges
// (RFC 5737 and 3849), their countries and an AS number each.
var partnerSpecs = []struct {
	id, cc string
	v4, v6 string
	asn    uint32
}{
	{"cn", "CN", "192.0.2.0/24", "2001:db8:c000::/36", 64500},
	{"jp", "JP", "198.51.100.0/24", "2001:db8:d000::/36", 64501},
	{"kr", "KR", "203.0.113.0/24", "2001:db8:e000::/36", 64502},
}

// newWorld makes n owners, each with one to three IPv4 networks (/20 to /24)
// inside 100.64.0.0/10 and 10.0.0.0/8, one in four with an IPv6 /48, one in
// three with an AS number and a domain.
func newWorld(n int, seed uint64) *world {
	rng := rand.New(rand.NewPCG(seed, 1))
	w := &world{}
	used := map[netip.Prefix]bool{}
	for i := range n {
		o := route.Owner{ID: fmt.Sprintf("owner-%05d", i)}
		for range 1 + rng.IntN(3) {
			bits := 20 + rng.IntN(5)
			var base uint32
			if rng.IntN(2) == 0 {
				base = 100<<24 | 64<<16 | rng.Uint32N(1<<22) // 100.64.0.0/10
			} else {
				base = 10<<24 | rng.Uint32N(1<<24)
			}
			p := netip.PrefixFrom(u32(base), bits).Masked()
			if used[p] {
				continue
			}
			used[p] = true
			o.Networks = append(o.Networks, p)
			w.ownerNets = append(w.ownerNets, p)
		}
		if i%4 == 0 {
			var a [16]byte
			copy(a[:], netip.MustParseAddr("2001:db8:a000::").AsSlice())
			a[4], a[5] = 0xa0|byte(i>>10)&0x0f, byte(i>>2) // a distinct /48 per owner

			p := netip.PrefixFrom(netip.AddrFrom16(a), 48)
			o.Networks = append(o.Networks, p)
			w.ownerNets = append(w.ownerNets, p)
		}
		if i%3 == 0 {
			o.ASNs = []uint32{4200000000 + uint32(i)}
			o.Domains = []string{fmt.Sprintf("owner%d.example", i)}
		}
		if len(o.Networks)+len(o.ASNs) == 0 {
			o.ASNs = []uint32{4200000000 + uint32(i)}
		}
		w.owners = append(w.owners, o)
	}
	for _, s := range partnerSpecs {
		w.partners = append(w.partners, route.Partner{
			ID: s.id, Countries: []string{s.cc}, ASNs: []uint32{s.asn},
			Networks: []netip.Prefix{netip.MustParsePrefix(s.v4), netip.MustParsePrefix(s.v6)},
		})
	}
	return w
}

func (w *world) router() (*route.Router, error) {
	x, err := route.Build(w.owners, w.partners)
	if err != nil {
		return nil, err
	}
	return route.NewRouter(x), nil
}

func u32(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// header is a Shadowserver scan_telnet report's header.
const header = `"timestamp","ip","protocol","port","hostname","tag","asn","geo","region","city","naics","sic","sector","banner"` + "\n"

// generator writes report rows. The mix: 40 % in owners' networks (a tenth
// of them IPv6), 5 % in each partner's range, 12 % elsewhere but with a
// partner's country, 28 % in random space; a fraction `bare` of the rows has
// no asn and geo, which enrichment then has to find.
type generator struct {
	w       *world
	rng     *rand.Rand
	rows    int64
	done    int64
	bare    float64
	ts      int64 // seconds since the report's start
	buf     []byte
	off     int
	started bool
}

func newGenerator(w *world, rows int64, bare float64, seed uint64) *generator {
	return &generator{w: w, rng: rand.New(rand.NewPCG(seed, 2)), rows: rows, bare: bare}
}

// Read implements io.Reader, making rows as it goes: the report streams
// without ever existing whole.
func (g *generator) Read(p []byte) (int, error) {
	if g.off == len(g.buf) {
		g.buf, g.off = g.buf[:0], 0
		if !g.started {
			g.buf = append(g.buf, header...)
			g.started = true
		}
		for g.done < g.rows && len(g.buf) < 256<<10 {
			g.buf = g.row(g.buf)
			g.done++
		}
		if len(g.buf) == 0 {
			return 0, io.EOF
		}
	}
	n := copy(p, g.buf[g.off:])
	g.off += n
	return n, nil
}

var otherCountries = []string{"US", "DE", "BR", "IN", "FR", "GB", "VN", "RU", "ID", "TR"}

func (g *generator) row(b []byte) []byte {
	r := g.rng
	var ip netip.Addr
	asn, cc := uint32(0), ""
	switch x := r.IntN(100); {
	case x < 40:
		p := g.w.ownerNets[r.IntN(len(g.w.ownerNets))]
		ip = randomIn(r, p)
		asn, cc = 64600+uint32(r.IntN(50)), "ZZ"
	case x < 55:
		s := partnerSpecs[(x-40)/5]
		p := netip.MustParsePrefix(s.v4)
		if x%5 == 0 {
			p = netip.MustParsePrefix(s.v6)
		}
		ip, asn, cc = randomIn(r, p), s.asn, s.cc
	case x < 67:
		s := partnerSpecs[(x-55)%3]
		ip, asn, cc = randomPublic(r), 65000+uint32(r.IntN(400)), s.cc
	default:
		ip, asn, cc = randomPublic(r), 1+uint32(r.IntN(60000)), otherCountries[r.IntN(len(otherCountries))]
	}
	if r.Float64() < g.bare {
		asn, cc = 0, ""
	}
	g.ts += int64(r.IntN(2))
	b = append(b, `"2024-05-01 `...)
	h, m, s := (g.ts/3600)%24, (g.ts/60)%60, g.ts%60
	b = append(b, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+s/10), byte('0'+s%10))
	b = append(b, `","`...)
	b = ip.AppendTo(b)
	b = append(b, `","tcp",`...)
	b = strconv.AppendInt(b, int64([]int{23, 23, 23, 2323}[r.IntN(4)]), 10)
	b = append(b, `,"`...)
	if ip.Is4() && r.IntN(3) > 0 {
		b = append(b, "host-"...)
		n := len(b)
		b = ip.AppendTo(b)
		for i := n; i < len(b); i++ {
			if b[i] == '.' {
				b[i] = '-'
			}
		}
		b = append(b, ".dyn.example.net"...)
	}
	b = append(b, `","telnet",`...)
	if asn != 0 {
		b = strconv.AppendUint(b, uint64(asn), 10)
	}
	b = append(b, `,"`...)
	b = append(b, cc...)
	b = append(b, `","REGION","CITY",517311,0,"Communications, Service Provider, and Hosting Service","|Login:"`...)
	b = append(b, '\n')
	return b
}

func randomIn(r *rand.Rand, p netip.Prefix) netip.Addr {
	a := p.Addr().As16()
	start := p.Bits()
	if p.Addr().Is4() {
		start += 96
	}
	for i := start; i < 128; i++ {
		if r.IntN(2) == 1 {
			a[i/8] |= 1 << (7 - i%8)
		}
	}
	ip := netip.AddrFrom16(a)
	if p.Addr().Is4() {
		return ip.Unmap()
	}
	return ip
}

// randomPublic draws an address outside our owners' and the partners' space:
// a tenth IPv6 in 2001:db8:f000::/36, the rest IPv4 in 1.0.0.0-99.255.255.255.
func randomPublic(r *rand.Rand) netip.Addr {
	if r.IntN(10) == 0 {
		return randomIn(r, netip.MustParsePrefix("2001:db8:f000::/36"))
	}
	return u32(1<<24 + r.Uint32N(99<<24))
}

// rirData makes a delegated-extended file of realistic size: 200,000 IPv4
// ranges (counts not all powers of two), 60,000 IPv6 /56s and 80,000 AS
// ranges, in the space the reports draw from.
func rirData(seed uint64) *enrich.RIR {
	rng := rand.New(rand.NewPCG(seed, 3))
	var b strings.Builder
	b.WriteString("2.3|bench|20240501|340000|19830613|20240430|+0000\n")
	ccs := append([]string{"CN", "JP", "KR"}, otherCountries...)
	next := uint32(1 << 24)
	for range 200000 {
		block := uint32(256 << rng.IntN(6))
		next = (next + block - 1) &^ (block - 1) // registries delegate aligned blocks
		count := block
		if rng.IntN(4) == 0 {
			count = block / 4 * 3 // 768, 1536…: not a power of two, cut into two prefixes
		}
		fmt.Fprintf(&b, "bench|%s|ipv4|%s|%d|20100101|allocated|x\n", ccs[rng.IntN(len(ccs))], u32(next), count)
		next += count + uint32(rng.IntN(4))*256
		if next > 99<<24 {
			break
		}
	}
	for i := range 60000 {
		fmt.Fprintf(&b, "bench|%s|ipv6|2001:db8:f%03x:%02x00::|56|20100101|allocated|x\n", ccs[rng.IntN(len(ccs))], i>>8, i&0xff)
	}
	asn := uint32(1)
	for range 80000 {
		n := 1 + uint32(rng.IntN(4))
		fmt.Fprintf(&b, "bench|%s|asn|%d|%d|20100101|allocated|x\n", ccs[rng.IntN(len(ccs))], asn, n)
		asn += n + uint32(rng.IntN(3))
	}
	rb := enrich.NewRIRBuilder()
	if _, err := rb.Add(strings.NewReader(b.String()), "bench"); err != nil {
		panic(err)
	}
	rir, err := rb.Build()
	if err != nil {
		panic(err)
	}
	return rir
}
