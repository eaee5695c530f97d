package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestOwnerFormInBrowser (issue 12 item 7): an owner is created and edited in the
// console. A network with host bits, then a bad contact address, are refused beside
// their fields, by the same checks as the API (one mistake at a time, as it reports
// them), in the viewer's language; fixed, the owner is
// saved and its page shows it; edited, its new name shows. The form passes axe-core in
// all four languages, with screenshots of it refusing.
func TestOwnerFormInBrowser(t *testing.T) {
	exe := needBrowser(t)
	axe := needAxe(t)
	shots := screenshotDir(t)
	n := startNet(t)
	jp := n.Node("jp")
	b := browser(t, exe)
	tb := tab(t, b, false)
	signIn(t, tb, jp.URL, jp.User, jp.Password)

	fill := func(network, email string) {
		t.Helper()
		do(t, tb, "new owner", chromedp.Navigate(jp.URL+"/owners/new"), chromedp.WaitVisible(chromedp.CSS("#id")),
			chromedp.SendKeys(chromedp.CSS("#id"), "isp"), chromedp.SendKeys(chromedp.CSS("#name"), "Example ISP"),
			chromedp.SendKeys(chromedp.CSS("#networks"), network+"\n2001:db8::/32"), chromedp.SendKeys(chromedp.CSS("#asns"), "AS64500"),
			chromedp.SendKeys(chromedp.CSS("#contact-0-email"), email))
		submit(t, tb, "save", "form[action='/owners'] button.primary")
	}
	for _, lang := range []string{"en", "zh-Hans", "ja", "ko"} {
		do(t, tb, "language "+lang, chromedp.Navigate(jp.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#open-h")))
		submit(t, tb, "switch to "+lang, `button[name=lang][value="`+lang+`"]`)
		fill("10.1.2.3/8", "abuse@isp.example")
		netErr := text(t, tb, "#networks-error")
		if !strings.Contains(netErr, "10.0.0.0/8") {
			t.Errorf("%s: the network's message does not suggest 10.0.0.0/8: %q", lang, netErr)
		}
		checkScreen(t, tb, axe, lang, "owner-form")
		shoot(t, tb, shots, lang+"-owner-form-refused")
	}
	// Back in English: fixed, it is saved; then edited.
	do(t, tb, "english", chromedp.Navigate(jp.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#open-h")))
	submit(t, tb, "switch to en", `button[name=lang][value="en"]`)
	fill("10.0.0.0/8", "not-an-address")
	if got := text(t, tb, "#contact-0-email-error"); got == "" {
		t.Fatalf("no message beside the contact's address")
	}
	fill("10.0.0.0/8", "abuse@isp.example")
	loc, err := chromedp.Run(tb, chromedp.Location())
	if err != nil || !strings.HasSuffix(loc, "/owners/isp") {
		t.Fatalf("after saving: at %q (%v): %s", loc, err, bodyText(t, tb))
	}
	o, err := jp.App.Owners.Get(t.Context(), "isp")
	if err != nil || len(o.Networks) != 2 || len(o.ASNs) != 1 || o.ASNs[0] != 64500 || len(o.Contacts) != 1 || o.Contacts[0].Email != "abuse@isp.example" {
		t.Fatalf("saved owner: %+v %v", o, err)
	}
	do(t, tb, "edit", chromedp.Navigate(jp.URL+"/owners/isp/edit"), chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SetValue(chromedp.CSS("#name"), "Example ISP KK"))
	submit(t, tb, "save edit", "form[action='/owners/isp'] button.primary")
	if o, err := jp.App.Owners.Get(t.Context(), "isp"); err != nil || o.Name != "Example ISP KK" || len(o.Contacts) != 1 {
		t.Fatalf("edited owner: %+v %v", o, err)
	}
	if !strings.Contains(bodyText(t, tb), "Example ISP KK") {
		t.Errorf("the owner's page does not show the new name")
	}
}
