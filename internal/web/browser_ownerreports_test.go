package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"csirtlink/internal/store"
)

// TestOwnerReportsAndPartnerReportsInBrowser (issue 12 item 7): an owner's page lists
// the reports made for its contacts with their state, and "Send again" on a sent one
// makes a new report that says which one it repeats; the partners' reports screen lists
// the routed reports received, filtered by partner. Both pass axe-core in all four
// languages, with screenshots.
func TestOwnerReportsAndPartnerReportsInBrowser(t *testing.T) {
	exe := needBrowser(t)
	axe := needAxe(t)
	shots := screenshotDir(t)
	n := startNet(t)
	ctx := context.Background()
	jp := n.Node("jp")
	db := jp.App.Store
	if _, err := jp.App.Owners.Create(ctx, "admin", store.NetOwner{ID: "isp", Name: "Example ISP", Networks: []string{"198.51.100.0/24"},
		Contacts: []store.OwnerContact{{Email: "abuse@isp.example", Language: "ja", Format: "csv", Schedule: "immediate"}}}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	// A report received from cn, done, routed on to the ISP.
	recv := store.FeedRun{ID: "in-cn-run-abc", Format: "partner", Feed: "Shadowserver", Report: "scan_telnet", TLP: "AMBER", CreatedBy: "cn",
		State: store.RunRunning, StartedAt: at, UpdatedAt: at, Origin: "cn", SourceRun: "run-abc"}
	if err := db.CreateFeedRun(ctx, recv); err != nil {
		t.Fatal(err)
	}
	recv.State, recv.FinishedAt, recv.Events, recv.RoutedOwners, recv.Unrouted = store.RunDone, &at, 12, 11, 1
	recv.FeedCounts = store.FeedCounts{Owners: map[string]int64{"isp": 11}, Partners: map[string]int64{}, Errors: []store.FeedRowError{}}
	if err := db.InTx(ctx, func(tx store.Tx) error { return tx.FinishFeedRun(ctx, recv) }); err != nil {
		t.Fatal(err)
	}
	for _, r := range []store.OwnerReport{
		{ID: "rep-sent", State: store.ReportSent, Events: 11, Attempts: 1, SentAt: &at},
		{ID: "rep-failed", State: store.ReportFailed, Attempts: 8, LastError: "550 mailbox unavailable"},
	} {
		r.OwnerID, r.Contact, r.Language, r.Format, r.NextAt, r.CreatedAt, r.UpdatedAt = "isp", "abuse@isp.example", "ja", "csv", at, at, at
		if err := db.CreateOwnerReport(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AddOwnerReportRuns(ctx, []store.OwnerReportRun{{ReportID: "rep-sent", RunID: recv.ID, SeqFrom: 1, SeqTo: 1, Events: 11}}); err != nil {
		t.Fatal(err)
	}

	b := browser(t, exe)
	tb := tab(t, b, false)
	signIn(t, tb, jp.URL, jp.User, jp.Password)
	do(t, tb, "owner", chromedp.Navigate(jp.URL+"/owners/isp"), chromedp.WaitVisible(chromedp.CSS("#osent-h")))
	if got := text(t, tb, "#osent-h + .table-wrap"); !strings.Contains(got, "rep-sent") || !strings.Contains(got, "550 mailbox unavailable") {
		t.Fatalf("the owner's reports: %q", got)
	}
	submit(t, tb, "send again", `form[action="/owners/isp/reports/rep-sent/resend"] button`)
	list, err := db.OwnerReports(ctx, "isp", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].ResendOf != "rep-sent" || list[0].State != store.ReportPending {
		t.Fatalf("after Send again: %+v", list)
	}
	if got := text(t, tb, "#osent-h + .table-wrap tbody tr:first-child th"); !strings.Contains(got, "rep-sent") {
		t.Errorf("the new report does not say which it repeats: %q", got)
	}

	do(t, tb, "received", chromedp.Navigate(jp.URL+"/feeds/received?partner=cn"), chromedp.WaitVisible(chromedp.CSS("main")))
	if got := text(t, tb, "table.runs tbody"); !strings.Contains(got, "run-abc") || !strings.Contains(got, "12") {
		t.Errorf("the reports from cn: %q", got)
	}
	do(t, tb, "received from kr", chromedp.Navigate(jp.URL+"/feeds/received?partner=kr"), chromedp.WaitVisible(chromedp.CSS("main")))
	if got := text(t, tb, "main .empty"); got == "" {
		t.Errorf("kr sent nothing, but the screen is not empty")
	}

	for _, lang := range []string{"en", "zh-Hans", "ja", "ko"} {
		do(t, tb, "language "+lang, chromedp.Navigate(jp.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#open-h")))
		submit(t, tb, "switch to "+lang, `button[name=lang][value="`+lang+`"]`)
		for _, s := range []struct{ name, path string }{{"owner-reports", "/owners/isp"}, {"feeds-received", "/feeds/received?partner=cn"}} {
			do(t, tb, s.name, chromedp.Navigate(jp.URL+s.path), chromedp.WaitVisible(chromedp.CSS("main")))
			checkScreen(t, tb, axe, lang, s.name)
			shoot(t, tb, shots, lang+"-"+s.name)
		}
	}
}
