package formats

import (
	"bytes"
	"compress/gzip"
	"slices"
	"strings"
	"testing"

	"csirtlink/internal/feed"
)

func TestFrontDoor(t *testing.T) {
	reg := Registry()
	if got := reg.Names(); !slices.Equal(got, []string{"csv", "intelmq", "shadowserver"}) {
		t.Fatalf("names = %v", got)
	}
	gz := func(s string) string {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.String()
	}
	ss := "\"timestamp\",\"ip\",\"port\"\n\"2024-05-01 00:00:00\",\"192.0.2.1\",23\n"
	im := `{"time.source":"2024-05-01T00:00:00+00:00","source.ip":"192.0.2.1"}` + "\n"
	cases := []struct {
		name, in string
		cfg      feed.Config
		want     string // the error's text, or "" for one event
	}{
		{"shadowserver detected", ss, feed.Config{}, ""},
		{"shadowserver with BOM, gzipped", gz("\xEF\xBB\xBF" + ss), feed.Config{}, ""},
		{"intelmq detected", im, feed.Config{}, ""},
		{"intelmq gzipped", gz(im), feed.Config{}, ""},
		{"csv needs naming", "src,ts\n192.0.2.1,2024-05-01 00:00:00\n", feed.Config{}, "not recognised"},
		{"csv named", "src,ts\n192.0.2.1,2024-05-01 00:00:00\n", feed.Config{Format: "csv", Map: "ip=src,time=ts"}, ""},
		{"unknown format", ss, feed.Config{Format: "stix"}, `unknown format "stix"`},
		{"bad tlp", ss, feed.Config{TLP: "PURPLE"}, "tlp:"},
		{"bad classification", ss, feed.Config{Classification: "bad/worse"}, "classification:"},
		{"bad gzip", "\x1f\x8b\x00junk", feed.Config{}, "gzip"},
	}
	for _, c := range cases {
		p, err := reg.Open(strings.NewReader(c.in), c.cfg)
		if c.want != "" {
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		n := 0
		for ev, err := range feed.All(p, 10) {
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if ev.IP.String() != "192.0.2.1" {
				t.Errorf("%s: event %+v", c.name, ev)
			}
			n++
		}
		if n != 1 {
			t.Errorf("%s: %d events", c.name, n)
		}
	}
}

// FuzzOpen: the front door never panics, on any bytes, compressed or not.
func FuzzOpen(f *testing.F) {
	f.Add([]byte("\"timestamp\",\"ip\"\n\"2024-05-01 00:00:00\",\"192.0.2.1\"\n"))
	f.Add([]byte(`{"source.ip":"192.0.2.1","time.source":"2024-05-01T00:00:00Z"}`))
	f.Add([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"))
	reg := Registry()
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := reg.Open(bytes.NewReader(data), feed.Config{MaxRecordBytes: 1024})
		if err != nil {
			return
		}
		for _, err := range feed.All(p, 4) {
			if err != nil {
				return
			}
		}
	})
}

func TestEmptyBatchIsAnError(t *testing.T) {
	for _, c := range []struct{ in, format, m string }{
		{"\"timestamp\",\"ip\"\n\"2024-05-01 00:00:00\",\"192.0.2.1\"\n", "shadowserver", ""},
		{`{"source.ip":"192.0.2.1","time.source":"2024-05-01T00:00:00Z"}` + "\n", "intelmq", ""},
		{"ip,ts\n192.0.2.1,2024-05-01 00:00:00\n", "csv", "ip=ip,time=ts"},
	} {
		p, err := Registry().Open(strings.NewReader(c.in), feed.Config{Format: c.format, Map: c.m})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Read(&feed.Batch{}); err != feed.ErrNoRoom {
			t.Errorf("%s: Read into an empty batch = %v", c.format, err)
		}
	}
}
