package taxii

import (
	"bytes"
	"encoding/json"
	"net/url"
	"testing"
)

// FuzzParseFilter: any query string is read or refused with an error, never a panic,
// and what is read is within the limits.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"limit=10&added_after=2026-03-01T09:00:00.000Z", "match[id]=indicator--00000000-0000-4000-8000-000000000000,x",
		"match[version]=first,last,all,2026-03-01T09:00:00Z", "match[type]=indicator&match[spec_version]=2.1", "next=YzE6YTo1", "limit=-1",
		"match[id]=" + "a,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := url.ParseQuery(s)
		if err != nil {
			return
		}
		fl, err := ParseFilter(q, allowPaging|allowID|allowType|allowVersion|allowSpecVersion)
		if err != nil {
			return
		}
		if fl.Limit < 1 || fl.Limit > MaxPage || len(fl.IDs) > maxMatch || len(fl.Types) > maxMatch || len(fl.SpecVersions) > maxMatch {
			t.Fatalf("%q read as %+v", s, fl)
		}
		if fl.Next != nil && fl.Next.Seq < 0 {
			t.Fatalf("negative cursor from %q", s)
		}
	})
}

// FuzzCursor: a cursor decodes only to what encodes to it again.
func FuzzCursor(f *testing.F) {
	f.Add(Cursor{Collection: IndicatorsCollection, Seq: 42}.Encode())
	f.Add("YzE6YTo1")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeCursor(s)
		if err != nil {
			return
		}
		if again, err := DecodeCursor(c.Encode()); err != nil || again != c {
			t.Fatalf("%q → %+v → %v %v", s, c, again, err)
		}
	})
}

// FuzzDecodeEnvelope: an envelope is read or refused; each entry read has a valid id
// of its type, or says why not.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add([]byte(`{"objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000000","modified":"2026-03-01T09:00:00.000Z"}]}`))
	f.Add([]byte(`{"objects":[{"type":"ipv4-addr","id":"ipv4-addr--00000000-0000-4000-8000-000000000000","value":"1.2.3.4"}],"more":true}`))
	f.Add([]byte(`{"objects":[1,"x",null,{}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := DecodeEnvelope(b)
		if err != nil {
			return
		}
		for _, e := range es {
			if e.Err == nil && (!stixIDPattern.MatchString(e.ID) || e.SpecVersion != "2.1" || e.Type == "") {
				t.Fatalf("accepted %+v from %q", e, b)
			}
		}
	})
}

// FuzzScanEnvelope: the client's envelope scanner reads what encoding/json reads, or
// leaves it to encoding/json.
func FuzzScanEnvelope(f *testing.F) {
	for _, s := range []string{`{"more":true,"next":"abc","objects":[{"id":"x"},[1,{"a":"]"}],"s\"}"]}`, `{"more":false}`, `{"objects":null,"more":null}`,
		`{"More":true}`, `{"more":true,"more":false}`, `{"next":"a\u0062"}`, ` { "objects" : [ 1 , 2 ] } `, `{"ne\u0078t":"a"}`, `[]`, `{"objects":[]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := scanEnvelope(b)
		if !ok {
			return
		}
		var want envelope
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("scanned %q, which encoding/json refuses: %v", b, err)
		}
		if got.More != want.More || got.Next != want.Next || len(got.Objects) != len(want.Objects) || (got.Objects == nil) != (want.Objects == nil) && len(want.Objects) > 0 {
			t.Fatalf("%q: scanned %+v, encoding/json %+v", b, got, want)
		}
		for i := range got.Objects {
			if !bytes.Equal(got.Objects[i], want.Objects[i]) {
				t.Fatalf("%q: object %d scanned %q, encoding/json %q", b, i, got.Objects[i], want.Objects[i])
			}
		}
	})
}

// FuzzObjectKey: an object's key read by scanning is the key encoding/json reads.
func FuzzObjectKey(f *testing.F) {
	for _, s := range []string{`{"id":"indicator--1","modified":"2026-01-01T00:00:00Z"}`, `{"x":{"id":"no"},"id":"a","created":"c"}`, `{"ID":"a"}`,
		`{"id":"a\u0062"}`, `{"id":1}`, `{"id":null}`, `{"id":"a","id":"b"}`, `{"\u0069d":"a"}`, ` { "id" : "a" , "s" : [ "]" ] } `, `{"Id":"k"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		if got, want := objectKey(b), objectKeySlow(b); got != want {
			t.Fatalf("%q: key %q, encoding/json %q", b, got, want)
		}
	})
}
