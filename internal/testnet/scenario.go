package testnet

import (
	"context"
	"csirtlink/internal/identity"
	"csirtlink/internal/partner"
	"csirtlink/internal/wire"
	"errors"
	"fmt"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/hotline"
	"csirtlink/internal/incident"
	"csirtlink/internal/oncall"
	"csirtlink/internal/store"
)

// Seed writes a realistic cross-border scenario into a network of the Default teams:
// a botnet coordinated by cn, a DDoS coordinated by kr, a phishing campaign coordinated
// by jp, with comments, observables, statuses and one AMBER+STRICT entry that kr must
// never see. It waits for each incident to reach a participant before that participant
// writes to it, as people would.
func (n *Net) Seed(ctx context.Context) error {
	for _, id := range []string{"cn", "jp", "kr"} {
		if nd := n.Node(id); nd == nil || nd.App == nil {
			return fmt.Errorf("testnet: seed needs cn, jp and kr running")
		}
	}
	svc := func(team string) *incident.Service { return n.Node(team).App.Incidents }
	who := func(team, name string) incident.Actor {
		return incident.Actor{Name: name + "@" + team, Role: "handler"}
	}
	var firstErr error
	do := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	comment := func(team, user, id, body, label string, recipients ...string) {
		_, err := svc(team).AddEntry(ctx, who(team, user), id, incident.NewEntry{Kind: incident.KindComment, Body: body, TLP: label, Recipients: recipients})
		do(err)
	}
	ioc := func(team, user, id, value string) {
		_, err := svc(team).AddEntry(ctx, who(team, user), id, incident.NewEntry{Kind: incident.KindObservable, Body: value})
		do(err)
	}
	participate := func(team, user, id, status string) {
		_, err := svc(team).SetParticipation(ctx, who(team, user), id, status)
		do(err)
	}

	botnet, err := svc("cn").Create(ctx, who("cn", "wang.lei"), incident.NewIncident{
		Title:       "Mirai-variant botnet: C2 hosted in JP, bots in CN and KR",
		Description: "Sinkhole data shows ~9,800 IoT devices (DVR/NVR, home routers) beaconing to a C2 at a JP hosting provider. Requesting takedown of the C2 (JP) and notification of infected hosts (CN, KR).",
		Category:    "malicious-code/infected-system", Severity: "high", TLP: "AMBER", Participants: []string{"jp", "kr"}})
	if err != nil {
		return fmt.Errorf("seed botnet: %w", err)
	}
	ddos, err := svc("kr").Create(ctx, who("kr", "kim.minjun"), incident.NewIncident{
		Title:       "DDoS against Korean online banking from JP-hosted booter",
		Description: "Peaks of 180 Gbit/s UDP reflection (CLDAP, DNS) against an online banking front end since 02:10 KST. Booter panel appears hosted in JP.",
		Category:    "availability/ddos", Severity: "critical", TLP: "AMBER", Participants: []string{"jp"}})
	if err != nil {
		return fmt.Errorf("seed ddos: %w", err)
	}
	phish, err := svc("jp").Create(ctx, who("jp", "sato.yuki"), incident.NewIncident{
		Title:       "Phishing kit impersonating a JP card issuer, hosted in three networks",
		Description: "Same kit (identical favicon hash) on hosts in CN, JP and KR networks; lure SMS in Japanese.",
		Category:    "fraud/phishing", Severity: "medium", TLP: "GREEN", Participants: []string{"cn", "kr"}})
	if err != nil {
		return fmt.Errorf("seed phishing: %w", err)
	}

	if err := n.waitIncident(ctx, []string{"jp", "kr"}, botnet.ID); err != nil {
		return err
	}
	ioc("cn", "wang.lei", botnet.ID, "198.51.100.23")
	ioc("cn", "wang.lei", botnet.ID, "hxxp://update-cdn[.]example/bins/arm7")
	participate("jp", "tanaka.hiro", botnet.ID, incident.Acknowledged)
	comment("jp", "tanaka.hiro", botnet.ID, "C2 198.51.100.23 is at a JP hosting provider; takedown request sent, expect an answer within 24 h.", "AMBER")
	participate("kr", "park.jiwoo", botnet.ID, incident.Working)
	comment("kr", "park.jiwoo", botnet.ID, "3,412 infected hosts in KR networks; notifying ISPs through our usual channel.", "AMBER")
	comment("cn", "wang.lei", botnet.ID, "Sinkhole operator contact for the C2 domain: +86 10 5555 0100 (duty desk). Please do not pass on.", "AMBER+STRICT", "jp")
	_, err = svc("cn").SetStatus(ctx, who("cn", "wang.lei"), botnet.ID, incident.InProgress, "Takedown requested; notifications running.")
	do(err)

	if err := n.waitIncident(ctx, []string{"jp"}, ddos.ID); err != nil {
		return err
	}
	participate("jp", "suzuki.ken", ddos.ID, incident.Working)
	ioc("kr", "kim.minjun", ddos.ID, "booter-panel.example")
	comment("jp", "suzuki.ken", ddos.ID, "Hosting provider confirms the booter panel; suspension in progress.", "AMBER")

	if err := n.waitIncident(ctx, []string{"cn", "kr"}, phish.ID); err != nil {
		return err
	}
	participate("cn", "li.na", phish.ID, incident.Acknowledged)
	participate("kr", "lee.seoyeon", phish.ID, incident.Done)
	comment("kr", "lee.seoyeon", phish.ID, "KR-hosted copy taken down at 10:40 KST.", "GREEN")
	if firstErr != nil {
		return firstErr
	}
	if err := n.seedPendingPartner(ctx); err != nil {
		return err
	}
	if err := n.seedHotline(ctx, botnet.ID, ddos.ID); err != nil {
		return err
	}
	return n.seedIndicators(ctx, botnet.ID, ddos.ID)
}

