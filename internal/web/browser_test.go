package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"csirtlink/internal/auth"
	"csirtlink/internal/testnet"
)

// chromium finds a Chromium to drive: $CSIRTLINK_CHROMIUM, then the usual names.
func chromium() string {
	if p := os.Getenv("CSIRTLINK_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// needBrowser skips a browser test where no Chromium is installed, except in CI
// (CI=true), where a missing browser is a failure: a green run must have tested the
// console in a browser.
func needBrowser(t *testing.T) string {
	t.Helper()
	p := chromium()
	if p == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium found and CI=true: install it (apt-get install -y chromium fonts-noto-cjk)")
		}
		t.Skip("no Chromium found: browser tests skipped (apt-get install -y chromium fonts-noto-cjk to run them)")
	}
	return p
}

// screenshotDir is where screenshots go: $CSIRTLINK_SCREENSHOTS, or
// internal/web/testdata/screenshots-out (git-ignored). t.TempDir would be deleted.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CSIRTLINK_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots-out")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", dir)
	return dir
}

// browser starts one headless Chromium for the test.
func browser(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// tab opens a tab; isolated gives it its own cookies (another person).
func tab(t *testing.T, parent context.Context, isolated bool) context.Context {
	t.Helper()
	var opts []chromedp.ContextOption
	if isolated {
		opts = append(opts, chromedp.WithNewBrowserContext())
	}
	ctx, cancel := chromedp.NewContext(parent, opts...)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 6*time.Minute)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	return ctx
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// waitText waits until the page (without navigating) shows s.
func waitText(t *testing.T, ctx context.Context, what, s string) {
	t.Helper()
	js := fmt.Sprintf("document.body.innerText.includes(%q)", s)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		t.Fatalf("%s: %q never appeared: %v", what, s, err)
	}
}

func bodyText(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body.innerText"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func signIn(t *testing.T, ctx context.Context, url, user, password string) {
	t.Helper()
	do(t, ctx, "sign in at "+url,
		chromedp.Navigate(url+"/signin"),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
	)
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(pageLoad, nil, chromedp.Click(chromedp.CSS("button[type=submit].primary")))); err != nil {
		t.Fatalf("submit sign-in: %v", err)
	}
	do(t, ctx, "dashboard after sign-in", chromedp.WaitVisible(chromedp.CSS("#open-h")))
}

// submit clicks a button that posts a form and waits for the next page.
func submit(t *testing.T, ctx context.Context, what, sel string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(pageLoad, nil, chromedp.Click(chromedp.CSS(sel)))); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func shoot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	// Let web fonts and the live indicator settle.
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

