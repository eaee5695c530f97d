package integration

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"csirtlink/internal/config"
	"csirtlink/internal/feedrun"
	"csirtlink/internal/notify"
	"csirtlink/internal/store"
)

// Unrouted events assigned to an owner after its report of the run was sent go out in
// a follow-up report to that owner only — encrypted to its key, in its language and
// format — holding exactly the assigned events: none of the first report's, none
// still unrouted, nothing to another owner.
func TestAssignedAfterTheReportGoesInAFollowUp(t *testing.T) {
	testAssignedAfterTheReport(t, nil)
}

func TestAssignedAfterTheReportGoesInAFollowUpOnPostgres(t *testing.T) {
	testAssignedAfterTheReport(t, onPostgres(t, "cn"))
}

func testAssignedAfterTheReport(t *testing.T, dbs map[string]config.Database) {
	mb := startMailbox(t)
	opts := testnetOptions()
	opts.SMTP = &config.SMTP{Addr: mb.addr, From: "csirtlink <feeds@csirtlink.test>", TLS: "none"}
	opts.Databases = dbs
	n := startNet(t, opts)
	cn := n.Node("cn")
	keyA, err := notify.GenerateKey("CN-A abuse", "abuse@cn-a.example")
	if err != nil {
		t.Fatal(err)
	}
	addOwnerWithContact(t, cn, ownerSpec{"cn-a", "192.0.2.0/25", "ja", "csv", keyA})
	addOwnerWithContact(t, cn, ownerSpec{"cn-b", "192.0.2.128/25", "en", "csv", nil})
	run := ingest(t, cn, shadowserverReport(map[string]int{"192.0.2.0/25": 60, "192.0.2.128/25": 40, "100.64.0.0/24": 7, "100.64.1.0/24": 5}), "AMBER")
	if run.Unrouted != 12 || run.Owners["cn-b"] == 0 {
		t.Fatalf("run: %+v", run)
	}
	sent := func(id string, want int) []store.OwnerReport {
		t.Helper()
		var reports struct{ Reports []store.OwnerReport }
		eventually(t, 20*time.Second, fmt.Sprintf("%d reports of %s sent", want, id), func() error {
			call(t, cn, "GET", "/api/v1/owners/"+id+"/reports", nil, &reports)
			if len(reports.Reports) != want {
				return fmt.Errorf("%d reports", len(reports.Reports))
			}
			for _, r := range reports.Reports {
				if r.State != store.ReportSent {
					return fmt.Errorf("%s is %s", r.ID, r.State)
				}
			}
			return nil
		})
		return reports.Reports // newest first
	}
	attached := func(reportID string) []string {
		t.Helper()
		_, files, encrypted := mailParts(t, mailOfReport(t, mb, "abuse@cn-a.example", reportID), keyA)
		if !encrypted || len(files) != 1 {
			t.Fatalf("report %s: encrypted %v, %d files", reportID, encrypted, len(files))
		}
		for _, data := range files {
			ips := attachedIPs(t, "csv", data)
			slices.Sort(ips)
			return ips
		}
		return nil
	}
	var unrouted struct{ Events []feedrun.Record }
	call(t, cn, "GET", "/api/v1/feeds/runs/"+run.ID+"/unrouted", nil, &unrouted)
	in := func(network string) []string {
		var ips []string
		for _, e := range unrouted.Events {
			if netip.MustParsePrefix(network).Contains(netip.MustParseAddr(e.IP)) {
				ips = append(ips, e.IP)
			}
		}
		slices.Sort(ips)
		return ips
	}

	first := sent("cn-a", 1)[0]
	firstIPs := attached(first.ID)
	if int64(len(firstIPs)) != run.Owners["cn-a"] {
		t.Fatalf("first report: %d events, want %d", len(firstIPs), run.Owners["cn-a"])
	}

	mustCall(t, cn, "POST", "/api/v1/feeds/runs/"+run.ID+"/assign", map[string]any{"owner": "cn-a", "network": "100.64.0.0/24"}, 200)
	reports := sent("cn-a", 2)
	follow := reports[0]
	if follow.ID == first.ID || follow.ResendOf != "" || follow.Language != "ja" || follow.Format != "csv" || !follow.Encrypted || follow.Events != 7 {
		t.Fatalf("follow-up: %+v", follow)
	}
	if got, want := attached(follow.ID), in("100.64.0.0/24"); !slices.Equal(got, want) {
		t.Fatalf("the follow-up holds %v, want exactly the assigned %v", got, want)
	}
	// A second assignment makes a second follow-up, with only its own events.
	mustCall(t, cn, "POST", "/api/v1/feeds/runs/"+run.ID+"/assign", map[string]any{"owner": "cn-a", "network": "100.64.1.0/24"}, 200)
	reports = sent("cn-a", 3)
	if got, want := attached(reports[0].ID), in("100.64.1.0/24"); !slices.Equal(got, want) {
		t.Fatalf("the second follow-up holds %v, want exactly %v", got, want)
	}
	// The first report is the same as it was: one mail, and what it recorded.
	var detail reportDetail
	call(t, cn, "GET", "/api/v1/owners/cn-a/reports/"+first.ID, nil, &detail)
	if len(detail.Runs) != 1 || detail.Runs[0].Events != run.Owners["cn-a"] {
		t.Fatalf("the first report's ranges: %+v", detail.Runs)
	}
	sent("cn-b", 1)
	time.Sleep(300 * time.Millisecond) // a mail too many would show now
	if got := len(mb.to("abuse@cn-a.example")); got != 3 {
		t.Fatalf("cn-a got %d mails, want 3", got)
	}
	if got := len(mb.to("abuse@cn-b.example")); got != 1 {
		t.Fatalf("cn-b got %d mails, want 1", got)
	}
}

