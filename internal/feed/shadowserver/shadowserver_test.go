package shadowserver

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/feed"
	"csirtlink/internal/taxonomy"
	"csirtlink/internal/tlp"
)

var reg = feed.NewRegistry(Format{})

// parseFile reads a testdata file through the front door, detecting the
// format and taking the report type from the file name, as an upload would.
func parseFile(t *testing.T, name string, cfg feed.Config) ([]feed.Event, feed.Stats) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	cfg.FileName = name
	return parse(t, data, cfg)
}

func parse(t *testing.T, data []byte, cfg feed.Config) ([]feed.Event, feed.Stats) {
	t.Helper()
	p, err := reg.Open(bytes.NewReader(data), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var evs []feed.Event
	for ev, err := range feed.All(p, 2) { // small batches: rows cross batch edges
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, *ev)
	}
	st := p.Stats()
	if st.Rows != st.Events+st.Malformed {
		t.Fatalf("rows %d != events %d + malformed %d", st.Rows, st.Events, st.Malformed)
	}
	return evs, st
}

func TestScanTelnet(t *testing.T) {
	evs, st := parseFile(t, "2024-05-01-scan_telnet-asn-region.csv", feed.Config{Feed: "shadowserver-cn"})
	if st.Rows != 10 || st.Events != 5 || st.Malformed != 5 || st.UnknownReport != 0 {
		t.Fatalf("stats = %+v", st)
	}
	wantErrs := []feed.RowError{
		{Line: 6, Field: "ip"}, {Line: 7, Field: "port"}, {Line: 8}, {Line: 9, Field: "timestamp"}, {Line: 10},
	}
	for i, e := range st.Errors {
		if e.Line != wantErrs[i].Line || e.Field != wantErrs[i].Field || e.Msg == "" {
			t.Errorf("error %d = %+v, want line %d field %q", i, e, wantErrs[i].Line, wantErrs[i].Field)
		}
	}
	if len(st.Errors) != len(wantErrs) {
		t.Fatalf("errors = %v", st.Errors)
	}
	first := feed.Event{
		Time: time.Date(2024, 5, 1, 0, 1, 2, 0, time.UTC), IP: netip.MustParseAddr("192.0.2.10"), Port: 23,
		ASN: 64500, Country: "CN", Hostname: "host-10.example.cn", Protocol: "tcp",
		Classification: "vulnerable/vulnerable-system", Identifier: "open-telnet", Report: "scan_telnet",
		Feed: "shadowserver-cn", TLP: tlp.Amber, ASNFrom: feed.OriginFeed, CountryFrom: feed.OriginFeed, Line: 2,
		Raw: `"2024-05-01 00:01:02","192.0.2.10","tcp",23,"host-10.example.cn","telnet",64500,"CN","BEIJING","BEIJING",517311,0,"|Login:"`,
	}
	if evs[0] != first {
		t.Errorf("first event\n got  %+v\n want %+v", evs[0], first)
	}
	if evs[1].Port != 2323 || evs[1].Hostname != "" || !strings.Contains(evs[1].Raw, `""built-in shell""`) {
		t.Errorf("escaped-quote row: %+v", evs[1])
	}
	if evs[2].Line != 4 || !strings.HasSuffix(evs[2].Raw, "line two, with a comma\"") {
		t.Errorf("multi-line row: %+v", evs[2])
	}
	// "AS64500" and a lower-case country are read, not refused.
	if evs[3].ASN != 64500 || evs[3].Country != "CN" || evs[3].Line != 11 {
		t.Errorf("AS-prefixed row: %+v", evs[3])
	}
	v6 := evs[4]
	if v6.IP != netip.MustParseAddr("2001:db8:cafe::1") || v6.ASN != 0 || v6.ASNFrom != feed.OriginNone ||
		v6.Country != "" || v6.CountryFrom != feed.OriginNone {
		t.Errorf("IPv6 row without asn and geo: %+v", v6)
	}
}

