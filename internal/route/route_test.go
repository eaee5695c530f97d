package route

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"csirtlink/internal/feed"
)

func pfx(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// The constituency of the tests: we are a team with three owners; cn, jp and
// kr are partners with their documentation-range networks.
var (
	testOwners = []Owner{
		{ID: "isp", Networks: pfx("100.64.0.0/16", "2001:db8:a000::/36"), ASNs: []uint32{64600}, Domains: []string{"isp.example"}},
		{ID: "uni", Networks: pfx("100.64.8.0/24", "2001:db8:a000:1::/64"), Domains: []string{"Uni.Example", "例え.example"}},
		{ID: "hoster", ASNs: []uint32{64601}, Domains: []string{"hoster.example"}},
	}
	testPartners = []Partner{
		{ID: "cn", Countries: []string{"CN"}, Networks: pfx("192.0.2.0/24", "2001:db8:c000::/36"), Domains: []string{"cn"}},
		{ID: "jp", Countries: []string{"jp"}, Networks: pfx("198.51.100.0/24"), ASNs: []uint32{64501}, Domains: []string{"jp"}},
		{ID: "kr", Countries: []string{"KR"}, Networks: pfx("203.0.113.0/24")},
	}
)

func build(t *testing.T, owners []Owner, partners []Partner) *Index {
	t.Helper()
	x, err := Build(owners, partners)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestRouteOrder(t *testing.T) {
	x := build(t, testOwners, testPartners)
	ip := netip.MustParseAddr
	cases := []struct {
		name string
		ev   feed.Event
		want string
	}{
		{"IPv4, the most specific owner", feed.Event{IP: ip("100.64.8.9")}, "owner uni by network"},
		{"IPv4, the covering owner", feed.Event{IP: ip("100.64.9.9")}, "owner isp by network"},
		{"IPv6, the most specific owner", feed.Event{IP: ip("2001:db8:a000:1::5")}, "owner uni by network"},
		{"IPv6, the covering owner", feed.Event{IP: ip("2001:db8:a000:2::5")}, "owner isp by network"},
		{"network before ASN", feed.Event{IP: ip("100.64.8.9"), ASN: 64601}, "owner uni by network"},
		{"ASN when no network", feed.Event{IP: ip("203.0.114.1"), ASN: 64601}, "owner hoster by asn"},
		{"owner's ASN before partner's network", feed.Event{IP: ip("198.51.100.7"), ASN: 64600}, "owner isp by asn"},
		{"domain, parent, any case", feed.Event{IP: ip("203.0.114.1"), Domain: "WWW.Shop.Hoster.Example."}, "owner hoster by domain"},
		{"IDN owner domain matched in A-labels", feed.Event{Domain: "xn--r8jz45g.example"}, "owner uni by domain"},
		{"owner's domain before partner's network", feed.Event{IP: ip("192.0.2.1"), Domain: "a.uni.example"}, "owner uni by domain"},
		{"reverse DNS is not trusted", feed.Event{IP: ip("203.0.114.1"), Hostname: "x.isp.example"}, "unrouted"},
		{"partner network", feed.Event{IP: ip("192.0.2.1"), Country: "JP"}, "partner cn by network"},
		{"partner IPv6 network", feed.Event{IP: ip("2001:db8:c000::1")}, "partner cn by network"},
		{"partner ASN", feed.Event{IP: ip("203.0.114.1"), ASN: 64501, Country: "KR"}, "partner jp by asn"},
		{"partner ccTLD", feed.Event{Domain: "phish.example.jp", Country: "KR"}, "partner jp by domain"},
		{"partner country last", feed.Event{IP: ip("203.0.114.1"), Country: "KR"}, "partner kr by country"},
		{"nothing", feed.Event{IP: ip("203.0.114.1"), Country: "FR", ASN: 1}, "unrouted"},
		{"no address at all", feed.Event{}, "unrouted"},
	}
	for _, c := range cases {
		if got := x.Route(&c.ev).String(); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	d := x.Route(&feed.Event{IP: ip("100.64.8.9")})
	if x.Owners()[d.Index].ID != "uni" {
		t.Errorf("decision index %d points at %q", d.Index, x.Owners()[d.Index].ID)
	}
	if d := x.Route(&feed.Event{}); d.Index != -1 {
		t.Errorf("unrouted index = %d", d.Index)
	}
}

func TestConflictsAreDeterministicAndReported(t *testing.T) {
	owners := []Owner{
		{ID: "b-net", Networks: pfx("100.64.0.0/24"), ASNs: []uint32{64700}, Domains: []string{"shared.example"}},
		{ID: "a-net", Networks: pfx("100.64.0.0/24"), ASNs: []uint32{64700}},
		{ID: "c-net", Networks: pfx("100.64.0.0/24", "198.51.100.0/25"), ASNs: []uint32{64501}, Domains: []string{"shared.example"}},
	}
	partners := []Partner{
		{ID: "jp", Networks: pfx("198.51.100.0/24"), ASNs: []uint32{64501}, Countries: []string{"JP"}},
		{ID: "jp2", Networks: pfx("198.51.100.0/24", "198.51.100.128/26"), Countries: []string{"JP"}},
		{ID: "big", Networks: pfx("198.51.0.0/16")},
	}
	var first []string
	for round := range 5 {
		o, p := slices.Clone(owners), slices.Clone(partners)
		rand.Shuffle(len(o), func(i, j int) { o[i], o[j] = o[j], o[i] })
		rand.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
		x := build(t, o, p)
		var got []string
		for _, c := range x.Conflicts() {
			got = append(got, c.String())
		}
		if round == 0 {
			first = got
			for _, d := range []struct {
				ev   feed.Event
				want string
			}{
				{feed.Event{IP: netip.MustParseAddr("100.64.0.1")}, "owner a-net by network"},
				{feed.Event{ASN: 64700}, "owner a-net by asn"},
				{feed.Event{Domain: "shared.example"}, "owner b-net by domain"},
				{feed.Event{IP: netip.MustParseAddr("198.51.100.1")}, "owner c-net by network"},
				{feed.Event{IP: netip.MustParseAddr("198.51.100.129")}, "partner jp2 by network"},
				{feed.Event{IP: netip.MustParseAddr("198.51.100.200")}, "partner jp by network"},
				{feed.Event{IP: netip.MustParseAddr("198.51.7.1")}, "partner big by network"},
				{feed.Event{Country: "JP"}, "partner jp by country"},
			} {
				if got := x.Route(&d.ev).String(); got != d.want {
					t.Errorf("%+v: %s, want %s", d.ev, got, d.want)
				}
			}
			continue
		}
		if !slices.Equal(got, first) {
			t.Fatalf("conflicts depend on input order:\n%s\nvs\n%s", strings.Join(got, "\n"), strings.Join(first, "\n"))
		}
	}
	want := []string{
		"network 100.64.0.0/24: owner a-net; also claimed by owner b-net, owner c-net (the first owner by id)",
		"network 198.51.100.0/24: partner jp; also claimed by partner jp2 (the first partner by id)",
		"network 198.51.100.0/24: partner jp; also claimed by partner big (more specific than 198.51.0.0/16)",
		"network 198.51.100.0/25: owner c-net; also claimed by partner big (our owner first; inside the partner's 198.51.0.0/16)",
		"network 198.51.100.0/25: owner c-net; also claimed by partner jp (our owner first; inside the partner's 198.51.100.0/24)",
		"network 198.51.100.128/26: partner jp2; also claimed by partner big (more specific than 198.51.0.0/16)",
		"asn 64501: owner c-net; also claimed by partner jp (our owner first)",
		"asn 64700: owner a-net; also claimed by owner b-net (the first owner by id)",
		"domain shared.example: owner b-net; also claimed by owner c-net (the first owner by id)",
		"country JP: partner jp; also claimed by partner jp2 (the first partner by id)",
	}
	for _, w := range want {
		if !slices.ContainsFunc(first, func(s string) bool { return strings.HasPrefix(s, w) }) {
			t.Errorf("conflict %q not reported; got:\n%s", w, strings.Join(first, "\n"))
		}
	}
}

func TestBuildErrorsNameOwnerAndField(t *testing.T) {
	cases := []struct {
		owners   []Owner
		partners []Partner
		want     string
	}{
		{[]Owner{{ID: "", Networks: pfx("10.0.0.0/8")}}, nil, `owner "": id: required`},
		{[]Owner{{ID: "a", Networks: []netip.Prefix{netip.MustParsePrefix("10.1.2.3/8")}}}, nil, `owner "a": networks[0]: 10.1.2.3/8 has host bits set; did you mean 10.0.0.0/8?`},
		{[]Owner{{ID: "a", Networks: pfx("::ffff:10.0.0.0/104")}}, nil, `IPv4-mapped`},
		{[]Owner{{ID: "a", Networks: []netip.Prefix{{}}}}, nil, `owner "a": networks[0]: not a network`},
		{[]Owner{{ID: "a", ASNs: []uint32{0}}}, nil, `owner "a": asns[0]`},
		{[]Owner{{ID: "a", Domains: []string{"example"}}}, nil, `owner "a": domains[0]: "example": needs at least 2 labels`},
		{[]Owner{{ID: "a", Domains: []string{"192.0.2.1"}}}, nil, `an IP address`},
		{[]Owner{{ID: "a"}}, nil, `owner "a": networks: an owner needs`},
		{[]Owner{{ID: "a", ASNs: []uint32{1}}, {ID: "a", ASNs: []uint32{2}}}, nil, `owner "a": id: used twice`},
		{nil, []Partner{{ID: "jp", Countries: []string{"Japan"}}}, `partner "jp": countries[0]: "Japan"`},
		{nil, []Partner{{ID: "jp", Domains: []string{"a..jp"}}}, `partner "jp": domains[0]`},
	}
	for _, c := range cases {
		_, err := Build(c.owners, c.partners)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want %q", err, c.want)
		}
	}
}

// TestSwapUnderLoad routes from many goroutines while the index is swapped:
// every decision is the old index's or the new one's, never a mixture.
func TestSwapUnderLoad(t *testing.T) {
	before := build(t, []Owner{{ID: "old", Networks: pfx("100.64.0.0/10")}}, nil)
	after := build(t, []Owner{{ID: "new", Networks: pfx("100.64.0.0/10")}}, nil)
	r := NewRouter(before)
	var wg sync.WaitGroup
	var bad sync.Map
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := feed.Event{IP: netip.MustParseAddr("100.64.1.1")}
			for range 20000 {
				x := r.Index()
				if d := x.Route(&ev); d.ID != x.Owners()[0].ID {
					bad.Store(d.ID, true)
				}
			}
		}()
	}
	for i := range 200 {
		if i%2 == 0 {
			r.Swap(after)
		} else {
			r.Swap(before)
		}
	}
	wg.Wait()
	bad.Range(func(k, _ any) bool { t.Errorf("decision %v from a torn index", k); return true })
	if old := r.Swap(after); old != before && old != after {
		t.Error("Swap returned a stranger")
	}
	if r.Route(&feed.Event{IP: netip.MustParseAddr("100.64.1.1")}).ID != "new" {
		t.Error("the swapped-in index is not used")
	}
}

// FuzzLookupDomain checks the allocation-free lookup against the plain one.
func FuzzLookupDomain(f *testing.F) {
	f.Add("WWW.Example.JP.")
	f.Add("a..b.jp")
	m := map[string]int32{"jp": 1, "example.jp": 2, "b.c": 3}
	f.Fuzz(func(t *testing.T, name string) {
		got, gok := lookupDomain(m, name)
		want, wok := int32(0), false
		n := strings.TrimSuffix(name, ".")
		if n != "" && len(n) <= maxDomain {
			labels := strings.Split(asciiLower(n), ".")
			for i := range labels {
				if v, ok := m[strings.Join(labels[i:], ".")]; ok {
					want, wok = v, true
					break
				}
			}
		}
		if got != want || gok != wok {
			t.Fatalf("lookupDomain(%q) = %d %v, want %d %v", name, got, gok, want, wok)
		}
	})
}

func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}
