package intelmq

import (
	"bytes"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/feed"
	"csirtlink/internal/taxonomy"
	"csirtlink/internal/tlp"
)

var reg = feed.NewRegistry(Format{})

func parse(t testing.TB, data []byte, cfg feed.Config) ([]feed.Event, feed.Stats, error) {
	p, err := reg.Open(bytes.NewReader(data), cfg)
	if err != nil {
		return nil, feed.Stats{}, err
	}
	var evs []feed.Event
	for ev, err := range feed.All(p, 3) {
		if err != nil {
			return nil, feed.Stats{}, err
		}
		evs = append(evs, *ev)
	}
	st := p.Stats()
	if st.Rows != st.Events+st.Malformed || st.Events != int64(len(evs)) {
		t.Fatalf("stats %+v for %d events", st, len(evs))
	}
	return evs, st, nil
}

func TestEvents(t *testing.T) {
	data, err := os.ReadFile("testdata/events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	evs, st, err := parse(t, data, feed.Config{Feed: "intelmq-jp"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != 11 || st.Events != 4 || st.Malformed != 7 || st.Unclassified != 1 {
		t.Fatalf("stats = %+v", st)
	}
	wantErrs := []feed.RowError{
		{Line: 5, Field: "source.ip"}, {Line: 6}, {Line: 7, Field: "source.port"}, {Line: 8, Field: "time.source"},
		{Line: 9, Field: "source.port"}, {Line: 11}, {Line: 12, Field: "source.geolocation.cc"},
	}
	for i, e := range st.Errors {
		if i >= len(wantErrs) || e.Line != wantErrs[i].Line || e.Field != wantErrs[i].Field {
			t.Errorf("error %d = %+v, want line %d field %q", i, e, wantErrs[i].Line, wantErrs[i].Field)
		}
	}
	e := evs[0]
	if e.Time != time.Date(2024, 5, 1, 3, 0, 0, 0, time.UTC) || e.IP != netip.MustParseAddr("203.0.113.5") ||
		e.Port != 49152 || e.ASN != 64502 || e.ASNFrom != feed.OriginFeed || e.Country != "KR" ||
		e.Classification != "malicious-code/infected-system" || e.Identifier != "andromeda" || e.Protocol != "tcp" ||
		e.Feed != "Shadowserver Sinkhole" || e.TLP != tlp.Amber || e.Line != 1 || !strings.HasPrefix(e.Raw, `{"feed.name"`) {
		t.Errorf("first event: %+v", e)
	}
	if e := evs[1]; e.Time.Nanosecond() != 250000000 || e.IP != netip.MustParseAddr("2001:db8:1::42") ||
		e.Hostname != "h42.example.jp" || e.TLP != tlp.Red || e.Feed != "intelmq-jp" {
		t.Errorf("IPv6 event with its own TLP: %+v", e)
	}
	// No source.ip: the event is about its URL's host; WHITE (TLP 1.0) is
	// CLEAR and cannot loosen the run's AMBER.
	if e := evs[2]; e.IP.IsValid() || e.Domain != "phish.example.cn" || e.URL != "http://Phish.Example.CN/login" ||
		e.TLP != tlp.Amber || e.Classification != "fraud/phishing" || e.Time != time.Date(2024, 5, 1, 3, 0, 2, 0, time.UTC) {
		t.Errorf("URL event: %+v", e)
	}
	// Hierarchical output, a string ASN, a lower-case country, a pre-RSIT type.
	if e := evs[3]; e.IP != netip.MustParseAddr("192.0.2.33") || e.ASN != 64500 || e.Country != "CN" ||
		e.Classification != feed.Unclassified {
		t.Errorf("hierarchical event: %+v", e)
	}
}

func TestObservedTimeAndDefaultClass(t *testing.T) {
	obs := time.Date(2024, 6, 1, 12, 0, 0, 0, time.FixedZone("JST", 9*3600))
	evs, st, err := parse(t, []byte(`{"source.ip":"192.0.2.1"}`+"\n"), feed.Config{Observed: obs, Classification: "vulnerable/vulnerable-system"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("events %v, err %v, stats %+v", evs, err, st)
	}
	if !evs[0].Time.Equal(obs) || evs[0].Time.Location() != time.UTC || evs[0].Classification != "vulnerable/vulnerable-system" || st.Unclassified != 0 {
		t.Errorf("event: %+v", evs[0])
	}
}

func TestDetect(t *testing.T) {
	if s := (Format{}).Detect([]byte(`  {"source.ip": "192.0.2.1"}`)); s < 80 {
		t.Errorf("harmonized line scored %d", s)
	}
	if s := (Format{}).Detect([]byte("timestamp,ip\n")); s != 0 {
		t.Errorf("CSV scored %d", s)
	}
}

// FuzzParse: no panic on any line, rows counted once, events valid.
func FuzzParse(f *testing.F) {
	data, err := os.ReadFile("testdata/events.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range bytes.Split(data, []byte("\n")) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, _, err := parse(t, data, feed.Config{Format: "intelmq", MaxRecordBytes: 4096})
		if err != nil {
			return // only a broken gzip stream fails a run; bytes.Reader cannot
		}
		for _, ev := range evs {
			if ev.Time.IsZero() || taxonomy.Valid(ev.Classification) != nil || !ev.TLP.Valid() ||
				ev.TLP.Rank() < tlp.Amber.Rank() || (ev.IP.IsValid() && ev.IP.Is4In6()) {
				t.Fatalf("bad event %+v", ev)
			}
		}
	})
}
