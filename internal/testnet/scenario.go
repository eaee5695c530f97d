package testnet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"csirtlink/internal/incident"
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
	return firstErr
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