// seedPendingPartner leaves one more team pending in cn's directory, to show
// onboarding: SingCERT has handed over its signed introduction, and its safety number
// waits to be read out over the hotline (docs/partners.md).
func (n *Net) seedPendingPartner(ctx context.Context) error {
	key, err := identity.Generate()
	if err != nil {
		return err
	}
	vu := time.Now().UTC().Add(90 * 24 * time.Hour).Truncate(time.Millisecond)
	doc, err := partner.SignIntroduction(key, wire.Introduction{Team: "sg", Name: "SingCERT", URL: "https://sg.csirtlink.test",
		HotlineEmail: "hotline@sg.csirtlink.test", Timezone: "Asia/Singapore", Languages: []string{"en", "zh-Hans"}, At: time.Now().UTC(),
		Constituency: wire.Constituency{Team: "sg", Serial: 1, Countries: []string{"SG"}, ASNs: []uint32{64499},
			Networks: []string{"198.18.0.0/24", "2001:db8:d000::/40"}, Domains: []string{"sg"}, ValidUntil: vu}})
	if err != nil {
		return err
	}
	_, err = n.Node("cn").App.Partners.AddIntroduction(ctx, doc, "demo")
	return err
}

// people of each team in the demo: two duty officers on a daily rota, and a lead the
// escalation reaches next.
var people = map[string][3][2]string{
	"cn": {{"wang.lei", "Wang Lei"}, {"li.na", "Li Na"}, {"zhao.min", "Zhao Min"}},
	"jp": {{"tanaka.hiro", "Tanaka Hiro"}, {"sato.yuki", "Sato Yuki"}, {"suzuki.ken", "Suzuki Ken"}},
	"kr": {{"kim.minjun", "Kim Minjun"}, {"park.jiwoo", "Park Jiwoo"}, {"lee.seoyeon", "Lee Seoyeon"}},
}

