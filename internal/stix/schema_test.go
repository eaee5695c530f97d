package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"csirtlink/internal/exchange/exchangetest"
	"csirtlink/internal/observable"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
)

// sharedData is ../shared/data/stix2.1 (the OASIS schemas and examples, BSD-3-Clause;
// see its README). Under CI its absence fails the test; elsewhere it skips, saying what
// is missing.
func sharedData(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../../shared/data/stix2.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "schemas", "common", "bundle.json")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the OASIS STIX 2.1 schemas are missing (%v): CI needs ../shared/data/stix2.1", err)
		}
		t.Skipf("no OASIS STIX 2.1 schemas at %s (../shared/data/stix2.1): %v", dir, err)
	}
	return dir
}

// oasisSchemas compiles the OASIS schemas, each under its own $id, so that their
// relative references resolve among themselves and nothing is fetched.
type oasisSchemas struct {
	c     *jsonschema.Compiler
	ids   map[string]string // file name without .json → $id
	cache map[string]*jsonschema.Schema
}

func loadSchemas(t *testing.T) *oasisSchemas {
	t.Helper()
	root := filepath.Join(sharedData(t), "schemas")
	s := &oasisSchemas{c: jsonschema.NewCompiler(), ids: map[string]string{}, cache: map[string]*jsonschema.Schema{}}
	s.c.DefaultDraft(jsonschema.Draft2020)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			return err
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if id == "" {
			t.Fatalf("%s has no $id", path)
		}
		s.ids[strings.TrimSuffix(d.Name(), ".json")] = id
		return s.c.AddResource(id, doc)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ids) < 50 {
		t.Fatalf("found %d schemas under %s; want the whole OASIS set", len(s.ids), root)
	}
	return s
}

func (s *oasisSchemas) validate(t *testing.T, schema string, obj json.RawMessage) {
	t.Helper()
	sch, ok := s.cache[schema]
	if !ok {
		id, known := s.ids[schema]
		if !known {
			t.Fatalf("no OASIS schema %q", schema)
		}
		var err error
		if sch, err = s.c.Compile(id); err != nil {
			t.Fatalf("compile %s: %v", schema, err)
		}
		s.cache[schema] = sch
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("%s does not validate against the OASIS schema:\n%s\n%v", schema, obj, err)
	}
}

// sample is the shared test incident, with the same address again under a stricter
// label and an object kept from an earlier import.
func sample() store.Incident {
	in := exchangetest.Incident()
	raw := `{"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc","created":"2016-04-06T20:07:09.000Z","modified":"2016-04-06T20:07:09.000Z","name":"Poison Ivy","is_family":true}`
	in.Timeline = append(in.Timeline,
		exchangetest.Observable("13", observable.IPv4, "198.51.100.7", "RED", in.CreatedAt),
		store.Entry{ID: "14", Team: "cn", Author: "wei", Kind: "comment", Body: RawPrefix + raw, TLP: "AMBER", CreatedAt: in.CreatedAt.Add(4 * time.Minute)})
	return in
}

var sampleTeams = map[string]Team{"cn": {ID: "cn", Name: "CNCERT/CC", Email: "hotline@cert.cn.example"}, "jp": {ID: "jp", Name: "JPCERT/CC"}}

