package web_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/clock"
	"csirtlink/internal/incident"
	"csirtlink/internal/testnet"
)

// client is a browser without JavaScript: a cookie jar and plain form posts.
type client struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfRe.FindStringSubmatch(string(b)); m != nil {
		c.csrf = html.UnescapeString(m[1])
	}
	return resp, string(b)
}

func (c *client) get(path string, header ...string) (*http.Response, string) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

// post sends a form with the page's CSRF token (unless the form sets "csrf").
func (c *client) post(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf)
	}
	req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func (c *client) signIn(user, password string) *http.Response {
	c.t.Helper()
	c.get("/signin")
	resp, _ := c.post("/signin", url.Values{"name": {user}, "password": {password}})
	return resp
}

func mustSignIn(t *testing.T, c *client, user, password string) {
	t.Helper()
	if resp := c.signIn(user, password); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("sign in as %s: %d %s", user, resp.StatusCode, resp.Header.Get("Location"))
	}
	c.get("/")
}

func addUser(t *testing.T, nd *testnet.Node, name, role string) string {
	t.Helper()
	ctx := context.Background()
	u, err := nd.App.Auth.CreateUser(ctx, name, "", "", role)
	if err != nil {
		t.Fatal(err)
	}
	pw := auth.GeneratePassword()
	if err := auth.SetPassword(ctx, nd.App.Store, u.ID, pw); err != nil {
		t.Fatal(err)
	}
	return pw
}

