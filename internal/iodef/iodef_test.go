package iodef

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/exchange/exchangetest"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// xmllint validates doc against RFC 7970's schema (testdata/schema) with libxml2's
// xmllint, offline. Without xmllint the test fails under CI and skips elsewhere.
func xmllint(t *testing.T, doc []byte) error {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("xmllint is missing (Debian: apt-get install libxml2-utils); CI validates IODEF documents with it")
		}
		t.Skip("no xmllint (apt-get install libxml2-utils): cannot validate against the IODEF schema")
	}
	f := filepath.Join(t.TempDir(), "doc.xml")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--noout", "--nonet", "--schema", "testdata/schema/iodef-2.0.xsd", f).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

func sample() store.Incident {
	in := exchangetest.Incident()
	in.Severity = "critical" // which IODEF's SystemImpact cannot hold
	return in
}

var teams = map[string]Team{
	"cn": {ID: "cn", Name: "CNCERT/CC", Domain: "cert.cn.example", Email: "hotline@cert.cn.example", Zone: time.FixedZone("CST", 8*3600)},
	"jp": {ID: "jp", Name: "JPCERT/CC", Zone: time.FixedZone("JST", 9*3600)},
}

// TestExportValidatesAndImportsBack: the document we write for an incident validates
// against RFC 7970's schema, and reading it back gives the incident's fields,
// observables (with their labels) and comments.
func TestExportValidatesAndImportsBack(t *testing.T) {
	doc, err := FromIncident(sample(), teams, time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Encode(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := xmllint(t, out); err != nil {
		t.Fatalf("our document does not validate:\n%s\n%v", out, err)
	}
	for _, want := range []string{`restriction="amber"`, `ext-restriction="amber+strict"`, `restriction="white"`, `<Timezone>+08:00</Timezone>`,
		`<EmailTo>hotline@cert.cn.example</EmailTo>`, `role="cc-irt"`, `<IncidentID name="cert.cn.example">cn-2026-0001</IncidentID>`, `status="in-progress"`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("the document lacks %s", want)
		}
	}
	p, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	in := sample()
	if p.Title != in.Title || p.Description != in.Description || p.Category != in.Category || p.Severity != in.Severity || p.Label != tlp.Amber || p.IncidentID != in.ID {
		t.Errorf("incident: %+v", p)
	}
	var got []string
	for _, o := range p.Observables {
		got = append(got, fmt.Sprintf("%s %s %s", o.Observable.Type, o.Observable.Value, o.Label))
	}
	var want []string
	for _, e := range in.Timeline[:10] {
		d, _ := wire.DecodeData[wire.ObservableData](e.Data)
		want = append(want, fmt.Sprintf("%s %s %s", d.Type, d.Value, e.TLP))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("observables:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(p.Notes) != 1 || p.Notes[0].Text != in.Timeline[10].Body || p.Notes[0].Label != tlp.Green {
		t.Errorf("notes: %+v", p.Notes)
	}
	// The teams' contacts are what we do not map back.
	if p.Kept() != 3 {
		t.Errorf("kept %d: %q", p.Kept(), p.Raw)
	}
}

// TestSchemaCheckIsLive: the validation fails on a document the schema forbids (a
// check that passes everything would prove nothing).
func TestSchemaCheckIsLive(t *testing.T) {
	doc, _ := FromIncident(sample(), teams, time.Now())
	doc.Incidents[0].Contacts = nil // Contact is required
	out, _ := Encode(doc)
	if err := xmllint(t, out); err == nil || !strings.Contains(err.Error(), "Contact") {
		t.Errorf("a document without a Contact validated: %v", err)
	}
}

func TestParseRefuses(t *testing.T) {
	cases := map[string]struct{ doc, says string }{
		"not XML":          {"<IODEF-Document", "not well-formed"},
		"a DTD":            {`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><IODEF-Document xmlns="urn:ietf:params:xml:ns:iodef-2.0"/>`, "DOCTYPE"},
		"an entity":        {`<IODEF-Document xmlns="urn:ietf:params:xml:ns:iodef-2.0"><Incident>&a;</Incident></IODEF-Document>`, "entity"},
		"IODEF 1":          {`<IODEF-Document xmlns="urn:ietf:params:xml:ns:iodef-1.0"><Incident/></IODEF-Document>`, "only IODEF 2.0"},
		"no incident":      {`<IODEF-Document xmlns="urn:ietf:params:xml:ns:iodef-2.0"/>`, "no incident"},
		"no IncidentID":    {`<IODEF-Document xmlns="urn:ietf:params:xml:ns:iodef-2.0"><Incident/></IODEF-Document>`, "IncidentID"},
		"deep":             {strings.Repeat("<a>", maxDepth+1) + strings.Repeat("</a>", maxDepth+1), "nested more than"},
		"another encoding": {`<?xml version="1.0" encoding="ISO-8859-1"?><IODEF-Document/>`, "encoding"},
		"too large":        {strings.Repeat(" ", MaxBytes+1), "larger than"},
	}
	for name, c := range cases {
		_, err := Parse([]byte(c.doc))
		var de *DecodeError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want a DecodeError saying %q", name, err, c.says)
		}
	}
}

// TestParseKeepsWhatItDoesNotMap: a report in the common IODEF style (addresses in
// EventData, a Method) maps its addresses and keeps the rest as XML text.
func TestParseKeepsWhatItDoesNotMap(t *testing.T) {
	doc := `<?xml version="1.0" encoding="UTF-8"?>
<IODEF-Document version="2.00" xmlns="urn:ietf:params:xml:ns:iodef-2.0">
  <Incident purpose="reporting" restriction="need-to-know">
    <IncidentID name="csirt.example.com">189493</IncidentID>
    <GenerationTime>2015-07-18T09:00:00-05:00</GenerationTime>
    <Description>Scanning from our network</Description>
    <Method><Description>ssh brute force</Description></Method>
    <Contact type="organization" role="creator"><ContactName>Example CSIRT</ContactName></Contact>
    <EventData restriction="green">
      <Flow><System category="source"><Node><Address category="ipv4-addr">192.0.2.200</Address></Node></System></Flow>
    </EventData>
  </Incident>
</IODEF-Document>`
	if err := xmllint(t, []byte(doc)); err != nil {
		t.Fatalf("the test document itself is not valid: %v", err)
	}
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if p.Title != "Scanning from our network" || p.Label != tlp.AmberStrict || len(p.Observables) != 1 ||
		p.Observables[0].Observable.Value != "192.0.2.200" || p.Observables[0].Label != tlp.Green {
		t.Errorf("plan: %+v", p)
	}
	if p.Kept() != 3 || !strings.Contains(strings.Join(p.Raw, ""), "ssh brute force") {
		t.Errorf("kept %d: %q", p.Kept(), p.Raw)
	}
}

// FuzzParse: no input panics or hangs; errors are DecodeErrors.
func FuzzParse(f *testing.F) {
	doc, _ := FromIncident(sample(), teams, time.Now())
	out, _ := Encode(doc)
	f.Add(out)
	f.Add([]byte(`<IODEF-Document xmlns="urn:ietf:params:xml:ns:iodef-2.0"><Incident><IncidentID name="a">1</IncidentID></Incident></IODEF-Document>`))
	f.Add([]byte(`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if p.IncidentID == "" || !p.Label.Valid() {
			t.Fatalf("plan without an incident id or label: %+v", p)
		}
	})
}
