package csvmap

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/feed"
	"csirtlink/internal/taxonomy"
)

var reg = feed.NewRegistry(Format{})

const sensorMap = "time=ts, ip=src, port=dport, protocol=proto, country=cc, asn=as, hostname=rdns, classification=category"

func parse(t testing.TB, data []byte, cfg feed.Config) ([]feed.Event, feed.Stats, error) {
	cfg.Format = "csv"
	p, err := reg.Open(bytes.NewReader(data), cfg)
	if err != nil {
		return nil, feed.Stats{}, err
	}
	var evs []feed.Event
	for ev, err := range feed.All(p, 2) {
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

func TestSensorFile(t *testing.T) {
	data, err := os.ReadFile("testdata/sensor.csv")
	if err != nil {
		t.Fatal(err)
	}
	evs, st, err := parse(t, data, feed.Config{Map: sensorMap, Feed: "sensor"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != 5 || st.Events != 2 || st.Malformed != 3 || st.Unclassified != 1 {
		t.Fatalf("stats = %+v", st)
	}
	want := []feed.RowError{{Line: 4, Field: "dport"}, {Line: 5, Field: "category"}, {Line: 6, Field: "src"}}
	for i, e := range st.Errors {
		if e.Line != want[i].Line || e.Field != want[i].Field {
			t.Errorf("error %d = %+v, want line %d field %q", i, e, want[i].Line, want[i].Field)
		}
	}
	e := evs[0]
	if e.Time != time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC) || e.IP != netip.MustParseAddr("192.0.2.9") || e.Port != 445 ||
		e.ASN != 64500 || e.Country != "CN" || e.Hostname != "h9.example.cn" || e.Classification != "intrusion-attempts/exploit" ||
		e.Feed != "sensor" || e.Line != 2 {
		t.Errorf("first event: %+v", e)
	}
	if e := evs[1]; e.Time != time.Unix(1714554001, 0).UTC() || e.IP != netip.MustParseAddr("2001:db8::9") ||
		e.Classification != feed.Unclassified || e.CountryFrom != feed.OriginNone {
		t.Errorf("second event: %+v", e)
	}
}

func TestMappingErrorsNameTheKey(t *testing.T) {
	cases := []struct{ spec, key string }{
		{"", "ip"},
		{"time=ts", "ip"},
		{"ip=src,ip=src2", "ip"},
		{"ip=src,prot=proto", "prot"},
		{"ip=src,port", "port"},
		{"ip=src,port=", "port"},
		{"ip=" + strings.Repeat("x", 300), "ip"},
	}
	for _, c := range cases {
		_, err := ParseSpec(c.spec)
		var me *MappingError
		if !errors.As(err, &me) || me.Key != c.key {
			t.Errorf("ParseSpec(%q) = %v, want an error naming key %q", c.spec, err, c.key)
		}
	}
	// Checked against the header when the run starts, before any row.
	data, _ := os.ReadFile("testdata/sensor.csv")
	_, _, err := parse(t, data, feed.Config{Map: "ip=src,time=ts,port=dstport"})
	var me *MappingError
	if !errors.As(err, &me) || me.Key != "port" || !strings.Contains(err.Error(), `"dstport"`) {
		t.Errorf("unknown column: %v", err)
	}
	_, _, err = parse(t, data, feed.Config{Map: "ip=src"})
	if !errors.As(err, &me) || me.Key != "time" {
		t.Errorf("no time: %v", err)
	}
	// Without a time column, the observation time stands in.
	obs := time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)
	evs, _, err := parse(t, data, feed.Config{Map: "ip=src", Observed: obs})
	if err != nil || len(evs) != 4 || evs[0].Time != obs {
		t.Errorf("observed time: %v, %+v", err, evs)
	}
}

func TestSpecRoundTrip(t *testing.T) {
	s, err := ParseSpec(" port = dport , ip=src ")
	if err != nil || s.String() != "ip=src,port=dport" || s.Column("port") != "dport" {
		t.Fatalf("spec %q, err %v", s, err)
	}
}

// FuzzSpec: a mapping parses or fails with an error naming a key, and a parsed
// one writes back to an equal mapping.
func FuzzSpec(f *testing.F) {
	f.Add(sensorMap)
	f.Add("ip=,=x,,")
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := ParseSpec(spec)
		if err != nil {
			var me *MappingError
			if !errors.As(err, &me) {
				t.Fatalf("error %v is not a MappingError", err)
			}
			return
		}
		again, err := ParseSpec(s.String())
		if err != nil || again.String() != s.String() {
			t.Fatalf("round trip %q → %q: %v", s, again, err)
		}
	})
}

// FuzzParse: any body behind a mapped header; rows counted once, events valid.
func FuzzParse(f *testing.F) {
	data, _ := os.ReadFile("testdata/sensor.csv")
	f.Add(data, sensorMap)
	f.Add([]byte("a,b\n1,\"2\n"), "ip=a,time=b")
	f.Fuzz(func(t *testing.T, data []byte, spec string) {
		evs, _, err := parse(t, data, feed.Config{Map: spec, MaxRecordBytes: 1024})
		if err != nil {
			return
		}
		for _, ev := range evs {
			if ev.Time.IsZero() || taxonomy.Valid(ev.Classification) != nil || (!ev.IP.IsValid() && ev.Domain == "") {
				t.Fatalf("bad event %+v", ev)
			}
		}
	})
}