// A report that was never sent records, when gathered, what it carries: resent after
// events were assigned to the owner, it holds exactly its own events, and the assigned
// ones go in their own follow-up.
func TestResendOfAFailedReportSendsItsOwnEvents(t *testing.T) {
	mb := startMailbox(t)
	opts := testnetOptions()
	opts.SMTP = &config.SMTP{Addr: mb.addr, From: "csirtlink <feeds@csirtlink.test>", TLS: "none"}
	n := startNet(t, opts)
	cn := n.Node("cn")
	addOwnerWithContact(t, cn, ownerSpec{"cn-a", "192.0.2.0/25", "en", "csv", nil})
	mb.refuse("abuse@cn-a.example", true)
	run := ingest(t, cn, shadowserverReport(map[string]int{"192.0.2.0/25": 60, "100.64.0.0/24": 7}), "AMBER")
	failed := func(want int) []store.OwnerReport {
		t.Helper()
		var reports struct{ Reports []store.OwnerReport }
		eventually(t, 20*time.Second, fmt.Sprintf("%d reports failed", want), func() error {
			call(t, cn, "GET", "/api/v1/owners/cn-a/reports", nil, &reports)
			if len(reports.Reports) != want || reports.Reports[0].State != store.ReportFailed {
				return fmt.Errorf("%+v", reports.Reports)
			}
			return nil
		})
		return reports.Reports
	}
	first := failed(1)[0]
	var detail reportDetail
	call(t, cn, "GET", "/api/v1/owners/cn-a/reports/"+first.ID, nil, &detail)
	if len(detail.Runs) != 1 || detail.Runs[0].Events != run.Owners["cn-a"] {
		t.Fatalf("a failed report's ranges: %+v (run has %d events for cn-a)", detail.Runs, run.Owners["cn-a"])
	}
	mustCall(t, cn, "POST", "/api/v1/feeds/runs/"+run.ID+"/assign", map[string]any{"owner": "cn-a", "network": "100.64.0.0/24"}, 200)
	follow := failed(2)[0]
	mb.refuse("abuse@cn-a.example", false)

	resend := func(id string) []string {
		t.Helper()
		again := mustCall(t, cn, "POST", "/api/v1/owners/cn-a/reports/"+id+"/resend", nil, 201)
		againID, _ := again["id"].(string)
		eventually(t, 20*time.Second, "the resend sent", func() error {
			var d reportDetail
			call(t, cn, "GET", "/api/v1/owners/cn-a/reports/"+againID, nil, &d)
			if d.Report.State != store.ReportSent {
				return fmt.Errorf("resend %s", d.Report.State)
			}
			return nil
		})
		_, files, _ := mailParts(t, mailOfReport(t, mb, "abuse@cn-a.example", againID), nil)
		for _, data := range files {
			return attachedIPs(t, "csv", data)
		}
		return nil
	}
	check := func(what string, ips []string, network string, want int64) {
		t.Helper()
		if int64(len(ips)) != want {
			t.Fatalf("%s holds %d events, want %d", what, len(ips), want)
		}
		for _, ip := range ips {
			if !netip.MustParsePrefix(network).Contains(netip.MustParseAddr(ip)) {
				t.Fatalf("%s holds %s, outside %s", what, ip, network)
			}
		}
	}
	check("the resend of the failed report", resend(first.ID), "192.0.2.0/25", run.Owners["cn-a"])
	check("the resend of the failed follow-up", resend(follow.ID), "100.64.0.0/24", 7)
}
