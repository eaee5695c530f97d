package web_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"csirtlink/internal/clock"
	"csirtlink/internal/hotline"
	"csirtlink/internal/incident"
	"csirtlink/internal/oncall"
	"csirtlink/internal/store"
	"csirtlink/internal/testnet"
)

// spies stand in for the browser's notifications and sound, and count what the console
// asks of them: a headless browser has neither a speaker nor a notification centre.
const spies = `
window.__notes = []; window.__plays = 0; window.__volume = -1;
window.Notification = function (title, o) { window.__notes.push({ title: title, body: o && o.body, tag: o && o.tag }); };
window.Notification.permission = 'granted';
window.Notification.requestPermission = function () { return Promise.resolve('granted'); };
HTMLMediaElement.prototype.play = function () { window.__plays++; window.__volume = this.volume; return Promise.resolve(); };`

// dashState is what jp's dashboard shows of what waits for it.
type dashState struct {
	Count    int    `json:"count"`
	Pages    int    `json:"pages"`
	Invites  int    `json:"invites"`
	Drills   int    `json:"drills"`
	Badge    int    `json:"badge"`
	AllClear bool   `json:"allClear"`
	Title    string `json:"title"`
	Icon     string `json:"icon"`
}

const readDash = `(() => {
  const n = s => document.querySelectorAll(s).length;
  const c = document.getElementById('awaiting-count');
  const b = document.querySelector('.nav-wide .badge');
  return { count: c ? +c.getAttribute('data-count') : -1, pages: n('[data-await="pages"] > li'), invites: n('[data-await="invitations"] > li'),
    drills: n('[data-await="drills"] > li'), badge: b ? +b.textContent : 0, allClear: !!document.querySelector('#awaiting .all-clear'),
    title: document.title, icon: document.getElementById('favicon').getAttribute('href') };
})()`

