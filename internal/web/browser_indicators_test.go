package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"csirtlink/internal/store"
)

// TestIndicatorsInBrowser: jp lists the indicators its partners share, filters those
// someone saw, opens one of cn's, reports a takedown with the button, and cn's page for
// the object shows it; the navigation's search box finds an address inside a shared
// network; the incident page says what else is known about an observable. Every
// indicator screen in every language passes the accessibility and language checks.
func TestIndicatorsInBrowser(t *testing.T) {
	exe := needBrowser(t)
	axe := needAxe(t)
	shots := screenshotDir(t)
	n := startNet(t)
	ctx := context.Background()
	if err := n.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	cn, jp := n.Node("cn"), n.Node("jp")
	b := browser(t, exe)
	cnTab, jpTab := tab(t, b, false), tab(t, b, false)
	signIn(t, cnTab, cn.URL, cn.User, cn.Password)
	signIn(t, jpTab, jp.URL, jp.User, jp.Password)

	do(t, jpTab, "jp's indicators seen by someone", chromedp.Navigate(jp.URL+"/indicators?author=cn&seen=yes"), chromedp.WaitVisible(chromedp.CSS(".rows")))
	if body := bodyText(t, jpTab); !strings.Contains(body, "198.51.100.100") || strings.Contains(body, "198.51.100.150") {
		t.Errorf("filtered list: %.600s", body)
	}
	list, err := jp.App.Store.IndicatorsByValue(ctx, []string{"198.51.100.150"}, 1)
	if err != nil || len(list) != 1 {
		t.Fatalf("cn's indicator at jp: %v %v", list, err)
	}
	id := list[0].ID
	do(t, jpTab, "the indicator at jp", chromedp.Navigate(jp.URL+"/indicators/"+id), chromedp.WaitVisible(chromedp.CSS("#sightings")),
		chromedp.SendKeys(chromedp.CSS("#note"), "Provider confirms the server is gone."))
	submit(t, jpTab, "report a takedown", `button[name=kind][value="taken-down"]`)
	waitText(t, jpTab, "jp's own report", "Provider confirms the server is gone.")
	deadline := time.Now().Add(5 * time.Second)
	for {
		do(t, cnTab, "the indicator at cn", chromedp.Navigate(cn.URL+"/indicators/"+id), chromedp.WaitVisible(chromedp.CSS("#sightings")))
		if strings.Contains(bodyText(t, cnTab), "Provider confirms the server is gone.") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the takedown never showed at cn: %.800s", bodyText(t, cnTab))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got, _ := cn.App.Store.GetIndicator(ctx, id); got.Version != 1 {
		t.Errorf("a sighting changed the version: %d", got.Version)
	}
	shoot(t, cnTab, shots, "en-indicator-author")

	do(t, jpTab, "search from the navigation", chromedp.Navigate(jp.URL+"/incidents"), chromedp.WaitVisible(chromedp.CSS(".nav-wide .nav-search input")),
		chromedp.SendKeys(chromedp.CSS(".nav-wide .nav-search input"), "192.0.2.77"))
	submit(t, jpTab, "search", ".nav-wide .nav-search button")
	waitText(t, jpTab, "the shared network holding the address", "192.0.2.0/24")
	shoot(t, jpTab, shots, "en-search")

	do(t, jpTab, "the botnet incident", chromedp.Navigate(jp.URL+"/incidents/cn-2026-0001"), chromedp.WaitVisible(chromedp.CSS("#observables-h")))
	if obs := text(t, jpTab, ".observables"); !strings.Contains(obs, "Shared indicator") {
		t.Errorf("no related indicator under the incident's observables: %q", obs)
	}

	seen := list[0]
	screens := []struct{ name, path string }{
		{"indicators", "/indicators"}, {"indicator", "/indicators/" + seen.ID}, {"search", "/search?q=www.secure-card3.example"},
	}
	for _, lang := range []string{"en", "zh-Hans", "ja", "ko"} {
		do(t, jpTab, "language "+lang, chromedp.Navigate(jp.URL+"/indicators"), chromedp.WaitVisible(chromedp.CSS("main")))
		submit(t, jpTab, "switch to "+lang, `button[name=lang][value="`+lang+`"]`)
		for _, s := range screens {
			do(t, jpTab, s.name, chromedp.Navigate(jp.URL+s.path), chromedp.WaitVisible(chromedp.CSS("main")))
			checkScreen(t, jpTab, axe, lang, s.name)
			shoot(t, jpTab, shots, lang+"-"+s.name)
		}
		do(t, jpTab, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1)))
		do(t, jpTab, "indicator on a phone", chromedp.Navigate(jp.URL+"/indicators/"+seen.ID), chromedp.WaitVisible(chromedp.CSS("main")))
		phoneNav(t, jpTab, lang+" indicator", 12)
		shoot(t, jpTab, shots, lang+"-phone-indicator")
		do(t, jpTab, "desktop", chromedp.EmulateViewport(1280, 900))
	}
	// A revoked object: its page says so, in place of the content.
	var revoked store.Indicator
	for _, in := range must(cn.App.Store.ListIndicators(ctx, store.IndicatorFilter{Revoked: true, Author: "cn"})) {
		if in.State == store.IndicatorRevoked {
			revoked = in
		}
	}
	do(t, jpTab, "english", chromedp.Navigate(jp.URL+"/indicators"), chromedp.WaitVisible(chromedp.CSS("main")))
	submit(t, jpTab, "switch to en", `button[name=lang][value="en"]`)
	do(t, jpTab, "revoked", chromedp.Navigate(jp.URL+"/indicators/"+revoked.ID), chromedp.WaitVisible(chromedp.CSS("main")))
	if !strings.Contains(bodyText(t, jpTab), "Revoked by its author") {
		t.Errorf("revoked page: %.400s", bodyText(t, jpTab))
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