func TestSinkholes(t *testing.T) {
	evs, st := parseFile(t, "2024-05-01-event4_sinkhole-geo.csv", feed.Config{})
	if st.Events != 3 || st.Malformed != 0 {
		t.Fatalf("stats = %+v", st)
	}
	// The infected host is the source; the sinkhole (dst_*) is not reported.
	e := evs[0]
	if e.IP != netip.MustParseAddr("203.0.113.5") || e.Port != 49152 || e.ASN != 64502 || e.Country != "KR" ||
		e.Classification != "malicious-code/infected-system" || e.Identifier != "andromeda" || e.Report != "event4_sinkhole" {
		t.Errorf("sinkhole event: %+v", e)
	}
	if evs[1].Hostname != "pc77.example.jp" || evs[1].Identifier != "b68-zeroaccess-2-32bit" || evs[1].Protocol != "udp" {
		t.Errorf("second sinkhole event: %+v", evs[1])
	}
	if evs[2].ASN != 0 || evs[2].Country != "" || evs[2].Port != 0 {
		t.Errorf("a row with empty src columns: %+v", evs[2])
	}

	evs, _ = parseFile(t, "2024-05-01-event6_sinkhole.csv", feed.Config{})
	if len(evs) != 1 || evs[0].IP != netip.MustParseAddr("2001:db8:1::42") ||
		evs[0].Classification != "malicious-code/infected-system" || evs[0].Identifier != "necurs" {
		t.Errorf("IPv6 sinkhole: %+v", evs)
	}
}

func TestDeviceAndHoneypot(t *testing.T) {
	evs, _ := parseFile(t, "2024-05-01-device_id-asn.csv", feed.Config{})
	if len(evs) != 1 || evs[0].Classification != "other/undetermined" || evs[0].Identifier != "device-id" ||
		evs[0].Port != 10443 || evs[0].Report != "device_id" {
		t.Errorf("device_id: %+v", evs)
	}
	evs, _ = parseFile(t, "2024-05-01-event4_honeypot_brute_force.csv", feed.Config{})
	if len(evs) != 1 || evs[0].Classification != "intrusion-attempts/brute-force" || evs[0].Identifier != "ssh-brute-force" ||
		evs[0].IP != netip.MustParseAddr("192.0.2.66") {
		t.Errorf("honeypot brute force: %+v", evs)
	}
}

func TestUnknownReportsAreKept(t *testing.T) {
	evs, st := parseFile(t, "2024-05-01-scan_quantum_toaster-asn.csv", feed.Config{})
	if len(evs) != 2 || st.UnknownReport != 2 || st.Malformed != 0 {
		t.Fatalf("events %d, stats %+v", len(evs), st)
	}
	// A scan report we do not list is still a vulnerable system, by its family.
	if evs[0].Classification != "vulnerable/vulnerable-system" || evs[0].Report != "scan_quantum_toaster" {
		t.Errorf("unknown scan: %+v", evs[0])
	}
	evs, st = parseFile(t, "2024-05-01-weather_balloon_sightings.csv", feed.Config{})
	if len(evs) != 1 || st.UnknownReport != 1 || evs[0].Classification != feed.Unclassified || evs[0].Identifier != "balloon" {
		t.Fatalf("unknown family: %+v, %+v", evs, st)
	}
	// No report type at all (a file renamed by hand): kept and counted too.
	data, _ := os.ReadFile("testdata/2024-05-01-device_id-asn.csv")
	evs, st = parse(t, data, feed.Config{})
	if len(evs) != 1 || st.UnknownReport != 1 || evs[0].Report != "" {
		t.Fatalf("no report type: %+v, %+v", evs, st)
	}
}

func TestGzipAndReportParameter(t *testing.T) {
	data, err := os.ReadFile("testdata/2024-05-01-scan_telnet-asn-region.csv")
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := parse(t, data, feed.Config{Report: "scan_telnet"})
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(data)
	zw.Close()
	zipped, st := parse(t, z.Bytes(), feed.Config{Report: "scan_telnet"})
	if !slices.Equal(plain, zipped) || st.Malformed != 5 {
		t.Fatalf("gzip input read differently: %d vs %d events", len(plain), len(zipped))
	}
	// A corrupt gzip stream is an error of the run, not a malformed row.
	bad := slices.Clone(z.Bytes())
	bad[len(bad)-5] ^= 0xff
	// (Here the file is small enough that reading the header meets it.)
	p, runErr := reg.Open(bytes.NewReader(bad), feed.Config{})
	if runErr == nil {
		for _, err := range feed.All(p, 100) {
			runErr = err
		}
	}
	if runErr == nil || errors.Is(runErr, io.EOF) || !strings.Contains(runErr.Error(), "checksum") {
		t.Fatalf("corrupt gzip: err = %v", runErr)
	}
}

