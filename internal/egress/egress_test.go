package egress

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/identity"
	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
)

var ctx = Context{Self: "cn", Peers: []string{"jp", "kr", "ph"}, Community: []string{"jp", "kr"}, Participants: []string{"cn", "jp"}}

func TestDecide(t *testing.T) {
	amber := tlp.Item{Label: tlp.Amber, Author: "cn"}
	red := func(to ...string) tlp.Item { return tlp.Item{Label: tlp.Red, Author: "jp", Recipients: to} }
	strict := tlp.Item{Label: tlp.AmberStrict, Author: "jp", Recipients: []string{"cn", "jp"}}
	tests := []struct {
		name     string
		item     tlp.Item
		to       Destination
		want     Verdict
		headline bool
		reason   string
	}{
		{"federation to a participant", amber, Destination{Kind: Federation, Team: "jp"}, Full, true, "allows jp"},
		{"federation beyond the TLP", amber, Destination{Kind: Federation, Team: "kr"}, Refuse, false, "does not allow"},
		{"federation to a revoked peer", tlp.Item{Label: tlp.Clear, Author: "cn"}, Destination{Kind: Federation, Team: "xx"}, Refuse, false, "not an active peer"},
		{"federation to ourselves", tlp.Item{Label: tlp.Clear, Author: "cn"}, Destination{Kind: Federation, Team: "cn"}, Refuse, false, "own team"},
		{"fallback mail, AMBER, clear text", amber, Destination{Kind: FallbackMail, Team: "jp"}, Full, true, "allows"},
		{"fallback mail, RED, clear text", red("jp"), Destination{Kind: FallbackMail, Team: "jp"}, NoticeOnly, false, "not encrypted"},
		{"fallback mail, RED, encrypted", red("jp"), Destination{Kind: FallbackMail, Team: "jp", Encrypted: true}, Full, false, "no summary in the subject"},
		{"fallback mail to a revoked partner", amber, Destination{Kind: FallbackMail, Team: "xx", Encrypted: true}, Refuse, false, "not an active peer"},
		{"fallback mail beyond the TLP", red("jp"), Destination{Kind: FallbackMail, Team: "kr", Encrypted: true}, Refuse, false, "does not allow"},
		{"our person, RED, clear text", red("cn"), Destination{Kind: PersonMail, Team: "cn"}, NoticeOnly, false, "not encrypted"},
		{"our person, AMBER+STRICT, encrypted", strict, Destination{Kind: PersonMail, Team: "cn", Encrypted: true}, Full, false, "allows"},
		{"our person, RED not naming us", red("jp"), Destination{Kind: PersonMail, Team: "cn", Encrypted: true}, Refuse, false, "does not allow"},
		{"person mail to another team", amber, Destination{Kind: PersonMail, Team: "jp"}, Refuse, false, "our own people"},
		{"webhook, AMBER", tlp.Item{Label: tlp.Amber, Author: "jp"}, Destination{Kind: Webhook, Team: "cn"}, Full, true, "allows"},
		{"webhook, RED", red("cn"), Destination{Kind: Webhook, Team: "cn", Encrypted: true}, NoticeOnly, false, "webhooks"},
		{"webhook, AMBER+STRICT", strict, Destination{Kind: Webhook, Team: "cn"}, NoticeOnly, false, "webhooks"},
		{"webhook of another team", amber, Destination{Kind: Webhook, Team: "jp"}, Refuse, false, "our own people"},
		// Routed reports are passed on to constituents: AMBER may go, AMBER+STRICT and
		// RED never, however encrypted.
		{"partner report, AMBER", amber, Destination{Kind: PartnerReport, Team: "jp"}, Full, true, "routed report"},
		{"partner report, GREEN to the community", tlp.Item{Label: tlp.Green, Author: "cn"}, Destination{Kind: PartnerReport, Team: "kr"}, Full, true, "routed report"},
		{"partner report, AMBER+STRICT", tlp.Item{Label: tlp.AmberStrict, Author: "cn"}, Destination{Kind: PartnerReport, Team: "jp", Encrypted: true}, Refuse, false, "passed on"},
		{"partner report, RED naming the partner", tlp.Item{Label: tlp.Red, Author: "cn", Recipients: []string{"jp"}}, Destination{Kind: PartnerReport, Team: "jp"}, Refuse, false, "passed on"},
		{"partner report to a revoked peer", amber, Destination{Kind: PartnerReport, Team: "xx"}, Refuse, false, "not an active peer"},
		{"partner report to ourselves", amber, Destination{Kind: PartnerReport, Team: "cn"}, Refuse, false, "own team"},
		{"owner report, AMBER", amber, Destination{Kind: OwnerReport, Team: "cn"}, Full, true, "routed report"},
		{"owner report, a partner's AMBER", tlp.Item{Label: tlp.Amber, Author: "jp"}, Destination{Kind: OwnerReport, Team: "cn"}, Full, true, "routed report"},
		{"owner report, RED, encrypted", red("cn"), Destination{Kind: OwnerReport, Team: "cn", Encrypted: true}, Refuse, false, "passed on"},
		{"owner report, AMBER+STRICT", strict, Destination{Kind: OwnerReport, Team: "cn", Encrypted: true}, Refuse, false, "passed on"},
		{"owner report for another team's owners", amber, Destination{Kind: OwnerReport, Team: "jp"}, Refuse, false, "our own people"},
		{"a way out with no rule", tlp.Item{Label: tlp.Clear, Author: "cn"}, Destination{Kind: "taxii", Team: "jp"}, Refuse, false, "no egress rule"},
		{"no destination", tlp.Item{Label: tlp.Clear, Author: "cn"}, Destination{Kind: Federation}, Refuse, false, "no destination"},
		{"invalid label", tlp.Item{Label: "WHITE", Author: "jp"}, Destination{Kind: PersonMail, Team: "cn", Encrypted: true}, Refuse, false, "does not allow"},
	}
	for _, tc := range tests {
		d := Decide(Request{Item: tc.item, Context: ctx, To: tc.to})
		if d.Verdict() != tc.want || d.Headline() != tc.headline || !strings.Contains(d.Reason(), tc.reason) {
			t.Errorf("%s: %v (headline %v), want %v (headline %v) with a reason containing %q", tc.name, d, d.Headline(), tc.want, tc.headline, tc.reason)
		}
		if d.Kind() != tc.to.Kind || d.Team() != tc.to.Team || d.Encrypted() != tc.to.Encrypted {
			t.Errorf("%s: the decision is for %s/%s/%v, asked for %+v", tc.name, d.Kind(), d.Team(), d.Encrypted(), tc.to)
		}
	}
}

