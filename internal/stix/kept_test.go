package stix_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/indicator"
	"csirtlink/internal/stix"
	"csirtlink/internal/store"
	"csirtlink/internal/taxii"
	"csirtlink/internal/testnet"
	"csirtlink/internal/tlp"
)

// TestIndicatorImportKeepsWhatItCannotMap: a STIX import as shared indicators keeps
// every object it does not map (and every one it maps only in part) byte for byte,
// with its provenance and a label from its markings that is never more permissive
// than they say (none, or one we cannot read: the import's label). Ours → theirs →
// ours is the identity for what we map, and what we do not map comes back unchanged
// in the bundle export and the TAXII collection, decided per object for each
// audience; a second import keeps nothing twice; the API lists them with provenance.
func TestIndicatorImportKeepsWhatItCannotMap(t *testing.T) {
	validate := stix.SchemaValidator(t)
	ctx := context.Background()
	n, err := testnet.Start(ctx, testnet.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	cn, jp := n.Node("cn"), n.Node("jp")
	from := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
	conf := 70
	ours, err := cn.App.Indicators.Create(ctx, indicator.Actor{Name: "wei"}, indicator.Input{Type: "domain", Value: "kept-c2.example",
		Category: "malicious-code/c2-server", TLP: "GREEN", Confidence: &conf, Tags: []string{"wave"}, Description: "C2", ValidFrom: &from})
	if err != nil {
		t.Fatal(err)
	}
	own, _ := cn.App.Exchange.ParseAudience("", "")
	exp, err := cn.App.Exchange.ExportSTIXIndicators(ctx, "wei", []string{ours.ID}, false, own)
	if err != nil {
		t.Fatal(err)
	}

	green, red, clear := stix.MarkingID(tlp.Green), stix.MarkingID(tlp.Red), stix.MarkingID(tlp.Clear)
	statement := "marking-definition--a4d70b75-6f4a-4d19-9f30-1f4d2e8a5c11"
	// Their objects, in their formatting (spaces, escapes, key order): what we keep
	// must come back exactly so.
	foreign := map[string]struct {
		raw   string
		label tlp.Label
	}{
		"malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc": {`{ "type": "malware", "spec_version": "2.1", "id": "malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc",
  "created": "2016-04-06T20:07:09.000Z", "modified": "2016-04-06T20:07:09.000Z", "name": "Poison Ivy \u00e9 <b>", "is_family": true,
  "object_marking_refs": ["` + green + `"] }`, tlp.Green},
		"relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad":   {`{"id":"relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad","type":"relationship","spec_version":"2.1","created":"2016-04-06T20:07:10.000Z","modified":"2016-04-06T20:07:10.000Z","relationship_type":"uses","source_ref":"malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc","target_ref":"attack-pattern--7e33a43e-e34b-40ec-89da-36c9bb2cacd5"}`, tlp.Amber},
		"attack-pattern--7e33a43e-e34b-40ec-89da-36c9bb2cacd5": {`{"type":"attack-pattern","spec_version":"2.1","id":"attack-pattern--7e33a43e-e34b-40ec-89da-36c9bb2cacd5","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z","name":"Spear Phishing","object_marking_refs":["` + red + `"]}`, tlp.Red},
		// GREEN beside a marking we cannot read: at least the import's AMBER.
		"malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061": {`{"type":"malware","spec_version":"2.1","id":"malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z","name":"Cryptolocker","is_family":false,"object_marking_refs":["` + green + `","` + statement + `"]}`, tlp.Amber},
		statement: {`{"type":"marking-definition","spec_version":"2.1","id":"` + statement + `","created":"2017-01-20T00:00:00.000Z","definition_type":"statement","definition":{"statement":"Copyright 2019, Example Corp"}}`, tlp.Amber},
		// A cyber-observable with neither created nor modified.
		"autonomous-system--f822c34b-98ae-597f-ade5-27dc241e8c74": {`{"type":"autonomous-system","spec_version":"2.1","id":"autonomous-system--f822c34b-98ae-597f-ade5-27dc241e8c74","number":15139,"object_marking_refs":["` + clear + `"]}`, tlp.Clear},
		// Mapped in part: kill_chain_phases has no place in ours.
		"indicator--d81f86b9-975b-4c0b-875e-810c5ad45a4f": {`{"type":"indicator","spec_version":"2.1","id":"indicator--d81f86b9-975b-4c0b-875e-810c5ad45a4f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[ipv4-addr:value = '203.0.113.77']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z","kill_chain_phases":[{"kill_chain_name":"lockheed-martin-cyber-kill-chain","phase_name":"delivery"}],"object_marking_refs":["` + green + `"]}`, tlp.Green},
	}
	var extra []string
	for _, f := range foreign {
		extra = append(extra, f.raw)
	}
	slices.Sort(extra)
	doc := strings.Replace(string(exp.Body), `"objects":[`, `"objects":[`+strings.Join(extra, ",")+",", 1)
	bundleID := "bundle--" + strings.SplitN(strings.SplitN(doc, `"bundle--`, 2)[1], `"`, 2)[0]

	res, err := jp.App.Exchange.ImportSTIXIndicators(ctx, indicator.Actor{Name: "kenji"}, []byte(doc), "AMBER")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Imported || res.Added != 2 || res.Kept != len(foreign) || res.KeptNew != len(foreign) || res.Partly != 1 || res.NotMapped != len(foreign)-1 {
		t.Fatalf("import: %+v; want our indicator and the partly mapped one added, %d kept (1 partly mapped)", res, len(foreign))
	}
	again, err := jp.App.Exchange.ImportSTIXIndicators(ctx, indicator.Actor{Name: "kenji"}, []byte(doc), "AMBER")
	if err != nil || again.Kept != len(foreign) || again.KeptNew != 0 {
		t.Errorf("second import: %+v %v; want %d kept, none new", again, err, len(foreign))
	}

	// Ours → theirs → ours: the identity for what we map.
	got, err := jp.App.Store.IndicatorsByValue(ctx, []string{ours.Value}, 10)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(got, func(x store.Indicator) bool { return x.Author == "jp" })
	if i < 0 {
		t.Fatalf("not imported: %+v", got)
	}
	if g := got[i]; g.Category != ours.Category || g.Confidence != ours.Confidence || g.TLP != ours.TLP || g.Description != ours.Description ||
		!g.ValidFrom.Equal(ours.ValidFrom) || !slices.Equal(g.Tags, []string{"wave", "stix"}) {
		t.Errorf("round trip: got %+v, want %+v", g, ours)
	}

	// What we do not map comes back byte for byte, to each audience what egress lets go.
	jpOwn, _ := jp.App.Exchange.ParseAudience("", "")
	back, err := jp.App.Exchange.ExportSTIXIndicators(ctx, "kenji", nil, true, jpOwn)
	if err != nil {
		t.Fatal(err)
	}
	if back.Kept != len(foreign) {
		t.Errorf("own export: %d kept objects, want %d", back.Kept, len(foreign))
	}
	_, raws := objectsOf(t, back.Body)
	for id, f := range foreign {
		if !slices.ContainsFunc(raws, func(r json.RawMessage) bool { return bytes.Equal(r, []byte(f.raw)) }) {
			t.Errorf("%s not served back byte for byte", id)
		}
	}
	out, _ := jp.App.Exchange.ParseAudience("outside", "GREEN")
	soc, err := jp.App.Exchange.ExportSTIXIndicators(ctx, "kenji", nil, true, out)
	if err != nil {
		t.Fatal(err)
	}
	objs, raws := objectsOf(t, soc.Body)
	for j, o := range objs {
		if o.Type != "marking-definition" && o.Type != "malware" && o.Type != "autonomous-system" {
			validate(o.Type, raws[j])
		}
	}
	for id, f := range foreign {
		sent := slices.ContainsFunc(raws, func(r json.RawMessage) bool { return bytes.Equal(r, []byte(f.raw)) })
		if want := f.label.Rank() <= tlp.Green.Rank(); sent != want {
			t.Errorf("%s (%s) to outsiders up to GREEN: sent %v, want %v", id, f.label, sent, want)
		}
	}

	// The TAXII collection serves them too, to a GREEN consumer only what GREEN allows.
	cred, err := jp.App.TAXIIConsumers.Create(ctx, taxii.ConsumerInput{Name: "soc-kept", Ceiling: "GREEN"})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", jp.URL+"/taxii2/api/collections/"+taxii.IndicatorsCollection+"/objects/?limit=1000", nil)
	req.Header.Set("Accept", taxii.MediaType)
	req.SetBasicAuth(cred.Name, cred.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("taxii: %d %s", resp.StatusCode, body)
	}
	for id, f := range foreign {
		sent := bytes.Contains(body, []byte(f.raw))
		if want := f.label.Rank() <= tlp.Green.Rank(); sent != want {
			t.Errorf("TAXII %s (%s) to a GREEN consumer: served %v, want %v", id, f.label, sent, want)
		}
	}

	// Listed with their provenance, a page at a time.
	var listed []string
	after := ""
	for range 10 {
		page, err := jp.App.Exchange.KeptObjects(ctx, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range page.Objects {
			f, ok := foreign[k.STIXID]
			if !ok || k.ImportedBy != "kenji" || k.Source != bundleID || k.TLP != string(f.label) || k.Why == "" || k.ImportedAt.IsZero() {
				t.Errorf("listed: %s %s by %q from %s, why %q (want label %s, source %s)", k.STIXID, k.TLP, k.ImportedBy, k.Source, k.Why, f.label, bundleID)
			}
			listed = append(listed, k.STIXID)
		}
		if after = page.Next; after == "" {
			break
		}
	}
	if len(listed) != len(foreign) {
		t.Errorf("listed %d kept objects, want %d: %v", len(listed), len(foreign), listed)
	}
	if _, err := jp.App.Exchange.KeptObjects(ctx, "nonsense", 3); err == nil || !strings.Contains(err.Error(), "after") {
		t.Errorf("a bad cursor: %v", err)
	}
}
