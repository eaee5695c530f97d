package testnet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"csirtlink/internal/indicator"
	"csirtlink/internal/store"
)

// seedIndicators gives each team a day's worth of shared indicators — a few hundred in
// all, imported as files are — and the feedback partners give: cn shares the botnet's
// C2 servers and download hosts with the incident's participants, jp phishing URLs and
// domains with the community, kr the booter's reflectors with jp; partners report
// sightings, a takedown and a false positive, and cn revokes one C2 address it
// mistook.
func (n *Net) seedIndicators(ctx context.Context, botnetID, ddosID string) error {
	hash := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	var cn, jp, kr strings.Builder
	cn.WriteString("value,type,category,tlp,incidents,tags,confidence,description\n")
	fmt.Fprintf(&cn, "198.51.100.23,ipv4,malicious-code/c2-server,AMBER,%s,mirai;c2,95,The botnet's main C2\n", botnetID)
	cn.WriteString("update-cdn.example,domain,malicious-code/malware-distribution,GREEN,,mirai;loader,85,Serves the bot binaries\n")
	for i := range 60 {
		fmt.Fprintf(&cn, "198.51.100.%d,ipv4,malicious-code/c2-server,AMBER,%s,mirai;c2,%d,Mirai-variant C2 seen in sinkhole data\n", 100+i, botnetID, 60+i%40)
	}
	for i := range 40 {
		fmt.Fprintf(&cn, "http://update-cdn%d.example/bins/arm7,url,malicious-code/malware-distribution,AMBER,%s,mirai;loader,70,Loader download\n", i, botnetID)
		fmt.Fprintf(&cn, "%s,sha256,malicious-code/malware-distribution,GREEN,,mirai;arm7,90,Bot binary (ARM7)\n", hash(fmt.Sprint("mirai-arm7-", i)))
	}
	cn.WriteString("192.0.2.0/24,cidr,malicious-code/c2-server,GREEN,,bulletproof,40,Bulletproof hosting range\n")
	jp.WriteString("value,type,category,tlp,tags,confidence\n")
	for i := range 70 {
		fmt.Fprintf(&jp, "https://card-verify%d.example/login/jcb,url,fraud/phishing,GREEN,phishing;card,80\n", i)
	}
	for i := range 30 {
		fmt.Fprintf(&jp, "secure-card%d.example,domain,fraud/phishing,GREEN,phishing;card,75\n", i)
	}
	kr.WriteString("value,type,category,tlp,share_with,incidents,tags,confidence\n")
	for i := range 50 {
		fmt.Fprintf(&kr, "203.0.113.%d,ipv4,availability/ddos,AMBER,jp,%s,cldap;reflector,65\n", 10+i, ddosID)
	}
	kr.WriteString("booter-panel.example,domain,availability/ddos,AMBER+STRICT,jp,,booter,95\n")
	for team, file := range map[string]string{"cn": cn.String(), "jp": jp.String(), "kr": kr.String()} {
		res, err := n.Node(team).App.Indicators.Import(ctx, indicator.Actor{Name: people[team][0][0]}, strings.NewReader(file), indicator.ImportOptions{})
		if err != nil {
			return fmt.Errorf("seed %s indicators: %w", team, err)
		}
		if !res.Imported {
			return fmt.Errorf("seed %s indicators: %+v", team, res.Errors)
		}
	}
	// Feedback on cn's C2 servers, once they have arrived.
	byValue := func(team, value string) (store.Indicator, error) {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		for {
			list, err := n.Node(team).App.Store.IndicatorsByValue(ctx, []string{value}, 10)
			if err != nil {
				return store.Indicator{}, err
			}
			if len(list) > 0 {
				return list[0], nil
			}
			select {
			case <-ctx.Done():
				return store.Indicator{}, fmt.Errorf("testnet: indicator %s did not reach %s: %w", value, team, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	now := time.Now().UTC()
	ago := func(h int) *time.Time { t := now.Add(-time.Duration(h) * time.Hour); return &t }
	report := func(team, value string, in indicator.SightingInput) error {
		ind, err := byValue(team, value)
		if err != nil {
			return err
		}
		_, err = n.Node(team).App.Indicators.Report(ctx, indicator.Actor{Name: people[team][1][0]}, ind.ID, in)
		return err
	}
	err := errors.Join(
		report("kr", "198.51.100.100", indicator.SightingInput{Kind: store.SightingSeen, Count: 3412, FirstSeen: ago(30), LastSeen: ago(1), Constituency: "KR ISPs"}),
		report("jp", "198.51.100.100", indicator.SightingInput{Kind: store.SightingTakenDown, Note: "Hosting provider suspended the server."}),
		report("jp", "198.51.100.101", indicator.SightingInput{Kind: store.SightingSeen, Count: 120, FirstSeen: ago(12), LastSeen: ago(2), Constituency: "JP"}),
		report("kr", "198.51.100.102", indicator.SightingInput{Kind: store.SightingBlocked, Note: "Blocked at the national DNS resolvers."}),
		report("cn", "https://card-verify3.example/login/jcb", indicator.SightingInput{Kind: store.SightingSeen, Count: 57, LastSeen: ago(3), Constituency: "CN", TLP: "GREEN"}),
		report("kr", "https://card-verify7.example/login/jcb", indicator.SightingInput{Kind: store.SightingFalsePositive, Note: "A card issuer's real test site."}),
		report("jp", "203.0.113.10", indicator.SightingInput{Kind: store.SightingSeen, Count: 800, FirstSeen: ago(6), LastSeen: ago(1), Constituency: "JP hosting"}),
	)
	if err != nil {
		return fmt.Errorf("seed sightings: %w", err)
	}
	// cn mistook one address for a C2: revoked, everywhere.
	ind, err := byValue("cn", "198.51.100.159")
	if err != nil {
		return err
	}
	_, err = n.Node("cn").App.Indicators.Revoke(ctx, indicator.Actor{Name: people["cn"][0][0]}, ind.ID)
	return err
}