func TestSignInSessionAndHeaders(t *testing.T) {
	n := startNet(t)
	cn := n.Node("cn")
	c := newClient(t, cn.URL)

	resp, _ := c.get("/")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin?next=") {
		t.Fatalf("dashboard without a session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := c.get("/signin", "Accept-Language", "ko-KR,ko;q=0.9")
	if !strings.Contains(body, `<html lang="ko">`) {
		t.Errorf("Accept-Language ko did not choose Korean")
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "default-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, " style=") || regexp.MustCompile(` on[a-z]+=`).MatchString(body) {
		t.Errorf("page has inline script or style")
	}

	// A post without the token is refused, and so is one from another site.
	if resp, _ := c.post("/signin", url.Values{"csrf": {"forged"}, "name": {cn.User}, "password": {cn.Password}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without a valid CSRF token: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", cn.URL+"/signin", strings.NewReader("name=duty"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, _ := c.do(req); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site post: %d", resp.StatusCode)
	}

	// Wrong password: the form comes back with the name kept.
	resp, body = c.post("/signin", url.Values{"name": {cn.User}, "password": {"wrong password!"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `value="duty"`) {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}
	// An open redirect is not followed.
	c.get("/signin")
	resp, _ = c.post("/signin", url.Values{"name": {cn.User}, "password": {cn.Password}, "next": {"//evil.example/"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Errorf("next=//evil.example: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "csl_session_cn" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure over http", session)
	}
	if _, body := c.get("/"); !strings.Contains(body, `id="awaiting"`) {
		t.Errorf("dashboard lacks the hotline slot")
	}
	if resp, _ := c.get("/audit"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("audit as duty officer: %d, want 403", resp.StatusCode)
	}
	// Signing out ends the session on the server: the old cookie is worth nothing.
	c.post("/signout", url.Values{})
	other := newClient(t, cn.URL)
	u, _ := url.Parse(cn.URL)
	other.http.Jar.SetCookies(u, []*http.Cookie{{Name: "csl_session_cn", Value: session.Value}})
	if resp, _ := other.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("old session after sign-out: %d", resp.StatusCode)
	}
}

func TestRolesAndServiceErrors(t *testing.T) {
	n := startNet(t)
	ctx := context.Background()
	cn, jp := n.Node("cn"), n.Node("jp")
	in, err := cn.App.Incidents.Create(ctx, incident.Actor{Name: "wang.lei"}, incident.NewIncident{Title: "Botnet C2", Category: "malicious-code/c2-server",
		Severity: "high", TLP: "AMBER", Participants: []string{"jp"}})
	if err != nil {
		t.Fatal(err)
	}
	// An observer reads but cannot comment: no form, and a post is refused.
	pw := addUser(t, cn, "watcher", auth.Observer)
	obs := newClient(t, cn.URL)
	mustSignIn(t, obs, "watcher", pw)
	_, body := obs.get("/incidents/" + in.ID)
	if !strings.Contains(body, "Botnet C2") || strings.Contains(body, `action="/incidents/`+in.ID+`/comments"`) {
		t.Errorf("observer: incident missing or comment form shown")
	}
	if resp, _ := obs.post("/incidents/"+in.ID+"/comments", url.Values{"body": {"hello"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("observer comment: %d, want 403", resp.StatusCode)
	}

	// A validation error keeps what was typed, with the message beside the field.
	duty := newClient(t, cn.URL)
	mustSignIn(t, duty, cn.User, cn.Password)
	duty.get("/incidents/" + in.ID)
	resp, body := duty.post("/incidents/"+in.ID+"/comments", url.Values{"body": {"for jp only"}, "tlp": {"RED"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="tlp-error"`) && !strings.Contains(body, `id="recipients-error"`) || !strings.Contains(body, "for jp only") {
		t.Errorf("RED without recipients: %d; message beside the field and text kept expected", resp.StatusCode)
	}
	resp, _ = duty.post("/incidents/"+in.ID+"/comments", url.Values{"body": {"Takedown requested"}, "tlp": {"AMBER"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("comment: %d", resp.StatusCode)
	}
	if _, body := duty.get("/incidents/" + in.ID); !strings.Contains(body, "Takedown requested") || !strings.Contains(body, `class="flash`) {
		t.Errorf("comment or its confirmation missing")
	}

	// In Japanese, the services' messages are Japanese sentences: a lower-level error
	// (tlp, observable) made one, and a field with no place in the form (the filters)
	// named by its label, not its JSON name.
	duty.post("/language", url.Values{"lang": {"ja"}, "back": {"/incidents/" + in.ID}})
	duty.get("/incidents/" + in.ID)
	resp, body = duty.post("/incidents/"+in.ID+"/comments", url.Values{"body": {"for jp only"}, "tlp": {"RED"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "TLP:RED では受信チームを 1 つ以上指定してください。") {
		t.Errorf("RED without recipients, in Japanese: %d %s", resp.StatusCode, errorsIn(body))
	}
	duty.get("/incidents/" + in.ID)
	resp, body = duty.post("/incidents/"+in.ID+"/observables", url.Values{"obs_type": {"ipv4"}, "obs_value": {"2001:db8::1"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="obs_value-error">IPv4 アドレスとして無効です（IPv6 アドレスです）。<`) {
		t.Errorf("an IPv6 address as IPv4, in Japanese: %d %s", resp.StatusCode, errorsIn(body))
	}
	resp, body = duty.get("/incidents?status=bogus")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `ステータス：不明なステータス &#34;bogus&#34; です。`) {
		t.Errorf("a bad filter, in Japanese: %d %s", resp.StatusCode, errorsIn(body))
	}
	duty.get("/")
	duty.post("/language", url.Values{"lang": {"en"}, "back": {"/"}})

	// jp is not the coordinator: a status change is refused with a clear message.
	waitFor(t, func() bool { _, err := jp.App.Incidents.Get(ctx, in.ID); return err == nil })
	j := newClient(t, jp.URL)
	mustSignIn(t, j, jp.User, jp.Password)
	_, body = j.get("/incidents/" + in.ID)
	if strings.Contains(body, `action="/incidents/`+in.ID+`/status"`) {
		t.Errorf("status form shown to a participant")
	}
	resp, body = j.post("/incidents/"+in.ID+"/status", url.Values{"status": {"closed"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Only the coordinator (cn) changes the incident status.") {
		t.Errorf("participant status change: %d", resp.StatusCode)
	}
	// Acknowledging from the dashboard.
	j.get("/")
	resp, _ = j.post("/incidents/"+in.ID+"/participation", url.Values{"participation": {"acknowledged"}, "back": {"dashboard"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Errorf("acknowledge: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// errorsIn is the messages on a page, for a test's failure.
func errorsIn(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`class="(?:field|form)-error"[^>]*>([^<]*)<`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestQuietRefreshIsNotActivity: the console's own refresh of an open screen each
// minute (console.js, with X-CSL-Tick) does not keep an idle session alive; a person's
// request does.
func TestQuietRefreshIsNotActivity(t *testing.T) {
	clk := clock.NewFake(time.Now())
	n, err := testnet.Start(context.Background(), testnet.Options{Dir: t.TempDir(), Federation: fastFed, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	cn := n.Node("cn")
	c := newClient(t, cn.URL)
	mustSignIn(t, c, cn.User, cn.Password)
	u, _ := url.Parse(cn.URL)
	var secret string
	for _, ck := range c.http.Jar.Cookies(u) {
		if strings.Contains(ck.Name, "csl_session") {
			secret = ck.Value
		}
	}
	if secret == "" {
		t.Fatal("no session cookie")
	}
	sum := sha256.Sum256([]byte(secret))
	lastSeen := func() time.Time {
		s, _, err := cn.App.Store.SessionByHash(context.Background(), hex.EncodeToString(sum[:]), clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		return s.LastSeen
	}
	before := lastSeen()
	clk.Advance(5 * time.Minute)
	if resp, _ := c.get("/", "X-CSL-Tick", "1"); resp.StatusCode != http.StatusOK {
		t.Fatalf("quiet refresh: %d", resp.StatusCode)
	}
	if got := lastSeen(); !got.Equal(before) {
		t.Errorf("a quiet refresh moved the session's last activity from %v to %v", before, got)
	}
	c.get("/")
	if got := lastSeen(); !got.After(before) {
		t.Errorf("a person's request did not move the session's last activity (%v)", got)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for range 200 {
		if ok() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("condition not reached in 5 s")
}

func TestTOTPSignIn(t *testing.T) {
	n := startNet(t)
	cn := n.Node("cn")
	c := newClient(t, cn.URL)
	mustSignIn(t, c, cn.User, cn.Password)
	c.get("/account")
	c.post("/account/totp", url.Values{})
	_, body := c.get("/account")
	m := regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no secret shown while enrolling")
	}
	key, err := auth.DecodeTOTPSecret(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := c.post("/account/totp/confirm", url.Values{"code": {"000000"}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("wrong enrolment code: %d", resp.StatusCode)
	}
	if resp, _ := c.post("/account/totp/confirm", url.Values{"code": {auth.TOTPCode(key, time.Now())}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("enrol: %d", resp.StatusCode)
	}
	c.get("/")
	c.post("/signout", url.Values{})

	// The password alone leads to the code page; a pending session opens nothing else.
	resp := c.signIn(cn.User, cn.Password)
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/signin/code") {
		t.Fatalf("after the password: %s", loc)
	}
	if resp, _ := c.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("dashboard with a pending session: %d", resp.StatusCode)
	}
	c.get("/signin/code")
	if resp, _ := c.post("/signin/code", url.Values{"code": {"123456"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong code: %d", resp.StatusCode)
	}
	code := auth.TOTPCode(key, time.Now().Add(auth.TOTPPeriod)) // the enrolment used this step
	if resp, _ := c.post("/signin/code", url.Values{"code": {code}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("right code: %d", resp.StatusCode)
	}
	if resp, _ := c.get("/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("dashboard after the code: %d", resp.StatusCode)
	}
	// The same code does not sign in twice.
	d := newClient(t, cn.URL)
	d.signIn(cn.User, cn.Password)
	d.get("/signin/code")
	if resp, _ := d.post("/signin/code", url.Values{"code": {code}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("replayed code: %d", resp.StatusCode)
	}
}

func TestLiveEventsAndShutdown(t *testing.T) {
	n := startNet(t)
	cn := n.Node("cn")
	anon := newClient(t, cn.URL)
	if resp, _ := anon.get("/events"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("events without a session: %d", resp.StatusCode)
	}
	c := newClient(t, cn.URL)
	mustSignIn(t, c, cn.User, cn.Password)
	c.http.Timeout = 0
	req, _ := http.NewRequest("GET", cn.URL+"/events", nil)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	in, err := cn.App.Incidents.Create(context.Background(), incident.Actor{Name: "wang.lei"}, incident.NewIncident{Title: "Live",
		Category: "availability/ddos", Severity: "low", TLP: "GREEN"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for got := false; !got; {
		select {
		case l := <-lines:
			got = l == "data: "+in.ID
		case <-deadline:
			t.Fatal("no event for the new incident")
		}
	}
	// Stopping the node ends the stream at once; it does not wait out the shutdown timeout.
	start := time.Now()
	if err := n.Stop("cn"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("closing the node took %v with a live stream open", d)
	}
	for range lines {
	}
}

// A stolen session cannot guess its way through the second factor: wrong codes are
// throttled, and after five the right code is refused too until the wait is over.
func TestTOTPGuessesAreLimited(t *testing.T) {
	cn, clk := startOne(t)
	c := newClient(t, cn.URL)
	mustSignIn(t, c, cn.User, cn.Password)
	c.get("/account")
	c.post("/account/totp", url.Values{})
	_, body := c.get("/account")
	m := regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no secret shown while enrolling")
	}
	key, err := auth.DecodeTOTPSecret(m[1])
	if err != nil {
		t.Fatal(err)
	}
	right := auth.TOTPCode(key, clk.Now())
	wrong := "000000"
	if wrong == right {
		wrong = "111111"
	}
	for range 5 {
		c.post("/account/totp/confirm", url.Values{"code": {wrong}})
	}
	if resp, body := c.post("/account/totp/confirm", url.Values{"code": {right}}); resp.StatusCode == http.StatusSeeOther || !strings.Contains(body, "Try again in 2 seconds") {
		t.Fatalf("the right code after five wrong guesses: %d; want refused with the wait", resp.StatusCode)
	}
	clk.Advance(2 * time.Second)
	if resp, _ := c.post("/account/totp/confirm", url.Values{"code": {right}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the right code after the wait: %d", resp.StatusCode)
	}
}
