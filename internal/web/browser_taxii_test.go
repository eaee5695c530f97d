package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"csirtlink/internal/auth"
	"csirtlink/internal/taxii"
)

// The TAXII screen in a browser, in every language: accessible, translated, with a
// consumer and two sources (one pulled, one failing).
func TestTAXIIInBrowser(t *testing.T) {
	exe := needBrowser(t)
	axe := needAxe(t)
	shots := screenshotDir(t)
	cn, _ := startOne(t)
	ctx := context.Background()
	bossPW := addUser(t, cn, "boss", auth.Admin)
	cred, err := cn.App.TAXIIConsumers.Create(ctx, taxii.ConsumerInput{Name: "soc-kanto", Ceiling: "GREEN"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cn.App.TAXIIConsumers.Create(ctx, taxii.ConsumerInput{Name: "partner-tool", Ceiling: "AMBER", CanWrite: true}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []taxii.SourceInput{
		{ID: "self", URL: cn.URL + "/taxii2/api/", Collection: taxii.IndicatorsCollection, Username: cred.Name, Secret: cred.Password, TLP: "GREEN", Interval: time.Hour},
		{ID: "broken", URL: cn.URL + "/taxii2/api/", Collection: taxii.IndicatorsCollection, Username: "nobody", Secret: "x", TLP: "AMBER", Interval: 15 * time.Minute},
	} {
		if _, err := taxii.SaveSource(ctx, cn.App.Store, s, time.Now()); err != nil {
			t.Fatal(err)
		}
		cn.App.TAXIIPuller.PullSource(ctx, s.ID)
	}
	b := browser(t, exe)
	tb := tab(t, b, false)
	signIn(t, tb, cn.URL, "boss", bossPW)
	for _, lang := range []string{"en", "zh-Hans", "ja", "ko"} {
		do(t, tb, "language "+lang, chromedp.Navigate(cn.URL+"/taxii"), chromedp.WaitVisible(chromedp.CSS("main")))
		submit(t, tb, "switch to "+lang, `button[name=lang][value="`+lang+`"]`)
		do(t, tb, "taxii", chromedp.Navigate(cn.URL+"/taxii"), chromedp.WaitVisible(chromedp.CSS("#taxii-sources")))
		checkScreen(t, tb, axe, lang, "taxii")
		shoot(t, tb, shots, lang+"-taxii")
	}
}

// The names of the standard, the tools and the scheme the TAXII screen names stay
// English in every language.
func init() {
	for _, w := range []string{"taxii", "soc", "opencti", "bearer"} {
		englishAllowed[w] = true
	}
}
