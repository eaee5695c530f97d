package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"csirtlink/internal/stix"
)

// TestExchangeCommands: the commands the acceptance checks use. `stix export` prints a
// bundle of the incident with only what its audience may see; `stix import` of that
// bundle on a partner's node makes an incident with the same fields and observables;
// `iodef export` prints a document the IODEF schema accepts, and `iodef import` reads it.
func TestExchangeCommands(t *testing.T) {
	n := startTestnet(t)
	out := run(t, n, "cn", runIncident, "create", "--title", "Botnet C2 in three networks", "--category", "malicious-code/infected-system",
		"--severity", "high", "--tlp", "amber", "--participants", "jp")
	id := regexp.MustCompile(`cn-\d{4}-\d{4}`).FindString(out)
	run(t, n, "cn", runIncident, "comment", "--observable", id, "198.51.100.7")
	run(t, n, "cn", runIncident, "comment", "--observable", "--tlp", "green", id, "c2.example")
	run(t, n, "cn", runIncident, "comment", "--tlp", "amber+strict", "--recipient", "cn", id, "Our sinkhole is at 192.0.2.1")
	run(t, n, "cn", runIncident, "comment", "--tlp", "green", id, "Takedown requested")

	bundle := run(t, n, "cn", runSTIX, "export", "--incident", id)
	b, err := stix.ParseBundle([]byte(bundle))
	if err != nil {
		t.Fatalf("stix export printed no bundle: %v\n%s", err, bundle)
	}
	if !strings.Contains(bundle, "Our sinkhole") || !strings.Contains(bundle, stix.MarkingID("AMBER+STRICT")) {
		t.Errorf("the export for our own team lacks the AMBER+STRICT note")
	}
	// For jp, a participant not named for the AMBER+STRICT note; for outsiders, GREEN only.
	forJP := run(t, n, "cn", runSTIX, "export", "--incident", id, "--team", "jp")
	if strings.Contains(forJP, "Our sinkhole") || !strings.Contains(forJP, "198.51.100.7") {
		t.Errorf("the export for jp:\n%s", forJP)
	}
	var errOut bytes.Buffer
	nd := n.Node("cn")
	err = runSTIX(context.Background(), []string{"export", "--incident", id, "--team", "outside", "--url", nd.URL, "--token", nd.Token}, &bytes.Buffer{}, &errOut)
	if err == nil || !strings.Contains(err.Error(), "stricter than the export's ceiling") {
		t.Errorf("an AMBER incident went to outsiders under GREEN: %v", err)
	}

	// Every export is in the audit log: who, which incident, for whom, what was withheld.
	recs, err := n.Node("cn").App.Store.ListAudit(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var exports []string
	for _, r := range recs {
		if r.Action == "incident.export" {
			exports = append(exports, r.Detail)
		}
	}
	if len(exports) != 2 || exports[1] != "stix for jp up to TLP:RED: 3 entries, 1 withheld" {
		t.Errorf("audited exports: %q", exports)
	}

	// Import on kr's node: a new incident there, with the same fields and observables.
	file := filepath.Join(t.TempDir(), "bundle.json")
	os.WriteFile(file, []byte(bundle), 0o600)
	out = run(t, n, "kr", runSTIX, "import", file, "--json")
	var res struct {
		Incident struct {
			ID, Title, Category, Severity, TLP string
			Timeline                           []struct{ Kind, Body, TLP string }
		}
		Mapped, Kept, Observables, Notes int
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	in := res.Incident
	if !strings.HasPrefix(in.ID, "kr-") || in.Title != "Botnet C2 in three networks" || in.Category != "malicious-code/infected-system" || in.Severity != "high" || in.TLP != "AMBER" {
		t.Errorf("imported incident %+v", in)
	}
	if res.Observables != 2 || res.Notes != 2 || res.Mapped+res.Kept != len(b.Objects) {
		t.Errorf("import: %+v of %d objects", res, len(b.Objects))
	}
	var bodies []string
	for _, e := range in.Timeline {
		bodies = append(bodies, e.Kind+" "+e.Body+" "+e.TLP)
	}
	for _, want := range []string{"observable 198.51.100.7 AMBER", "observable c2.example GREEN", "comment Our sinkhole is at 192.0.2.1 AMBER+STRICT", "comment Takedown requested GREEN"} {
		if !strings.Contains(strings.Join(bodies, "\n"), want) {
			t.Errorf("imported timeline lacks %q:\n%s", want, strings.Join(bodies, "\n"))
		}
	}

	// IODEF: the document validates against RFC 7970's schema and imports back.
	doc := run(t, n, "cn", runIODEF, "export", "--incident", id, "--team", "jp")
	if strings.Contains(doc, "Our sinkhole") {
		t.Error("the IODEF document for jp carries the AMBER+STRICT note")
	}
	xmlFile := filepath.Join(t.TempDir(), "incident.xml")
	os.WriteFile(xmlFile, []byte(doc), 0o600)
	if bin, err := exec.LookPath("xmllint"); err == nil {
		if out, err := exec.Command(bin, "--noout", "--nonet", "--schema", "../iodef/testdata/schema/iodef-2.0.xsd", xmlFile).CombinedOutput(); err != nil {
			t.Errorf("iodef export does not validate: %v %s\n%s", err, out, doc)
		}
	} else if os.Getenv("CI") != "" {
		t.Fatal("xmllint is missing (apt-get install libxml2-utils)")
	}
	out = run(t, n, "jp", runIODEF, "import", xmlFile)
	if !regexp.MustCompile(`Imported as jp-\d{4}-\d{4} \(TLP:AMBER\): \d+ mapped \(2 observables, 1 comments\), \d+ kept as they came`).MatchString(out) {
		t.Errorf("iodef import printed %q", out)
	}

	// An IODEF report with no restriction is private (the schema's default): a RED
	// incident here, its observable and kept parts RED too.
	report := `<?xml version="1.0" encoding="UTF-8"?>
<IODEF-Document version="2.00" xmlns="urn:ietf:params:xml:ns:iodef-2.0">
  <Incident purpose="reporting">
    <IncidentID name="csirt.example.com">189493</IncidentID>
    <GenerationTime>2015-07-18T09:00:00-05:00</GenerationTime>
    <Contact type="organization" role="creator"><ContactName>Example CSIRT</ContactName></Contact>
    <EventData><Flow><System category="source"><Node><Address category="ipv4-addr">192.0.2.200</Address></Node></System></Flow></EventData>
  </Incident>
</IODEF-Document>`
	os.WriteFile(xmlFile, []byte(report), 0o600)
	out = run(t, n, "kr", runIODEF, "import", xmlFile)
	if !regexp.MustCompile(`Imported as kr-\d{4}-\d{4} \(TLP:RED\): 1 mapped \(1 observables, 0 comments\), 2 kept as they came`).MatchString(out) {
		t.Errorf("iodef import of a private report printed %q", out)
	}

	// What we do not map comes back byte for byte: an indicator and a malware object,
	// spaced as their producer spaced them, kept on import and served by the export.
	kept := []string{
		`{ "type": "indicator", "spec_version": "2.1", "id": "indicator--33fe3b22-0201-47cf-85d0-97c02164528d",
      "created": "2014-05-08T09:00:00.000Z", "modified": "2014-05-08T09:00:00.000Z", "pattern": "[ipv4-addr:value = '10.0.0.0']",
      "pattern_type": "stix", "valid_from": "2014-05-08T09:00:00.000000Z" }`,
		`{"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc","created":"2016-04-06T20:07:09.000Z","modified":"2016-04-06T20:07:09.000Z","name":"Poison Ivy","is_family":true}`,
	}
	// A third, RED on one property only: kept, as restricted as its strictest part.
	secret := `{"type":"url","spec_version":"2.1","id":"url--12592121-be4c-5a93-a813-5a5af16e50db","value":"http://panel.example/","granular_markings":[{"marking_ref":"` + stix.MarkingID("RED") + `","selectors":["value"]}]}`
	foreign := `{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[` + strings.Join(append(kept, secret), ",\n") + `]}`
	os.WriteFile(file, []byte(foreign), 0o600)
	out = run(t, n, "jp", runSTIX, "import", file, "--tlp", "green")
	jpID := regexp.MustCompile(`jp-\d{4}-\d{4}`).FindString(out)
	if !strings.Contains(out, "(TLP:GREEN): 0 mapped") || !strings.Contains(out, "3 kept as they came") {
		t.Errorf("import of a foreign bundle printed %q", out)
	}
	again := run(t, n, "jp", runSTIX, "export", "--incident", jpID, "--team", "outside")
	for _, k := range kept {
		if !strings.Contains(again, k) {
			t.Errorf("the export does not serve the kept object byte for byte:\n%s\nin\n%s", k, again)
		}
	}
	if strings.Contains(again, "panel.example") {
		t.Error("an object with a RED part went to outsiders")
	}
	if own := run(t, n, "jp", runSTIX, "export", "--incident", jpID); !strings.Contains(own, secret) {
		t.Error("the export for our own team lacks the RED-marked object")
	}
}
