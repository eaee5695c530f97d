package exchange

import (
	"errors"
	"testing"

	"csirtlink/internal/identity"
	"csirtlink/internal/problem"
	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
)

func TestParseAudience(t *testing.T) {
	key, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := team.NewDirectory(team.Team{ID: "cn", Name: "CNCERT/CC", Timezone: "Asia/Shanghai", PublicKey: key.Public()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := New(nil, nil, dir, nil)
	for _, c := range []struct {
		team, ceiling string
		want          Audience
	}{
		{"", "", Audience{Team: "cn", Ceiling: tlp.Red}},            // our own team, everything we hold
		{" JP ", "amber", Audience{Team: "jp", Ceiling: tlp.Amber}}, // a peer, capped
		{"outside", "", Audience{Ceiling: tlp.Green}},               // outsiders default to GREEN
		{"outside", "tlp:red", Audience{Ceiling: tlp.Red}},          // egress refuses it later, naming why
	} {
		got, err := s.ParseAudience(c.team, c.ceiling)
		if err != nil || got != c.want {
			t.Errorf("%q %q: %+v %v, want %+v", c.team, c.ceiling, got, err, c.want)
		}
	}
	_, err = s.ParseAudience("jp", "purple")
	var p *problem.Error
	if !errors.As(err, &p) || p.Field != "audience" {
		t.Errorf("an unknown label: %v", err)
	}
}
