package feedshare

import (
	"testing"

	"csirtlink/internal/feed"
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
		"time":           func(e *wire.FeedEvent) { e.Time = "yesterday" },
		"ip":             func(e *wire.FeedEvent) { e.IP = "198.51.100.300" },
		"ip zone":        func(e *wire.FeedEvent) { e.IP = "fe80::1%eth0" },
		"4in6":           func(e *wire.FeedEvent) { e.IP = "::ffff:198.51.100.7" },
		"no address":     func(e *wire.FeedEvent) { e.IP = "" },
		"country":        func(e *wire.FeedEvent) { e.Country = "jp" },
		"classification": func(e *wire.FeedEvent) { e.Classification = "botnet drone" },
		"tlp":            func(e *wire.FeedEvent) { e.TLP = "amber" },
		"feed control":   func(e *wire.FeedEvent) { e.Feed = "a\nb" },
		"bidi":           func(e *wire.FeedEvent) { e.Identifier = "x\u202ey" },
		"raw":            func(e *wire.FeedEvent) { e.Raw = "\xff" },
	}
	for name, mut := range bad {
		e := good
		mut(&e)
		if _, err := fromWire(e, &cls); err == nil {
			t.Errorf("%s: accepted %+v", name, e)
		}
	}
}

func FuzzFromWire(f *testing.F) {
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
		if taxonomy.Valid(ev.Classification) != nil || !ev.TLP.Valid() || (!ev.IP.IsValid() && ev.Domain == "" && ev.URL == "") {
			t.Fatalf("accepted %+v", ev)
		}
	})
}
