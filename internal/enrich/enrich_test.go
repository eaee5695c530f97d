package enrich

import (
	"encoding/json"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gaissmai/bart"
	"github.com/oschwald/maxminddb-golang/v2"

	"csirtlink/internal/feed"
)

// The MaxMind test databases and their source data are copied from
// ../shared/data/mmdb (MaxMind's MaxMind-DB test data, MIT or Apache-2.0;
// see testdata/mmdb/LICENSE-*).
const (
	asnDB     = "testdata/mmdb/GeoLite2-ASN-Test.mmdb"
	countryDB = "testdata/mmdb/GeoLite2-Country-Test.mmdb"
	rirFile   = "testdata/delegated-test-extended"
)

// knownAnswers reads a source-data file: a list of {network: record}.
func knownAnswers[T any](t *testing.T, path string) map[netip.Prefix]T {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]T
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	out := make(map[netip.Prefix]T)
	for _, m := range list {
		for k, v := range m {
			out[netip.MustParsePrefix(k).Masked()] = v
		}
	}
	return out
}

// probes returns the first and last address of every network, with the answer
// the source data gives for each: that of the most specific listed network
// holding it (the networks nest).
func probes[T any](answers map[netip.Prefix]T) map[netip.Addr]T {
	var tbl bart.Table[T]
	for p, v := range answers {
		tbl.Insert(p, v)
	}
	out := make(map[netip.Addr]T)
	for p := range answers {
		for _, ip := range []netip.Addr{p.Addr(), lastAddr(p)} {
			v, _ := tbl.Lookup(ip)
			out[ip.Unmap()] = v
		}
	}
	return out
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As16()
	bitsLen := p.Bits()
	if p.Addr().Is4() {
		bitsLen += 96
	}
	for i := bitsLen; i < 128; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		return a.Unmap()
	}
	return a
}

func TestMMDBKnownAnswers(t *testing.T) {
	e, err := Open(asnDB, countryDB)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	l := e.NewLookup()

	type asnRec struct {
		ASN uint32 `json:"autonomous_system_number"`
	}
	asns := probes(knownAnswers[asnRec](t, "testdata/mmdb/GeoLite2-ASN-Test.json"))
	type ccRec struct {
		Country struct {
			ISO string `json:"iso_code"`
		} `json:"country"`
		Registered struct {
			ISO string `json:"iso_code"`
		} `json:"registered_country"`
	}
	ccs := probes(knownAnswers[ccRec](t, "testdata/mmdb/GeoLite2-Country-Test.json"))
	if len(asns) < 500 || len(ccs) < 200 {
		t.Fatalf("only %d ASN and %d country probes", len(asns), len(ccs))
	}
	for pass := range 2 { // the second pass answers from the caches
		for ip, want := range asns {
			ev := feed.Event{IP: ip}
			l.Enrich(&ev)
			if ev.ASN != want.ASN || (ev.ASN != 0) != (ev.ASNFrom == feed.OriginMMDB) {
				t.Errorf("pass %d: ASN of %s = %d (%v), want %d", pass, ip, ev.ASN, ev.ASNFrom, want.ASN)
			}
		}
		for ip, want := range ccs {
			ev := feed.Event{IP: ip}
			l.Enrich(&ev)
			cc := want.Country.ISO
			if cc == "" {
				cc = want.Registered.ISO
			}
			if ev.Country != cc || (cc != "") != (ev.CountryFrom == feed.OriginMMDB) {
				t.Errorf("pass %d: country of %s = %q (%v), want %q", pass, ip, ev.Country, ev.CountryFrom, cc)
			}
		}
	}
	if l.Errors != 0 {
		t.Errorf("%d lookup errors", l.Errors)
	}
	// Spot checks straight from the source data.
	for ip, want := range map[string]uint32{"1.0.0.1": 15169, "1.128.0.0": 1221, "12.81.92.7": 7018} {
		ev := feed.Event{IP: netip.MustParseAddr(ip)}
		l.Enrich(&ev)
		if ev.ASN != want {
			t.Errorf("ASN of %s = %d, want %d", ip, ev.ASN, want)
		}
	}
	ev := feed.Event{IP: netip.MustParseAddr("2.125.160.217")}
	l.Enrich(&ev)
	if ev.Country != "GB" {
		t.Errorf("country of 2.125.160.217 = %q, want GB", ev.Country)
	}
}

func TestFeedColumnsWin(t *testing.T) {
	e, err := Open(asnDB, countryDB, rirFile)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	l := e.NewLookup()
	ev := feed.Event{IP: netip.MustParseAddr("1.0.0.1"), ASN: 64500, ASNFrom: feed.OriginFeed, Country: "CN", CountryFrom: feed.OriginFeed}
	l.Enrich(&ev)
	if ev.ASN != 64500 || ev.ASNFrom != feed.OriginFeed || ev.Country != "CN" || ev.CountryFrom != feed.OriginFeed {
		t.Errorf("the feed's columns were overwritten: %+v", ev)
	}
	// Not in the country database: the RIR range answers.
	ev = feed.Event{IP: netip.MustParseAddr("192.0.2.130")}
	l.Enrich(&ev)
	if ev.Country != "JP" || ev.CountryFrom != feed.OriginRIR || ev.ASN != 0 {
		t.Errorf("RIR fallback: %+v", ev)
	}
	// No address range known: the AS number's country.
	ev = feed.Event{IP: netip.MustParseAddr("203.0.113.1"), ASN: 64500, ASNFrom: feed.OriginFeed}
	l.Enrich(&ev)
	if ev.Country != "KR" || ev.CountryFrom != feed.OriginRIR {
		t.Errorf("AS fallback: %+v", ev)
	}
	// An event with no address at all (a URL event) can still get a country.
	ev = feed.Event{ASN: 64512}
	l.Enrich(&ev)
	if ev.Country != "JP" {
		t.Errorf("no address: %+v", ev)
	}
}

