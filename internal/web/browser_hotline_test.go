package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"csirtlink/internal/hotline"
	"csirtlink/internal/testnet"
)

// inZone makes a tab's browser live in a time zone, as a duty officer's would.
func inZone(t *testing.T, ctx context.Context, tz string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: tz}); err != nil {
		t.Fatalf("time zone %s: %v", tz, err)
	}
}

func notReloaded(t *testing.T, ctx context.Context, who string) {
	t.Helper()
	if still, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("window.__noReload === true")); err != nil || !still {
		t.Errorf("%s's page was reloaded; the update should have come over SSE", who)
	}
}

// TestHotlineInBrowser drives the hotline in headless Chromium, with a browser in
// Shanghai for cn and one in Tokyo for jp: cn pages jp from the hotline form (a mistake
// first); the page appears on jp's open dashboard without a reload; jp acknowledges it
// there; cn's open page shows "acknowledged" with jp's person's name, without a reload.
// Then screenshots of the hotline's screens in every language, with long Chinese and
// Korean pages waiting, and on a phone.
func TestHotlineInBrowser(t *testing.T) {
	exe := needBrowser(t)
	axe := needAxe(t)
	shots := screenshotDir(t)
	ctx := context.Background()
	n, err := testnet.Start(ctx, testnet.Options{Dir: t.TempDir(), Federation: fastFed, MailDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if err := n.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	cn, jp, kr := n.Node("cn"), n.Node("jp"), n.Node("kr")
	b := browser(t, exe)
	// Each person in a browser context of their own, so that the browsers' zones
	// (a cookie on 127.0.0.1) do not mix.
	cnTab, jpTab := tab(t, b, true), tab(t, b, true)
	inZone(t, cnTab, "Asia/Shanghai")
	inZone(t, jpTab, "Asia/Tokyo")
	signIn(t, cnTab, cn.URL, cn.User, cn.Password)
	signIn(t, jpTab, jp.URL, jp.User, jp.Password)

	// jp's minute is short in this test (see console.js), and jp's browser counts the
	// console's quiet refreshes.
	if _, err := chromedp.Call(jpTab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
window.cslTickMs = 700; window.__ticks = 0;
(function () {
  var f = window.fetch;
  window.fetch = function (u, o) {
    if (o && o.headers && o.headers['X-CSL-Tick']) { window.__ticks++; }
    return f.apply(this, arguments);
  };
}());`}); err != nil {
		t.Fatal(err)
	}

	// jp's dashboard is open and live before cn pages.
	do(t, jpTab, "jp dashboard", chromedp.Navigate(jp.URL+"/"), chromedp.WaitVisible(chromedp.CSS(".live-on")))
	do(t, jpTab, "mark jp's page", chromedp.Evaluate[chromedp.Void]("window.__noReload = true"))

	summary := "Ransomware C2 at 198.51.100.77 is live again: isolate it now"
	do(t, cnTab, "hotline form",
		chromedp.Navigate(cn.URL+"/hotline/new"),
		chromedp.WaitVisible(chromedp.CSS("#summary")),
		chromedp.SendKeys(chromedp.CSS("#summary"), summary),
		chromedp.SendKeys(chromedp.CSS("#details"), "Beacons resumed at 02:40 CST from 1,200 hosts; the leak site went up at the same address."),
		chromedp.SetValue(chromedp.CSS("#severity"), "critical"),
	)
	submit(t, cnTab, "send without a recipient", "#send button.primary")
	if got := text(t, cnTab, "#to-error"); got == "" {
		t.Errorf("no message beside the missing recipient")
	}
	if v, _ := chromedp.Run(cnTab, chromedp.Value(chromedp.CSS("#summary"))); v != summary {
		t.Errorf("summary lost after a validation error: %q", v)
	}
	shoot(t, cnTab, shots, "en-hotline-send-error")
	do(t, cnTab, "choose jp", chromedp.Click(chromedp.CSS(`#send input[name=to][value=jp]`)), chromedp.SetValue(chromedp.CSS("#tlp"), "AMBER"))
	submit(t, cnTab, "send the page", "#send button.primary")
	loc, err := chromedp.Run(cnTab, chromedp.Location())
	if err != nil || !strings.Contains(loc, "/hotline/pages/cn-") {
		t.Fatalf("after sending: at %q (%v); page: %s", loc, err, bodyText(t, cnTab))
	}
	id := loc[strings.LastIndex(loc, "/")+1:]
	do(t, cnTab, "cn's page is live", chromedp.WaitVisible(chromedp.CSS(".live-on")), chromedp.Evaluate[chromedp.Void]("window.__noReload = true"))

	waitText(t, jpTab, "cn's page on jp's open dashboard", summary)
	notReloaded(t, jpTab, "jp")
	if title, _ := chromedp.Run(jpTab, chromedp.Evaluate[string]("document.title")); !strings.HasPrefix(title, "(2) ") {
		t.Errorf("jp's window title does not count the waiting pages: %q", title)
	}
	shoot(t, jpTab, shots, "en-dashboard-page-arrived")

	// How long a page has waited keeps counting on an open dashboard: each "minute" the
	// console fetches the screen again, quietly, and the server's words replace the old.
	do(t, jpTab, "age the waiting times", chromedp.Evaluate[chromedp.Void](
		`document.querySelectorAll('.waited').forEach(function (e) { e.textContent = 'stale'; }); window.__ticks = 0`))
	if _, err := chromedp.Run(jpTab, chromedp.Poll[bool](
		`window.__ticks >= 2 && document.querySelectorAll('.waited').length > 0 && !document.body.innerText.includes('stale')`,
		chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		t.Errorf("waiting times are not refreshed each minute: %v", err)
	}
	if got := text(t, jpTab, ".waited"); !strings.HasPrefix(got, "unacknowledged for ") {
		t.Errorf("waited after a refresh: %q", got)
	}
	notReloaded(t, jpTab, "jp")

	// jp acknowledges from the dashboard; cn's open page shows it, with jp's person's name.
	submit(t, jpTab, "jp acknowledges", `form[action="/hotline/pages/`+id+`/ack"] button`)
	if body := bodyText(t, jpTab); !strings.Contains(body, "Acknowledged; the sender is being told.") || strings.Contains(body, summary) {
		t.Errorf("jp's dashboard after acknowledging: confirmation missing or the page still waits")
	}
	waitText(t, cnTab, "jp's acknowledgement on cn's open page", "Duty officer (jp) (duty)")
	notReloaded(t, cnTab, "cn")
	if got := text(t, cnTab, "#delivery-jp .pill"); got != "Acknowledged" {
		t.Errorf("jp's delivery on cn's page: %q, want Acknowledged", got)
	}
	if got := text(t, cnTab, "#delivery-jp .sig"); !strings.Contains(got, "signature verified") {
		t.Errorf("jp's acknowledgement signature on cn's page: %q", got)
	}
	shoot(t, cnTab, shots, "en-page-acknowledged")

	// Long pages in Chinese and Korean, waiting at jp, for the screenshots: text without
	// spaces and a long URL must wrap, never widen the page.
	hl := func(nd *testnet.Node) *hotline.Service { return nd.App.Hotline }
	if _, err := hl(cn).Send(ctx, hotline.Actor{Name: "wang.lei", DisplayName: "Wang Lei"}, hotline.NewPage{To: []string{"jp"}, Severity: "high", TLP: "AMBER",
		Summary: "境内大量物联网设备感染变种僵尸网络其控制服务器位于日本托管服务商请立即协助关停并保全日志证据以便后续联合溯源分析",
		Details: "样本回连地址：https://c2-panel.very-long-subdomain-for-overflow-testing.example.jp/api/v2/beacon?id=0123456789abcdef0123456789abcdef"}); err != nil {
		t.Fatal(err)
	}
	if _, err := hl(kr).Send(ctx, hotline.Actor{Name: "kim.minjun", DisplayName: "Kim Minjun"}, hotline.NewPage{To: []string{"jp", "cn"}, Severity: "medium", TLP: "GREEN",
		Summary: "부산 항만 물류 시스템을 암호화한 랜섬웨어의 명령제어서버가 일본 호스팅 업체에 있습니다 즉시 차단과 증거 보전을 요청합니다",
		Details: "접속 기록은 KST 기준 03:05부터 보관 중입니다."}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		w, err := hl(jp).List(ctx, hotline.ListFilter{State: "waiting"})
		return err == nil && len(w) >= 3
	})
	// The seeded page: cn's critical page about the botnet, escalating at jp.
	var seeded string
	waiting, _ := hl(jp).List(ctx, hotline.ListFilter{State: "waiting"})
	for _, p := range waiting {
		if p.From == "cn" && p.Severity == "critical" {
			seeded = p.ID
		}
	}
	if seeded == "" {
		t.Fatal("the seeded page is not waiting at jp")
	}

	type screen struct {
		tab        context.Context
		base, name string
		path       string
	}
	screens := []screen{
		{jpTab, jp.URL, "dashboard-waiting", "/"}, {jpTab, jp.URL, "hotline", "/hotline"},
		{jpTab, jp.URL, "page-in", "/hotline/pages/" + seeded}, {jpTab, jp.URL, "oncall", "/oncall"},
		{cnTab, cn.URL, "page-out", "/hotline/pages/" + id}, {cnTab, cn.URL, "commchecks", "/commchecks"},
		{cnTab, cn.URL, "hotline-new", "/hotline/new"}, {cnTab, cn.URL, "dashboard-sender", "/"},
	}
	for _, lang := range []string{"en", "zh-Hans", "ja", "ko"} {
		for _, tb := range []struct {
			ctx  context.Context
			base string
		}{{jpTab, jp.URL}, {cnTab, cn.URL}} {
			do(t, tb.ctx, "language "+lang, chromedp.Navigate(tb.base+"/"), chromedp.WaitVisible(chromedp.CSS("#open-h")))
			submit(t, tb.ctx, "switch to "+lang, `button[name=lang][value="`+lang+`"]`)
		}
		for _, s := range screens {
			do(t, s.tab, s.name, chromedp.Navigate(s.base+s.path), chromedp.WaitVisible(chromedp.CSS("main")))
			checkScreen(t, s.tab, axe, lang, s.name)
			shoot(t, s.tab, shots, lang+"-"+s.name)
		}
		if lang == "ja" {
			if got := text(t, jpTab, "#now-h"); got != "現在の当番" {
				t.Errorf("on-call heading in Japanese: %q", got)
			}
		}
		do(t, jpTab, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1)))
		for _, s := range screens[:4] {
			do(t, jpTab, s.name, chromedp.Navigate(s.base+s.path), chromedp.WaitVisible(chromedp.CSS("main")))
			// A duty officer's twelve entries: dashboard, hotline, incidents, indicators,
			// vulnerabilities, partners, directory, on call, comm checks, figures, feeds, new incident.
			phoneNav(t, jpTab, lang+" "+s.name, 12)
			teamNamesWhole(t, jpTab, lang+" phone "+s.name)
			if s.name == "dashboard-waiting" || s.name == "hotline" {
				ackInFirstScreen(t, jpTab, lang+" phone "+s.name)
			}
			shoot(t, jpTab, shots, lang+"-phone-"+s.name)
		}
		do(t, jpTab, "desktop", chromedp.EmulateViewport(1280, 900))
	}
	// The loud section in the dark, where the colours change.
	if _, err := chromedp.Call(jpTab, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatal(err)
	}
	do(t, jpTab, "dark dashboard", chromedp.Navigate(jp.URL+"/"), chromedp.WaitVisible(chromedp.CSS("main")))
	shoot(t, jpTab, shots, "ko-dark-dashboard-waiting")

	// Signed out elsewhere (or idle too long): the open dashboard does not go on
	// showing stale pages; its next refresh brings up the sign-in screen.
	u, err := jp.App.Store.UserByName(ctx, jp.User)
	if err != nil {
		t.Fatal(err)
	}
	if err := jp.App.Store.DeleteUserSessions(ctx, u.ID, ""); err != nil {
		t.Fatal(err)
	}
	do(t, jpTab, "sign-in after the session ended", chromedp.WaitVisible(chromedp.CSS("#password")))
}

// ackInFirstScreen fails unless the first waiting page's Acknowledge button lies wholly
// inside the first screen, without scrolling.
func ackInFirstScreen(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	const js = `(() => { const b = document.querySelector('[data-await="pages"] .ack-button'); if (!b) { return 'no Acknowledge button'; }
  window.scrollTo(0, 0); const r = b.getBoundingClientRect();
  return (r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0 && r.right <= window.innerWidth) ? '' :
    'the button lies at ' + [r.left, r.top, r.right, r.bottom].map(Math.round).join(',') + ' in ' + window.innerWidth + '×' + window.innerHeight; })()`
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got != "" {
		t.Errorf("%s: the first waiting page's Acknowledge is not in the first screen: %s", what, got)
	}
}