// TestEveryObjectWeProduceValidates: every object type we write — each TLP 2.0 marking,
// identity, incident, report, note, every SCO type, indicator, sighting, relationship,
// a revoked object — validates against its OASIS schema and, in a bundle, against the
// bundle schema.
func TestEveryObjectWeProduceValidates(t *testing.T) {
	s := loadSchemas(t)
	ex, err := FromIncident(sample(), sampleTeams)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, o := range ex.Objects {
		var h struct{ Type string }
		json.Unmarshal(o, &h)
		seen[h.Type]++
		schema := h.Type
		if h.Type == "marking-definition" {
			schema = "marking-definition"
		}
		s.validate(t, schema, o)
	}
	for _, typ := range []string{"marking-definition", "identity", "incident", "report", "note", "ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "file", "malware"} {
		if seen[typ] == 0 {
			t.Errorf("the export has no %s object: %v", typ, seen)
		}
	}
	if seen["marking-definition"] != 5 || seen["identity"] != 3 {
		t.Errorf("markings %d (want all 5 labels), identities %d (want 3 teams)", seen["marking-definition"], seen["identity"])
	}
	if ex.Observables != 10 || ex.Notes != 1 || ex.Raw != 1 {
		t.Errorf("counts: %d SCOs, %d notes, %d raw; want 10 (the address twice is one), 1, 1", ex.Observables, ex.Notes, ex.Raw)
	}
	s.validate(t, "bundle", EncodeBundle(NewBundleID(), bundleSchemaLists(ex.Objects)))

	// The types the incident export does not carry yet (indicators and sightings come
	// with shared indicators), and a revocation.
	t0 := At(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
	common := func(typ, key string) Common {
		return Common{Type: typ, SpecVersion: SpecVersion, ID: DerivedID(typ, key), CreatedByRef: TeamIdentityID("cn"),
			Created: t0, Modified: t0, ObjectMarkingRefs: Markings(tlp.AmberStrict)}
	}
	pattern, err := PatternFor(observable.Observable{Type: observable.CIDR, Value: "198.51.100.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	ind := Indicator{Common: common("indicator", "i1"), Name: "C2 range", IndicatorTypes: []string{"malicious-activity"}, Pattern: pattern, PatternType: "stix", ValidFrom: t0}
	first, last := t0, At(t0.Add(time.Hour))
	sig := Sighting{Common: common("sighting", "s1"), SightingOfRef: ind.ID, FirstSeen: &first, LastSeen: &last, Count: 3, WhereSightedRefs: []string{TeamIdentityID("jp")}}
	rel := Relationship{Common: common("relationship", "r1"), RelationshipType: "indicates", SourceRef: ind.ID, TargetRef: IncidentID("cn-2026-0001")}
	revoked := ind
	revoked.Revoke(t0.Add(-time.Hour)) // an earlier clock still makes a later version
	if !revoked.Revoked || !revoked.Modified.After(ind.Modified.Time) {
		t.Errorf("revocation: revoked %v, modified %v after %v", revoked.Revoked, revoked.Modified, ind.Modified)
	}
	var objs []json.RawMessage
	for _, v := range []struct {
		schema string
		obj    any
	}{{"indicator", ind}, {"sighting", sig}, {"relationship", rel}, {"indicator", revoked}, {"autonomous-system", ASN(4134)}} {
		b, err := Marshal(v.obj)
		if err != nil {
			t.Fatal(err)
		}
		s.validate(t, v.schema, b)
		objs = append(objs, b)
	}
	s.validate(t, "bundle", EncodeBundle(NewBundleID(), objs))

	// The seam for shared indicators: what it makes validates, and reads back.
	d := IndicatorData{ID: "ind-1", Owner: "jp", Name: "C2", Types: []string{"malicious-activity"}, Label: tlp.Green,
		Observables: []observable.Observable{{Type: observable.IPv4, Value: "198.51.100.7"}, {Type: observable.SHA256, Value: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
		Created:     t0.Time, Modified: t0.Time, ValidFrom: t0.Time, Revoked: true}
	mi, err := IndicatorFrom(d)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := SightingFrom(SightingData{ID: "s-1", Team: "kr", IndicatorID: "ind-1", Label: tlp.Amber, Created: t0.Time, FirstSeen: t0.Time, LastSeen: t0.Time, Count: 12})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		schema string
		obj    any
	}{{"indicator", mi}, {"sighting", ms}} {
		b, _ := Marshal(v.obj)
		s.validate(t, v.schema, b)
	}
	b, _ := Marshal(mi)
	back, err := ReadIndicator(b)
	if err != nil || len(back.Observables) != 2 || back.Observables[1] != d.Observables[1] || back.Label != tlp.Green || !back.Revoked {
		t.Errorf("ReadIndicator: %+v %v", back, err)
	}
}

// TestTLP2MarkingsAreTheOASISObjects: the markings are the objects OASIS published
// (cti-stix-common-objects, extension-definition-specifications/tlp-2.0), ids and all.
func TestTLP2MarkingsAreTheOASISObjects(t *testing.T) {
	// tlp-amber+strict.json as published, reformatted.
	const published = `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003","created":"2022-10-01T00:00:00.000Z","name":"TLP:AMBER+STRICT","extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{"extension_type":"property-extension","tlp_2_0":"amber+strict"}}}`
	got, err := Marshal(Marking(tlp.AmberStrict))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != published {
		t.Errorf("AMBER+STRICT marking:\n got %s\nwant %s", got, published)
	}
	want := map[tlp.Label]string{
		tlp.Clear: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", tlp.Green: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
		tlp.Amber: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", tlp.AmberStrict: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
		tlp.Red: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
	}
	for l, id := range want {
		m := Marking(l)
		if m.ID != id || m.Name != "TLP:"+string(l) || m.Extensions[TLP2Extension].TLP != strings.ToLower(string(l)) {
			t.Errorf("%s: %+v", l, m)
		}
		b, _ := Marshal(m)
		if got, ok := isTLPMarking(b); !ok || got != l {
			t.Errorf("%s: read back as %q %v", l, got, ok)
		}
		if got, ok := LabelOf(id); !ok || got != l {
			t.Errorf("LabelOf(%s) = %s %v", id, got, ok)
		}
	}
	// TLP 1.0 WHITE reads as CLEAR; a marking that contradicts its id is not ours.
	if l, ok := LabelOf("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"); !ok || l != tlp.Clear {
		t.Errorf("TLP:WHITE read as %s %v", l, ok)
	}
	forged := strings.Replace(published, `"tlp_2_0":"amber+strict"`, `"tlp_2_0":"clear"`, 1)
	if _, ok := isTLPMarking(json.RawMessage(forged)); ok {
		t.Error("a marking whose level contradicts its id was taken as a TLP marking")
	}
}

// TestExamplesDecodeAndRoundTrip: the OASIS example bundles decode, every object keeps
// its exact bytes, and encoding the bundle again gives the same objects byte for byte.
func TestExamplesDecodeAndRoundTrip(t *testing.T) {
	s := loadSchemas(t)
	root := filepath.Join(sharedData(t), "examples")
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		n++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		b, err := ParseBundle(data)
		var top struct{ Type string }
		json.Unmarshal(data, &top)
		if top.Type != "bundle" {
			// One example is a bare object: refused, naming the field.
			var de *DecodeError
			if !errors.As(err, &de) || de.Field != "type" {
				t.Errorf("%s: a %s at the top level: %v, want an error on type", path, top.Type, err)
			}
			return nil
		}
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		if len(b.Objects) == 0 {
			t.Errorf("%s: no objects", path)
		}
		for _, o := range b.Objects {
			if !bytes.Contains(data, o.Raw) {
				t.Errorf("%s: %s is not byte-identical to the file's", path, o.ID)
			}
		}
		out := EncodeBundle(b.ID, rawsOf(b))
		again, err := ParseBundle(out)
		if err != nil {
			t.Fatalf("%s: our encoding does not decode: %v", path, err)
		}
		for i := range b.Objects {
			if !bytes.Equal(again.Objects[i].Raw, b.Objects[i].Raw) {
				t.Errorf("%s: object %d changed in the round trip", path, i)
			}
		}
		s.validate(t, "bundle", EncodeBundle(b.ID, bundleSchemaLists(rawsOf(again))))
		p := PlanImport(b, func(string) (string, bool) { return "", false })
		if p.Mapped+p.Kept() != len(b.Objects) {
			t.Errorf("%s: mapped %d + kept %d != %d objects", path, p.Mapped, p.Kept(), len(b.Objects))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Fatalf("only %d examples under %s", n, root)
	}
}

// bundleSchemaLists drops the objects of the types the OASIS bundle.json does not list
// (incident, note, grouping, location, opinion): the schema lets an unlisted type pass
// only as a custom object, whose oneOf (core or cyber-observable-core) a standard SDO
// matches twice. Each of those objects is validated against its own schema instead.
func bundleSchemaLists(objs []json.RawMessage) []json.RawMessage {
	var out []json.RawMessage
	for _, o := range objs {
		var h struct{ Type string }
		json.Unmarshal(o, &h)
		switch h.Type {
		case "incident", "note", "grouping", "location", "opinion":
			continue
		}
		out = append(out, o)
	}
	return out
}

func rawsOf(b Bundle) []json.RawMessage {
	out := make([]json.RawMessage, len(b.Objects))
	for i, o := range b.Objects {
		out[i] = o.Raw
	}
	return out
}