func TestHeaderErrors(t *testing.T) {
	cases := map[string]string{
		"":                             "empty input",
		"\"ip\",\"port\"\n1.2.3.4,5\n": `no "timestamp" column`,
		"timestamp,ip,ip\n":            `column "ip" appears twice`,
		"timestamp,\"ip\n":             "header",
	}
	for in, want := range cases {
		_, err := reg.Open(strings.NewReader(in), feed.Config{Format: "shadowserver"})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("header %q: err = %v, want %q", in, err, want)
		}
	}
}

func TestTooLongRow(t *testing.T) {
	in := "timestamp,ip\n2024-05-01 00:00:00,192.0.2.1\n2024-05-01 00:00:00," + strings.Repeat("9", 200) + "\n2024-05-01 00:00:01,192.0.2.2\n"
	evs, st := parse(t, []byte(in), feed.Config{MaxRecordBytes: 100})
	if len(evs) != 2 || st.Malformed != 1 || st.Errors[0].Line != 3 {
		t.Fatalf("events %d, stats %+v", len(evs), st)
	}
}

func TestDetect(t *testing.T) {
	if s := (Format{}).Detect([]byte("\"timestamp\",\"ip\",\"port\"\n")); s < 80 {
		t.Errorf("report header scored %d", s)
	}
	if s := (Format{}).Detect([]byte("\"timestamp\",\"protocol\",\"src_ip\"\r\n")); s < 80 {
		t.Errorf("event header scored %d", s)
	}
	for _, in := range []string{`{"source.ip":"1.2.3.4"}`, "ip,timestamp\n", ""} {
		if s := (Format{}).Detect([]byte(in)); s != 0 {
			t.Errorf("Detect(%q) = %d", in, s)
		}
	}
}

func TestReportFromFileName(t *testing.T) {
	cases := map[string]string{
		"2024-05-01-scan_telnet-asn-region.csv":     "scan_telnet",
		"/in/2019-01-01-event4_sinkhole.csv.gz":     "event4_sinkhole",
		`C:\x\2022-01-10-device_id6-geo_as-ntl.csv`: "device_id6",
		"scan_telnet.csv":                           "",
		"2024-05-01-../../etc-passwd":               "",
	}
	for in, want := range cases {
		if got := ReportFromFileName(in); got != want {
			t.Errorf("ReportFromFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReportTableIsRSIT(t *testing.T) {
	for name, r := range reports {
		if err := taxonomy.Valid(r.class); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, f := range families {
		if err := taxonomy.Valid(f.report.class); err != nil {
			t.Errorf("family %s: %v", f.prefix, err)
		}
	}
	for _, v6 := range []string{"scan6_telnet", "event6_sinkhole_http", "device_id6", "compromised_website6"} {
		if _, known := lookupReport(v6); !known {
			t.Errorf("%s is not known through its IPv4 twin", v6)
		}
	}
}

// FuzzParse feeds arbitrary bytes to the parser behind a valid header: no
// panic, every row counted once, every event's fields valid.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"2024-05-01-scan_telnet-asn-region.csv", "2024-05-01-event4_sinkhole-geo.csv"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := reg.Open(bytes.NewReader(data), feed.Config{Format: "shadowserver", Report: "event4_sinkhole", MaxRecordBytes: 512})
		if err != nil {
			return
		}
		var n int64
		for ev, err := range feed.All(p, 3) {
			if err != nil {
				t.Fatal(err)
			}
			n++
			if ev.Time.IsZero() || ev.Time.Location() != time.UTC || taxonomy.Valid(ev.Classification) != nil {
				t.Fatalf("bad event %+v", ev)
			}
			if ev.IP.IsValid() && ev.IP.Is4In6() {
				t.Fatalf("4in6 address kept: %v", ev.IP)
			}
			if c := ev.Country; c != "" && (len(c) != 2 || strings.ToUpper(c) != c) {
				t.Fatalf("country %q", c)
			}
		}
		st := p.Stats()
		if st.Events != n || st.Rows != st.Events+st.Malformed {
			t.Fatalf("stats %+v for %d events", st, n)
		}
	})
}