func TestRIR(t *testing.T) {
	f, err := os.Open(rirFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := NewRIRBuilder()
	st, err := b.Add(f, rirFile)
	if err != nil {
		t.Fatal(err)
	}
	if st != (RIRStats{IPv4: 3, IPv6: 2, ASN: 2, Skipped: 2}) {
		t.Errorf("stats = %+v", st)
	}
	r, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"192.0.2.0": "CN", "192.0.2.127": "CN", "192.0.2.128": "JP", "192.0.2.191": "JP", "192.0.2.192": "",
		"198.51.100.0": "KR", "198.51.102.255": "KR", "198.51.103.0": "", "203.0.113.5": "",
		"2001:db8:ffff::1": "CN", "2001:db8:1000::1": "JP", "2001:db8:1fff:ffff::": "JP", "2001:db9::": "",
		"::ffff:192.0.2.1": "CN",
	}
	for ip, want := range cases {
		got, ok := r.Country(netip.MustParseAddr(ip))
		if got != want || ok != (want != "") {
			t.Errorf("Country(%s) = %q %v, want %q", ip, got, ok, want)
		}
	}
	for asn, want := range map[uint32]string{64496: "KR", 64511: "KR", 64512: "JP", 64495: "", 64513: "", 64520: ""} {
		if got, _ := r.CountryOfASN(asn); got != want {
			t.Errorf("CountryOfASN(%d) = %q, want %q", asn, got, want)
		}
	}
}

func TestRangePrefixes(t *testing.T) {
	cases := []struct {
		start string
		count uint64
		want  []string
	}{
		{"1.0.16.0", 4096, []string{"1.0.16.0/20"}},
		{"198.51.100.0", 768, []string{"198.51.100.0/23", "198.51.102.0/24"}},
		{"10.0.0.1", 3, []string{"10.0.0.1/32", "10.0.0.2/31"}},
		{"0.0.0.0", 1 << 32, []string{"0.0.0.0/0"}},
		{"255.255.255.255", 1, []string{"255.255.255.255/32"}},
		{"192.0.2.0", 1000, []string{"192.0.2.0/23", "192.0.4.0/24", "192.0.5.0/25", "192.0.5.128/26", "192.0.5.192/27", "192.0.5.224/29"}},
	}
	for _, c := range cases {
		var got []string
		for _, p := range rangePrefixes(ipv4ToUint(netip.MustParseAddr(c.start)), c.count) {
			got = append(got, p.String())
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("rangePrefixes(%s, %d) = %v, want %v", c.start, c.count, got, c.want)
		}
	}
}

func TestRIRErrorsNameLineAndField(t *testing.T) {
	cases := map[string]string{
		"apnic|CN|ipv4|192.0.2.0|0|20100101|allocated":        "line 1: value",
		"apnic|CN|ipv4|192.0.2.x|256|20100101|allocated":      "line 1: start",
		"apnic|CN|ipv4|255.255.255.0|512|20100101|allocated":  "line 1: value",
		"apnic|CN|ipv6|2001:db8::1|32|20100101|allocated":     "line 1: start",
		"apnic|CN|ipv6|2001:db8::|129|20100101|allocated":     "line 1: value",
		"apnic|CN|asn|4294967295|2|20100101|allocated":        "line 1: value",
		"apnic|CN|fax|1|1|20100101|allocated":                 "line 1: type",
		"apnic|CN|asn|1|1|20100101|stolen":                    "line 1: status",
		"apnic|China|asn|1|1|20100101|allocated":              "line 1: cc",
		"# ok\napnic|CN|asn|1":                                "line 2: record",
		"apnic|CN|asn|1|" + strings.Repeat("9", 2000) + "|x|": "line 1:",
	}
	for in, want := range cases {
		_, err := NewRIRBuilder().Add(strings.NewReader(in), "f")
		if err == nil || !strings.Contains(err.Error(), "f: "+want) {
			t.Errorf("%.60q: err = %v, want %q", in, err, want)
		}
	}
	b := NewRIRBuilder()
	b.Add(strings.NewReader("ripencc|NL|asn|100|10|20100101|allocated\n"), "a")
	b.Add(strings.NewReader("arin|US|asn|105|1|20100101|allocated\n"), "b")
	if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Errorf("overlapping AS ranges: %v", err)
	}
}

func TestWrongDatabaseKind(t *testing.T) {
	asn, err := maxminddb.Open(asnDB)
	if err != nil {
		t.Fatal(err)
	}
	defer asn.Close()
	if _, err := New(Sources{Country: asn}); err == nil || !strings.Contains(err.Error(), "country database") {
		t.Errorf("an ASN database as the country database: %v", err)
	}
	if _, err := Open("testdata/missing.mmdb", ""); err == nil || !strings.Contains(err.Error(), "asn database") {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzRIR: no panic on any file; what loads answers only with valid codes.
func FuzzRIR(f *testing.F) {
	data, err := os.ReadFile(rirFile)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("x|CN|ipv4|10.0.0.0|3|d|assigned\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b := NewRIRBuilder()
		if _, err := b.Add(strings.NewReader(string(data)), "fuzz"); err != nil {
			return
		}
		r, err := b.Build()
		if err != nil {
			return
		}
		for _, ip := range []string{"10.0.0.1", "192.0.2.1", "2001:db8::1"} {
			if cc, ok := r.Country(netip.MustParseAddr(ip)); ok && (len(cc) != 2 || strings.ToUpper(cc) != cc) {
				t.Fatalf("country %q", cc)
			}
		}
	})
}
