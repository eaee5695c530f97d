package misp

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/exchange/exchangetest"
	"csirtlink/internal/observable"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
)

func decodeFile(t *testing.T, name string) Decoded {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// An event as the core format's examples write it: strings for numbers, tlp:white,
// distribution 3, an attribute with a sighting, a deleted one, an object, a galaxy.
func TestOSINTEventAsIndicators(t *testing.T) {
	d := decodeFile(t, "osint-event.json")
	if d.Info != "OSINT - New Patchwork spearphishing campaign" || d.Timestamp != 1475679332 || d.Distribution != AllCommunities {
		t.Fatalf("event: %+v", d.Event)
	}
	if l := eventLabel(d.Event); l != tlp.Clear {
		t.Errorf("tlp:white and all communities: %s, want CLEAR", l)
	}
	p := PlanIndicators(d)
	type got struct {
		typ   observable.Type
		value string
		label tlp.Label
	}
	var items []got
	for _, it := range p.Items {
		items = append(items, got{it.Observable.Type, it.Observable.Value, it.Label})
	}
	want := []got{
		{observable.MD5, "d41d8cd98f00b204e9800998ecf8427e", tlp.Clear},
		{observable.IPv4, "198.51.100.23", tlp.Clear},
		{observable.Domain, "update.example.com", tlp.Green},                                               // its own tlp:green and distribution 1
		{observable.SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", tlp.Clear}, // inside the file object
	}
	if !slices.Equal(items, want) {
		t.Errorf("items:\n got %v\nwant %v", items, want)
	}
	var why []string
	for _, s := range p.Skipped {
		why = append(why, s.Type+": "+s.Why)
	}
	if len(why) != 3 || !strings.Contains(why[0], "link") || why[1] != "url: deleted" || !strings.HasPrefix(why[2], "filename") {
		t.Errorf("skipped: %q", why)
	}
	if p.Sightings != 1 {
		t.Errorf("sightings: %d", p.Sightings)
	}
	if !slices.Contains(p.Items[0].Tags, `misp-galaxy:threat-actor="Patchwork"`) {
		t.Errorf("event tags not carried: %q", p.Items[0].Tags)
	}
}

func TestOSINTEventAsIncident(t *testing.T) {
	d := decodeFile(t, "osint-event.json")
	p := PlanIncident(d)
	if p.Title != d.Info || p.Label != tlp.Clear || p.Severity != "medium" {
		t.Errorf("plan: %q %s %q", p.Title, p.Label, p.Severity)
	}
	var obs []string
	for _, o := range p.Observables {
		obs = append(obs, o.Observable.Value)
	}
	if !slices.Equal(obs, []string{"d41d8cd98f00b204e9800998ecf8427e", "update.example.com"}) {
		t.Errorf("observables: %q", obs)
	}
	var kinds []string
	for _, k := range p.Raw {
		kinds = append(kinds, k.Kind)
	}
	// The galaxy tag, the Galaxy member, the attribute with a sighting, the link, the
	// deleted url and the object: nothing dropped.
	if !slices.Equal(kinds, []string{"Tag", "Event.Galaxy", "Attribute", "Attribute", "Attribute", "Object"}) {
		t.Errorf("kept: %q", kinds)
	}
	if p.Mapped != 3 {
		t.Errorf("mapped %d, want 3 (the event, two attributes)", p.Mapped)
	}
}

// Numbers as JSON numbers, a sharing group, tlp:amber+strict, an attribute's own
// tlp:red, an RSIT tag, an attribute whose value is not its type.
func TestSharingGroupEvent(t *testing.T) {
	d := decodeFile(t, "sharing-group-event.json")
	p := PlanIndicators(d)
	if len(p.Items) != 2 {
		t.Fatalf("items: %+v", p.Items)
	}
	cidr, mail := p.Items[0], p.Items[1]
	if cidr.Observable.Type != observable.CIDR || cidr.Label != tlp.AmberStrict || cidr.Category != "malicious-code/c2-server" {
		t.Errorf("cidr: %+v", cidr)
	}
	if !slices.Equal(cidr.ShareWith, []string{"CNCERT/CC", "KrCERT/CC"}) {
		t.Errorf("sharing group: %q", cidr.ShareWith)
	}
	if mail.Label != tlp.Red || mail.ShareWith != nil || mail.Observable.Type != observable.Email {
		t.Errorf("email: %+v", mail)
	}
	if len(p.Skipped) != 1 || !strings.Contains(p.Skipped[0].Why, "not an address") {
		t.Errorf("skipped: %+v", p.Skipped)
	}
}

func TestTLPTags(t *testing.T) {
	for _, c := range []struct {
		tags []string
		want tlp.Label
		ok   bool
	}{
		{[]string{"tlp:white"}, tlp.Clear, true},
		{[]string{"tlp:clear"}, tlp.Clear, true},
		{[]string{"TLP:AMBER+STRICT"}, tlp.AmberStrict, true},
		{[]string{"tlp:green", "tlp:red"}, tlp.Red, true},
		{[]string{"tlp:ex:chr", "tlp:unclear", "osint"}, "", false},
	} {
		var tags []Tag
		for _, n := range c.tags {
			tags = append(tags, Tag{Name: n})
		}
		if l, ok := LabelOfTags(tags); l != c.want || ok != c.ok {
			t.Errorf("%q: %s %v", c.tags, l, ok)
		}
	}
	for _, l := range []tlp.Label{tlp.Clear, tlp.Green, tlp.Amber, tlp.AmberStrict, tlp.Red} {
		if got, _ := LabelOfTags([]Tag{TLPTag(l)}); got != l {
			t.Errorf("%s: tag %q reads as %s", l, TLPTag(l).Name, got)
		}
		if got := tlp.Stricter(l, DistributionLabel(DistributionOf(l))); got != l {
			t.Errorf("%s: distribution %d narrows it to %s", l, DistributionOf(l), got)
		}
	}
	if DistributionLabel(OrgOnly) != tlp.Amber || DistributionLabel(Connected) != tlp.Green || DistributionLabel(SharingGroupDist) != tlp.Amber {
		t.Error("distribution levels")
	}
}

func TestDecodeErrorsNameTheField(t *testing.T) {
	ev := func(s string) string {
		return `{"Event":{"uuid":"57f4f6d9-cd20-458b-84fd-109ec0a83869","info":"x"` + s + `}}`
	}
	for _, c := range []struct{ doc, field string }{
		{`[]`, ""},
		{`{"Event":{"info":"x"}}`, "Event.uuid"},
		{`{"Event":{"uuid":"57f4f6d9-cd20-458b-84fd-109ec0a83869"}}`, "Event.info"},
		{ev(`,"distribution":"7"`), "Event.distribution"},
		{ev(`,"distribution":"x"`), "Event.distribution"},
		{ev(`,"date":"05/10/2016"`), "Event.date"},
		{ev(`,"Tag":[{"name":""}]`), "Event.Tag[0].name"},
		{ev(`,"Attribute":[{"uuid":"57f4f6d9-cd20-458b-84fd-109ec0a83869","type":"md5","value":"x"}]`), "Event.Attribute[0].uuid"},
		{ev(`,"Attribute":[{"uuid":"57f4f7ee-6d08-4b8a-a6a2-4d44950d210f","value":"x"}]`), "Event.Attribute[0].type"},
		{ev(`,"Attribute":[{"uuid":"57f4f7ee-6d08-4b8a-a6a2-4d44950d210f","type":"md5"}]`), "Event.Attribute[0].value"},
		{ev(`,"Attribute":[{"uuid":"57f4f7ee-6d08-4b8a-a6a2-4d44950d210f","type":"md5","value":3}]`), "Event.Attribute[0].value"},
		{ev(`,"Attribute":[{"uuid":"57f4f7ee-6d08-4b8a-a6a2-4d44950d210f","type":"md5","value":"x","Sighting":[{"type":"9"}]}]`), "Event.Attribute[0].Sighting[0].type"},
		{ev(`,"Object":[{"uuid":"57f4f800-1c2c-4d9e-8d3f-4d44950d210f","name":"file","Attribute":[{"uuid":"bad","type":"md5","value":"x"}]}]`), "Event.Object[0].Attribute[0].uuid"},
		{ev(`,"Object":[{"uuid":"57f4f800-1c2c-4d9e-8d3f-4d44950d210f"}]`), "Event.Object[0].name"},
	} {
		_, err := Decode([]byte(c.doc))
		var de *DecodeError
		if !errors.As(err, &de) || de.Field != c.field {
			t.Errorf("%s: %v, want an error naming %q", c.doc, err, c.field)
		}
	}
	big := bytes.Repeat([]byte(" "), MaxBytes+1)
	if _, err := Decode(big); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Errorf("oversized: %v", err)
	}
}

// Ours → MISP → ours is the identity for what we map.
func TestIncidentRoundTrip(t *testing.T) {
	in := exchangetest.Incident()
	e, err := FromIncident(in, OrgOf("cn", "CNCERT/CC"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(doc)
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	p := PlanIncident(d)
	if p.Title != in.Title || p.Description != in.Description || p.Category != in.Category || p.Severity != in.Severity || string(p.Label) != in.TLP {
		t.Errorf("incident fields: %q %q %q %q %s", p.Title, p.Description, p.Category, p.Severity, p.Label)
	}
	if len(p.Raw) != 0 {
		t.Errorf("nothing of ours should be kept raw: %s %s", p.Raw[0].Kind, p.Raw[0].Raw)
	}
	var i int
	for _, en := range in.Timeline {
		switch en.Kind {
		case "observable":
			o := p.Observables[i]
			if o.Observable.Value != en.Body || string(o.Label) != en.TLP {
				t.Errorf("entry %s: %+v, want %s %s", en.ID, o, en.Body, en.TLP)
			}
			i++
		case "comment":
			if len(p.Notes) != 1 || p.Notes[0].Text != en.Body || string(p.Notes[0].Label) != en.TLP {
				t.Errorf("comment: %+v", p.Notes)
			}
		}
	}
	if i != len(p.Observables) {
		t.Errorf("%d observables back, %d sent", len(p.Observables), i)
	}
	again, _ := FromIncident(in, OrgOf("cn", "CNCERT/CC"))
	if b, _ := Encode(again); !bytes.Equal(b, doc) {
		t.Error("a second export differs: uuids must be derived, not random")
	}
}

// What we do not map is kept as it came and written again byte for byte.
func TestKeptPartsRoundTrip(t *testing.T) {
	data, _ := os.ReadFile("testdata/osint-event.json")
	d, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	p := PlanIncident(d)
	in := store.Incident{ID: "cn-2026-0002", Title: p.Title, Category: "other/undetermined", Severity: "medium", TLP: string(p.Label),
		CreatedAt: time.Unix(1475679332, 0), UpdatedAt: time.Unix(1475679332, 0)}
	for i, k := range p.Raw {
		in.Timeline = append(in.Timeline, store.Entry{ID: string(rune('a' + i)), Kind: "comment", Body: k.Body(), TLP: string(k.Label)})
	}
	e, err := FromIncident(in, OrgOf("cn", "CNCERT/CC"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range p.Raw {
		if !bytes.Contains(out, k.Raw) {
			t.Errorf("%s not written as it came:\n%s", k.Kind, k.Raw)
		}
	}
	d2, err := Decode(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	p2 := PlanIncident(d2)
	if len(p2.Raw) != len(p.Raw) {
		t.Fatalf("kept %d, then %d", len(p.Raw), len(p2.Raw))
	}
	for i := range p.Raw {
		if p.Raw[i].Kind != p2.Raw[i].Kind || !bytes.Equal(p.Raw[i].Raw, p2.Raw[i].Raw) {
			t.Errorf("kept part %d changed: %s\n%s", i, p.Raw[i].Raw, p2.Raw[i].Raw)
		}
	}
}

func TestIndicatorRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 8, 30, 0, 123456000, time.UTC)
	until := t0.Add(30 * 24 * time.Hour)
	inds := []store.Indicator{
		{ID: "0b7c3a6e-8f6d-4b1e-9c55-7a1d2e3f4a5b", Author: "jp", Version: 2, State: store.IndicatorActive, Type: "ipv4", Value: "198.51.100.7",
			Category: "malicious-code/c2-server", Confidence: 80, TLP: "GREEN", Tags: []string{"emotet", "botnet"}, Description: "C2 of the <x> & y",
			ValidFrom: t0, ValidUntil: &until, Modified: t0.Add(time.Hour)},
		{ID: "1b7c3a6e-8f6d-4b1e-9c55-7a1d2e3f4a5b", Author: "jp", Version: 1, State: store.IndicatorActive, Type: "url", Value: "http://c2.example/gate.php?id=1&x=2",
			Category: "fraud/phishing", Confidence: 50, TLP: "CLEAR", ValidFrom: t0, Modified: t0},
		{ID: "2b7c3a6e-8f6d-4b1e-9c55-7a1d2e3f4a5b", Author: "jp", Version: 1, State: store.IndicatorActive, Type: "sha256",
			Value: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Category: "malicious-code/malware-distribution",
			Confidence: 0, TLP: "AMBER", ValidFrom: t0, Modified: t0},
	}
	var attrs []Attribute
	for _, ind := range inds {
		attrs = append(attrs, AttributeOf(ind, nil))
	}
	doc, err := Encode(IndicatorEvent(DerivedUUID("feed", "jp/2026-11-20"), "jp 2026-11-20", OrgOf("jp", "JPCERT/CC"), t0, attrs))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(doc)
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	p := PlanIndicators(d)
	if len(p.Items) != len(inds) || len(p.Skipped) != 0 {
		t.Fatalf("plan: %+v", p)
	}
	for i, ind := range inds {
		it := p.Items[i]
		back := store.Indicator{ID: it.UUID, Type: string(it.Observable.Type), Value: it.Observable.Value, Category: it.Category,
			Confidence: *it.Confidence, TLP: string(it.Label), Tags: it.Tags, Description: it.Description, ValidFrom: *it.ValidFrom, ValidUntil: it.ValidUntil}
		want := ind
		want.Author, want.Version, want.State, want.Modified = "", 0, "", time.Time{}
		if !indicatorsEqual(back, want) {
			t.Errorf("indicator %d:\n got %+v\nwant %+v", i, back, want)
		}
	}
}

func indicatorsEqual(a, b store.Indicator) bool {
	eqTime := func(x, y *time.Time) bool { return x == nil && y == nil || x != nil && y != nil && x.Equal(*y) }
	return a.ID == b.ID && a.Type == b.Type && a.Value == b.Value && a.Category == b.Category && a.Confidence == b.Confidence &&
		a.TLP == b.TLP && slices.Equal(a.Tags, b.Tags) && a.Description == b.Description && a.ValidFrom.Equal(b.ValidFrom) &&
		eqTime(a.ValidUntil, b.ValidUntil)
}

func TestRevokedIndicatorIsDeleted(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 8, 30, 0, 0, time.UTC)
	own := AttributeOf(store.Indicator{ID: "0b7c3a6e-8f6d-4b1e-9c55-7a1d2e3f4a5b", State: store.IndicatorRevoked, Type: "domain", Value: "bad.example", TLP: "GREEN", Modified: t0}, nil)
	stone := AttributeOf(store.Indicator{ID: "1b7c3a6e-8f6d-4b1e-9c55-7a1d2e3f4a5b", State: store.IndicatorRevoked, Modified: t0}, nil)
	for _, a := range []Attribute{own, stone} {
		if !a.Deleted || a.Timestamp != Time(t0) || a.Value == "" {
			t.Errorf("revoked: %+v", a)
		}
	}
	e := IndicatorEvent(DerivedUUID("feed", "x"), "x", OrgOf("cn", ""), t0, []Attribute{own, stone})
	if h := Hashes([]Event{e}); len(h) != 0 {
		t.Errorf("deleted attributes in hashes.csv: %s", h)
	}
}

func FuzzDecode(f *testing.F) {
	for _, name := range []string{"osint-event.json", "sharing-group-event.json"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	e, _ := FromIncident(exchangetest.Incident(), OrgOf("cn", "CNCERT/CC"))
	doc, _ := Encode(e)
	f.Add(doc)
	f.Add([]byte(`{"Event":{"uuid":"57f4f6d9-cd20-458b-84fd-109ec0a83869","info":"x","Attribute":[null]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Decode(data)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		// Whatever decodes plans without panicking, and keeps each part it does not map
		// as bytes that decode again.
		p := PlanIncident(d)
		for _, k := range p.Raw {
			if !jsonValid(k.Raw) {
				t.Fatalf("kept part is not JSON: %q", k.Raw)
			}
		}
		PlanIndicators(d)
		out, err := Encode(d.Event)
		if err != nil {
			t.Fatal(err)
		}
		if !jsonValid(out) {
			t.Fatalf("re-encoded event is not JSON: %s", out)
		}
	})
}

func jsonValid(b []byte) bool { return json.Valid(b) }
