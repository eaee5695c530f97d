package owner

import (
	"fmt"
	"strings"
	"testing"

	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

func good() store.NetOwner {
	return store.NetOwner{ID: "isp-a", Name: "ISP A", Networks: []string{"192.0.2.0/24", "2001:DB8::/32"}, ASNs: []uint32{64500},
		Domains: []string{"Example.JP."}, Contacts: []store.OwnerContact{{Email: "Abuse <abuse@example.jp>"}}}
}

func TestNormalizeCanonicalises(t *testing.T) {
	o, err := Normalize(good())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.Networks, " "); got != "192.0.2.0/24 2001:db8::/32" {
		t.Errorf("networks = %s", got)
	}
	if o.Domains[0] != "example.jp" {
		t.Errorf("domain = %s", o.Domains[0])
	}
	c := o.Contacts[0]
	if c.Email != "abuse@example.jp" || c.Language != "en" || c.Format != "csv" || c.Schedule != "daily" || c.DigestAt != "08:00" || c.Timezone != "UTC" {
		t.Errorf("contact defaults: %+v", c)
	}
}

func TestNormalizeNamesTheField(t *testing.T) {
	cases := []struct {
		field string
		edit  func(o *store.NetOwner)
	}{
		{"id", func(o *store.NetOwner) { o.ID = "ISP A" }},
		{"name", func(o *store.NetOwner) { o.Name = "" }},
		{"name", func(o *store.NetOwner) { o.Name = "a\x00b" }},
		{"networks[1]", func(o *store.NetOwner) { o.Networks[1] = "2001:db8::1/32" }},
		{"networks[0]", func(o *store.NetOwner) { o.Networks[0] = "192.0.2.0/33" }},
		{"networks[1]", func(o *store.NetOwner) { o.Networks[1] = "192.0.2.0/24" }},
		{"asns[0]", func(o *store.NetOwner) { o.ASNs[0] = 0 }},
		{"asns", func(o *store.NetOwner) { o.ASNs = []uint32{1, 1} }},
		{"domains[0]", func(o *store.NetOwner) { o.Domains[0] = "jp" }},
		{"domains[0]", func(o *store.NetOwner) { o.Domains[0] = "bad..example" }},
		{"networks", func(o *store.NetOwner) { o.Networks, o.ASNs, o.Domains = nil, nil, nil }},
		{"contacts", func(o *store.NetOwner) { o.Contacts = nil }},
		{"contacts[0].email", func(o *store.NetOwner) { o.Contacts[0].Email = "not mail" }},
		{"contacts[0].pgp_key", func(o *store.NetOwner) { o.Contacts[0].PGPKey = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n" }},
		{"contacts[0].language", func(o *store.NetOwner) { o.Contacts[0].Language = "fr" }},
		{"contacts[0].format", func(o *store.NetOwner) { o.Contacts[0].Format = "xml" }},
		{"contacts[0].schedule", func(o *store.NetOwner) { o.Contacts[0].Schedule = "weekly" }},
		{"contacts[0].digest_at", func(o *store.NetOwner) { o.Contacts[0].DigestAt = "25:00" }},
		{"contacts[0].digest_at", func(o *store.NetOwner) { o.Contacts[0].Schedule, o.Contacts[0].DigestAt = "immediate", "08:00" }},
		{"contacts[0].business_days", func(o *store.NetOwner) { o.Contacts[0].Schedule, o.Contacts[0].BusinessDays = "immediate", true }},
		{"contacts[0].timezone", func(o *store.NetOwner) { o.Contacts[0].Timezone = "Mars/Olympus" }},
	}
	for _, tc := range cases {
		o := good()
		o.Networks, o.ASNs, o.Domains = append([]string(nil), o.Networks...), append([]uint32(nil), o.ASNs...), append([]string(nil), o.Domains...)
		o.Contacts = append([]store.OwnerContact(nil), o.Contacts...)
		tc.edit(&o)
		_, err := Normalize(o)
		p, ok := problem.As(err)
		if !ok || p.Field != tc.field {
			t.Errorf("want an error on %s, got %v", tc.field, err)
		}
	}
}

func TestParseCSV(t *testing.T) {
	in := "id,name,networks,asns,domains,email,language,format,schedule,digest_at,timezone,business_days\n" +
		"isp-a,ISP A,\"192.0.2.0/24 2001:db8::/32\",AS64500,example.jp,abuse@example.jp,ja,json,daily,09:00,Asia/Tokyo,true\n" +
		"isp-a,,198.51.100.0/24,,,noc@example.jp,en,csv,immediate,,,\n" +
		"uni,University,203.0.113.0/24,,,cert@uni.example,,,,,,\n"
	owners, err := ParseCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(owners) != 2 || owners[0].ID != "isp-a" || len(owners[0].Contacts) != 2 || len(owners[0].Networks) != 3 || owners[0].ASNs[0] != 64500 {
		t.Fatalf("owners = %+v", owners)
	}
	if !owners[0].Contacts[0].BusinessDays || owners[0].Contacts[0].Timezone != "Asia/Tokyo" {
		t.Fatalf("contact = %+v", owners[0].Contacts[0])
	}
	for _, o := range owners {
		if _, err := Normalize(o); err != nil {
			t.Errorf("%s: %v", o.ID, err)
		}
	}
}

func TestParseCSVErrorsNameLineAndColumn(t *testing.T) {
	cases := map[string]string{
		"":                                       "line 1",
		"id,name\n":                              `column "email" is required`,
		"id,name,email,colour\n":                 `column "colour"`,
		"id,name,email\na,A,x@y.z\n,B,x@y.z\n":   "line 3: id",
		"id,name,email,asns\na,A,x@y.z,ASX\n":    "line 2: asns",
		"id,name,email\na,A,x@y.z\na,B,x@y.z\n":  "line 3: name",
		"id,name,email\na,A\n":                   "line 2: 2 fields",
		"id,name,email,business_days\na,A,b,c\n": "line 2: business_days",
		"id,name,email\n\"a,A,x@y.z\n":           "line 2",
	}
	for in, want := range cases {
		_, err := ParseCSV(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", in, err, want)
		}
	}
}

func TestParseCSVIsSizeCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,name,email\n")
	for i := 0; b.Len() <= MaxImportBytes; i++ {
		fmt.Fprintf(&b, "o%d,A,%s@example.jp\n", i, strings.Repeat("x", 1000))
	}
	if _, err := ParseCSV(strings.NewReader(b.String())); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("got %v", err)
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add("id,name,networks,asns,domains,email\na,A,192.0.2.0/24,AS1,example.jp,x@example.jp\n")
	f.Add("id,name,email\n\"a\nb\",A,x@y\n")
	f.Add("\ufeffID,Name,Email,Business_Days\na,A,x@y.z,1\n")
	f.Fuzz(func(t *testing.T, in string) {
		owners, err := ParseCSV(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, o := range owners {
			if o.ID == "" || len(o.Contacts) == 0 {
				t.Fatalf("owner without id or contact: %+v", o)
			}
			// Whatever was read, checking it must answer, never panic.
			if n, err := Normalize(o); err == nil {
				if _, err := Normalize(n); err != nil {
					t.Fatalf("a normalised owner does not normalise again: %v", err)
				}
			}
		}
	})
}
