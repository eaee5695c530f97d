package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"csirtlink/internal/enrich"
	"csirtlink/internal/feed"
	"csirtlink/internal/feed/formats"
	"csirtlink/internal/route"
)

// report makes a Shadowserver-style scan report: rows cycling through our
// owners' networks, the partners' documentation ranges, an address only the
// MaxMind test database knows, and unknown space; every 50th row malformed.
func report(n int) string {
	var b strings.Builder
	b.WriteString(`"timestamp","ip","protocol","port","hostname","tag","asn","geo","region","city","naics","sic"` + "\n")
	addrs := []struct{ ip, asn, geo string }{
		{"100.64.%d.%d", "64600", "ZZ"}, // owner isp (and uni for 100.64.8.x)
		{"192.0.2.%d", "64500", "CN"},   // partner cn by network (%d twice: see below)
		{"198.51.100.%d", "", ""},       // partner jp by network
		{"203.0.114.%d", "64501", "JP"}, // partner jp by ASN
		{"203.0.115.%d", "", "KR"},      // partner kr by country
		{"1.0.0.%d", "", ""},            // enriched: AS15169 from the test database; unrouted
		{"2001:db8:a000:1::%x", "", ""}, // owner uni, IPv6
		{"2001:db8:ffff::%x", "", ""},   // unrouted IPv6
		{"100.64.8.%d", "", ""},         // owner uni
		{"192.0.2.%d", "64500", "CN"},   // cn again
	}
	for i := range n {
		line := i + 2
		if i%50 == 49 {
			fmt.Fprintf(&b, "\"2024-05-01 00:00:00\",\"not-an-ip-%d\",\"tcp\",23,,\"telnet\",,,,,,\n", line)
			continue
		}
		a := addrs[i%len(addrs)]
		ip := a.ip
		if strings.Count(ip, "%") == 2 {
			ip = fmt.Sprintf(ip, (i/7)%8, i%256)
		} else {
			ip = fmt.Sprintf(ip, i%256)
		}
		fmt.Fprintf(&b, "\"2024-05-01 00:%02d:%02d\",\"%s\",\"tcp\",23,,\"telnet\",%s,\"%s\",,,,\n", (i/60)%60, i%60, ip, a.asn, a.geo)
	}
	return b.String()
}

