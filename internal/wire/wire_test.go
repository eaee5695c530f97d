package wire

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the examples")

// at is a fixed instant in a zone other than UTC, as a peer may send it.
var at = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.FixedZone("JST", 9*3600))

func ptr[T any](v T) *T { return &v }

// moreExamples add the examples of kinds defined in files of their own.
var moreExamples []func(testing.TB) map[string][]byte

// examples is one fixed payload of each envelope kind, encoded as this node sends it.
func examples(t testing.TB) map[string][]byte {
	t.Helper()
	m := baseExamples(t)
	for _, more := range moreExamples {
		for k, v := range more(t) {
			m[k] = v
		}
	}
	return m
}

func baseExamples(t testing.TB) map[string][]byte {
	t.Helper()
	must := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sig := bytes.Repeat([]byte{0xA5}, 64)
	entry := Entry{ID: "8f14e45fceea167a5a36dedd4bea2543", IncidentID: "cn-2026-0007", Team: "jp", Author: "tanaka",
		Kind: "observable", Body: "198.51.100.7", TLP: "AMBER+STRICT", Recipients: []string{"cn", "jp"},
		Data: EncodeData(ObservableData{Type: "ipv4", Value: "198.51.100.7"}), CreatedAt: at, Signature: sig}
	appended := entry
	appended.Position = 12
	return map[string][]byte{
		TypeIncidentUpsert: must(EncodeIncident(Incident{ID: "cn-2026-0007", Coordinator: "cn", Title: "Botnet C2 across borders",
			Description: "C2 in jp, bots in cn and kr", Category: "malicious-code/infected-system", Severity: "high", TLP: "AMBER",
			Status: "in_progress", CreatedBy: "wang", CreatedAt: at, UpdatedAt: at.Add(time.Hour),
			Participants: []Participant{{Team: "cn", Status: "acknowledged", AcknowledgedAt: ptr(at), UpdatedAt: at},
				{Team: "jp", Status: "invited", UpdatedAt: at}}})),
		TypeEntrySubmit: must(EncodeEntry(entry)),
		TypeEntryAppend: must(EncodeEntry(appended)),
		TypePageSend: must(EncodePage(Page{ID: "cn-2026-p0042", From: "cn", To: []string{"jp", "kr"}, Severity: "critical",
			Summary: "DDoS on a bank from a booter in jp", Details: "Peak 40 Gbps.\nSources attached.", IncidentID: "cn-2026-0007",
			TLP: "AMBER", CreatedBy: "Wang Li (wang)", CreatedAt: at})),
		TypePageState: must(EncodePageState(PageState{PageID: "cn-2026-p0042", Team: "jp", State: "acknowledged", At: at,
			By: "Tanaka Hiro (tanaka)", Via: "console", Statement: sig})),
		TypePageResolve: must(EncodePageState(PageState{PageID: "cn-2026-p0042", Team: "cn", State: "resolved", At: at, By: "Wang Li (wang)"})),
		TypeOnCallSummary: must(EncodeOnCallSummary(OnCallSummary{Team: "jp", At: at, HotlineEmail: "hotline@jp.example",
			Rotations: []OnCallRotation{{ID: "primary", Name: "一次対応", Timezone: "Asia/Tokyo",
				Current: OnCallShift{User: "田中", Start: at.Add(-8 * time.Hour), End: at.Add(16 * time.Hour)},
				Next:    OnCallShift{User: "Suzuki", Start: at.Add(16 * time.Hour), End: at.Add(40 * time.Hour)}}}})),
		TypeConstituency: must(EncodeConstituency(Constituency{Team: "jp", Serial: 3, Countries: []string{"JP"}, ASNs: []uint32{64500},
			Networks: []string{"198.51.100.0/24", "2001:db8:1::/48"}, Domains: []string{"jp", "example.jp"}, ValidUntil: at.Add(90 * 24 * time.Hour)})),
		TypeKeyRotation: must(EncodeKeyRotation(KeyRotation{Team: "jp", OldKey: "gxTqvbc2xaOK0O78fl2H2Lqp95gCLkpf2Q7EOOcNUNc",
			NewKey: "AHyA8x4vbqx8jJpDxd9oSeEoX5hvB1YOoKyk8qCc2rs", At: at, OldSig: sig, NewSig: sig})),
		TypeVerifyAsk: must(EncodeVerifyAsk(VerifyAsk{Team: "jp", Kind: "ask", Serial: 3, At: at})),
		TypeMetricsAggregate: must(EncodeMetricsAggregate(MetricsAggregate{Team: "jp", Period: "2026Q3", At: at,
			Own: AggregateOwn{IncidentsCoordinated: 12, CrossBorderCoordinated: 5,
				ByCategory: []AggregateCount{{Key: "availability/ddos", N: 2}, {Key: "fraud/phishing", N: 3}},
				Feeds:      &AggregateOwnFeeds{Runs: 3, Events: 5000, RoutedOwners: 3500, RoutedPartners: 1200, Unrouted: 300},
				CVD: &AggregateOwnCVD{Cases: 2, VendorsContacted: 3, VendorsReached: 2, Published: 1,
					TimeToPublication: AggregateFigure{N: 1, P50: 3888000, P95: 3888000, Max: 3888000}}},
			Directions: []AggregatePairDir{{From: "jp", To: "kr",
				Hotline: AggregateHotline{Pages: 4, Delivered: AggregateFigure{N: 4, P50: 0.042, P95: 1.5, Max: 1.5},
					Notified:     AggregateFigure{N: 4, P50: 30, P95: 95.25, Max: 95.25},
					Acknowledged: AggregateFigure{N: 3, P50: 240, P95: 1800, Max: 1800}, AckWithin15m: 2, AckWithin1h: 3},
				CommChecks: AggregateCommChecks{Checks: 2, Answered: 2, Acknowledged: AggregateFigure{N: 2, P50: 60, P95: 120, Max: 120}},
				Incidents: AggregateIncidents{CrossBorder: 2,
					ByCategory:   []AggregateCount{{Key: "availability/ddos", N: 1}, {Key: "fraud/phishing", N: 1}},
					BySeverity:   []AggregateCount{{Key: "critical", N: 1}, {Key: "medium", N: 1}},
					Acknowledged: AggregateFigure{N: 2, P50: 600, P95: 3600, Max: 3600}, FirstEntry: AggregateFigure{N: 1, P50: 7200, P95: 7200, Max: 7200},
					Closed: AggregateFigure{N: 1, P50: 86400, P95: 86400, Max: 86400}},
				Sharing: &AggregateSharing{Objects: 5, Sightings: 4, Takedowns: 2, TimeToTakedown: AggregateFigure{N: 2, P50: 43200, P95: 172800, Max: 172800}},
				Feeds:   &AggregateFeeds{Events: 1200},
				CVD:     &AggregateCVD{Cases: 1, VendorsReached: 2, Published: 1, TimeToPublication: AggregateFigure{N: 1, P50: 3888000, P95: 3888000, Max: 3888000}}}}})),
		TypeIndicatorUpsert: must(EncodeIndicator(Indicator{ID: "3f2504e0-4f89-41d3-9a0c-0305e82c3301", Author: "jp", Version: 3,
			Type: "ipv4", Value: "198.51.100.7", Category: "malicious-code/c2-server", Confidence: 80, TLP: "AMBER+STRICT",
			ShareWith: []string{"cn"}, Audience: []string{"cn"}, Incidents: []string{"cn-2026-0007"}, Tags: []string{"mirai", "c2"},
			Description: "C2 of the botnet in cn-2026-0007", ValidFrom: at, ValidUntil: ptr(at.Add(30 * 24 * time.Hour)),
			CreatedBy: "tanaka", CreatedAt: at, Modified: at.Add(time.Hour)})),
		TypeIndicatorTombstone: must(EncodeIndicatorTombstone(IndicatorTombstone{ID: "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
			Author: "jp", Version: 4, State: "revoked", At: at.Add(2 * time.Hour)})),
		TypeSightingReport: must(EncodeSighting(Sighting{ID: "7c9e6679-7425-40de-944b-e07fc1f90ae7",
			IndicatorID: "3f2504e0-4f89-41d3-9a0c-0305e82c3301", IndicatorAuthor: "jp", Team: "cn", Kind: "seen", Count: 3000,
			FirstSeen: ptr(at.Add(-time.Hour)), LastSeen: ptr(at), Constituency: "CN", Note: "bots calling the C2",
			TLP: "AMBER+STRICT", Recipients: []string{"jp"}, ReportedBy: "wang", At: at})),
		// The objects of a chunk are opaque here (zstd of JSON lines): the bulk package
		// reads them, and feed.event is the kind a routed report carries.
		TypeBulkChunk: must(EncodeBulkChunk(BulkChunk{Kind: TypeFeedEvent, Group: "cn-run-3f2a9c", Part: 2, Last: true, Count: 2, Size: 41,
			Data: []byte{0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x00, 0x41, 0x00}})),
		TypeFeedEvent: must(EncodeFeedEvent(FeedEvent{Time: "2026-03-14T00:26:53Z", IP: "198.51.100.7", Port: 23, ASN: 64500,
			Country: "JP", Protocol: "tcp", Classification: "vulnerable/vulnerable-system", Identifier: "open-telnet",
			Report: "scan_telnet", Feed: "Shadowserver", TLP: "AMBER",
			Raw: `"2026-03-14 00:26:53","198.51.100.7",23,"tcp"`})),
	}
}

