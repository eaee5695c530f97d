package web_test

import (
	"context"
	"regexp"
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
	for _, want := range []string{"Embargoed", "CVSS 4.0 9.3", "UTC+8", "UTC+9", "Not assessed", "Fixed 2.4.1", "Nishikawa Networks PSIRT", "agreed to the publication time"} {
		if !strings.Contains(body, want) {
			t.Errorf("the case page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "Huaxin Microelectronics PSIRT") || strings.Contains(body, "Dr. Lena Brandt") {
		t.Errorf("jp's page shows cn's vendor or the reporter")
	}
	// The countdown ticks each second, in the viewer's language.
	clockForm := regexp.MustCompile(`^in 02:5\d:\d\d$`)
	first := text(t, jpTab, ".countdown")
	time.Sleep(1500 * time.Millisecond)
	if second := text(t, jpTab, ".countdown"); !clockForm.MatchString(first) || !clockForm.MatchString(second) || first == second {
		t.Errorf("the countdown does not tick: %q then %q", first, second)
	}

	// jp records one of its vendors from the page; it stays at jp.
	do(t, jpTab, "vendor form", chromedp.Click(chromedp.CSS("#vendor > details:first-of-type > summary")), chromedp.SendKeys(chromedp.CSS("#vendor-name"), "Kansai Router KK"),
		chromedp.SendKeys(chromedp.CSS("#vendor-email"), "psirt@kansai.example"))
	submit(t, jpTab, "add the vendor", `#vendor form[action$="/vendors"] button`)
	waitText(t, jpTab, "the flash", "Vendor added")
	waitText(t, jpTab, "the vendor", "psirt@kansai.example")

	// cn, the owner, edits its case: a wrong CVSS 4.0 vector is refused beside the
	// field; the right one is scored; a product's versions change; kr is added and
	// gets the case.
	cnTab := tab(t, b, true)
	signIn(t, cnTab, cn.URL, cn.User, cn.Password)
	do(t, cnTab, "cn's case", chromedp.Navigate(cn.URL+"/cvd/"+k.ID), chromedp.WaitVisible(chromedp.CSS("#edit-h")))
	do(t, cnTab, "new vulnerability", chromedp.Click(chromedp.CSS(`details[id="vuln-"] summary`)),
		chromedp.SendKeys(chromedp.CSS(`[id="vuln--title"]`), "Hard-coded credentials"),
		chromedp.SendKeys(chromedp.CSS(`[id="vuln--cvss_v4"]`), "CVSS:4.0/AV:N"))
	submit(t, cnTab, "a wrong vector", `details[id="vuln-"] button`)
	if msg := text(t, cnTab, `details[id="vuln-"] .field-error`); !strings.Contains(msg, "metric AC: missing") {
		t.Errorf("the refusal beside the field: %q", msg)
	}
	do(t, cnTab, "the right vector", chromedp.SetValue(chromedp.CSS(`[id="vuln--cvss_v4"]`), "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N"))
	submit(t, cnTab, "the right vector", `details[id="vuln-"] button`)
	waitText(t, cnTab, "the flash", "Case saved")
	waitText(t, cnTab, "the new score", "CVSS 4.0 8.7")
	do(t, cnTab, "product p1", chromedp.Click(chromedp.CSS(`#product-p1 summary`)), chromedp.SetValue(chromedp.CSS(`[id="product-p1-versions"]`), "< 1.9"))
	submit(t, cnTab, "edit p1", `#product-p1 button`)
	waitText(t, cnTab, "the new versions", "< 1.9")
	do(t, cnTab, "add kr", chromedp.SetValue(chromedp.CSS("#edit-participant"), "kr"))
	shoot(t, cnTab, shots, "en-cvd-case-edit")
	submit(t, cnTab, "save", `#caseedit form[action$="/edit"] button`)
	waitText(t, cnTab, "the flash", "Case saved")
	deadline = time.Now().Add(10 * time.Second)
	for {
		c, err := n.Node("kr").App.CVD.Get(ctx, k.ID)
		if err == nil && len(c.Vulnerabilities) == 2 && c.Products[0].Versions == "< 1.9" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kr did not get the edited case: %+v %v", c, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	checkScreen(t, cnTab, axe, "en", "cvd-case-edit")

	// A vendor's person at jp signs in to its own cases only, at what its vendor may
	// see, and states its status from the page.
	pw := addUser(t, jp, "sato.nr", "vendor")
	nv, err := jp.App.CVD.AddVendor(ctx, cvd.Actor{Name: "tanaka.hiro"}, seeded, cvd.NewVendor{Name: "Nishikawa Networks", User: "sato.nr", Products: []string{"p2"}})
	if err != nil {
		t.Fatal(err)
	}
	vTab := tab(t, b, true)
	do(t, vTab, "vendor sign-in", chromedp.Navigate(jp.URL+"/signin"), chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "sato.nr"), chromedp.SendKeys(chromedp.CSS("#password"), pw))
	submit(t, vTab, "vendor sign-in", "button[type=submit].primary")
	waitText(t, vTab, "the vendor's cases", "Home router firmware")
	body = bodyText(t, vTab)
	if strings.Contains(body, "NAS web UI") || strings.Contains(body, "Incidents") || strings.Contains(body, "Dashboard") {
		t.Errorf("the vendor's list shows another case or the team's screens:\n%s", body)
	}
	do(t, vTab, "the vendor's case", chromedp.Navigate(jp.URL+"/cvd/"+seeded), chromedp.WaitVisible(chromedp.CSS("#vstatus-h")))
	checkScreen(t, vTab, axe, "en", "cvd-vendor")
	do(t, vTab, "status", chromedp.SetValue(chromedp.CSS("#vs-status"), "fixed"), chromedp.SendKeys(chromedp.CSS("#vs-fixed_version"), "2.4.2"))
	submit(t, vTab, "state the status", `#vstatus button`)
	waitText(t, vTab, "the flash", "Status recorded")
	// The owner (cn) sequences the status and relays it back before the matrix shows it.
	deadline = time.Now().Add(15 * time.Second)
	for !strings.Contains(bodyText(t, vTab), "Fixed 2.4.2") {
		if time.Now().After(deadline) {
			t.Fatalf("the vendor's status never came back:\n%s", bodyText(t, vTab))
		}
		do(t, vTab, "reload", chromedp.Navigate(jp.URL+"/cvd/"+seeded), chromedp.WaitVisible(chromedp.CSS("#vstatus-h")))
	}
	shoot(t, vTab, shots, "en-cvd-vendor")
	body = bodyText(t, vTab)
	for _, leak := range []string{"Timeline", "Nishikawa Networks PSIRT", "Dr. Lena Brandt", "Change the case", "Agree to this time"} {
		if strings.Contains(body, leak) {
			t.Errorf("the vendor sees %q", leak)
		}
	}
	do(t, vTab, "another case", chromedp.Navigate(jp.URL+"/cvd/"+k.ID), chromedp.WaitVisible(chromedp.CSS("main")))
	if body := bodyText(t, vTab); strings.Contains(body, "NAS web UI") {
		t.Errorf("the vendor reached another case")
	}

	// jp lowers the vendor's label to GREEN from the case page: its person is kept from
	// the AMBER case from then on; raised back to AMBER, it reads it again.
	setLabel := func(label, flash string) {
		t.Helper()
		do(t, jpTab, "jp's case", chromedp.Navigate(jp.URL+"/cvd/"+seeded), chromedp.WaitVisible(chromedp.CSS("#vendors-h")),
			chromedp.Click(chromedp.CSS(`[id="vchange-`+nv.ID+`"] summary`)), chromedp.SetValue(chromedp.CSS(`[id="vchange-`+nv.ID+`-tlp"]`), label))
		submit(t, jpTab, "the label "+label, `[id="vchange-`+nv.ID+`"] form[action$="/tlp"] button`)
		waitText(t, jpTab, "the flash", flash)
	}
	setLabel("GREEN", "The vendor's label is changed")
	do(t, vTab, "the vendor at GREEN", chromedp.Navigate(jp.URL+"/cvd/"+seeded), chromedp.WaitVisible(chromedp.CSS("main")))
	if body := bodyText(t, vTab); strings.Contains(body, "Home router firmware") || !strings.Contains(body, "given to the vendor") {
		t.Errorf("the vendor given GREEN reads the AMBER case:\n%s", body)
	}
	setLabel("AMBER", "The vendor's label is changed")
	do(t, vTab, "the vendor at AMBER", chromedp.Navigate(jp.URL+"/cvd/"+seeded), chromedp.WaitVisible(chromedp.CSS("#vstatus-h")))

	// cn, the owner, removes a vulnerability from its case with a reason; the timeline
	// at cn and at jp says what was removed. jp removes its vendor: its person is cut off.
	do(t, cnTab, "cn's case", chromedp.Navigate(cn.URL+"/cvd/"+k.ID), chromedp.WaitVisible(chromedp.CSS("#edit-h")),
		chromedp.Click(chromedp.CSS("#remove summary")), chromedp.SetValue(chromedp.CSS("#remove-item"), "vulnerability:v2"),
		chromedp.SendKeys(chromedp.CSS("#remove-reason"), "reported twice"))
	checkScreen(t, cnTab, axe, "en", "cvd-case-remove")
	shoot(t, cnTab, shots, "en-cvd-case-remove")
	submit(t, cnTab, "remove v2", `#remove button`)
	waitText(t, cnTab, "the flash", "Removed, and sent to the coordinators")
	waitText(t, cnTab, "the timeline", "removed an item from the case: vulnerability v2")
	if body := bodyText(t, cnTab); strings.Contains(body, "CVSS 4.0 8.7") || !strings.Contains(body, "reported twice") {
		t.Errorf("cn's page after the removal:\n%s", body)
	}
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(bodyText(t, jpTab), "vulnerability v2") {
		if time.Now().After(deadline) {
			t.Fatalf("the removal did not reach jp's page")
		}
		do(t, jpTab, "jp's copy", chromedp.Navigate(jp.URL+"/cvd/"+k.ID), chromedp.WaitVisible(chromedp.CSS("#matrix-h")))
	}
	do(t, jpTab, "jp's case", chromedp.Navigate(jp.URL+"/cvd/"+seeded), chromedp.WaitVisible(chromedp.CSS("#vendors-h")),
		chromedp.Click(chromedp.CSS(`[id="vchange-`+nv.ID+`"] summary`)), chromedp.SendKeys(chromedp.CSS(`[id="vchange-`+nv.ID+`-reason"]`), "no longer ships the router"))
	submit(t, jpTab, "remove the vendor", `[id="vchange-`+nv.ID+`"] form[action$="/remove"] button`)
	waitText(t, jpTab, "the flash", "Removed, and sent to the coordinators")
	waitText(t, jpTab, "the vendor marked", "removed from the case")
	shoot(t, jpTab, shots, "en-cvd-vendor-removed")
	do(t, vTab, "the removed vendor", chromedp.Navigate(jp.URL+"/cvd/"+seeded), chromedp.WaitVisible(chromedp.CSS("main")))
	if body := bodyText(t, vTab); strings.Contains(body, "Home router firmware") || !strings.Contains(body, "removed from the case") {
		t.Errorf("the removed vendor reads the case:\n%s", body)
	}
}
