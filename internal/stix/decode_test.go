package stix

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"csirtlink/internal/observable"
	"csirtlink/internal/tlp"
)

func TestParseBundleRefuses(t *testing.T) {
	obj := `{"type":"ipv4-addr","id":"ipv4-addr--12592121-be4c-5a93-a813-5a5af16e50db","value":"198.51.100.7"}`
	bundle := func(objects ...string) string {
		return `{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[` + strings.Join(objects, ",") + `]}`
	}
	cases := map[string]struct{ doc, field string }{
		"not JSON":            {`{"type":`, ""},
		"not a bundle":        {`{"type":"report","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982"}`, "type"},
		"no id":               {`{"type":"bundle"}`, "id"},
		"bad id":              {`{"type":"bundle","id":"bundle--1"}`, "id"},
		"objects not a list":  {`{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":{}}`, "objects"},
		"object not object":   {bundle(`"x"`), "objects[0]"},
		"object without type": {bundle(`{"id":"x--12592121-be4c-5a93-a813-5a5af16e50db"}`), "objects[0].type"},
		"id of another type":  {bundle(obj, `{"type":"url","id":"ipv4-addr--12592121-be4c-5a93-a813-5a5af16e50db"}`), "objects[1].id"},
		"same object twice":   {bundle(obj, obj), "objects[1].id"},
		"trailing data":       {bundle(obj) + "{}", ""},
		"invalid UTF-8":       {bundle(`{"type":"url","id":"url--12592121-be4c-5a93-a813-5a5af16e50db","value":"` + "\xff" + `"}`), ""},
		"too many objects":    {bundle(strings.Repeat(`{"type":"url","id":"x"},`, MaxObjects) + obj), "objects"},
		"object too large":    {bundle(`{"type":"note","id":"note--12592121-be4c-5a93-a813-5a5af16e50db","content":"` + strings.Repeat("a", MaxObjectBytes) + `"}`), "objects[0]"},
	}
	for name, c := range cases {
		_, err := ParseBundle([]byte(c.doc))
		var de *DecodeError
		if !errors.As(err, &de) || de.Field != c.field {
			t.Errorf("%s: %v, want a DecodeError on %q", name, err, c.field)
		}
	}
	big := bytes.Repeat([]byte(" "), MaxBundleBytes+1)
	if _, err := DecodeBundle(bytes.NewReader(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a bundle over the cap: %v", err)
	}
}

// TestRoundTrip: ours → STIX → ours is the identity for what we map (the incident's
// fields, observables with their labels, comments), and what we do not map — here an
// object kept from an earlier import — comes back byte for byte.
func TestRoundTrip(t *testing.T) {
	in := sample()
	ex, err := FromIncident(in, sampleTeams)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseBundle(EncodeBundle(NewBundleID(), ex.Objects))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]string{TeamIdentityID("cn"): "cn", TeamIdentityID("jp"): "jp", TeamIdentityID("kr"): "kr"}
	p := PlanImport(b, func(id string) (string, bool) { team, ok := known[id]; return team, ok })
	if p.Title != in.Title || p.Description != in.Description || p.Category != in.Category || p.Severity != in.Severity || p.Label != tlp.Amber || !p.Labeled {
		t.Errorf("incident fields: %+v", p)
	}
	if len(p.Teams) != 3 {
		t.Errorf("teams %v", p.Teams)
	}
	var got []string
	for _, o := range p.Observables {
		got = append(got, fmt.Sprintf("%s %s %s", o.Observable.Type, o.Observable.Value, o.Label))
	}
	want := []string{"ipv4 198.51.100.7 RED", "ipv6 2001:db8::7 GREEN", "cidr 203.0.113.0/24 CLEAR", "cidr 2001:db8:1::/48 AMBER",
		"domain xn--bcher-kva.example AMBER+STRICT", "url http://c2.example/gate.php?id=1&x=<y> RED", "email phish@bad.example AMBER",
		"md5 d41d8cd98f00b204e9800998ecf8427e AMBER", "sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709 AMBER",
		"sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 AMBER"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("observables:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(p.Notes) != 1 || p.Notes[0].Text != in.Timeline[10].Body || p.Notes[0].Label != tlp.Green {
		t.Errorf("notes %+v", p.Notes)
	}
	if p.Kept() != 1 || string(p.Raw[0].Raw) != strings.TrimPrefix(in.Timeline[13].Body, RawPrefix) {
		t.Errorf("kept %d: %s", p.Kept(), p.Raw)
	}
	if p.Mapped+p.Kept() != len(b.Objects) {
		t.Errorf("mapped %d + kept %d != %d", p.Mapped, p.Kept(), len(b.Objects))
	}
}

// TestPlanKeepsWhatWeDoNotHold: objects with properties we would lose are kept whole.
func TestPlanKeepsWhatWeDoNotHold(t *testing.T) {
	doc := `{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[
 {"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--12592121-be4c-5a93-a813-5a5af16e50db","value":"198.51.100.7","resolves_to_refs":["mac-addr--12592121-be4c-5a93-a813-5a5af16e50db"]},
 {"type":"file","spec_version":"2.1","id":"file--12592121-be4c-5a93-a813-5a5af16e50db","name":"x.exe","hashes":{"MD5":"d41d8cd98f00b204e9800998ecf8427e"}},
 {"type":"domain-name","spec_version":"2.1","id":"domain-name--12592121-be4c-5a93-a813-5a5af16e50db","value":"not a domain"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--12592121-be4c-5a93-a813-5a5af16e50db","created":"2020-01-01T00:00:00Z","modified":"2020-01-01T00:00:00Z","pattern":"[ipv4-addr:value = '1.2.3.4']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"},
 {"type":"identity","spec_version":"2.1","id":"identity--12592121-be4c-5a93-a813-5a5af16e50db","created":"2020-01-01T00:00:00Z","modified":"2020-01-01T00:00:00Z","name":"Someone"},
 {"type":"email-addr","spec_version":"2.1","id":"email-addr--12592121-be4c-5a93-a813-5a5af16e50db","value":"A@Bad.Example"},
 {"type":"url","spec_version":"2.1","id":"url--12592121-be4c-5a93-a813-5a5af16e50db","value":"http://a.example/","granular_markings":[{"marking_ref":"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1","selectors":["value"]}]}
]}`
	b, err := ParseBundle([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	p := PlanImport(b, func(string) (string, bool) { return "", false })
	// A granular marking is never flattened into one label: that object is kept whole.
	if p.Mapped != 1 || p.Kept() != 6 || p.Observables[0].Observable != (observable.Observable{Type: observable.Email, Value: "A@bad.example"}) {
		t.Errorf("mapped %d, kept %d, observables %v", p.Mapped, p.Kept(), p.Observables)
	}
	for _, o := range p.Raw {
		if !bytes.Contains([]byte(doc), o.Raw) {
			t.Errorf("%s not kept byte for byte", o.ID)
		}
	}
}

// FuzzParseBundle: no input panics; a bundle that decodes has valid ids, keeps each
// object's bytes, and encodes to a bundle that decodes to the same objects.
func FuzzParseBundle(f *testing.F) {
	ex, _ := FromIncident(sample(), sampleTeams)
	f.Add(EncodeBundle("bundle--44af6c39-c09b-49c5-9de2-394224b04982", ex.Objects))
	f.Add([]byte(`{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[{"type":"x-y","id":"x-y--44af6c39-c09b-49c5-9de2-394224b04982"}]}`))
	f.Add([]byte(`{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for _, o := range b.Objects {
			if !ValidID(o.Type, o.ID) || !bytes.Contains(data, o.Raw) {
				t.Fatalf("object %s/%s: bytes not kept", o.Type, o.ID)
			}
		}
		again, err := ParseBundle(EncodeBundle(b.ID, rawsOf(b)))
		if err != nil || len(again.Objects) != len(b.Objects) {
			t.Fatalf("re-encoded bundle: %v", err)
		}
		p := PlanImport(b, func(string) (string, bool) { return "", false })
		if p.Mapped+p.Kept() != len(b.Objects) {
			t.Fatalf("mapped %d + kept %d != %d", p.Mapped, p.Kept(), len(b.Objects))
		}
	})
}
