package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"csirtlink/internal/store"
)

// TestFeedsInBrowser uploads a Shadowserver report in the console (issue 12 item 7):
// the run's page shows the events per network owner, the unrouted count and the
// malformed row by its line; the owner's page lists the run; a form without a file is
// refused beside the field; and the feeds, run, owners and owner screens pass axe-core
// in all four languages, with screenshots.
func TestFeedsInBrowser(t *testing.T) {
	exe := needBrowser(t)
	axe := needAxe(t)
	shots := screenshotDir(t)
	n := startNet(t)
	ctx := context.Background()
	cn := n.Node("cn")
	for _, o := range []store.NetOwner{
		{ID: "isp", Name: "Example ISP", Networks: []string{"198.51.100.0/24", "2001:db8::/32"},
			Contacts: []store.OwnerContact{{Email: "abuse@isp.example", Language: "zh-Hans", Format: "csv", Schedule: "immediate"}}},
		{ID: "uni", Name: "北京示例大学", ASNs: []uint32{64501},
			Contacts: []store.OwnerContact{{Email: "cert@uni.example", Language: "en", Format: "json", Schedule: "daily", DigestAt: "09:00", Timezone: "Asia/Shanghai", BusinessDays: true}}},
	} {
		if _, err := cn.App.Owners.Create(ctx, "admin", o); err != nil {
			t.Fatal(err)
		}
	}
	var rep strings.Builder
	rep.WriteString(`"timestamp","ip","protocol","port","hostname","tag","asn","geo","region","city"` + "\n")
	for _, r := range []struct{ ip, asn string }{
		{"198.51.100.10", "64500"}, {"198.51.100.11", "64500"}, {"2001:db8:1::1", "64500"}, // isp
		{"203.0.113.7", "64501"}, // uni, by AS number
		{"192.0.2.1", "64999"},   // no one
	} {
		fmt.Fprintf(&rep, `"2024-05-01 00:00:01","%s","tcp",23,,telnet,%s,CN,BEIJING,BEIJING`+"\n", r.ip, r.asn)
	}
	rep.WriteString(`"2024-05-01 00:00:01","not-an-ip","tcp",23,,telnet,1,CN,BEIJING,BEIJING` + "\n") // line 7
	file := filepath.Join(t.TempDir(), "2024-05-01-scan_telnet-asn-region.csv")
	if err := os.WriteFile(file, []byte(rep.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	b := browser(t, exe)
	tb := tab(t, b, false)
	signIn(t, tb, cn.URL, cn.User, cn.Password)
	do(t, tb, "feeds", chromedp.Navigate(cn.URL+"/feeds"), chromedp.WaitVisible(chromedp.CSS("#file")))
	submit(t, tb, "upload without a file", "form[action='/feeds'] button.primary")
	if got := text(t, tb, "#file-error"); got == "" {
		t.Errorf("no message beside the missing file")
	}
	do(t, tb, "choose the file", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}),
		chromedp.SetValue(chromedp.CSS("#format"), "shadowserver"), chromedp.SendKeys(chromedp.CSS("#report"), "scan_telnet"))
	submit(t, tb, "upload", "form[action='/feeds'] button.primary")
	loc, err := chromedp.Run(tb, chromedp.Location())
	if err != nil || !strings.Contains(loc, "/feeds/runs/run-") {
		t.Fatalf("after the upload: at %q (%v): %s", loc, err, bodyText(t, tb))
	}
	run := loc[strings.LastIndex(loc, "/")+1:]
	body := bodyText(t, tb)
	for _, want := range []string{"Example ISP", "北京示例大学"} {
		if !strings.Contains(body, want) {
			t.Errorf("the run's page does not name %s", want)
		}
	}
	if got := text(t, tb, "#byowner-h + table tbody tr:first-child td"); got != "3" {
		t.Errorf("events for the ISP: %q, want 3", got)
	}
	if got := text(t, tb, "#errors-h + .table-wrap tbody th"); got != "7" {
		t.Errorf("the malformed row's line: %q, want 7", got)
	}
	if got := text(t, tb, ".figures div:nth-child(4) dd"); got != "1" {
		t.Errorf("unrouted: %q, want 1", got)
	}
	do(t, tb, "owner", chromedp.Navigate(cn.URL+"/owners/isp"), chromedp.WaitVisible(chromedp.CSS("#oruns-h")))
	if !strings.Contains(bodyText(t, tb), "3") || !strings.Contains(text(t, tb, "#oruns-h + .table-wrap"), "scan_telnet") {
		t.Errorf("the owner's page does not list the run")
	}

	screens := []struct{ name, path string }{
		{"feeds", "/feeds"}, {"feed-run", "/feeds/runs/" + run}, {"owners", "/owners"}, {"owner", "/owners/uni"},
	}
	for _, lang := range []string{"en", "zh-Hans", "ja", "ko"} {
		do(t, tb, "language "+lang, chromedp.Navigate(cn.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#open-h")))
		submit(t, tb, "switch to "+lang, `button[name=lang][value="`+lang+`"]`)
		for _, s := range screens {
			do(t, tb, s.name, chromedp.Navigate(cn.URL+s.path), chromedp.WaitVisible(chromedp.CSS("main")))
			checkScreen(t, tb, axe, lang, s.name)
			shoot(t, tb, shots, lang+"-"+s.name)
		}
	}
	do(t, tb, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1)),
		chromedp.Navigate(cn.URL+"/feeds/runs/"+run), chromedp.WaitVisible(chromedp.CSS("main")))
	shoot(t, tb, shots, "ko-phone-feed-run")
}
