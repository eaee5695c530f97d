package routequeue

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/feed"
	"csirtlink/internal/tlp"
)

func sampleEvents() []feed.Event {
	return []feed.Event{
		{Time: time.Date(2026, 5, 1, 10, 0, 0, 123, time.UTC), IP: netip.MustParseAddr("198.51.100.7"), Port: 23, ASN: 64500, Country: "JP",
			Hostname: "h.example", Domain: "isp.example", URL: "http://isp.example/x", Protocol: "tcp", Classification: "vulnerable/vulnerable-system",
			Identifier: "open-telnet", Report: "scan_telnet", Feed: "shadowserver", TLP: tlp.Amber, ASNFrom: feed.OriginFeed, CountryFrom: feed.OriginMMDB,
			Line: 2, Raw: `"2026-05-01 10:00:00",198.51.100.7,23,東京`},
		{IP: netip.MustParseAddr("2001:db8::1"), Classification: feed.Unclassified, TLP: tlp.Red, Line: 3, Raw: "x"},
		{Classification: feed.Unclassified, TLP: tlp.Clear},
		{Time: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), IP: netip.MustParseAddr("198.51.100.8"), Port: 23, Classification: feed.Unclassified,
			TLP: tlp.Green, Count: 42, LastSeen: time.Date(2026, 5, 1, 10, 59, 0, 7, time.UTC), Raw: "aggregated"},
	}
}

// v1Message is a batch as a node before aggregation encoded it (CLRQ1), kept to prove
// such messages, still queued during an upgrade, decode.
const v1Message = "Q0xSUTEAUwCs/wdydW4tb2xkAwEBwOajnw0ABMYzZAcXAAAAAgIAAAAAABx2dWxuZXJhYmxlL3Z1bG5lcmFibGUtc3lzdGVtAAtzY2FuX3RlbG5ldAAGdjEgcm93AQAA//8="

func TestVersion1MessagesStillDecode(t *testing.T) {
	msg, _ := base64.StdEncoding.DecodeString(v1Message)
	b, err := Decode(msg)
	if err != nil {
		t.Fatal(err)
	}
	want := feed.Event{Time: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), IP: netip.MustParseAddr("198.51.100.7"), Port: 23,
		Classification: "vulnerable/vulnerable-system", Report: "scan_telnet", TLP: tlp.Amber, Line: 2, Raw: "v1 row"}
	if b.RunID != "run-old" || b.Seq != 3 || len(b.Events) != 1 || !reflect.DeepEqual(b.Events[0], want) {
		t.Fatalf("v1 batch: %+v", b)
	}
	if !bytes.HasPrefix(mustEncode(t), []byte("CLRQ2")) {
		t.Error("this node does not write version 2")
	}
}

func mustEncode(t *testing.T) []byte {
	msg, err := Encode("r", 1, sampleEvents())
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestBatchRoundTrip(t *testing.T) {
	evs := sampleEvents()
	msg, err := Encode("run-abc", 7, evs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Decode(msg)
	if err != nil {
		t.Fatal(err)
	}
	if b.RunID != "run-abc" || b.Seq != 7 || b.ID() != "run-abc.7" {
		t.Fatalf("header: %+v", b)
	}
	if !reflect.DeepEqual(b.Events, evs) {
		t.Fatalf("events:\n got %+v\nwant %+v", b.Events, evs)
	}
}

func TestEncodeRefuses(t *testing.T) {
	for name, f := range map[string]func() error{
		"no run":    func() error { _, err := Encode("", 1, sampleEvents()); return err },
		"seq 0":     func() error { _, err := Encode("r", 0, sampleEvents()); return err },
		"no events": func() error { _, err := Encode("r", 1, nil); return err },
		"bad tlp":   func() error { _, err := Encode("r", 1, []feed.Event{{TLP: "PINK"}}); return err },
	} {
		if f() == nil {
			t.Errorf("%s: encoded", name)
		}
	}
}

func deflated(body string) []byte {
	var out bytes.Buffer
	out.Write(magic)
	zw, _ := flate.NewWriter(&out, flate.BestSpeed)
	zw.Write([]byte(body))
	zw.Close()
	return out.Bytes()
}

func TestDecodeRefusesWithTheField(t *testing.T) {
	good, _ := Encode("r", 1, sampleEvents()[2:])
	b, _ := Decode(good)
	_ = b
	for name, tc := range map[string]struct {
		msg  []byte
		want string
	}{
		"magic":                 {[]byte("nope"), "magic"},
		"truncated":             {good[:len(good)-3], "body"},
		"empty run":             {deflated("\x00\x01\x01"), "run id"},
		"seq 0":                 {deflated("\x01r\x00\x01"), "seq"},
		"no events":             {deflated("\x01r\x01\x00"), "events"},
		"too many":              {deflated("\x01r\x01\xff\xff\x7f"), "events"},
		"ip length":             {deflated("\x01r\x01\x01\x00\x05"), "ip"},
		"bomb":                  {deflated(strings.Repeat("\x00", MaxBodyBytes+10)), "inflates"},
		"last seen before time": {deflated("\x01r\x01\x01\x01\x02\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x01\x00\x00"), "last seen"},
	} {
		_, err := Decode(tc.msg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", name, err, tc.want)
		}
	}
}

// FuzzDecodeBatch: no input panics the decoder, and what it accepts encodes back to a
// message that decodes to the same batch.
func FuzzDecodeBatch(f *testing.F) {
	good, _ := Encode("run-1", 3, sampleEvents())
	f.Add(good)
	f.Add(deflated("\x01r\x01\x01\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("CLRQ1"))
	v1, _ := base64.StdEncoding.DecodeString(v1Message)
	f.Add(v1)
	f.Fuzz(func(t *testing.T, msg []byte) {
		b, err := Decode(msg)
		if err != nil {
			return
		}
		again, err := Encode(b.RunID, b.Seq, b.Events)
		if err != nil {
			t.Fatalf("decoded batch does not encode: %v", err)
		}
		b2, err := Decode(again)
		if err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		if !reflect.DeepEqual(b, b2) {
			t.Fatalf("round trip changed the batch")
		}
	})
}
