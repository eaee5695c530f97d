package feedshare

import (
	"strings"
	"testing"
	"time"

	"csirtlink/internal/feed"
	"csirtlink/internal/feedrun"
	"csirtlink/internal/taxonomy"
	"csirtlink/internal/wire"
)

func TestFromWireChecksEveryField(t *testing.T) {
	good := wire.FeedEvent{Time: "2026-12-01T03:00:00Z", IP: "198.51.100.7", Port: 23, Country: "JP", Classification: "vulnerable/vulnerable-system",
		Feed: "Shadowserver", Report: "scan_telnet", TLP: "AMBER", Raw: "x"}
	var cls feed.Classifier
	if ev, err := fromWire(good, &cls); err != nil || ev.IP.String() != "198.51.100.7" || ev.CountryFrom != feed.OriginFeed {
		t.Fatalf("a good event: %+v %v", ev, err)
	}
	bad := map[string]func(*wire.FeedEvent){
		"time":              func(e *wire.FeedEvent) { e.Time = "yesterday" },
		"ip":                func(e *wire.FeedEvent) { e.IP = "198.51.100.300" },
		"ip zone":           func(e *wire.FeedEvent) { e.IP = "fe80::1%eth0" },
		"4in6":              func(e *wire.FeedEvent) { e.IP = "::ffff:198.51.100.7" },
		"no address":        func(e *wire.FeedEvent) { e.IP = "" },
		"country":           func(e *wire.FeedEvent) { e.Country = "jp" },
		"classification":    func(e *wire.FeedEvent) { e.Classification = "botnet drone" },
		"tlp":               func(e *wire.FeedEvent) { e.TLP = "amber" },
		"feed control":      func(e *wire.FeedEvent) { e.Feed = "a\nb" },
		"bidi":              func(e *wire.FeedEvent) { e.Identifier = "x\u202ey" },
		"raw":               func(e *wire.FeedEvent) { e.Raw = "\xff" },
		"count alone":       func(e *wire.FeedEvent) { e.Count = 5 },
		"last seen alone":   func(e *wire.FeedEvent) { e.LastSeen = "2026-12-01T04:00:00Z" },
		"count of one":      func(e *wire.FeedEvent) { e.Count, e.LastSeen = 1, "2026-12-01T04:00:00Z" },
		"negative count":    func(e *wire.FeedEvent) { e.Count, e.LastSeen = -2, "2026-12-01T04:00:00Z" },
		"last before first": func(e *wire.FeedEvent) { e.Count, e.LastSeen = 2, "2026-12-01T02:00:00Z" },
		"last seen form":    func(e *wire.FeedEvent) { e.Count, e.LastSeen = 2, "tomorrow" },
	}
	for name, mut := range bad {
		e := good
		mut(&e)
		if _, err := fromWire(e, &cls); err == nil {
			t.Errorf("%s: accepted %+v", name, e)
		}
	}
}

// An aggregated event keeps its count and first and last seen across the wire, and a
// payload from a node that does not aggregate (no count, no last_seen) still decodes.
func TestAggregatedEventsCrossTheWire(t *testing.T) {
	first, last := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 3, 40, 0, 0, time.UTC)
	rec := feedrun.Record{Time: first, IP: "198.51.100.7", Port: 23, Classification: "vulnerable/vulnerable-system", TLP: "AMBER", Raw: "x",
		Count: 17, LastSeen: &last}
	b, err := wire.EncodeFeedEvent(toWire(rec))
	if err != nil {
		t.Fatal(err)
	}
	w, err := wire.DecodeFeedEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	var cls feed.Classifier
	ev, err := fromWire(w, &cls)
	if err != nil || ev.Count != 17 || !ev.Time.Equal(first) || !ev.LastSeen.Equal(last) {
		t.Fatalf("aggregated event: %+v %v", ev, err)
	}
	old := []byte(`{"v":1,"time":"2026-12-01T03:00:00Z","ip":"198.51.100.7","port":23,"classification":"vulnerable/vulnerable-system","tlp":"AMBER","raw":"x"}`)
	w, err = wire.DecodeFeedEvent(old)
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := fromWire(w, &cls); err != nil || ev.Count != 0 || !ev.LastSeen.IsZero() {
		t.Fatalf("old payload: %+v %v", ev, err)
	}
	single, _ := wire.EncodeFeedEvent(toWire(feedrun.Record{Time: first, IP: "198.51.100.7", Classification: "other/undetermined", TLP: "GREEN"}))
	if strings.Contains(string(single), "count") || strings.Contains(string(single), "last_seen") {
		t.Errorf("a single event carries aggregation fields: %s", single)
	}
}

func FuzzFromWire(f *testing.F) {
	f.Add([]byte(`{"v":1,"time":"2026-12-01T03:00:00Z","ip":"198.51.100.7","classification":"other/undetermined","tlp":"GREEN","count":3,"last_seen":"2026-12-01T03:30:00Z"}`))
	f.Add([]byte(`{"v":1,"time":"2026-12-01T03:00:00Z","ip":"2001:db8::1","classification":"other/undetermined","tlp":"GREEN","raw":"r"}`))
	f.Add([]byte(`{"v":1,"time":"2026-12-01T03:00:00Z","domain":"example.jp","classification":"fraud/phishing","tlp":"CLEAR"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := wire.DecodeFeedEvent(b)
		if err != nil {
			return
		}
		var cls feed.Classifier
		ev, err := fromWire(w, &cls)
		if err != nil {
			return
		}
		if taxonomy.Valid(ev.Classification) != nil || !ev.TLP.Valid() || (!ev.IP.IsValid() && ev.Domain == "" && ev.URL == "") ||
			ev.Count < 0 || (ev.Count > 1 && ev.LastSeen.Before(ev.Time)) {
			t.Fatalf("accepted %+v", ev)
		}
	})
}