func startNet(t *testing.T) *testnet.Net {
	t.Helper()
	n, err := testnet.Start(context.Background(), testnet.Options{Dir: t.TempDir(), Federation: fastFed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// TestConsoleInBrowser drives the consoles of three in-process nodes in headless
// Chromium: sign in; an incident created at cn appears on jp's open console without a
// reload; jp switches to Japanese; an AMBER+STRICT entry for jp never shows at kr; and
// a screenshot of every screen in every language (desktop and phone).
//
// The hotline (send a page, acknowledge it, watch it live) is TestHotlineInBrowser's.
func TestConsoleInBrowser(t *testing.T) {
	exe := needBrowser(t)
	axe := needAxe(t)
	shots := screenshotDir(t)
	n := startNet(t)
	ctx := context.Background()
	if err := n.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	cn, jp, kr := n.Node("cn"), n.Node("jp"), n.Node("kr")
	b := browser(t, exe)

	// One browser, one person per node: the cookies carry the team id, so the three
	// consoles on 127.0.0.1 do not sign each other out.
	cnTab, jpTab, krTab := tab(t, b, false), tab(t, b, false), tab(t, b, false)
	do(t, cnTab, "sign-in page", chromedp.Navigate(cn.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#password")))
	shoot(t, cnTab, shots, "en-signin")
	signIn(t, cnTab, cn.URL, cn.User, cn.Password)
	signIn(t, jpTab, jp.URL, jp.User, jp.Password)
	signIn(t, krTab, kr.URL, kr.User, kr.Password)
	do(t, cnTab, "cn still signed in after jp and kr", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#open-h")))

	// jp watches its incident list; the live stream must be up before cn creates.
	do(t, jpTab, "jp incident list", chromedp.Navigate(jp.URL+"/incidents"), chromedp.WaitVisible(chromedp.CSS(".live-on")))
	do(t, jpTab, "mark the page", chromedp.Evaluate[chromedp.Void]("window.__noReload = true"))

	// cn opens an incident with jp; a mistake first: the form keeps what was typed.
	do(t, cnTab, "new incident form",
		chromedp.Navigate(cn.URL+"/incidents/new"),
		chromedp.WaitVisible(chromedp.CSS("#title")),
		chromedp.SendKeys(chromedp.CSS("#description"), "Encrypted file servers at a logistics firm; ransom note names a JP-hosted leak site."),
	)
	submit(t, cnTab, "submit without title", "form button.primary")
	if got := text(t, cnTab, "#title-error"); got == "" {
		t.Errorf("no message beside the missing title")
	}
	if v, _ := chromedp.Run(cnTab, chromedp.Value(chromedp.CSS("#description"))); !strings.Contains(v, "logistics firm") {
		t.Errorf("description lost after a validation error: %q", v)
	}
	shoot(t, cnTab, shots, "en-new-incident-error")
	title := "Ransomware at a logistics firm, leak site in JP"
	do(t, cnTab, "fill the incident",
		chromedp.SendKeys(chromedp.CSS("#title"), title),
		chromedp.SetValue(chromedp.CSS("#category"), "malicious-code/infected-system"),
		chromedp.SetValue(chromedp.CSS("#severity"), "high"),
		chromedp.SetValue(chromedp.CSS("#tlp"), "AMBER"),
		chromedp.Click(chromedp.CSS(`input[name=participants][value=jp]`)),
	)
	submit(t, cnTab, "open the incident", "form button.primary")
	loc, err := chromedp.Run(cnTab, chromedp.Location())
	if err != nil || !strings.Contains(loc, "/incidents/cn-") {
		t.Fatalf("after creating: at %q (%v); page: %s", loc, err, bodyText(t, cnTab))
	}

	waitText(t, jpTab, "incident created at cn, on jp's open list", title)
	if still, err := chromedp.Run(jpTab, chromedp.Evaluate[bool]("window.__noReload === true")); err != nil || !still {
		t.Errorf("jp's page was reloaded; the update should have come over SSE")
	}

	// An AMBER+STRICT comment for jp on the botnet incident (cn, jp, kr take part),
	// then an AMBER one: once kr shows the second, it would have shown the first.
	botnet := "cn-2026-0001"
	secret := "Sinkhole admin phone for jp only: +86 10 5555 0199"
	later := "AMBER follow-up for everyone: takedown confirmed"
	do(t, jpTab, "jp on the botnet", chromedp.Navigate(jp.URL+"/incidents/"+botnet), chromedp.WaitVisible(chromedp.CSS(".live-on")))
	do(t, krTab, "kr on the botnet", chromedp.Navigate(kr.URL+"/incidents/"+botnet), chromedp.WaitVisible(chromedp.CSS(".live-on")))
	do(t, cnTab, "cn writes for jp only",
		chromedp.Navigate(cn.URL+"/incidents/"+botnet),
		chromedp.WaitVisible(chromedp.CSS("#body")),
		chromedp.SendKeys(chromedp.CSS("#body"), secret),
		chromedp.SetValue(chromedp.CSS("#tlp"), "AMBER+STRICT"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('tlp').dispatchEvent(new Event('change'))`),
		chromedp.Click(chromedp.CSS(`#recipients-set input[value=jp]`)),
	)
	submit(t, cnTab, "post AMBER+STRICT", "#comment button.primary")
	waitText(t, cnTab, "cn's own page", secret)
	do(t, cnTab, "cn writes for all",
		chromedp.SendKeys(chromedp.CSS("#body"), later),
		chromedp.SetValue(chromedp.CSS("#tlp"), "AMBER"),
	)
	submit(t, cnTab, "post AMBER", "#comment button.primary")
	waitText(t, jpTab, "jp sees the AMBER+STRICT entry", secret)
	waitText(t, krTab, "kr sees the AMBER entry", later)
	if strings.Contains(bodyText(t, krTab), secret) {
		t.Fatalf("kr's screen shows an AMBER+STRICT entry meant for jp")
	}
	do(t, krTab, "reload kr", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#timeline-h")))
	if strings.Contains(bodyText(t, krTab), secret) {
		t.Fatalf("kr's screen shows an AMBER+STRICT entry meant for jp (after reload)")
	}

	// jp switches to Japanese with the switcher.
	submit(t, jpTab, "switch to Japanese", `button[name=lang][value=ja]`)
	if h := text(t, jpTab, "#timeline-h"); h != "タイムライン" {
		t.Errorf("timeline heading in Japanese: got %q", h)
	}
	if nav := text(t, jpTab, ".nav-wide"); !strings.Contains(nav, "ダッシュボード") || !strings.Contains(nav, "インシデント") {
		t.Errorf("navigation not in Japanese: %q", nav)
	}
	if badge := text(t, jpTab, ".incident-head .tlp"); badge != "TLP:AMBER" {
		t.Errorf("TLP label must stay in English, got %q", badge)
	}

	// Screenshots: every screen in every language, desktop and phone. Audit needs an
	// administrator, who signs in at cn in a browser context of their own.
	adminPW := auth.GeneratePassword()
	admin, err := cn.App.Store.UserByName(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.SetPassword(ctx, cn.App.Store, admin.ID, adminPW); err != nil {
		t.Fatal(err)
	}
	adminTab := tab(t, b, true)
	signIn(t, adminTab, cn.URL, "admin", adminPW)
	screens := []struct{ name, path string }{
		{"dashboard", "/"}, {"incidents", "/incidents"}, {"incident", "/incidents/" + botnet},
		{"new-incident", "/incidents/new"}, {"peers", "/peers"}, {"account", "/account"}, {"audit", "/audit"},
		{"people", "/people"},
	}
	for _, lang := range []string{"en", "zh-Hans", "ja", "ko"} {
		do(t, adminTab, "language "+lang, chromedp.Navigate(cn.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#open-h")))
		submit(t, adminTab, "switch to "+lang, `button[name=lang][value="`+lang+`"]`)
		if got, _ := chromedp.Run(adminTab, chromedp.Evaluate[string]("document.documentElement.lang")); got != lang {
			t.Fatalf("html lang after switching: %q, want %q", got, lang)
		}
		for _, s := range screens {
			do(t, adminTab, s.name, chromedp.Navigate(cn.URL+s.path), chromedp.WaitVisible(chromedp.CSS("main")))
			checkScreen(t, adminTab, axe, lang, s.name)
			shoot(t, adminTab, shots, lang+"-"+s.name)
		}
		do(t, adminTab, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1)))
		for _, s := range screens {
			do(t, adminTab, s.name, chromedp.Navigate(cn.URL+s.path), chromedp.WaitVisible(chromedp.CSS("main")))
			// An administrator sees every entry: dashboard, hotline, incidents, partners,
			// indicators, directory, on call, comm checks, vulnerabilities, figures, feeds, TAXII,
			// people, audit, new incident.
			phoneNav(t, adminTab, lang+" "+s.name, 15)
			teamNamesWhole(t, adminTab, lang+" phone "+s.name)
			shoot(t, adminTab, shots, lang+"-phone-"+s.name)
		}
		do(t, adminTab, "desktop", chromedp.EmulateViewport(1280, 900))
	}
	// The sign-in page in each language, as a visitor whose browser asks for it.
	for _, lang := range []string{"zh-Hans", "ja", "ko"} {
		v := tab(t, b, true)
		do(t, v, "visitor", chromedp.Navigate(kr.URL+"/signin"), chromedp.WaitVisible(chromedp.CSS("#name")))
		submit(t, v, "switch to "+lang, `button[name=lang][value="`+lang+`"]`)
		checkScreen(t, v, axe, lang, "signin")
		shoot(t, v, shots, lang+"-signin")
	}
	// kr's view of the botnet, with the gap where jp's entry is.
	shoot(t, krTab, shots, "en-kr-incident-without-strict-entry")
	shoot(t, jpTab, shots, "ja-jp-incident")
}

// checkScreen runs the checks every screen must pass: no serious or critical
// accessibility violation, no English in another language, team names whole.
func checkScreen(t *testing.T, ctx context.Context, axe, lang, name string) {
	t.Helper()
	axeCheck(t, ctx, axe, lang+" "+name)
	if lang != "en" {
		noEnglish(t, ctx, lang+" "+name)
	}
	teamNamesWhole(t, ctx, lang+" "+name)
}
