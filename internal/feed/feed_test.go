package feed

import (
	"bufio"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	want := time.Date(2024, 5, 1, 0, 1, 2, 0, time.UTC)
	for _, s := range []string{
		"2024-05-01 00:01:02", "2024-05-01T00:01:02", "2024-05-01T00:01:02Z", "2024-05-01T00:01:02+00:00",
		"2024-05-01T09:01:02+09:00", "2024-05-01 00:01:02.000Z", "1714521662",
	} {
		got, err := ParseTime(s)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "2024-02-30 00:00:00", "2024-05-01 24:00:00", "yesterday", "1900-01-01T00:00:00Z", "-5"} {
		if _, err := ParseTime(s); err == nil {
			t.Errorf("ParseTime(%q): no error", s)
		}
	}
	if got, err := ParseTime("2024-02-29 12:00:00"); err != nil || got.Day() != 29 {
		t.Errorf("leap day: %v, %v", got, err)
	}
}

func TestValues(t *testing.T) {
	if ip, err := ParseIP("::ffff:192.0.2.1"); err != nil || !ip.Is4() {
		t.Errorf("4in6: %v, %v", ip, err)
	}
	for _, bad := range []string{"fe80::1%eth0", "192.0.2", ""} {
		if _, err := ParseIP(bad); err == nil {
			t.Errorf("ParseIP(%q): no error", bad)
		}
	}
	if p, err := ParsePort("65535"); err != nil || p != 65535 {
		t.Errorf("port: %v %v", p, err)
	}
	for _, bad := range []string{"65536", "-1", "1.5", "99999999999"} {
		if _, err := ParsePort(bad); err == nil {
			t.Errorf("ParsePort(%q): no error", bad)
		}
	}
	if a, err := ParseASN("as4200000000"); err != nil || a != 4200000000 {
		t.Errorf("asn: %v %v", a, err)
	}
	if _, err := ParseASN("4294967296"); err == nil {
		t.Error("ASN over 32 bits accepted")
	}
	if c, ok := CountryCode("jP"); !ok || c != "JP" {
		t.Errorf("CountryCode = %q %v", c, ok)
	}
	for _, bad := range []string{"J", "JPN", "J1", "é"} {
		if _, ok := CountryCode(bad); ok {
			t.Errorf("CountryCode(%q) accepted", bad)
		}
	}
	hosts := map[string]string{
		"http://Phish.Example.CN/login":  "phish.example.cn",
		"https://u:p@a.example.jp:8443/": "a.example.jp",
		"http://192.0.2.1/x":             "",
		"http://[2001:db8::1]/":          "",
		"example.jp/no-scheme":           "",
	}
	for in, want := range hosts {
		if got := HostOfURL(in); got != want {
			t.Errorf("HostOfURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// fake is a format that scores every input the same.
type fake struct {
	name  string
	score int
}

func (f fake) Name() string                                    { return f.name }
func (f fake) Detect([]byte) int                               { return f.score }
func (f fake) NewParser(*bufio.Reader, Config) (Parser, error) { return nil, nil }

func TestRegistryDetect(t *testing.T) {
	r := NewRegistry(fake{"a", 50}, fake{"b", 50}, fake{"c", 10})
	if _, err := r.Detect([]byte("x")); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("tie: %v", err)
	}
	r = NewRegistry(fake{"a", 50}, fake{"b", 60})
	if f, err := r.Detect([]byte("x")); err != nil || f.Name() != "b" {
		t.Errorf("best: %v, %v", f, err)
	}
	defer func() {
		if recover() == nil {
			t.Error("a duplicate name did not panic")
		}
	}()
	NewRegistry(fake{"a", 1}, fake{"a", 2})
}

func TestConfigNormalize(t *testing.T) {
	c, err := Config{}.Normalize()
	if err != nil || c.TLP != "AMBER" || c.BatchSize != DefaultBatchSize || c.MaxRecordBytes != DefaultMaxRecordBytes {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	_, err = Config{BatchSize: -1, MaxRecordBytes: 1, MaxErrors: -2, Report: "../x"}.Normalize()
	for _, field := range []string{"batch_size", "max_record_bytes", "max_errors", "report"} {
		if err == nil || !strings.Contains(err.Error(), field+":") {
			t.Errorf("error %v does not name %s", err, field)
		}
	}
}

func TestFastPathsAgree(t *testing.T) {
	for _, s := range []string{"0.0.0.0", "255.255.255.255", "192.0.2.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "256.1.1.1",
		"1..2.3", "1.2.3.", ".1.2.3", "1.2.3.4 ", "1.2.3.-4", "1.2.3.04", "10.0.0.0"} {
		fast, ok := parseIPv4(s)
		slow, err := netip.ParseAddr(s)
		if ok != (err == nil && slow.Is4()) || (ok && fast != slow) {
			t.Errorf("parseIPv4(%q) = %v %v; netip: %v %v", s, fast, ok, slow, err)
		}
	}
	for y := 1970; y <= 2400; y += 7 {
		for m := 1; m <= 12; m++ {
			for _, d := range []int{1, 28, daysIn(m, y)} {
				want := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Unix() / 86400
				if got := daysFromCivil(y, m, d); got != want {
					t.Fatalf("daysFromCivil(%d, %d, %d) = %d, want %d", y, m, d, got, want)
				}
			}
		}
	}
}

func FuzzParseIP(f *testing.F) {
	f.Add("192.0.2.1")
	f.Add("2001:db8::1")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseIP(s)
		want, werr := netip.ParseAddr(s)
		if werr == nil && want.Zone() == "" {
			if err != nil || got != want.Unmap() {
				t.Fatalf("ParseIP(%q) = %v %v, netip %v", s, got, err, want)
			}
		} else if err == nil {
			t.Fatalf("ParseIP(%q) = %v, netip refused: %v", s, got, werr)
		}
	})
}

func TestStatsAddKeepsTheFirstErrorsByLine(t *testing.T) {
	var a, b, total Stats
	for _, l := range []int64{5, 9, 12} {
		a.Fail(3, l, "", "x")
	}
	for _, l := range []int64{2, 7, 30} {
		b.Fail(3, l, "", "y")
	}
	total.Add(&a, 3)
	total.Add(&b, 3)
	var lines []int64
	for _, e := range total.Errors {
		lines = append(lines, e.Line)
	}
	if total.Malformed != 6 || total.Rows != 6 || fmt.Sprint(lines) != "[2 5 7]" {
		t.Fatalf("merged: %+v", total)
	}
}