// decoders decode each kind and encode the result again.
var decoders = map[string]func([]byte) ([]byte, error){
	TypeIncidentUpsert: func(b []byte) ([]byte, error) { v, err := DecodeIncident(b); return reencode(v, err, EncodeIncident) },
	TypeEntrySubmit:    func(b []byte) ([]byte, error) { v, err := DecodeEntry(b); return reencode(v, err, EncodeEntry) },
	TypeEntryAppend:    func(b []byte) ([]byte, error) { v, err := DecodeEntry(b); return reencode(v, err, EncodeEntry) },
	TypePageSend:       func(b []byte) ([]byte, error) { v, err := DecodePage(b); return reencode(v, err, EncodePage) },
	TypePageState:      func(b []byte) ([]byte, error) { v, err := DecodePageState(b); return reencode(v, err, EncodePageState) },
	TypePageResolve:    func(b []byte) ([]byte, error) { v, err := DecodePageState(b); return reencode(v, err, EncodePageState) },
	TypeOnCallSummary: func(b []byte) ([]byte, error) {
		v, err := DecodeOnCallSummary(b)
		return reencode(v, err, EncodeOnCallSummary)
	},
	TypeConstituency: func(b []byte) ([]byte, error) {
		v, err := DecodeConstituency(b)
		return reencode(v, err, EncodeConstituency)
	},
	TypeKeyRotation: func(b []byte) ([]byte, error) {
		v, err := DecodeKeyRotation(b)
		return reencode(v, err, EncodeKeyRotation)
	},
	TypeVerifyAsk: func(b []byte) ([]byte, error) {
		v, err := DecodeVerifyAsk(b)
		return reencode(v, err, EncodeVerifyAsk)
	},
	TypeMetricsAggregate: func(b []byte) ([]byte, error) {
		v, err := DecodeMetricsAggregate(b)
		return reencode(v, err, EncodeMetricsAggregate)
	},
	TypeIndicatorUpsert: func(b []byte) ([]byte, error) { v, err := DecodeIndicator(b); return reencode(v, err, EncodeIndicator) },
	TypeIndicatorTombstone: func(b []byte) ([]byte, error) {
		v, err := DecodeIndicatorTombstone(b)
		return reencode(v, err, EncodeIndicatorTombstone)
	},
	TypeSightingReport: func(b []byte) ([]byte, error) { v, err := DecodeSighting(b); return reencode(v, err, EncodeSighting) },
	TypeBulkChunk:      func(b []byte) ([]byte, error) { v, err := DecodeBulkChunk(b); return reencode(v, err, EncodeBulkChunk) },
	TypeFeedEvent:      func(b []byte) ([]byte, error) { v, err := DecodeFeedEvent(b); return reencode(v, err, EncodeFeedEvent) },
}

