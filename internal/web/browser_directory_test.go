package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"csirtlink/internal/auth"
	"csirtlink/internal/testnet"
)

// TestDirectoryInBrowser: the partner directory at cn of the seeded network — the
// list with its filters, each partner's page, SingCERT pending with its safety number,
// a wrong number refused and the right one making it active — in four languages,
// checked with axe, with screenshots.
func TestDirectoryInBrowser(t *testing.T) {
	exe := needBrowser(t)
	axe := needAxe(t)
	shots := screenshotDir(t)
	n, err := testnet.Start(context.Background(), testnet.Options{Dir: t.TempDir(), Federation: fastFed, Reverify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	ctx := context.Background()
	if err = n.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	cn := n.Node("cn")
	pw := auth.GeneratePassword()
	admin, err := cn.App.Store.UserByName(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.SetPassword(ctx, cn.App.Store, admin.ID, pw); err != nil {
		t.Fatal(err)
	}
	// The seeded partners were never verified: they ask us to confirm our entry as soon
	// as their engines run.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if ts, _ := cn.App.Partners.Tasks(ctx); len(ts) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no re-verification ask reached cn")
		}
	}
	b := browser(t, exe)
	tb := tab(t, b, true)
	signIn(t, tb, cn.URL, "admin", pw)

	do(t, tb, "directory", chromedp.Navigate(cn.URL+"/directory"), chromedp.WaitVisible(chromedp.CSS("main")))
	body := bodyText(t, tb)
	// The seeded partners were never verified: each has asked us to confirm our entry.
	for _, want := range []string{"JPCERT/CC", "KrCERT/CC", "SingCERT", "Pending", "Never verified", "Add a partner", "asks us to confirm"} {
		if !strings.Contains(body, want) {
			t.Errorf("directory lacks %q", want)
		}
	}
	do(t, tb, "filter pending", chromedp.Navigate(cn.URL+"/directory?status=pending"), chromedp.WaitVisible(chromedp.CSS("main")))
	if rows := text(t, tb, "main table"); !strings.Contains(rows, "SingCERT") || strings.Contains(rows, "JPCERT/CC") {
		t.Errorf("the pending filter shows: %s", rows)
	}
	do(t, tb, "filter country", chromedp.Navigate(cn.URL+"/directory?country=jp"), chromedp.WaitVisible(chromedp.CSS("main")))
	if rows := text(t, tb, "main table"); !strings.Contains(rows, "JPCERT/CC") || strings.Contains(rows, "KrCERT/CC") {
		t.Errorf("the country filter shows: %s", rows)
	}

	sg, _ := cn.App.Partners.Get("sg")
	do(t, tb, "sg's page", chromedp.Navigate(cn.URL+"/directory/sg"), chromedp.WaitVisible(chromedp.CSS("#p-fp")))
	if body := bodyText(t, tb); !strings.Contains(body, sg.Fingerprint) || !strings.Contains(body, "198.18.0.0/24") || !strings.Contains(body, "Introduced") {
		t.Errorf("sg's page lacks its safety number, networks or key history: %s", body)
	}
	do(t, tb, "wrong number", chromedp.SendKeys(chromedp.CSS("#p-fp"), "11111 22222 33333 44444 55555 66666"))
	submit(t, tb, "approve with a wrong number", `form[action$="/approve"] button`)
	if body := bodyText(t, tb); !strings.Contains(body, "does not match the safety number") {
		t.Errorf("a wrong number is not refused in words: %s", body)
	}
	if p, _ := cn.App.Partners.Get("sg"); p.Status != "pending" {
		t.Fatalf("a wrong number changed sg to %s", p.Status)
	}

	screens := []struct{ name, path string }{{"directory", "/directory"}, {"directory-partner", "/directory/sg"}, {"directory-jp", "/directory/jp"}}
	for _, lang := range []string{"en", "zh-Hans", "ja", "ko"} {
		do(t, tb, "language "+lang, chromedp.Navigate(cn.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#open-h")))
		submit(t, tb, "switch to "+lang, `button[name=lang][value="`+lang+`"]`)
		for _, s := range screens {
			do(t, tb, s.name, chromedp.Navigate(cn.URL+s.path), chromedp.WaitVisible(chromedp.CSS("main")))
			checkScreen(t, tb, axe, lang, s.name)
			shoot(t, tb, shots, lang+"-"+s.name)
		}
	}

	do(t, tb, "language en", chromedp.Navigate(cn.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#open-h")))
	submit(t, tb, "switch to en", `button[name=lang][value="en"]`)
	do(t, tb, "sg's page", chromedp.Navigate(cn.URL+"/directory/sg"), chromedp.WaitVisible(chromedp.CSS("#p-fp")),
		chromedp.SendKeys(chromedp.CSS("#p-fp"), sg.Fingerprint))
	submit(t, tb, "approve with the right number", `form[action$="/approve"] button`)
	if p, _ := cn.App.Partners.Get("sg"); p.Status != "active" {
		t.Fatalf("the right number left sg %s", p.Status)
	}
}
