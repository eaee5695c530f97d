package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestOnCallInBrowser edits the on-call configuration in the console as a duty officer
// would (issue 10 item 6): a rotation form sent with four mistakes shows all four at
// once, beside their fields and in a summary whose links lead to them; then a rotation,
// an override and a policy are saved, each audited; the calendar shows two weeks, the
// override and a partner's rota; and every on-call screen passes axe-core in all four
// languages, with screenshots.
func TestOnCallInBrowser(t *testing.T) {
	exe := needBrowser(t)
	axe := needAxe(t)
	shots := screenshotDir(t)
	n := startNet(t)
	ctx := context.Background()
	if err := n.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	cn := n.Node("cn")
	b := browser(t, exe)
	tb := tab(t, b, false)
	signIn(t, tb, cn.URL, cn.User, cn.Password)

	// Every mistake at once.
	do(t, tb, "new rotation form", chromedp.Navigate(cn.URL+"/oncall/rotations/new"), chromedp.WaitVisible(chromedp.CSS("#members")),
		chromedp.SetValue(chromedp.CSS("#every"), "0"),
		chromedp.SendKeys(chromedp.CSS("#id"), "Bad Id"))
	submit(t, tb, "send the rotation with mistakes", "form button.primary")
	for _, f := range []string{"id", "name", "every", "members"} {
		if got := text(t, tb, "#"+f+"-error"); got == "" {
			t.Errorf("no message beside %s", f)
		}
	}
	summary, err := chromedp.Run(tb, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('.error-summary a')).map(a =>
  a.getAttribute('href') + (document.getElementById(a.getAttribute('href').slice(1)) ? '' : ' (missing)'))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(summary) < 4 || strings.Contains(strings.Join(summary, " "), "missing") {
		t.Errorf("error summary links: %v, want four or more, each to a field on the page", summary)
	}
	shoot(t, tb, shots, "en-oncall-rotation-errors")

	// A valid rotation.
	start := time.Now().In(cn.App.Fed.Directory().Self.Location()).AddDate(0, 0, -3).Format("2006-01-02") + "T08:00"
	do(t, tb, "fill the rotation",
		chromedp.SetValue(chromedp.CSS("#id"), "second-line"),
		chromedp.SendKeys(chromedp.CSS("#name"), "Second line"),
		chromedp.SetValue(chromedp.CSS("#shift"), "daily"),
		chromedp.SetValue(chromedp.CSS("#every"), "2"),
		chromedp.SetValue(chromedp.CSS("#start"), start),
		chromedp.SetValue(chromedp.CSS("#members"), "zhao.min\nli.na"))
	submit(t, tb, "save the rotation", "form button.primary")
	waitText(t, tb, "the rotation on the on-call screen", "Second line")

	// An override: Wang Lei covers the second line tomorrow, in the viewer's zone.
	tomorrow := time.Now().AddDate(0, 0, 1).Format("2006-01-02")
	do(t, tb, "override form", chromedp.Click(chromedp.CSS("#override summary")),
		chromedp.SetValue(chromedp.CSS("#rotation_id"), "second-line"),
		chromedp.SetValue(chromedp.CSS("#user"), "wang.lei"),
		chromedp.SetValue(chromedp.CSS("#start"), tomorrow+"T10:00"),
		chromedp.SetValue(chromedp.CSS("#end"), tomorrow+"T09:00"))
	submit(t, tb, "override ending before it starts", "#override button.primary")
	if got := text(t, tb, "#end-error"); got == "" {
		t.Errorf("no message beside the override's end")
	}
	do(t, tb, "fix the end", chromedp.SetValue(chromedp.CSS("#end"), tomorrow+"T20:00"), chromedp.SendKeys(chromedp.CSS("#note"), "swap with Li Na"))
	submit(t, tb, "add the override", "#override button.primary")
	waitText(t, tb, "the override listed", "swap with Li Na")

	// A policy: mistakes first (no id, no name, no level), then saved.
	do(t, tb, "new policy", chromedp.Navigate(cn.URL+"/oncall/policies/new"), chromedp.WaitVisible(chromedp.CSS("#level-0-delay")))
	submit(t, tb, "empty policy", "form button.primary")
	if n, _ := chromedp.Run(tb, chromedp.Evaluate[int](`document.querySelectorAll('.error-summary li').length`)); n < 3 {
		t.Errorf("empty policy: %d messages in the summary, want id, name and levels", n)
	}
	do(t, tb, "fill the policy",
		chromedp.SetValue(chromedp.CSS("#id"), "night"),
		chromedp.SendKeys(chromedp.CSS("#name"), "Night escalation"),
		chromedp.SetValue(chromedp.CSS("#level-0-delay"), "5"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#level-0-targets option[value="rotation:second-line"]').selected = true`))
	submit(t, tb, "save the policy", "form button.primary")
	waitText(t, tb, "the policy listed", "Night escalation")

	// Each change is in the audit log, by the person who made it.
	entries, err := cn.App.Store.ListAudit(ctx, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Actor == cn.User {
			seen[e.Action] = true
		}
	}
	for _, a := range []string{"oncall.rotation", "oncall.override", "oncall.policy"} {
		if !seen[a] {
			t.Errorf("no audit entry %s by %s: %v", a, cn.User, seen)
		}
	}

	// The calendar: fourteen days, the override on tomorrow's row, partners' columns once
	// their summaries arrive.
	do(t, tb, "calendar", chromedp.Navigate(cn.URL+"/oncall/calendar"), chromedp.WaitVisible(chromedp.CSS("table.calendar")))
	if rows, _ := chromedp.Run(tb, chromedp.Evaluate[int](`document.querySelectorAll('table.calendar tbody tr').length`)); rows != 14 {
		t.Errorf("calendar: %d days, want 14", rows)
	}
	if got := text(t, tb, "table.calendar tbody tr:nth-child(2)"); !strings.Contains(got, "Wang Lei") {
		t.Errorf("tomorrow's row does not show the override: %q", got)
	}
	waitPartners := func() {
		for range 50 {
			got, _ := chromedp.Run(tb, chromedp.Evaluate[bool](`document.querySelectorAll('table.calendar thead .team-name').length >= 2`))
			if got {
				return
			}
			time.Sleep(200 * time.Millisecond)
			do(t, tb, "reload calendar", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("table.calendar")))
		}
		t.Errorf("the partners' rotations never reached the calendar")
	}
	waitPartners()

	// Each person's own contact methods, on their account page: a bad webhook first.
	do(t, tb, "account", chromedp.Navigate(cn.URL+"/account"), chromedp.WaitVisible(chromedp.CSS("#contacts-h")),
		chromedp.SetValue(chromedp.CSS("#channel"), "webhook"), chromedp.SendKeys(chromedp.CSS("#address"), "ftp://chat.example"))
	submit(t, tb, "a bad webhook", "#contacts button[type=submit]:not(.link)")
	if got := text(t, tb, "#address-error"); got == "" {
		t.Errorf("no message beside the webhook's address")
	}
	do(t, tb, "an e-mail contact", chromedp.SetValue(chromedp.CSS("#channel"), "email"),
		chromedp.SetValue(chromedp.CSS("#address"), "duty@cn.csirtlink.test"))
	submit(t, tb, "add the e-mail contact", "#contacts button[type=submit]:not(.link)")
	waitText(t, tb, "the contact listed", "duty@cn.csirtlink.test")

	screens := []struct{ name, path string }{
		{"account-contacts", "/account"},
		{"oncall-edit", "/oncall"}, {"oncall-calendar", "/oncall/calendar"},
		{"oncall-rotation", "/oncall/rotations/second-line"}, {"oncall-policy", "/oncall/policies/night"},
	}
	for _, lang := range []string{"en", "zh-Hans", "ja", "ko"} {
		do(t, tb, "language "+lang, chromedp.Navigate(cn.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#open-h")))
		submit(t, tb, "switch to "+lang, `button[name=lang][value="`+lang+`"]`)
		for _, s := range screens {
			do(t, tb, s.name, chromedp.Navigate(cn.URL+s.path), chromedp.WaitVisible(chromedp.CSS("main")))
			checkScreen(t, tb, axe, lang, s.name)
			shoot(t, tb, shots, lang+"-"+s.name)
		}
		// The rotation form with its mistakes, in this language.
		do(t, tb, "rotation errors "+lang, chromedp.Navigate(cn.URL+"/oncall/rotations/new"), chromedp.WaitVisible(chromedp.CSS("#members")),
			chromedp.SetValue(chromedp.CSS("#every"), "0"))
		submit(t, tb, "rotation with mistakes", "form button.primary")
		checkScreen(t, tb, axe, lang, "oncall-rotation-errors")
		shoot(t, tb, shots, lang+"-oncall-rotation-errors")
		do(t, tb, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1)))
		do(t, tb, "calendar on a phone", chromedp.Navigate(cn.URL+"/oncall/calendar"), chromedp.WaitVisible(chromedp.CSS("main")))
		teamNamesWhole(t, tb, lang+" phone calendar")
		shoot(t, tb, shots, lang+"-phone-oncall-calendar")
		do(t, tb, "desktop", chromedp.EmulateViewport(1280, 900))
	}
}