func reencode[T any](v T, err error, enc func(T) ([]byte, error)) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	return enc(v)
}

// TestGolden fails when the encoding of any envelope kind changes: a change to the
// protocol must be a deliberate new version. `go test ./internal/wire -update` rewrites
// the files after such a change.
func TestGolden(t *testing.T) {
	ex := examples(t)
	if len(ex) != len(decoders) {
		t.Fatalf("%d examples for %d kinds", len(ex), len(decoders))
	}
	for kind, got := range ex {
		path := filepath.Join("testdata", kind+".golden")
		if *update {
			if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run with -update to create it)", kind, err)
		}
		if !bytes.Equal(append(got, '\n'), want) {
			t.Errorf("%s: the encoding changed.\n got: %s\nwant: %s", kind, got, want)
		}
		// What we send, we take back: the golden file decodes and encodes to itself.
		again, err := decoders[kind](bytes.TrimSuffix(want, []byte("\n")))
		if err != nil {
			t.Errorf("%s: the golden payload does not decode: %v", kind, err)
		} else if !bytes.Equal(again, got) {
			t.Errorf("%s: decoding and encoding changed it:\n got: %s\nwant: %s", kind, again, got)
		}
	}
}

// Every kind refuses what the package's rule refuses.
func TestDecodeIsStrict(t *testing.T) {
	for kind, good := range examples(t) {
		body := string(good)
		// vp is the payload's version member: most kinds are at version 1, some later.
		vp := body[:strings.Index(body, ",")+1]
		cases := map[string]string{
			"an unknown field":      strings.Replace(body, vp, vp+`"extra":true,`, 1),
			"another version":       strings.Replace(body, vp, `{"v":99,`, 1),
			"no version":            strings.Replace(body, vp, `{`, 1),
			"a repeated key":        strings.Replace(body, vp, vp+vp[1:], 1),
			"an upper-case key":     strings.Replace(body, vp, `{"V"`+vp[4:], 1),
			"a case-folded key":     strings.Replace(body, vp, vp+`"ſ":1,`, 1),
			"data after the object": body + ` {}`,
			"an array":              "[" + body + "]",
			"null":                  "null",
			"nothing":               "",
			"a truncated object":    body[:len(body)-1],
		}
		for name, b := range cases {
			if b == body {
				t.Fatalf("%s %s: the case did not change the payload", kind, name)
			}
			if _, err := decoders[kind]([]byte(b)); err == nil {
				t.Errorf("%s: %s was accepted: %s", kind, name, b)
			}
		}
	}
	// Nested objects are held to the rule too.
	in := `{"v":1,"id":"cn-2026-0001","participants":[{"team":"cn","Team":"jp"}]}`
	if _, err := DecodeIncident([]byte(in)); err == nil {
		t.Error("a participant with an upper-case key was accepted")
	}
	if _, err := DecodeData[StatusData](`{"status":"open","status":"closed"}`); err == nil {
		t.Error("entry data with a repeated key was accepted")
	}
}

