package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/hotline"
	"csirtlink/internal/oncall"
	"csirtlink/internal/store"
	"csirtlink/internal/testnet"
)

// TestHotlineSendAndAcknowledge pages jp from cn's console and acknowledges it in jp's,
// as a browser without JavaScript would: the form's CSRF token, a validation error that
// keeps what was typed, the waiting page on jp's dashboard, a second acknowledgement
// that meets the first, the signed acknowledgement verified at cn, and resolving.
func TestHotlineSendAndAcknowledge(t *testing.T) {
	n := startNet(t)
	ctx := context.Background()
	cn, jp := n.Node("cn"), n.Node("jp")

	c := newClient(t, cn.URL)
	mustSignIn(t, c, cn.User, cn.Password)
	resp, body := c.get("/hotline/new")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `action="/hotline"`) ||
		!strings.Contains(body, `name="to" value="jp"`) || !strings.Contains(body, `name="to" value="all"`) {
		t.Fatalf("hotline screen: %d, send form with jp and all expected", resp.StatusCode)
	}

	// Without the form's token nothing is sent.
	if resp, _ := c.post("/hotline", url.Values{"csrf": {"forged"}, "to": {"jp"}, "severity": {"high"}, "summary": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("send without a valid CSRF token: %d, want 403", resp.StatusCode)
	}
	if out, _ := cn.App.Hotline.List(ctx, hotline.ListFilter{Direction: "out"}); len(out) != 0 {
		t.Fatalf("a page was sent without a CSRF token")
	}

	// A page to nobody, without a summary: both messages at once, and the details kept.
	details := "C2 at 198.51.100.23 still answers; 9,800 bots beacon to it."
	resp, body = c.post("/hotline", url.Values{"severity": {"critical"}, "details": {details}, "tlp": {"AMBER"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="to-error"`) || !strings.Contains(body, `id="summary-error"`) {
		t.Errorf("page without recipients and summary: %d; both errors beside their fields expected", resp.StatusCode)
	}
	if !strings.Contains(body, "9,800 bots beacon") || !strings.Contains(body, `<option value="critical" selected>`) {
		t.Errorf("input lost after a validation error")
	}
	if !strings.Contains(body, "Choose at least one partner, or all partners.") {
		t.Errorf("the service's message for no recipients is not translated through the catalog")
	}
	// A service error lands beside its field, translated through the catalog by its format.
	resp, body = c.post("/hotline", url.Values{"to": {"jp"}, "severity": {"critical"}, "summary": {"Take the C2 down"}, "incident": {"nope-1"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="incident-error"`) ||
		!strings.Contains(body, "No incident &#34;nope-1&#34; on this node.") || !strings.Contains(body, `value="Take the C2 down"`) {
		t.Errorf("unknown incident: %d; message beside the field and summary kept expected", resp.StatusCode)
	}

	// jp's duty officer watches the live stream; the page must show up on it.
	j := newClient(t, jp.URL)
	mustSignIn(t, j, jp.User, jp.Password)
	lines := stream(t, j, jp.URL)

	summary := "Botnet C2 198.51.100.23 still answering: take it down now"
	resp, _ = c.post("/hotline", url.Values{"to": {"jp"}, "severity": {"critical"}, "summary": {summary}, "details": {details}, "tlp": {"AMBER"}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/hotline/pages/cn-") {
		t.Fatalf("send: %d %q", resp.StatusCode, loc)
	}
	id := strings.TrimPrefix(loc, "/hotline/pages/")
	if _, body := c.get(loc); !strings.Contains(body, summary) || !strings.Contains(body, `class="flash`) || !strings.Contains(body, `data-live-scope="page:`+id+`"`) {
		t.Errorf("page detail after sending lacks the page, the confirmation or its live scope")
	}
	waitLine(t, lines, "event: page", "data: "+id)

	// jp's dashboard: the page waits, with an Acknowledge button that posts a plain form.
	_, body = j.get("/")
	ackForm := `action="/hotline/pages/` + id + `/ack"`
	if !strings.Contains(body, summary) || !strings.Contains(body, ackForm) || !strings.Contains(body, `class="badge"`) {
		t.Fatalf("jp's dashboard lacks the waiting page, its acknowledge form or the navigation badge")
	}
	if !regexp.MustCompile(`<title>\(1\) `).MatchString(body) {
		t.Errorf("the window title does not count the waiting page")
	}

	// An observer sees the page but cannot acknowledge it.
	pw := addUser(t, jp, "watcher", auth.Observer)
	o := newClient(t, jp.URL)
	mustSignIn(t, o, "watcher", pw)
	if _, body := o.get("/"); !strings.Contains(body, summary) || strings.Contains(body, ackForm) {
		t.Errorf("observer: page missing from the dashboard, or an acknowledge button shown")
	}
	if resp, _ := o.post("/hotline/pages/"+id+"/ack", url.Values{"back": {"dashboard"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("observer acknowledges: %d, want 403", resp.StatusCode)
	}
	if _, body := o.get("/hotline"); strings.Contains(body, `action="/hotline"`) {
		t.Errorf("observer is shown the send form")
	}
	if resp, _ := o.post("/hotline", url.Values{"to": {"cn"}, "severity": {"high"}, "summary": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("observer sends a page: %d, want 403", resp.StatusCode)
	}

	// A colleague has the page open; jp's duty officer acknowledges from the dashboard.
	pw2 := addUser(t, jp, "ito", auth.DutyOfficer)
	colleague := newClient(t, jp.URL)
	mustSignIn(t, colleague, "ito", pw2)
	colleague.get("/hotline/pages/" + id)
	if resp, _ := j.post("/hotline/pages/"+id+"/ack", url.Values{"csrf": {"forged"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("acknowledge without a valid CSRF token: %d, want 403", resp.StatusCode)
	}
	resp, _ = j.post("/hotline/pages/"+id+"/ack", url.Values{"back": {"dashboard"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("acknowledge: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body := j.get("/"); strings.Contains(body, ackForm) || !strings.Contains(body, "Acknowledged; the sender is being told.") {
		t.Errorf("after acknowledging, the page still waits or the confirmation is missing")
	}
	// The colleague's click comes second: a conflict, shown as news with who and when.
	resp, body = colleague.post("/hotline/pages/"+id+"/ack", url.Values{})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "Already acknowledged by Duty officer (jp) (duty) at ") ||
		!strings.Contains(body, "flash-info") || !strings.Contains(body, summary) {
		t.Errorf("second acknowledgement: %d; the page with who acknowledged expected", resp.StatusCode)
	}
	// jp did not send the page: it cannot resolve it.
	resp, body = j.post("/hotline/pages/"+id+"/resolve", url.Values{})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Only the sender (cn) resolves a page; acknowledge it instead.") {
		t.Errorf("receiver resolves: %d", resp.StatusCode)
	}
	// jp's page detail: our escalation and its attempts.
	if _, body := j.get("/hotline/pages/" + id); !strings.Contains(body, "Our escalation") || !strings.Contains(body, "Notification attempts") ||
		!strings.Contains(body, "acknowledged by Duty officer (jp) (duty)") {
		t.Errorf("jp's page detail lacks the escalation, its attempts or why it stopped")
	}

	// cn sees who acknowledged, with the signature verified against jp's key.
	waitFor(t, func() bool {
		p, err := cn.App.Hotline.Get(ctx, id)
		return err == nil && p.Deliveries[0].AcknowledgedAt != nil
	})
	_, body = c.get("/hotline/pages/" + id)
	if !strings.Contains(body, "Duty officer (jp) (duty)") || !strings.Contains(body, "sig-verified") || !strings.Contains(body, "signature verified") {
		t.Errorf("cn's page detail lacks jp's acknowledgement or its verified signature")
	}
	if resp, body := c.post("/hotline/pages/"+id+"/ack", url.Values{}); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "This page is ours") {
		t.Errorf("sender acknowledges its own page: %d", resp.StatusCode)
	}
	if resp, _ := c.post("/hotline/pages/"+id+"/resolve", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("resolve: %d", resp.StatusCode)
	}
	resp, body = c.post("/hotline/pages/"+id+"/resolve", url.Values{})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "Already resolved by Duty officer (cn) (duty) at ") {
		t.Errorf("resolve twice: %d", resp.StatusCode)
	}
	if resp, _ := c.get("/hotline/pages/cn-1999-p9999"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown page: %d", resp.StatusCode)
	}
}

// stream opens the live stream of a signed-in client and returns its lines.
func stream(t *testing.T, c *client, base string) <-chan string {
	t.Helper()
	hc := *c.http
	hc.Timeout = 0
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/events", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	return lines
}

// waitLine waits for a line, then for the next one.
func waitLine(t *testing.T, lines <-chan string, first, second string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	prev := ""
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("stream ended before %q %q", first, second)
			}
			if prev == first && l == second {
				return
			}
			prev = l
		case <-deadline:
			t.Fatalf("no %q %q on the live stream", first, second)
		}
	}
}

// TestOnCallAndCommChecks: the on-call screen shows who is on call now and next, the
// default policy's levels and each team's hotline address; a comm check runs from its
// form, and its report shows each partner's answer.
func TestOnCallAndCommChecks(t *testing.T) {
	n := startNet(t)
	ctx := context.Background()
	cn, jp := n.Node("cn"), n.Node("jp")
	admin := hotline.Actor{Name: "admin"}
	if _, err := cn.App.Auth.CreateUser(ctx, "li.na", "Li Na", "", auth.DutyOfficer); err != nil {
		t.Fatal(err)
	}
	if _, err := cn.App.Hotline.PutRotation(ctx, admin, oncall.Rotation{ID: "primary", Name: "Primary duty", Timezone: "Asia/Shanghai",
		Shift: oncall.Daily, Every: 1, Start: "2026-01-01T09:00", Members: []string{"duty", "li.na"}}); err != nil {
		t.Fatal(err)
	}
	if err := cn.App.Hotline.PutPolicy(ctx, admin, oncall.Policy{ID: "hotline", Name: "Hotline escalation", Repeat: 1, Levels: []oncall.Level{
		{DelayMinutes: 2, Targets: []oncall.Target{{Type: oncall.TargetRotation, ID: "primary"}}},
		{DelayMinutes: 5, Targets: []oncall.Target{{Type: oncall.TargetUser, ID: "li.na"}}},
	}}, true); err != nil {
		t.Fatal(err)
	}

	c := newClient(t, cn.URL)
	mustSignIn(t, c, cn.User, cn.Password)
	resp, body := c.get("/oncall")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("on call: %d", resp.StatusCode)
	}
	for _, want := range []string{"Primary duty", "daily hand-off at 09:00", "Hotline escalation", "Level 2", "then wait 5 minutes",
		"Runs 2 times in all.", "hotline@jp.csirtlink.test", "hotline@kr.csirtlink.test", "Li Na", "UTC+8"} {
		if !strings.Contains(html.UnescapeString(body), want) {
			t.Errorf("on-call screen lacks %q", want)
		}
	}

	// A viewer in another zone sees the shifts in their own time as well.
	u, _ := url.Parse(cn.URL)
	c.http.Jar.SetCookies(u, []*http.Cookie{{Name: "csl_tz", Value: url.QueryEscape("Europe/Berlin")}})
	if _, body := c.get("/oncall"); !strings.Contains(body, "your time: ") || !strings.Contains(body, "with yours (Central European Time (Berlin)") {
		t.Errorf("on-call screen for a viewer in Berlin lacks their times")
	}

	// Comm checks: none chosen is a mistake; all partners is a check.
	c.get("/commchecks")
	resp, body = c.post("/commchecks", url.Values{})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="cc-to-error"`) {
		t.Errorf("comm check to nobody: %d", resp.StatusCode)
	}
	resp, _ = c.post("/commchecks", url.Values{"to": {"all"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/commchecks" {
		t.Fatalf("comm check: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	rep, err := cn.App.Hotline.CommCheckReport(ctx, 10)
	if err != nil || len(rep.Checks) != 1 {
		t.Fatalf("comm checks after running one: %v %v", rep, err)
	}
	pageID := rep.Checks[0].PageID
	waitFor(t, func() bool { _, err := jp.App.Hotline.Get(ctx, pageID); return err == nil })
	j := newClient(t, jp.URL)
	mustSignIn(t, j, jp.User, jp.Password)
	if _, body := j.get("/"); !strings.Contains(body, "drill-chip") || !strings.Contains(body, "Comm check") {
		t.Errorf("the drill is not marked as one on jp's dashboard")
	}
	if resp, _ := j.post("/hotline/pages/"+pageID+"/ack", url.Values{"back": {"dashboard"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("jp acknowledges the drill: %d", resp.StatusCode)
	}
	waitFor(t, func() bool {
		p, err := cn.App.Hotline.Get(ctx, pageID)
		return err == nil && acked(p, "jp")
	})
	_, body = c.get("/commchecks")
	for _, want := range []string{rep.Checks[0].ID, "JPCERT/CC", "1 of 1", "0 of 1", "no answer yet", "acknowledged in "} {
		if !strings.Contains(body, want) {
			t.Errorf("comm checks screen lacks %q", want)
		}
	}
	// An observer reads the report but has no form.
	pw := addUser(t, cn, "watcher", auth.Observer)
	o := newClient(t, cn.URL)
	mustSignIn(t, o, "watcher", pw)
	if _, body := o.get("/commchecks"); strings.Contains(body, `action="/commchecks"`) || !strings.Contains(body, rep.Checks[0].ID) {
		t.Errorf("observer: form shown or report missing")
	}
	if resp, _ := o.post("/commchecks", url.Values{"to": {"all"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("observer runs a comm check: %d, want 403", resp.StatusCode)
	}
}

func acked(p store.Page, team string) bool {
	for _, d := range p.Deliveries {
		if d.Team == team {
			return d.AcknowledgedAt != nil
		}
	}
	return false
}

// A partner's acknowledgement made with the code from our fallback e-mail is marked as
// not verified on the page screen in every language and on the sender's dashboard.
func TestFallbackAcknowledgementIsMarkedInTheConsole(t *testing.T) {
	n := startNet(t)
	ctx := context.Background()
	cn := n.Node("cn")
	if err := n.Stop("jp"); err != nil {
		t.Fatal(err)
	}
	p, err := cn.App.Hotline.Send(ctx, hotline.Actor{Name: "duty"}, hotline.NewPage{To: []string{"jp"}, Severity: "high", Summary: "Phishing kit", TLP: "AMBER"})
	if err != nil {
		t.Fatal(err)
	}
	// The acknowledgement as AckByCode records a fallback code's (the code itself only
	// ever travels in the mail).
	err = cn.App.Store.InTx(ctx, func(tx store.Tx) error {
		d, err := tx.GetDelivery(ctx, p.ID, "jp")
		if err != nil {
			return err
		}
		at := time.Now().UTC().Truncate(time.Microsecond)
		d.State, d.AcknowledgedAt, d.AcknowledgedBy, d.AckVia = hotline.Acknowledged, &at, "Suzuki Ken (jp)", hotline.ViaFallback
		return tx.PutDelivery(ctx, d)
	})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, cn.URL)
	mustSignIn(t, c, cn.User, cn.Password)
	for _, lang := range []string{"en", "zh-Hans", "ja", "ko"} {
		cat := readCatalog(t, lang)
		note, _, _ := strings.Cut(cat["page.fallbackAckNote"], "%[1]s")
		resp, body := c.get("/hotline/pages/"+p.ID, "Accept-Language", lang)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: page screen %d", lang, resp.StatusCode)
		}
		for _, want := range []string{`class="chip unverified-chip"`, template.HTMLEscapeString(cat["ack.unverified"]), template.HTMLEscapeString(note)} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: the page screen lacks %q", lang, want)
			}
		}
		if _, body := c.get("/", "Accept-Language", lang); !strings.Contains(body, template.HTMLEscapeString(cat["ack.unverified"])) {
			t.Errorf("%s: the dashboard's pages out do not mark the fallback acknowledgement", lang)
		}
	}
}

// On the receiving node's page screen, a person who is neither the contact's owner
// nor an admin sees other people's contact addresses redacted.
func TestPageScreenRedactsOtherPeoplesContacts(t *testing.T) {
	n := startNet(t)
	ctx := context.Background()
	cn, jp := n.Node("cn"), n.Node("jp")
	addUser(t, jp, "tanaka", auth.DutyOfficer)
	for _, c := range []hotline.NewContact{
		{Channel: "email", Address: "tanaka@jp.example"},
		// A documentation address: the guard refuses it at once, nothing leaves.
		{Channel: "webhook", Address: "https://192.0.2.1/hooks/T0KEN-in-path?key=T0KEN-in-query", Secret: "0123456789abcdef0123"},
	} {
		if _, err := jp.App.Hotline.AddContact(ctx, hotline.Actor{Name: "admin"}, "tanaka", c); err != nil {
			t.Fatal(err)
		}
	}
	p, err := cn.App.Hotline.Send(ctx, hotline.Actor{Name: "duty"}, hotline.NewPage{To: []string{"jp"}, Severity: "high", Summary: "x", TLP: "AMBER"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := jp.App.Hotline.Detail(ctx, p.ID, hotline.Viewer{Admin: true})
		if err == nil && len(d.Notifications) >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jp did not escalate the page: %v %+v", err, d.Notifications)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c := newClient(t, jp.URL)
	mustSignIn(t, c, jp.User, jp.Password) // a duty officer, not tanaka, not an admin
	_, body := c.get("/hotline/pages/" + p.ID)
	if strings.Contains(body, "T0KEN") || strings.Contains(body, "tanaka@jp.example") {
		t.Fatalf("the page screen shows tanaka's contacts whole to another duty officer")
	}
	for _, want := range []string{"t***@jp.example", "https://192.0.2.1/…"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page screen lacks the redacted %q", want)
		}
	}
	t2 := newClient(t, jp.URL)
	mustSignIn(t, t2, "tanaka", setPassword(t, jp, "tanaka"))
	if _, body := t2.get("/hotline/pages/" + p.ID); !strings.Contains(body, "tanaka@jp.example") {
		t.Error("tanaka does not see their own address")
	}
}

func readCatalog(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := os.ReadFile("locales/" + lang + ".json")
	if err != nil {
		t.Fatal(err)
	}
	// Plural messages are objects; the ones read here are plain strings.
	var all map[string]any
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for k, v := range all {
		if s, ok := v.(string); ok {
			m[k] = s
		}
	}
	return m
}

func setPassword(t *testing.T, nd *testnet.Node, name string) string {
	t.Helper()
	u, err := nd.App.Store.UserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	pw := auth.GeneratePassword()
	if err := auth.SetPassword(context.Background(), nd.App.Store, u.ID, pw); err != nil {
		t.Fatal(err)
	}
	return pw
}