// seedHotline gives every team people, e-mail contacts, a rota and an escalation policy
// (the rota now, the lead two minutes later, all of it twice), then pages: cn pages jp
// about the botnet's C2 and nobody answers yet, so the demo shows the escalation; kr
// pages jp about the DDoS and jp acknowledges; cn runs a comm check that jp answers and
// kr has not yet.
func (n *Net) seedHotline(ctx context.Context, botnetID, ddosID string) error {
	for _, team := range []string{"cn", "jp", "kr"} {
		a := n.Node(team).App
		admin := hotline.Actor{Name: "admin"}
		var members []string
		for i, p := range people[team] {
			if _, err := a.Auth.CreateUser(ctx, p[0], p[1], p[0]+"@"+team+".csirtlink.test", auth.DutyOfficer); err != nil && !isConflict(err) {
				return fmt.Errorf("seed %s: %w", team, err)
			}
			if _, err := a.Hotline.AddContact(ctx, admin, p[0], hotline.NewContact{Channel: hotline.ChannelEmail, Address: p[0] + "@" + team + ".csirtlink.test"}); err != nil {
				return fmt.Errorf("seed %s: %w", team, err)
			}
			if i < 2 {
				members = append(members, p[0])
			}
		}
		tz := a.Fed.Directory().Self.Timezone
		if _, err := a.Hotline.PutRotation(ctx, admin, oncall.Rotation{ID: "primary", Name: "Primary duty", Timezone: tz,
			Shift: oncall.Daily, Every: 1, Start: "2026-01-01T09:00", Members: members}); err != nil {
			return fmt.Errorf("seed %s rota: %w", team, err)
		}
		if err := a.Hotline.PutPolicy(ctx, admin, oncall.Policy{ID: "hotline", Name: "Hotline", Repeat: 1, Levels: []oncall.Level{
			{DelayMinutes: 2, Targets: []oncall.Target{{Type: oncall.TargetRotation, ID: "primary"}}},
			{DelayMinutes: 5, Targets: []oncall.Target{{Type: oncall.TargetUser, ID: people[team][2][0]}}},
		}}, true); err != nil {
			return fmt.Errorf("seed %s policy: %w", team, err)
		}
	}
	hl := func(team string) *hotline.Service { return n.Node(team).App.Hotline }
	who := func(team string, i int) hotline.Actor {
		return hotline.Actor{Name: people[team][i][0], DisplayName: people[team][i][1]}
	}
	if _, err := hl("cn").Send(ctx, who("cn", 0), hotline.NewPage{To: []string{"jp"}, Severity: "critical", IncidentID: botnetID, TLP: "AMBER",
		Summary: "Botnet C2 198.51.100.23 still answering: please take it down now",
		Details: "9,800 bots still beacon to the C2 at a JP hosting provider. Sinkholing the domain is not enough; the server must go."}); err != nil {
		return fmt.Errorf("seed page: %w", err)
	}
	ddosPage, err := hl("kr").Send(ctx, who("kr", 0), hotline.NewPage{To: []string{"jp"}, Severity: "high", IncidentID: ddosID, TLP: "AMBER",
		Summary: "Booter panel back online under a new address: 180 Gbit/s again",
		Details: "The attack on the banking front end resumed at 03:05 KST from the same booter, now behind booter-panel.example."})
	if err != nil {
		return fmt.Errorf("seed page: %w", err)
	}
	cc, err := hl("cn").RunCommCheck(ctx, who("cn", 1), []string{"all"})
	if err != nil {
		return fmt.Errorf("seed comm check: %w", err)
	}
	for _, p := range []string{ddosPage.ID, cc.PageID} {
		if err := n.waitPage(ctx, "jp", p); err != nil {
			return err
		}
		if _, err := hl("jp").Ack(ctx, who("jp", 2), p, hotline.ViaConsole); err != nil {
			return fmt.Errorf("seed ack: %w", err)
		}
	}
	return nil
}

// waitPage waits until a team holds a page.
func (n *Net) waitPage(ctx context.Context, team, id string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		_, err := n.Node(team).App.Store.GetPage(ctx, id)
		if err == nil || !errors.Is(err, store.ErrNotFound) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testnet: page %s did not reach %s: %w", id, team, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitIncident waits until every team holds the incident.
func (n *Net) waitIncident(ctx context.Context, teams []string, id string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for _, t := range teams {
		for {
			_, err := n.Node(t).App.Store.GetIncident(ctx, id)
			if err == nil {
				break
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("testnet: incident %s did not reach %s: %w", id, t, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}