func TestEntryDataRoundTrips(t *testing.T) {
	for _, s := range []string{EncodeData(StatusData{Status: "open"}), EncodeData(InvitationData{Team: "kr"}),
		EncodeData(ObservableData{Type: "url", Value: "http://a.example/?q=<b>&c"})} {
		var got string
		switch {
		case strings.Contains(s, `"status"`):
			d, err := DecodeData[StatusData](s)
			if err != nil {
				t.Fatal(err)
			}
			got = EncodeData(d)
		case strings.Contains(s, `"team"`):
			d, err := DecodeData[InvitationData](s)
			if err != nil {
				t.Fatal(err)
			}
			got = EncodeData(d)
		default:
			d, err := DecodeData[ObservableData](s)
			if err != nil {
				t.Fatal(err)
			}
			got = EncodeData(d)
		}
		if got != s {
			t.Errorf("%s → %s", s, got)
		}
	}
	if _, err := DecodeData[StatusData](`{"team":"kr"}`); err == nil {
		t.Error("invitation data decoded as status data")
	}
}

// fuzzDecoder checks that a decoder never panics on peer input, and that what it
// accepts it encodes to something it accepts again, unchanged.
func fuzzDecoder(f *testing.F, kinds ...string) {
	ex := map[string][]byte{}
	for k, v := range examples(f) {
		ex[k] = v
	}
	for _, k := range kinds {
		f.Add(ex[k])
	}
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`{"v":1,"a":{"b":[1,{"c":null}]}}`))
	dec := decoders[kinds[0]]
	f.Fuzz(func(t *testing.T, b []byte) {
		once, err := dec(b)
		if err != nil {
			return
		}
		twice, err := dec(once)
		if err != nil {
			t.Fatalf("accepted %q, but not its own encoding %q: %v", b, once, err)
		}
		if !bytes.Equal(once, twice) {
			t.Fatalf("encoding is not stable: %q → %q", once, twice)
		}
	})
}