func TestZeroDecisionRefuses(t *testing.T) {
	var d Decision
	if d.Allowed() || d.Full() || d.Headline() || d.Verdict() != Refuse || d.Reason() == "" {
		t.Fatalf("the zero Decision: %v allowed=%v full=%v", d, d.Allowed(), d.Full())
	}
}

func TestNewContextLeavesRevokedPeersOut(t *testing.T) {
	key := func() string {
		k, err := identity.Generate()
		if err != nil {
			t.Fatal(err)
		}
		return k.Public()
	}
	no := false
	dir, err := team.NewDirectory(team.Team{ID: "cn", Name: "CN", Timezone: "UTC", PublicKey: key()}, []team.Peer{
		{Team: team.Team{ID: "jp", Name: "JP", Timezone: "UTC", URL: "http://127.0.0.1:1", PublicKey: key()}},
		{Team: team.Team{ID: "kr", Name: "KR", Timezone: "UTC", URL: "http://127.0.0.1:2", PublicKey: key()}, Revoked: true},
		{Team: team.Team{ID: "us", Name: "US", Timezone: "UTC", URL: "http://127.0.0.1:3", PublicKey: key()}, Community: &no},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := NewContext(dir, []string{"jp"})
	if c.Self != "cn" || !slices.Equal(c.Peers, []string{"jp", "us"}) || !slices.Equal(c.Community, []string{"jp"}) || !slices.Equal(c.Participants, []string{"jp"}) {
		t.Fatalf("context %+v", c)
	}
	clear := tlp.Item{Label: tlp.Clear, Author: "cn"}
	for _, k := range []Kind{Federation, FallbackMail} {
		if d := Decide(Request{Item: clear, Context: c, To: Destination{Kind: k, Team: "kr", Encrypted: true}}); d.Allowed() {
			t.Errorf("%s to the revoked kr: %v", k, d)
		}
	}
	// The directory changes at runtime: a partner pending, suspended or revoked there is
	// no destination of any kind, and one approved again is.
	for _, status := range []string{team.StatusPending, team.StatusSuspended, team.StatusRevoked, team.StatusActive} {
		jp, _ := dir.Peer("jp")
		jp.Status = status
		if err := dir.Put(jp); err != nil {
			t.Fatal(err)
		}
		c := NewContext(dir, []string{"jp"})
		for _, k := range []Kind{Federation, FallbackMail} {
			d := Decide(Request{Item: clear, Context: c, To: Destination{Kind: k, Team: "jp", Encrypted: true}})
			if d.Allowed() != (status == team.StatusActive) {
				t.Errorf("%s to jp %s: %v", k, status, d)
			}
		}
	}
}

// TestDecideProperties checks the decision's invariants over random teams, labels,
// lists and destinations, with tlp.MayShare as the oracle for the team rule. A fixed
// seed keeps failures reproducible.
func TestDecideProperties(t *testing.T) {
	const cases = 40000
	pool := []string{"cn", "jp", "kr", "ph", "sg", "vn"}
	labels := []tlp.Label{tlp.Clear, tlp.Green, tlp.Amber, tlp.AmberStrict, tlp.Red, "", "WHITE"}
	kinds := []Kind{Federation, FallbackMail, PersonMail, Webhook, "taxii", ""}
	rng := rand.New(rand.NewPCG(3, 4))
	subset := func() []string {
		var s []string
		for _, team := range pool {
			if rng.IntN(5) < 2 {
				s = append(s, team)
			}
		}
		rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
		return s
	}
	seen := map[Kind]map[Verdict]int{}

	for i := range cases {
		c := Context{Self: pool[rng.IntN(len(pool))], Peers: subset(), Community: subset(), Participants: subset()}
		// The directory never lists us among our peers.
		c.Peers = slices.DeleteFunc(c.Peers, func(p string) bool { return p == c.Self })
		item := tlp.Item{Label: labels[rng.IntN(len(labels))], Author: pool[rng.IntN(len(pool))], Recipients: subset()}
		to := Destination{Kind: kinds[rng.IntN(len(kinds))], Team: pool[rng.IntN(len(pool))], Encrypted: rng.IntN(2) == 0}
		if rng.IntN(4) == 0 && (to.Kind == PersonMail || to.Kind == Webhook) {
			to.Team = c.Self // make our own channels common enough
		}
		if rng.IntN(20) == 0 {
			to.Team = ""
		}
		req := Request{Item: item, Context: c, To: to}
		d := Decide(req)
		if seen[to.Kind] == nil {
			seen[to.Kind] = map[Verdict]int{}
		}
		seen[to.Kind][d.Verdict()]++
		fail := func(why string) {
			t.Fatalf("case %d: %s\nrequest %+v\ndecision %v (headline %v)", i, why, req, d, d.Headline())
		}
		mayShare := tlp.MayShare(item, to.Team, tlp.Audience{Participants: c.Participants, Community: c.Community})
		peer := slices.Contains(c.Peers, to.Team)

		// Never more than the team rule allows, and never to a team that is not ours or
		// an active peer, nor by a way out without a rule.
		if d.Allowed() && !mayShare {
			fail("allowed what tlp.MayShare refuses")
		}
		switch to.Kind {
		case Federation, FallbackMail:
			if d.Allowed() && !peer {
				fail("allowed to a team that is not an active peer")
			}
		case PersonMail, Webhook:
			if d.Allowed() && to.Team != c.Self {
				fail("our own people's channel allowed to another team")
			}
		default:
			if d.Allowed() {
				fail("allowed by a way out with no rule")
			}
		}
		// Nothing withheld without cause: whatever the team rule allows to a valid
		// destination goes at least as a notice.
		valid := to.Team != "" && ((to.Kind == Federation || to.Kind == FallbackMail) && peer ||
			(to.Kind == PersonMail || to.Kind == Webhook) && to.Team == c.Self)
		if valid && mayShare && !d.Allowed() {
			fail("refused what the team rule allows")
		}
		// Restricted content stays off channels that reach more than the recipient.
		strict := item.Label == tlp.AmberStrict || item.Label == tlp.Red || !item.Label.Valid()
		if d.Full() && strict && (to.Kind == Webhook || (to.Kind == FallbackMail || to.Kind == PersonMail) && !to.Encrypted) {
			fail("restricted content allowed on a channel that is not end-to-end encrypted")
		}
		if d.Headline() && (strict || !d.Full()) {
			fail("a restricted or withheld summary allowed in a headline")
		}
		if d.Reason() == "" || d.Kind() != to.Kind || d.Team() != to.Team || d.Encrypted() != to.Encrypted {
			fail("decision without a reason or for another destination")
		}
		// Encryption never makes the answer smaller, and a webhook never carries more
		// than mail to the same person.
		enc := req
		enc.To.Encrypted = true
		if Decide(enc).Verdict() < d.Verdict() {
			fail("encrypting lowered the verdict")
		}
		if to.Kind == Webhook {
			m := req
			m.To.Kind = PersonMail
			if d.Verdict() > Decide(m).Verdict() {
				fail("a webhook got more than mail to the same person")
			}
		}
		// The answer does not depend on list order.
		rev := req
		rev.Context = Context{Self: c.Self, Peers: slices.Clone(c.Peers), Community: slices.Clone(c.Community), Participants: slices.Clone(c.Participants)}
		slices.Reverse(rev.Context.Peers)
		slices.Reverse(rev.Context.Community)
		slices.Reverse(rev.Context.Participants)
		if Decide(rev).Verdict() != d.Verdict() {
			fail("the verdict depends on list order")
		}
	}
	// Proves the generator reaches every verdict on every way out that has a rule, so
	// the implications above are not satisfied vacuously.
	for _, k := range []Kind{Federation, FallbackMail, PersonMail, Webhook} {
		want := []Verdict{Refuse, NoticeOnly, Full}
		if k == Federation {
			want = []Verdict{Refuse, Full}
		}
		for _, v := range want {
			if seen[k][v] == 0 {
				t.Errorf("%s: the generator never produced %s (%v)", k, v, seen[k])
			}
		}
	}
	if seen[Federation][NoticeOnly] != 0 {
		t.Errorf("federation sends whole envelopes or nothing, yet produced notices: %v", seen[Federation])
	}
}

// TestEmbargo: before the instant a case's content goes nowhere but to its
// participants' nodes, whatever its label and however it would leave; at the instant
// (on the clock the caller read) it goes as the label allows; an emergency lifts it.
func TestEmbargo(t *testing.T) {
	instant := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	clear := tlp.Item{Label: tlp.Clear, Author: "cn"}
	ways := []Destination{
		{Kind: Publication}, {Kind: Export, Team: "cn", Ceiling: tlp.Red}, {Kind: Export, Team: "kr", Ceiling: tlp.Red}, {Kind: Export, Ceiling: tlp.Amber},
		{Kind: PersonMail, Team: "cn", Encrypted: true}, {Kind: Webhook, Team: "cn"},
		{Kind: FallbackMail, Team: "jp", Encrypted: true}, {Kind: Federation, Team: "kr"},
	}
	for _, to := range ways {
		free := Decide(Request{Item: clear, Context: ctx, To: to})
		if !free.Full() {
			t.Fatalf("%+v: without an embargo %v", to, free)
		}
		for _, c := range []struct {
			name string
			e    Embargo
			now  time.Time
			want bool
		}{
			{"no instant agreed", Embargo{}, instant.Add(24 * time.Hour), false},
			{"a second before", Embargo{Until: instant}, instant.Add(-time.Second), false},
			{"a nanosecond before", Embargo{Until: instant}, instant.Add(-1), false},
			{"at the instant", Embargo{Until: instant}, instant, true},
			{"after", Embargo{Until: instant}, instant.Add(time.Hour), true},
			{"emergency", Embargo{Until: instant, Lifted: true}, instant.Add(-time.Hour), true},
		} {
			e := c.e
			d := Decide(Request{Item: clear, Context: ctx, To: to, Embargo: &e, Now: c.now})
			if d.Full() != c.want || !c.want && !strings.Contains(d.Reason(), "embargo") {
				t.Errorf("%+v, %s: %v, want allowed=%v", to, c.name, d, c.want)
			}
		}
	}
	// The coordinators who agreed the embargo get the case before it: that is how they
	// coordinate.
	e := Embargo{Until: instant}
	if d := Decide(Request{Item: tlp.Item{Label: tlp.Amber, Author: "cn"}, Context: ctx,
		To: Destination{Kind: Federation, Team: "jp"}, Embargo: &e, Now: instant.Add(-time.Hour)}); !d.Full() {
		t.Fatalf("to a participant under embargo: %v", d)
	}
}

// TestPublication: only TLP:CLEAR is published, and a publication names no team.
func TestPublication(t *testing.T) {
	for _, l := range []tlp.Label{tlp.Clear, tlp.Green, tlp.Amber, tlp.AmberStrict, tlp.Red, "WHITE"} {
		d := Decide(Request{Item: tlp.Item{Label: l, Author: "cn", Recipients: []string{"cn"}}, Context: ctx, To: Destination{Kind: Publication}})
		if d.Full() != (l == tlp.Clear) {
			t.Errorf("publication of TLP:%s: %v", l, d)
		}
	}
	if d := Decide(Request{Item: tlp.Item{Label: tlp.Clear, Author: "cn"}, Context: ctx, To: Destination{Kind: Publication, Team: "jp"}}); d.Allowed() {
		t.Errorf("publication to a team: %v", d)
	}
	if d := Decide(Request{Item: tlp.Item{Label: tlp.Amber, Author: "cn"}, Context: ctx, To: Destination{Kind: Export, Team: "xx", Ceiling: tlp.Red}}); d.Allowed() {
		t.Errorf("export to an unknown team: %v", d)
	}
}

// TestVendorMail: mail to a vendor of a case goes only to this team's own vendors;
// under the embargo only to a vendor party to it (not a vendor of another case, not
// anyone else); RED content only encrypted; and at the instant the hold ends.
func TestVendorMail(t *testing.T) {
	instant := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	amber := tlp.Item{Label: tlp.Amber, Author: "jp"}
	hold := Embargo{Until: instant, Vendors: []string{"oem"}}
	before := instant.Add(-time.Hour)
	for _, c := range []struct {
		name string
		item tlp.Item
		to   Destination
		e    *Embargo
		now  time.Time
		want Verdict
		why  string
	}{
		{"a party vendor under embargo", amber, Destination{Kind: VendorMail, Team: "cn", Vendor: "oem"}, &hold, before, Full, "allows"},
		{"another vendor under embargo", amber, Destination{Kind: VendorMail, Team: "cn", Vendor: "chip"}, &hold, before, Refuse, "embargo"},
		{"no vendor named", amber, Destination{Kind: VendorMail, Team: "cn"}, &hold, before, Refuse, "embargo"},
		{"another vendor at the instant", amber, Destination{Kind: VendorMail, Team: "cn", Vendor: "chip"}, &hold, instant, Full, "allows"},
		{"a peer's vendor", amber, Destination{Kind: VendorMail, Team: "jp", Vendor: "oem"}, nil, before, Refuse, "own vendors"},
		{"no vendor, no embargo", amber, Destination{Kind: VendorMail, Team: "cn"}, nil, before, Refuse, "names no vendor"},
		{"RED in clear", tlp.Item{Label: tlp.Red, Author: "cn"}, Destination{Kind: VendorMail, Team: "cn", Vendor: "oem"}, &hold, before, NoticeOnly, "encrypted"},
		// The label the case was given to the vendor is a ceiling, for mail and for its
		// person's reading alike.
		{"AMBER to a vendor given GREEN", amber, Destination{Kind: VendorMail, Team: "cn", Vendor: "oem", Ceiling: tlp.Green}, &hold, before, Refuse, "given to the vendor"},
		{"AMBER to a vendor given RED", amber, Destination{Kind: VendorMail, Team: "cn", Vendor: "oem", Ceiling: tlp.Red}, &hold, before, Full, "allows"},
		{"read by a vendor given GREEN", amber, Destination{Kind: VendorAccess, Team: "cn", Vendor: "oem", Ceiling: tlp.Green}, &hold, before, Refuse, "given to the vendor"},
		{"read by a vendor given AMBER", amber, Destination{Kind: VendorAccess, Team: "cn", Vendor: "oem", Ceiling: tlp.Amber}, &hold, before, Full, "vendor's person"},
		{"read by a vendor not party, under embargo", amber, Destination{Kind: VendorAccess, Team: "cn", Vendor: "chip", Ceiling: tlp.Amber}, &hold, before, Refuse, "embargo"},
		{"read at a peer", amber, Destination{Kind: VendorAccess, Team: "jp", Vendor: "oem", Ceiling: tlp.Amber}, nil, before, Refuse, "own vendors"},
		// A vendor removed from the case gets nothing more, even once it is public.
		{"mail to a removed vendor", amber, Destination{Kind: VendorMail, Team: "cn", Vendor: "oem", Removed: true}, &hold, instant, Refuse, "removed"},
		{"read by a removed vendor", tlp.Item{Label: tlp.Clear, Author: "cn"}, Destination{Kind: VendorAccess, Team: "cn", Vendor: "oem", Removed: true}, nil, before, Refuse, "removed"},
		{"a ceiling that is no label", amber, Destination{Kind: VendorAccess, Team: "cn", Vendor: "oem", Ceiling: "PINK"}, nil, before, Refuse, "given to the vendor"},
	} {
		d := Decide(Request{Item: c.item, Context: ctx, To: c.to, Embargo: c.e, Now: c.now})
		if d.Verdict() != c.want || !strings.Contains(d.Reason(), c.why) {
			t.Errorf("%s: %v, want %v (%q)", c.name, d, c.want, c.why)
		}
	}
}