// TestDutyOfficerInBrowser follows jp's duty officer through a night, in Chromium, on
// a clock the test moves:
//   - a generated scenario (invitations, pages, drills, acknowledgements in a random
//     order) and, after each step, jp's open dashboard agrees with itself and with the
//     node: the banner's count is its rows, the all-clear shows only at zero, and the
//     navigation's badge counts the pages and drills listed;
//   - each page that arrives is announced: a notification, the chime (softer for a
//     drill, whose notification says it is one), the tab's icon with its red badge;
//   - jp acknowledges, on its dashboard, a page about an incident it was invited to:
//     the confirmation says the incident is acknowledged too, and cn's open incident
//     screen shows jp as acknowledged without a reload; focus stays in the list;
//   - cn's critical page goes unanswered for six minutes: cn's dashboard raises the
//     alarm with how long, who is on call at jp and jp's hotline address, and cn starts
//     the fallback e-mail from it, which lands in the mail sink.
func TestDutyOfficerInBrowser(t *testing.T) {
	exe := needBrowser(t)
	ctx := context.Background()
	clk := clock.NewFake(time.Now().Truncate(time.Second))
	mail := t.TempDir()
	n, err := testnet.Start(ctx, testnet.Options{Dir: t.TempDir(), Federation: fastFed, MailDir: mail, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	cn, jp := n.Node("cn"), n.Node("jp")
	// jp's rota, so that cn knows who is on call there.
	if _, err := jp.App.Hotline.PutRotation(ctx, hotline.Actor{Name: "admin"}, oncall.Rotation{ID: "night", Name: "Night desk",
		Timezone: "Asia/Tokyo", Shift: oncall.Daily, Every: 1, Start: "2026-01-01T09:00", Members: []string{jp.User}}); err != nil {
		t.Fatal(err)
	}
	jpUser, err := jp.App.Store.UserByName(ctx, jp.User)
	if err != nil {
		t.Fatal(err)
	}

	b := browser(t, exe)
	cnTab, jpTab := tab(t, b, true), tab(t, b, true)
	if _, err := chromedp.Call(jpTab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: spies}); err != nil {
		t.Fatal(err)
	}
	signIn(t, cnTab, cn.URL, cn.User, cn.Password)
	signIn(t, jpTab, jp.URL, jp.User, jp.Password)
	do(t, jpTab, "jp's dashboard, live", chromedp.Navigate(jp.URL+"/"), chromedp.WaitVisible(chromedp.CSS(".live-on")))

	cnActor := incident.Actor{Name: cn.User, Role: "duty_officer"}
	pageActor := hotline.Actor{Name: cn.User, DisplayName: "Duty officer (cn)"}
	jpActor := hotline.Actor{Name: jp.User, DisplayName: jpUser.DisplayName}

	// truth is what jp's node says waits for it.
	truth := func() (pages, drills, invites int) {
		w, err := jp.App.Hotline.List(ctx, hotline.ListFilter{State: "waiting", Direction: "in"})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range w {
			if p.Drill {
				drills++
			} else {
				pages++
			}
		}
		all, err := jp.App.Incidents.List(ctx, store.IncidentFilter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range all {
			for _, p := range in.Participants {
				if p.Team == "jp" && p.Status == incident.Invited && in.Status != incident.Closed {
					invites++
				}
			}
		}
		return
	}
	// agree waits for jp's open dashboard to show the node's truth, then checks that it
	// agrees with itself.
	agree := func(step string) dashState {
		t.Helper()
		var got dashState
		deadline := time.Now().Add(20 * time.Second)
		for {
			pages, drills, invites := truth()
			got, err = chromedp.Run(jpTab, chromedp.Evaluate[dashState](readDash))
			if err != nil {
				t.Fatalf("%s: read jp's dashboard: %v", step, err)
			}
			if got.Pages == pages && got.Drills == drills && got.Invites == invites {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: jp's dashboard shows %+v; the node has %d pages, %d drills, %d invitations waiting", step, got, pages, drills, invites)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if got.Count != got.Pages+got.Invites {
			t.Errorf("%s: the banner says %d, its lists hold %d pages and %d invitations", step, got.Count, got.Pages, got.Invites)
		}
		if got.AllClear != (got.Count == 0) {
			t.Errorf("%s: all-clear shown %v with %d waiting", step, got.AllClear, got.Count)
		}
		if got.Badge != got.Pages+got.Drills {
			t.Errorf("%s: the navigation's badge says %d, the dashboard lists %d pages and %d drills", step, got.Badge, got.Pages, got.Drills)
		}
		if w := got.Pages + got.Drills; (w > 0) != strings.HasPrefix(got.Title, fmt.Sprintf("(%d) ", w)) {
			t.Errorf("%s: window title %q with %d pages waiting", step, got.Title, w)
		}
		if w := got.Pages + got.Drills; (w > 0) != strings.Contains(got.Icon, "favicon-alert") {
			t.Errorf("%s: tab icon %q with %d pages waiting", step, got.Icon, w)
		}
		return got
	}
	agree("at the start")

	start := time.Now()
	seed := time.Now().UnixNano()
	t.Logf("scenario seed %d", seed)
	rnd := rand.New(rand.NewPCG(uint64(seed), 1))
	var invited []string
	notes := 0
	for step := range 10 {
		w, _ := jp.App.Hotline.List(ctx, hotline.ListFilter{State: "waiting", Direction: "in"})
		var what string
		switch k := rnd.IntN(5); {
		case k == 0 || len(w) == 0 && len(invited) == 0 && k >= 3:
			in, err := cn.App.Incidents.Create(ctx, cnActor, incident.NewIncident{Title: fmt.Sprintf("Scenario incident %d", step),
				Category: "availability/ddos", Severity: "high", TLP: "AMBER", Participants: []string{"jp"}})
			if err != nil {
				t.Fatal(err)
			}
			invited = append(invited, in.ID)
			what = "cn invites jp to " + in.ID
		case k == 1:
			np := hotline.NewPage{To: []string{"jp"}, Severity: []string{"critical", "high", "medium"}[rnd.IntN(3)], TLP: "AMBER",
				Summary: fmt.Sprintf("Scenario page %d", step)}
			if len(invited) > 0 && rnd.IntN(2) == 0 {
				np.IncidentID = invited[rnd.IntN(len(invited))]
			}
			if _, err := cn.App.Hotline.Send(ctx, pageActor, np); err != nil {
				t.Fatal(err)
			}
			what = "cn pages jp (" + np.Severity + ", incident " + np.IncidentID + ")"
		case k == 2:
			if _, err := cn.App.Hotline.RunCommCheck(ctx, pageActor, []string{"jp"}); err != nil {
				t.Fatal(err)
			}
			what = "cn runs a comm check"
		case k == 3 && len(w) > 0:
			p := w[rnd.IntN(len(w))]
			if _, err := jp.App.Hotline.AckPage(ctx, jpActor, p.ID, hotline.ViaAPI); err != nil {
				t.Fatal(err)
			}
			what = "jp acknowledges " + p.ID
		case len(invited) > 0:
			id := invited[rnd.IntN(len(invited))]
			if _, err := jp.App.Incidents.SetParticipation(ctx, incident.Actor{Name: jp.User}, id, incident.Acknowledged); err != nil && !strings.Contains(err.Error(), "already") {
				t.Fatal(err)
			}
			what = "jp acknowledges " + id
		default:
			continue
		}
		// Wait for the page to reach jp before reading the truth.
		time.Sleep(150 * time.Millisecond)
		got := agree(fmt.Sprintf("step %d (%s)", step, what))
		if strings.HasPrefix(what, "cn pages") || strings.HasPrefix(what, "cn runs") {
			notes++
			waitJS(t, jpTab, what+": a notification", fmt.Sprintf("window.__notes.length >= %d && window.__plays >= %d", notes, notes))
			last, _ := chromedp.Run(jpTab, chromedp.Evaluate[map[string]any]("window.__notes[window.__notes.length-1]"))
			vol, _ := chromedp.Run(jpTab, chromedp.Evaluate[float64]("window.__volume"))
			title, _ := last["title"].(string)
			drill := strings.HasPrefix(what, "cn runs")
			if drill != strings.Contains(title, "Drill") || drill != (vol < 1) {
				t.Errorf("%s: notification %q at volume %v: a drill must say so and sound softer, a page not", what, title, vol)
			}
			if !drill && !strings.HasPrefix(title, "Page from CNCERT/CC") {
				t.Errorf("%s: notification title %q", what, title)
			}
		}
		_ = got
		t.Logf("%s step %d: %s", time.Since(start).Round(time.Millisecond), step, what)
	}

	// Item 1 in the browser: jp acknowledges on its dashboard a page about an incident
	// it was invited to; cn watches the incident.
	in, err := cn.App.Incidents.Create(ctx, cnActor, incident.NewIncident{Title: "Wiper at a shared MSP, C2 in JP",
		Category: "malicious-code/c2-server", Severity: "critical", TLP: "AMBER", Participants: []string{"jp"}})
	if err != nil {
		t.Fatal(err)
	}
	do(t, cnTab, "cn watches the incident", chromedp.Navigate(cn.URL+"/incidents/"+in.ID), chromedp.WaitVisible(chromedp.CSS(".live-on")),
		chromedp.Evaluate[chromedp.Void]("window.__noReload = true"))
	p, err := cn.App.Hotline.Send(ctx, pageActor, hotline.NewPage{To: []string{"jp"}, Severity: "critical", IncidentID: in.ID,
		Summary: "Wiper spreading from the MSP: isolate the C2 now"})
	if err != nil {
		t.Fatal(err)
	}
	do(t, jpTab, "the page on jp's dashboard", chromedp.WaitVisible(chromedp.CSS(`#waiting-`+p.ID+` .ack-button`)))
	before, _ := chromedp.Run(jpTab, chromedp.Evaluate[int](`document.querySelectorAll('[data-await="pages"] > li').length`))
	submit(t, jpTab, "jp acknowledges the page about the incident", `#waiting-`+p.ID+` .ack-button`)
	waitText(t, jpTab, "the confirmation", "Our participation in the incident is acknowledged too.")
	focus, _ := chromedp.Run(jpTab, chromedp.Evaluate[string](`(() => { const a = document.activeElement;
  return a.closest('[data-await]') ? 'list' : (a.id || a.className || a.tagName); })()`))
	if before > 1 && focus != "list" {
		t.Errorf("after acknowledging, focus is on %q, not on the next waiting page", focus)
	} else if before == 1 && focus != "awaiting-h" && focus != "list" {
		t.Errorf("after acknowledging the last page, focus is on %q, not on the list's heading", focus)
	}
	waitJS(t, cnTab, "jp acknowledged on cn's open incident screen",
		`Array.from(document.querySelectorAll('.participant.part-acknowledged')).some(e => e.textContent.includes('JPCERT/CC'))`)
	notReloaded(t, cnTab, "cn")

	t.Logf("%s: item 1 done", time.Since(start).Round(time.Millisecond))
	// Item 11: every stop of the keyboard's path shows a ring that can be seen.
	do(t, jpTab, "jp's dashboard from the top", chromedp.Navigate(jp.URL+"/"), chromedp.WaitVisible(chromedp.CSS("main")))
	focusRings(t, jpTab, "jp's dashboard", 25)
	// Item 4: cn's critical page goes unanswered.
	urgent, err := cn.App.Hotline.Send(ctx, pageActor, hotline.NewPage{To: []string{"jp"}, Severity: "critical", TLP: "AMBER",
		Summary: "Second wiper wave: answer the hotline"})
	if err != nil {
		t.Fatal(err)
	}
	// Its receipt first: the alarm is about a page jp's node has but nobody answers (the
	// engine would mail on its own after two minutes without one).
	waitFor(t, func() bool {
		pg, err := cn.App.Hotline.Get(ctx, urgent.ID)
		return err == nil && pg.Deliveries[0].DeliveredAt != nil
	})
	clk.Advance(6 * time.Minute)
	waitFor(t, func() bool {
		po, err := cn.App.Hotline.PartnersOnCall(ctx)
		return err == nil && len(po) > 0
	})
	t.Logf("%s: partners' on-call known", time.Since(start).Round(time.Millisecond))
	row := "#unanswered-" + urgent.ID + "-jp"
	do(t, cnTab, "cn's dashboard", chromedp.Navigate(cn.URL+"/"), chromedp.WaitVisible(chromedp.CSS(row)))
	alarm := text(t, cnTab, row)
	for _, want := range []string{"unacknowledged for 6 minutes", jpUser.DisplayName, "hotline@jp.csirtlink.test", "Page them again", "Page another partner"} {
		if !strings.Contains(alarm, want) {
			t.Errorf("cn's alarm lacks %q: %s", want, alarm)
		}
	}
	if html, _ := chromedp.Run(cnTab, chromedp.Evaluate[string](`document.querySelector('`+row+`').outerHTML`)); !strings.Contains(html, "/fallback") {
		t.Fatalf("no fallback form in the alarm: %s", html)
	}
	submit(t, cnTab, "cn e-mails jp's hotline now", row+` form[action$="/fallback"] button`)
	waitText(t, cnTab, "the fallback confirmation", "The e-mail to their hotline address is on its way.")
	waitFor(t, func() bool {
		files, _ := filepath.Glob(filepath.Join(mail, "*.eml"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			if strings.Contains(string(b), "hotline@jp.csirtlink.test") && strings.Contains(string(b), urgent.ID) {
				return true
			}
		}
		return false
	})
	if got := text(t, cnTab, row); !strings.Contains(got, "e-mailed") {
		t.Errorf("cn's alarm after the fallback: %s", got)
	}
	// The alarm, for the screenshots, in English and Japanese, on a desktop and a phone.
	shots := screenshotDir(t)
	shoot(t, cnTab, shots, "en-dashboard-alarm")
	submit(t, cnTab, "switch to Japanese", `button[name=lang][value="ja"]`)
	do(t, cnTab, "cn's page in Japanese", chromedp.Navigate(cn.URL+"/hotline/pages/"+urgent.ID), chromedp.WaitVisible(chromedp.CSS(row)))
	noEnglish(t, cnTab, "ja page with an alarm")
	shoot(t, cnTab, shots, "ja-page-alarm")
	do(t, cnTab, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1)), chromedp.Navigate(cn.URL+"/"), chromedp.WaitVisible(chromedp.CSS(row)))
	noEnglish(t, cnTab, "ja dashboard with an alarm")
	shoot(t, cnTab, shots, "ja-phone-dashboard-alarm")
}

// waitJS waits until a JavaScript expression holds on the page.
func waitJS(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		t.Fatalf("%s: never: %v", what, err)
	}
}
