package team

import (
	"strings"
	"testing"

	"csirtlink/internal/identity"
)

func key(t *testing.T) string {
	k, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k.Public()
}

func TestDirectory(t *testing.T) {
	self := Team{ID: "jp", Name: "JPCERT/CC", Timezone: "Asia/Tokyo", PublicKey: key(t)}
	no := false
	d, err := NewDirectory(self, []Peer{
		{Team: Team{ID: "cn", Name: "CNCERT/CC", Timezone: "Asia/Shanghai", URL: "http://127.0.0.1:7401", PublicKey: key(t)}},
		{Team: Team{ID: "kr", Name: "KrCERT/CC", Timezone: "Asia/Seoul", PublicKey: key(t)}, Delivery: Pull},
		{Team: Team{ID: "xx", Name: "Old", Timezone: "UTC", URL: "http://127.0.0.1:1", PublicKey: key(t)}, Revoked: true},
		{Team: Team{ID: "us", Name: "Outside", Timezone: "America/New_York", URL: "http://127.0.0.1:2", PublicKey: key(t)}, Community: &no},
	})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := d.Peer("cn"); p.Delivery != Push {
		t.Errorf("default delivery %q", p.Delivery)
	}
	if !d.Known("jp") || !d.Known("cn") || d.Known("xx") || d.Known("zz") {
		t.Error("Known is wrong")
	}
	if _, ok := d.Key("xx"); ok {
		t.Error("a revoked peer's key is usable")
	}
	if got := strings.Join(d.Community(), ","); got != "cn,kr" {
		t.Errorf("community %q", got)
	}
	if d.Self.Location().String() != "Asia/Tokyo" {
		t.Error("location")
	}
}

func TestDirectoryRefusesBadPeers(t *testing.T) {
	self := Team{ID: "jp", Name: "JPCERT/CC", Timezone: "Asia/Tokyo", PublicKey: key(t)}
	ok := Team{ID: "cn", Name: "CNCERT/CC", Timezone: "Asia/Shanghai", URL: "http://127.0.0.1:7401", PublicKey: key(t)}
	cases := map[string]struct {
		peers []Peer
		want  string
	}{
		"self as peer":     {[]Peer{{Team: Team{ID: "jp", Name: "x", Timezone: "UTC", URL: "http://x", PublicKey: key(t)}}}, "own team"},
		"duplicate":        {[]Peer{{Team: ok}, {Team: ok}}, "twice"},
		"bad key":          {[]Peer{{Team: Team{ID: "cn", Name: "x", Timezone: "UTC", URL: "http://x", PublicKey: "abc"}}}, "public_key"},
		"push without url": {[]Peer{{Team: Team{ID: "cn", Name: "x", Timezone: "UTC", PublicKey: key(t)}}}, "url"},
		"bad delivery":     {[]Peer{{Team: ok, Delivery: "carrier-pigeon"}}, "delivery"},
		"bad zone":         {[]Peer{{Team: Team{ID: "cn", Name: "x", Timezone: "Asia/Atlantis", URL: "http://x", PublicKey: key(t)}}}, "timezone"},
		"bad network":      {[]Peer{{Team: Team{ID: "cn", Name: "x", Timezone: "UTC", URL: "http://x", PublicKey: key(t), Networks: []string{"10.0.0.0/33"}}}}, "networks"},
		"bad country":      {[]Peer{{Team: Team{ID: "cn", Name: "x", Timezone: "UTC", URL: "http://x", PublicKey: key(t), Countries: []string{"China"}}}}, "countries"},
	}
	for name, c := range cases {
		_, err := NewDirectory(self, c.peers)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error about %s", name, err, c.want)
		}
	}
}
