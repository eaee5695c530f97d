package integration

import (
	"bytes"
	"fmt"
	"net/mail"
	"net/netip"
	"slices"
	"testing"
	"time"

	"csirtlink/internal/config"
	"csirtlink/internal/store"
)

// mailOfReport finds the mail of one owner report by its header.
func mailOfReport(t *testing.T, mb *mailbox, to, reportID string) []byte {
	t.Helper()
	var found []byte
	n := 0
	for _, m := range mb.to(to) {
		msg, err := mail.ReadMessage(bytes.NewReader(m.raw))
		if err != nil {
			t.Fatal(err)
		}
		if msg.Header.Get("X-Csirtlink-Report") == reportID {
			found, n = m.raw, n+1
		}
	}
	if n != 1 {
		t.Fatalf("%d mails of report %s to %s, want 1", n, reportID, to)
	}
	return found
}

type reportDetail struct {
	Report store.OwnerReport      `json:"report"`
	Runs   []store.OwnerReportRun `json:"runs"`
}

// A sent report records what it carried (per run, the range of the owner's chunks and
// its events). A resend sends exactly those events again — not events assigned to the
// owner since, and never another owner's: another owner's report is not found under
// this owner, and another owner's contact is refused.
func TestResendSendsTheSameEventsToTheSameOwnerOnly(t *testing.T) {
	mb := startMailbox(t)
	opts := testnetOptions()
	opts.SMTP = &config.SMTP{Addr: mb.addr, From: "csirtlink <feeds@csirtlink.test>", TLS: "none"}
	n := startNet(t, opts)
	cn := n.Node("cn")
	addOwnerWithContact(t, cn, ownerSpec{"cn-a", "192.0.2.0/25", "en", "csv", nil})
	addOwnerWithContact(t, cn, ownerSpec{"cn-b", "192.0.2.128/25", "en", "csv", nil})
	run := ingest(t, cn, shadowserverReport(map[string]int{"192.0.2.0/24": 200, "100.64.0.0/24": 7}), "AMBER")
	if run.Owners["cn-a"] == 0 || run.Owners["cn-b"] == 0 || run.Unrouted != 7 {
		t.Fatalf("run: %+v", run)
	}
	// The mail reaches the mailbox a moment before the report is recorded sent.
	var reports struct{ Reports []store.OwnerReport }
	eventually(t, 20*time.Second, "both owners' reports sent", func() error {
		for _, id := range []string{"cn-b", "cn-a"} {
			call(t, cn, "GET", "/api/v1/owners/"+id+"/reports", nil, &reports)
			if len(reports.Reports) == 0 || reports.Reports[0].State != store.ReportSent {
				return fmt.Errorf("%s: %+v", id, reports.Reports)
			}
		}
		return nil
	})
	if len(reports.Reports) != 1 || reports.Reports[0].State != store.ReportSent {
		t.Fatalf("cn-a's reports: %+v", reports.Reports)
	}
	first := reports.Reports[0]
	var detail reportDetail
	call(t, cn, "GET", "/api/v1/owners/cn-a/reports/"+first.ID, nil, &detail)
	if len(detail.Runs) != 1 || detail.Runs[0].RunID != run.ID || detail.Runs[0].Events != run.Owners["cn-a"] || detail.Runs[0].SeqFrom > detail.Runs[0].SeqTo {
		t.Fatalf("what the report carried: %+v (run %s, %d events for cn-a)", detail.Runs, run.ID, run.Owners["cn-a"])
	}
	_, files, _ := mailParts(t, mailOfReport(t, mb, "abuse@cn-a.example", first.ID), nil)
	var firstIPs []string
	for _, data := range files {
		firstIPs = attachedIPs(t, "csv", data)
	}

	// Unrouted events assigned to cn-a after its report went: a new report carries them,
	// the resend of the first must not.
	mustCall(t, cn, "POST", "/api/v1/feeds/runs/"+run.ID+"/assign", map[string]any{"owner": "cn-a", "network": "100.64.0.0/24"}, 200)

	// Another owner's report, or another owner's contact, is refused.
	mustCall(t, cn, "POST", "/api/v1/owners/cn-b/reports/"+first.ID+"/resend", nil, 404)
	if got := mustCall(t, cn, "POST", "/api/v1/owners/cn-a/reports/"+first.ID+"/resend", map[string]any{"contact": "abuse@cn-b.example"}, 422); got["error"].(map[string]any)["field"] != "contact" {
		t.Fatalf("another owner's contact: %v", got)
	}
	again := mustCall(t, cn, "POST", "/api/v1/owners/cn-a/reports/"+first.ID+"/resend", nil, 201)
	againID, _ := again["id"].(string)
	if again["resend_of"] != first.ID || again["contact"] != "abuse@cn-a.example" {
		t.Fatalf("resend: %v", again)
	}
	eventually(t, 20*time.Second, "the resend sent", func() error {
		var d reportDetail
		call(t, cn, "GET", "/api/v1/owners/cn-a/reports/"+againID, nil, &d)
		if d.Report.State != store.ReportSent {
			return fmt.Errorf("resend %s", d.Report.State)
		}
		return nil
	})
	_, files, _ = mailParts(t, mailOfReport(t, mb, "abuse@cn-a.example", againID), nil)
	var againIPs []string
	for _, data := range files {
		againIPs = attachedIPs(t, "csv", data)
	}
	slices.Sort(firstIPs)
	slices.Sort(againIPs)
	if !slices.Equal(firstIPs, againIPs) {
		t.Fatalf("the resend holds %d events, the first report %d: not the same", len(againIPs), len(firstIPs))
	}
	pfx := netip.MustParsePrefix("192.0.2.0/25")
	for _, ip := range againIPs {
		if !pfx.Contains(netip.MustParseAddr(ip)) {
			t.Fatalf("the resend to cn-a holds %s, outside cn-a's network", ip)
		}
	}
	if got := len(mb.to("abuse@cn-b.example")); got != 1 {
		t.Fatalf("cn-b got %d mails, want 1", got)
	}
}
