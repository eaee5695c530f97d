package taxii

import (
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