func FuzzDecodeIncident(f *testing.F)  { fuzzDecoder(f, TypeIncidentUpsert) }
func FuzzDecodeEntry(f *testing.F)     { fuzzDecoder(f, TypeEntrySubmit, TypeEntryAppend) }
func FuzzDecodePage(f *testing.F)      { fuzzDecoder(f, TypePageSend) }
func FuzzDecodePageState(f *testing.F) { fuzzDecoder(f, TypePageState, TypePageResolve) }
func FuzzDecodeOnCall(f *testing.F)    { fuzzDecoder(f, TypeOnCallSummary) }
func FuzzDecodeMetricsAggregate(f *testing.F) {
	// Version 1 payloads are still read: seed the fuzzer with one.
	v1, err := os.ReadFile(filepath.Join("testdata", "metrics.aggregate.v1.golden"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bytes.TrimSuffix(v1, []byte("\n")))
	fuzzDecoder(f, TypeMetricsAggregate)
}

// A version 1 aggregate, as nodes published before the sharing, feed and CVD sections,
// still decodes, without those sections; one that has them is refused.
func TestMetricsAggregateV1StillDecodes(t *testing.T) {
	v1, err := os.ReadFile(filepath.Join("testdata", "metrics.aggregate.v1.golden"))
	if err != nil {
		t.Fatal(err)
	}
	v1 = bytes.TrimSuffix(v1, []byte("\n"))
	a, err := DecodeMetricsAggregate(v1)
	if err != nil {
		t.Fatalf("a version 1 aggregate: %v", err)
	}
	if a.Version != 1 || a.Team != "jp" || len(a.Directions) != 1 || a.Directions[0].Hotline.Pages != 4 {
		t.Errorf("decoded %+v", a)
	}
	if a.Own.Feeds != nil || a.Own.CVD != nil || a.Directions[0].Sharing != nil || a.Directions[0].Feeds != nil || a.Directions[0].CVD != nil {
		t.Error("a version 1 aggregate has sections of version 2")
	}
	// Re-encoded, it is a version 2 payload without the new sections.
	b, err := EncodeMetricsAggregate(a)
	if err != nil || !bytes.HasPrefix(b, []byte(`{"v":2,`)) || bytes.Contains(b, []byte(`"sharing"`)) {
		t.Errorf("re-encoded: %s %v", b, err)
	}
	for name, bad := range map[string]string{
		"own feeds":       strings.Replace(string(v1), `"by_category":[`, `"feeds":{"runs":1,"events":1,"routed_owners":0,"routed_partners":0,"unrouted":1},"by_category":[`, 1),
		"direction feeds": strings.Replace(string(v1), `"hotline":{`, `"feeds":{"events":3},"hotline":{`, 1),
	} {
		if bad == string(v1) {
			t.Fatalf("%s: the case did not change the payload", name)
		}
		if _, err := DecodeMetricsAggregate([]byte(bad)); err == nil {
			t.Errorf("version 1 with %s was accepted", name)
		}
	}
}

func FuzzDecodeIndicator(f *testing.F)          { fuzzDecoder(f, TypeIndicatorUpsert) }
func FuzzDecodeIndicatorTombstone(f *testing.F) { fuzzDecoder(f, TypeIndicatorTombstone) }
func FuzzDecodeSighting(f *testing.F)           { fuzzDecoder(f, TypeSightingReport) }
func FuzzDecodeBulkChunk(f *testing.F)          { fuzzDecoder(f, TypeBulkChunk) }
func FuzzDecodeFeedEvent(f *testing.F)          { fuzzDecoder(f, TypeFeedEvent) }

func FuzzDecodeEntryData(f *testing.F) {
	f.Add(EncodeData(ObservableData{Type: "ipv4", Value: "192.0.2.1"}))
	f.Add(`{"status":"open"}`)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := DecodeData[ObservableData](s)
		if err != nil {
			return
		}
		again, err := DecodeData[ObservableData](EncodeData(d))
		if err != nil || !reflect.DeepEqual(again, d) {
			t.Fatalf("%q: %+v → %+v %v", s, d, again, err)
		}
	})
}

func FuzzDecodeConstituency(f *testing.F) { fuzzDecoder(f, TypeConstituency) }
func FuzzDecodeKeyRotation(f *testing.F)  { fuzzDecoder(f, TypeKeyRotation) }
func FuzzDecodeVerifyAsk(f *testing.F)    { fuzzDecoder(f, TypeVerifyAsk) }
