package testnet

import (
	"context"
	"fmt"
	"time"

	"csirtlink/internal/cvd"
)

// SeedCVD opens the demo's vulnerability case: a router firmware flaw in a chipset
// SDK (cn's vendor), an OEM's routers (jp's) and an ISP's home gateway (kr's); each
// coordinator adds its own vendor and its status; cn proposes publication at the
// instant and every coordinator agrees. It returns the case's id.
func (n *Net) SeedCVD(ctx context.Context, at time.Time) (string, error) {
	svc := func(team string) *cvd.Service { return n.Node(team).App.CVD }
	who := func(team, name string) cvd.Actor { return cvd.Actor{Name: name + "@" + team, Role: "handler"} }
	c, err := svc("cn").Create(ctx, who("cn", "wang.lei"), cvd.NewCase{
		Title:        "Home router firmware: unauthenticated remote code execution in the diagnostics page",
		Description:  "A researcher reported that the ping field of the routers' web diagnostics page passes its input to a shell. The code comes from the chipset vendor's SDK and ships in an OEM's routers and an ISP-branded gateway.",
		Participants: []string{"jp", "kr"},
		Reporter:     &cvd.Reporter{Name: "Dr. Lena Brandt", Email: "lena@lab.example", Timezone: "Europe/Berlin"},
		Vulnerabilities: []cvd.Vulnerability{
			{Title: "OS command injection in the diagnostics ping field", CWE: "CWE-78", CVE: "CVE-2026-41877",
				CVSSv3: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CVSSv4: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"},
			{Title: "Hard-coded maintenance account", CWE: "CWE-798", CVSSv3: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:L/A:N"},
		},
		Products: []cvd.Product{
			{Vendor: "Huaxin Microelectronics", Product: "HX-7 router SDK", Versions: "< 3.2.0", PURL: "pkg:generic/huaxin/hx7-sdk"},
			{Vendor: "Nishikawa Networks", Product: "NR-500 router", Versions: "< 2.4.1"},
			{Vendor: "Nishikawa Networks", Product: "NR-300 router", Versions: "all"},
			{Vendor: "Hanbit Telecom", Product: "HomeGate 2", Versions: "1.x"},
		},
	})
	if err != nil {
		return "", err
	}
	if err := n.waitCase(ctx, c.ID, func(c cvd.Case) bool { return true }, "jp", "kr"); err != nil {
		return "", err
	}
	type vendorStatus struct {
		team, user, vendor, email string
		shared                    bool
		statuses                  []cvd.StatusInput
	}
	for _, v := range []vendorStatus{
		{"cn", "wang.lei", "Huaxin Microelectronics PSIRT", "psirt@huaxin.example", false, []cvd.StatusInput{
			{Vulnerability: "v1", Product: "p1", Status: cvd.Affected, Statement: "SDK 3.2.0 with the fix goes to licensees this week."},
			{Vulnerability: "v2", Product: "p1", Status: cvd.NotAffected, Justification: "component_not_present"}}},
		{"jp", "tanaka.hiro", "Nishikawa Networks PSIRT", "psirt@nishikawa.example", true, []cvd.StatusInput{
			{Vulnerability: "v1", Product: "p2", Status: cvd.Fixed, FixedVersion: "2.4.1", Statement: "Firmware 2.4.1 is ready for release at the agreed time."},
			{Vulnerability: "v1", Product: "p3", Status: cvd.NotAffected, Justification: "vulnerable_code_not_present"}}},
		{"kr", "kim.minji", "Hanbit Telecom CERT", "cert@hanbit.example", false, []cvd.StatusInput{
			{Vulnerability: "v1", Product: "p4", Status: cvd.UnderInvestigation}}},
	} {
		vd, err := svc(v.team).AddVendor(ctx, who(v.team, v.user), c.ID, cvd.NewVendor{Name: v.vendor, Email: v.email, Shared: v.shared})
		if err != nil {
			return "", err
		}
		if v.team == "jp" {
			if err := n.seedVendorMail(ctx, c.ID, vd.ID); err != nil {
				return "", fmt.Errorf("seed cvd: vendor mail: %w", err)
			}
		}
		for _, st := range v.statuses {
			st.Vendor = vd.ID
			if _, err := svc(v.team).SetStatus(ctx, who(v.team, v.user), c.ID, st); err != nil {
				return "", fmt.Errorf("seed cvd: %s status: %w", v.team, err)
			}
		}
	}
	if _, err := svc("cn").ProposeEmbargo(ctx, who("cn", "wang.lei"), c.ID, at); err != nil {
		return "", err
	}
	if err := n.waitCase(ctx, c.ID, func(c cvd.Case) bool { return c.Embargo.PublishAt != nil }, "jp", "kr"); err != nil {
		return "", err
	}
	for _, t := range []struct{ team, user string }{{"cn", "wang.lei"}, {"jp", "tanaka.hiro"}, {"kr", "kim.minji"}} {
		if _, err := svc(t.team).AgreeEmbargo(ctx, who(t.team, t.user), c.ID); err != nil {
			return "", err
		}
	}
	err = n.waitCase(ctx, c.ID, func(c cvd.Case) bool { return c.Embargo.State == cvd.Embargoed || c.Embargo.State == cvd.Public }, "cn", "jp", "kr")
	return c.ID, err
}

// waitCase waits until every team holds the case in a state ok accepts.
func (n *Net) waitCase(ctx context.Context, id string, ok func(cvd.Case) bool, teams ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for _, t := range teams {
		for {
			c, err := n.Node(t).App.CVD.Get(ctx, id)
			if err == nil && ok(c) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("testnet: case %s at %s: %w (%v)", id, t, ctx.Err(), err)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// seedVendorMail plays jp writing to its vendor from the case's reply address, and
// the vendor's reply coming back through the relay with a status line, so that the
// demo's case shows the mail with its vendor and a status set by mail. A node without
// a mail relay has no reply address: then there is no mail to show.
func (n *Net) seedVendorMail(ctx context.Context, caseID, vendorID string) error {
	jp := n.Node("jp").App.CVD
	if !jp.CanMail() {
		return nil
	}
	if _, err := jp.MailVendor(ctx, cvd.Actor{Name: "tanaka.hiro@jp", Role: "handler"}, caseID, vendorID,
		"CVE-2026-41877: command injection in the NR-500 and NR-300 diagnostics page",
		"Dear Nishikawa PSIRT,\n\nA researcher reported an OS command injection in the ping field of the diagnostics page, from the HX-7 SDK. "+
			"Please tell us which firmware versions are affected and when a fix is ready.\n\nYou can answer with a line such as\n"+
			"status v2 p2 fixed 2.4.1\n\nJPCERT/CC"); err != nil {
		return err
	}
	to, err := jp.ReplyAddress(caseID, vendorID)
	if err != nil {
		return err
	}
	reply := "From: Nishikawa Networks PSIRT <psirt@nishikawa.example>\r\nTo: " + to + "\r\n" +
		"Subject: Re: [" + caseID + "] CVE-2026-41877: command injection in the NR-500 and NR-300 diagnostics page\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Thank you for the report. Firmware 2.4.1 for the NR-500 also removes the hard-coded maintenance account.\r\n" +
		"status v2 p2 fixed 2.4.1\r\n\r\n> Please tell us which firmware versions are affected\r\n"
	_, err = jp.ReceiveVendorMail(ctx, cvd.Actor{Name: "mta@jp", Role: "handler"}, to, []byte(reply))
	return err
}