func testRouter(t testing.TB) *route.Router {
	pfx := netip.MustParsePrefix
	x, err := route.Build([]route.Owner{
		{ID: "isp", Networks: []netip.Prefix{pfx("100.64.0.0/16")}},
		{ID: "uni", Networks: []netip.Prefix{pfx("100.64.8.0/24"), pfx("2001:db8:a000:1::/64")}},
	}, []route.Partner{
		{ID: "cn", Countries: []string{"CN"}, Networks: []netip.Prefix{pfx("192.0.2.0/24")}},
		{ID: "jp", Countries: []string{"JP"}, Networks: []netip.Prefix{pfx("198.51.100.0/24")}, ASNs: []uint32{64501}},
		{ID: "kr", Countries: []string{"KR"}, Networks: []netip.Prefix{pfx("203.0.113.0/24")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return route.NewRouter(x)
}

func testEnricher(t testing.TB) *enrich.Enricher {
	e, err := enrich.Open("../../enrich/testdata/mmdb/GeoLite2-ASN-Test.mmdb", "../../enrich/testdata/mmdb/GeoLite2-Country-Test.mmdb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func open(t testing.TB, in string, batch int) feed.Parser {
	p, err := formats.Registry().Open(strings.NewReader(in), feed.Config{Report: "scan_telnet", BatchSize: batch})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// asIntelMQ rewrites the report as IntelMQ JSON lines: a parser without the
// split into rows and decoding, so Run's other path.
func asIntelMQ(t testing.TB, in string) string {
	p := open(t, in, 100)
	var b strings.Builder
	for ev, err := range feed.All(p, 100) {
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, `{"time.source":%q,"source.ip":%q,"source.asn":%d,"source.geolocation.cc":%q}`+"\n",
			ev.Time.Format(time.RFC3339), ev.IP, ev.ASN, ev.Country)
		if ev.Line%50 == 0 {
			b.WriteString("{not json\n")
		}
	}
	return b.String()
}

func openAs(t testing.TB, in, format string, batch int) feed.Parser {
	p, err := formats.Registry().Open(strings.NewReader(in), feed.Config{Format: format, BatchSize: batch})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sequential routes the same input one event at a time: the reference.
func sequential(t *testing.T, p feed.Parser, e *enrich.Enricher, r *route.Router) Result {
	res := Result{Owners: map[string]int64{}, Partners: map[string]int64{}}
	l := e.NewLookup()
	for ev, err := range feed.All(p, 100) {
		if err != nil {
			t.Fatal(err)
		}
		l.Enrich(ev)
		res.Events++
		switch d := r.Route(ev); d.Kind {
		case route.ToOwner:
			res.RoutedOwners++
			res.Owners[d.ID]++
		case route.ToPartner:
			res.RoutedPartners++
			res.Partners[d.ID]++
		default:
			res.Unrouted++
		}
	}
	res.Parse = p.Stats()
	return res
}

func TestRunMatchesSequential(t *testing.T) {
	in := report(5000)
	e, r := testEnricher(t), testRouter(t)
	want := sequential(t, open(t, in, 100), e, r)
	if want.Parse.Malformed != 100 || want.Events != 4900 || want.Owners["uni"] == 0 || want.Partners["kr"] == 0 {
		t.Fatalf("the reference run is not what the report was made for: %+v", want)
	}
	for _, workers := range []int{1, 2, 4} {
		for _, batch := range []int{1, 7, 1024} {
			var prog Progress
			var sunk atomic.Int64
			got, err := Run(context.Background(), open(t, in, batch), e, r, Options{
				Workers: workers, BatchSize: batch, Progress: &prog,
				Sink: func(_ int, evs []feed.Event, ds []route.Decision) error {
					if len(evs) != len(ds) {
						return fmt.Errorf("%d events, %d decisions", len(evs), len(ds))
					}
					sunk.Add(int64(len(evs)))
					return nil
				},
			})
			if err != nil {
				t.Fatalf("workers %d batch %d: %v", workers, batch, err)
			}
			if got.Events != want.Events || got.RoutedOwners != want.RoutedOwners || got.RoutedPartners != want.RoutedPartners ||
				got.Unrouted != want.Unrouted || !maps.Equal(got.Owners, want.Owners) || !maps.Equal(got.Partners, want.Partners) {
				t.Errorf("workers %d batch %d:\n got  %+v\n want %+v", workers, batch, got, want)
			}
			// Decoded on several cores, the malformed rows still come in line order.
			if got.Parse.Malformed != 100 || !slices.Equal(got.Parse.Errors, want.Parse.Errors) || got.Parse.Errors[0].Line != 51 {
				t.Errorf("parse stats: %+v", got.Parse)
			}
			if got.ASNFromMMDB == 0 || got.Events != got.RoutedOwners+got.RoutedPartners+got.Unrouted {
				t.Errorf("enrichment or totals: %+v", got)
			}
			if sunk.Load() != got.Events || prog.Events.Load() != got.Events || prog.Unrouted.Load() != got.Unrouted ||
				prog.Malformed.Load() != 100 {
				t.Errorf("sink saw %d, progress %d/%d/%d", sunk.Load(), prog.Events.Load(), prog.Unrouted.Load(), prog.Malformed.Load())
			}
		}
	}
}

// TestSwapMidRun replaces the index while a run goes on: counts stay by id.
func TestSwapMidRun(t *testing.T) {
	in := report(3000)
	r := testRouter(t)
	var swapped atomic.Bool
	// One worker: its first batch is routed by the old index, every later
	// one by the new.
	res, err := Run(context.Background(), open(t, in, 64), nil, r, Options{Workers: 1, BatchSize: 64,
		Sink: func(int, []feed.Event, []route.Decision) error {
			if swapped.CompareAndSwap(false, true) {
				x, err := route.Build([]route.Owner{{ID: "everyone", Networks: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}}}, nil)
				if err != nil {
					return err
				}
				r.Swap(x)
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Owners["everyone"] < res.Events-64 || res.Events != res.RoutedOwners+res.RoutedPartners+res.Unrouted {
		t.Fatalf("result %+v", res)
	}
	var sum int64
	for _, n := range res.Owners {
		sum += n
	}
	for _, n := range res.Partners {
		sum += n
	}
	if sum != res.RoutedOwners+res.RoutedPartners {
		t.Fatalf("per-id counts %d != routed %d", sum, res.RoutedOwners+res.RoutedPartners)
	}
}

func TestSinkErrorStopsTheRun(t *testing.T) {
	boom := errors.New("store full")
	var calls atomic.Int64
	res, err := Run(context.Background(), open(t, report(20000), 100), nil, testRouter(t), Options{Workers: 2, BatchSize: 100,
		Sink: func(int, []feed.Event, []route.Decision) error {
			if calls.Add(1) == 3 {
				return boom
			}
			return nil
		}})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if res.Events >= 19600 {
		t.Errorf("the run went on after the sink failed: %d events", res.Events)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, open(t, report(1000), 10), nil, testRouter(t), Options{BatchSize: 10})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

// TestRunWithoutRowSplit runs a parser that reads whole batches itself
// (IntelMQ): the same counts as one event at a time.
func TestRunWithoutRowSplit(t *testing.T) {
	in := asIntelMQ(t, report(3000))
	e, r := testEnricher(t), testRouter(t)
	want := sequential(t, openAs(t, in, "intelmq", 100), e, r)
	if want.Parse.Malformed == 0 || want.Events < 2900 {
		t.Fatalf("reference: %+v", want.Parse)
	}
	if _, ok := openAs(t, in, "intelmq", 10).(feed.RowParser); ok {
		t.Fatal("the IntelMQ parser splits its rows: this test no longer covers the other path")
	}
	var prog Progress
	got, err := Run(context.Background(), openAs(t, in, "intelmq", 64), e, r, Options{Workers: 3, BatchSize: 64, Progress: &prog})
	if err != nil {
		t.Fatal(err)
	}
	if got.Events != want.Events || !maps.Equal(got.Owners, want.Owners) || !maps.Equal(got.Partners, want.Partners) ||
		got.Unrouted != want.Unrouted || got.Parse.Malformed != want.Parse.Malformed || prog.Malformed.Load() != want.Parse.Malformed {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}
