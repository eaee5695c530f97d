package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"csirtlink/internal/cvd"
)

// TestCVDInBrowser: the vulnerability cases list and a case's page — participants,
// the embargo instant in each party's time with a countdown, the vendor status matrix
// (unassessed where nobody said), the timeline — in every language, checked with axe;
// and a coordinator agrees to a proposed instant with the button.
func TestCVDInBrowser(t *testing.T) {
	exe := needBrowser(t)
	axe := needAxe(t)
	shots := screenshotDir(t)
	n := startNet(t)
	ctx := context.Background()
	seeded, err := n.SeedCVD(ctx, time.Now().Add(3*time.Hour).UTC().Truncate(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	cn, jp := n.Node("cn"), n.Node("jp")
	// A second case whose proposed instant jp has not agreed to yet.
	k, err := cn.App.CVD.Create(ctx, cvd.Actor{Name: "wang.lei"}, cvd.NewCase{Title: "NAS web UI path traversal", Participants: []string{"jp"},
		Vulnerabilities: []cvd.Vulnerability{{Title: "Path traversal", CWE: "CWE-22", CVSSv3: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}},
		Products:        []cvd.Product{{Vendor: "Nishikawa Networks", Product: "NS-2", Versions: "< 1.8"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cn.App.CVD.ProposeEmbargo(ctx, cvd.Actor{Name: "wang.lei"}, k.ID, time.Now().Add(26*time.Hour)); err != nil {
		t.Fatal(err)
	}
	b := browser(t, exe)
	jpTab := tab(t, b, false)
	signIn(t, jpTab, jp.URL, jp.User, jp.Password)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := jp.App.CVD.Get(ctx, k.ID); err == nil && c.Embargo.PublishAt != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the proposal did not reach jp")
		}
		time.Sleep(20 * time.Millisecond)
	}
	do(t, jpTab, "jp's case", chromedp.Navigate(jp.URL+"/cvd/"+k.ID), chromedp.WaitVisible(chromedp.CSS("#embargo-h")))
	submit(t, jpTab, "agree", `#embargo form[action$="/agree"] button`)
	waitText(t, jpTab, "the flash", "Agreement recorded")
	deadline = time.Now().Add(10 * time.Second)
	for {
		c, _ := cn.App.CVD.Get(ctx, k.ID)
		if strings.Join(c.Embargo.Agreed, ",") == "jp" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jp's agreement did not reach cn: %+v", c.Embargo)
		}
		time.Sleep(20 * time.Millisecond)
	}

	screens := []struct{ name, path string }{{"cvd", "/cvd"}, {"cvd-case", "/cvd/" + seeded}}
	for _, lang := range []string{"en", "zh-Hans", "ja", "ko"} {
		do(t, jpTab, "language "+lang, chromedp.Navigate(jp.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#open-h")))
		submit(t, jpTab, "switch to "+lang, `button[name=lang][value="`+lang+`"]`)
		for _, s := range screens {
			do(t, jpTab, s.name, chromedp.Navigate(jp.URL+s.path), chromedp.WaitVisible(chromedp.CSS("main")))
			checkScreen(t, jpTab, axe, lang, s.name)
			shoot(t, jpTab, shots, lang+"-"+s.name)
		}
	}
	// The case page in English: each party's local time, the countdown, the matrix.
	do(t, jpTab, "english", chromedp.Navigate(jp.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#open-h")))
	submit(t, jpTab, "switch to en", `button[name=lang][value="en"]`)
	do(t, jpTab, "case", chromedp.Navigate(jp.URL+"/cvd/"+seeded), chromedp.WaitVisible(chromedp.CSS("#matrix-h")))
	body := bodyText(t, jpTab)
	for _, want := range []string{"Embargoed", "in 2 hours", "CVSS 4.0 9.3", "UTC+8", "UTC+9", "Not assessed", "Fixed 2.4.1", "Nishikawa Networks PSIRT", "agreed to the publication time"} {
		if !strings.Contains(body, want) {
			t.Errorf("the case page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "Huaxin Microelectronics PSIRT") || strings.Contains(body, "Dr. Lena Brandt") {
		t.Errorf("jp's page shows cn's vendor or the reporter")
	}
}
