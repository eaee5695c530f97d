package testnet

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"csirtlink/internal/feedrun"
	"csirtlink/internal/route"
	"csirtlink/internal/store"
)

// Constituencies are the demo teams' networks: documentation ranges (RFC 5737, RFC 3849).
var Constituencies = map[string][]netip.Prefix{
	"cn": {netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8:c::/48")},
	"jp": {netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:a::/48")},
	"kr": {netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8:b::/48")},
}

// Partners is a node's view of the other demo teams' constituencies, for
// feedrun.Service.SetPartners (the seam the partner directory fills).
func Partners(self string) feedrun.PartnerSource {
	var ps []route.Partner
	for _, id := range []string{"cn", "jp", "kr"} {
		if id != self {
			ps = append(ps, route.Partner{ID: id, Networks: Constituencies[id]})
		}
	}
	return func(context.Context) ([]route.Partner, error) { return ps, nil }
}

// demoOwners are each team's network owners: the two halves of its IPv4 range, and its
// IPv6 range with the first.
var demoOwners = map[string][]store.NetOwner{
	"cn": {
		{ID: "cn-telecom", Name: "华东电信", Networks: []string{"192.0.2.0/25", "2001:db8:c::/48"},
			Contacts: []store.OwnerContact{{Email: "abuse@cn-telecom.example", Language: "zh-Hans", Format: "csv", Schedule: "immediate"}}},
		{ID: "cn-edu", Name: "CERNET 某大学", Networks: []string{"192.0.2.128/25"},
			Contacts: []store.OwnerContact{{Email: "security@cn-edu.example", Language: "zh-Hans", Format: "json", Schedule: "daily",
				DigestAt: "09:00", Timezone: "Asia/Shanghai", BusinessDays: true}}},
	},
	"jp": {
		{ID: "jp-isp", Name: "さくらネット", Networks: []string{"198.51.100.0/25", "2001:db8:a::/48"},
			Contacts: []store.OwnerContact{{Email: "abuse@jp-isp.example", Language: "ja", Format: "csv", Schedule: "immediate"}}},
		{ID: "jp-univ", Name: "東都大学", Networks: []string{"198.51.100.128/25"},
			Contacts: []store.OwnerContact{{Email: "csirt@jp-univ.example", Language: "en", Format: "json", Schedule: "immediate"}}},
	},
	"kr": {
		{ID: "kr-isp", Name: "한빛통신", Networks: []string{"203.0.113.0/24", "2001:db8:b::/48"},
			Contacts: []store.OwnerContact{{Email: "abuse@kr-isp.example", Language: "ko", Format: "csv", Schedule: "immediate"}}},
	},
}

// ShadowserverReport generates a scan_telnet report with n events in each prefix given
// (addresses cycle through the prefix's first 250 hosts).
func ShadowserverReport(counts map[netip.Prefix]int, at time.Time) string {
	var b strings.Builder
	b.WriteString("timestamp,ip,protocol,port,hostname,tag,asn,geo\n")
	for pfx, n := range counts {
		for i := range n {
			a := pfx.Addr()
			for range i%250 + 1 {
				a = a.Next()
			}
			fmt.Fprintf(&b, "%s,%s,tcp,23,,telnet,,\n", at.Add(-time.Duration(i%3600)*time.Second).UTC().Format("2006-01-02 15:04:05"), a)
		}
	}
	return b.String()
}

// FeedCounts is what each node holds of the demo's feed run.
type FeedCounts struct {
	Run      store.FeedRun            // cn's run
	Received map[string]store.FeedRun // jp's and kr's report from cn
}

// SeedFeeds gives every node its partners and network owners, ingests at cn a
// Shadowserver-style report whose events fall in cn's, jp's and kr's ranges and in
// space no one claims, and waits until jp and kr have routed their parts to their owners.
func (n *Net) SeedFeeds(ctx context.Context) (FeedCounts, error) {
	var out FeedCounts
	if err := n.ensureFeeds(ctx); err != nil {
		return out, err
	}
	unknown := netip.MustParsePrefix("2001:db8:ffff::/48")
	report := ShadowserverReport(map[netip.Prefix]int{
		Constituencies["cn"][0]: 2000, Constituencies["cn"][1]: 200,
		Constituencies["jp"][0]: 1500, Constituencies["jp"][1]: 150,
		Constituencies["kr"][0]: 1000, unknown: 300}, time.Now())
	run, err := n.Node("cn").App.Feeds.Ingest(ctx, "demo", feedrun.Request{Format: "shadowserver", Report: "scan_telnet", Feed: "Shadowserver",
		FileName: "2026-12-01-scan_telnet-cn-demo.csv"}, strings.NewReader(report), nil)
	if err != nil {
		return out, fmt.Errorf("seed feed: %w", err)
	}
	out.Run, out.Received = run, map[string]store.FeedRun{}
	for _, team := range []string{"jp", "kr"} {
		err := poll(ctx, team+" routed cn's report", func(ctx context.Context) (bool, error) {
			got, err := n.Node(team).App.Share.Received(ctx, "cn", 10)
			if err != nil || len(got) == 0 || got[0].SourceRun != run.ID || got[0].State != store.RunDone {
				return false, err
			}
			out.Received[team] = got[0]
			return true, nil
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}
