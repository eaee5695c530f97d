package web_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/testnet"
)

// apiStatus is the status of GET /api/v1/whoami with a token.
func apiStatus(t *testing.T, nd *testnet.Node, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", nd.URL+"/api/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// An administrator's people screen lists everyone with role, standing and last
// sign-in; disabling someone ends their session and token at once and refuses their
// sign-in; enabling lets them back; signing out everywhere ends their sessions. Each
// change is audited, and no one may disable themselves.
func TestPeopleScreen(t *testing.T) {
	cn, _ := startOne(t)
	ctx := context.Background()
	bossPW := addUser(t, cn, "boss", auth.Admin)
	satoPW := addUser(t, cn, "sato", auth.Handler)
	satoToken, _, err := cn.App.Auth.IssueToken(ctx, "sato", "script", 0)
	if err != nil {
		t.Fatal(err)
	}
	boss := newClient(t, cn.URL)
	mustSignIn(t, boss, "boss", bossPW)
	sato := newClient(t, cn.URL)
	mustSignIn(t, sato, "sato", satoPW)

	duty := newClient(t, cn.URL)
	mustSignIn(t, duty, cn.User, cn.Password)
	if resp, body := duty.get("/"); strings.Contains(body, `href="/people"`) || resp.StatusCode != http.StatusOK {
		t.Errorf("the people link is shown to a duty officer")
	}
	if resp, _ := duty.get("/people"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("people screen as duty officer: %d, want 403", resp.StatusCode)
	}
	if resp, _ := duty.post("/people/sato/disable", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("disable as duty officer: %d, want 403", resp.StatusCode)
	}

	_, body := boss.get("/people")
	row := func(body, name string) string {
		i := strings.Index(body, `id="person-`+name+`"`)
		if i < 0 {
			t.Fatalf("no row for %s", name)
		}
		return body[i : i+strings.Index(body[i:], "</tr>")]
	}
	r := row(body, "sato")
	for _, want := range []string{"handler", "Active", "just now", `action="/people/sato/disable"`, `action="/people/sato/signout"`} {
		if !strings.Contains(r, want) {
			t.Errorf("sato's row lacks %q:\n%s", want, r)
		}
	}
	if r := row(body, "admin"); !strings.Contains(r, "never") || !strings.Contains(r, "administrator") {
		t.Errorf("admin's row (never signed in):\n%s", r)
	}
	if r := row(body, "boss"); strings.Contains(r, "/disable") {
		t.Errorf("an admin is offered to disable themselves")
	}

	resp, _ := boss.post("/people/sato/disable", url.Values{})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/people" {
		t.Fatalf("disable: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body := boss.get("/people"); !strings.Contains(body, "Disabled. Their sessions and API tokens no longer work.") ||
		!strings.Contains(row(body, "sato"), "Disabled") || !strings.Contains(row(body, "sato"), `action="/people/sato/enable"`) {
		t.Errorf("after disabling, the screen does not say so")
	}
	if resp, _ := sato.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a disabled person's session: %d, want a redirect to sign in", resp.StatusCode)
	}
	if st := apiStatus(t, cn, satoToken); st != http.StatusUnauthorized {
		t.Errorf("a disabled person's token: %d, want 401", st)
	}
	if st, _, body := try(sato, "sato", satoPW); st != http.StatusForbidden || !strings.Contains(body, "This account is disabled.") {
		t.Errorf("a disabled person signing in: %d, want 403 and why", st)
	}

	if resp, _ := boss.post("/people/sato/enable", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("enable: %d", resp.StatusCode)
	}
	if st := apiStatus(t, cn, satoToken); st != http.StatusOK {
		t.Errorf("an enabled person's token: %d, want 200", st)
	}
	mustSignIn(t, sato, "sato", satoPW)
	boss.get("/people")
	if resp, _ := boss.post("/people/sato/signout", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out everywhere: %d", resp.StatusCode)
	}
	if resp, _ := sato.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a session after sign out everywhere: %d, want a redirect to sign in", resp.StatusCode)
	}

	boss.get("/people")
	resp, body = boss.post("/people/boss/disable", url.Values{})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "You cannot disable yourself.") {
		t.Errorf("disable oneself: %d", resp.StatusCode)
	}
	boss.post("/language", url.Values{"lang": {"ko"}, "back": {"/people"}})
	if _, body := boss.get("/people"); !strings.Contains(body, "모든 기기에서 로그아웃") || !strings.Contains(body, "마지막 로그인") {
		t.Errorf("the people screen in Korean is not Korean")
	}

	recs, err := cn.App.Store.ListAudit(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if r.Actor == "boss" && r.Object == "sato" {
			seen[r.Action] = true
		}
	}
	for _, a := range []string{"user.disable", "user.enable", "user.signout"} {
		if !seen[a] {
			t.Errorf("no audit record of %s by boss", a)
		}
	}
}

// rawDB opens a node's database file beside the node, to make it fail on purpose.
func rawDB(t *testing.T, nd *testnet.Node) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+nd.App.Config.DatabasePath()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// When the database cannot record a session's activity, the console still serves
// (that write is best-effort); when it cannot even look the session up, the answer is
// 503 "try again", not the sign-in screen.
func TestSessionStorageFailures(t *testing.T) {
	cn, clk := startOne(t)
	c := newClient(t, cn.URL)
	mustSignIn(t, c, cn.User, cn.Password)
	db := rawDB(t, cn)
	if _, err := db.Exec(`CREATE TRIGGER fail_touch BEFORE UPDATE ON console_sessions BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END`); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Minute) // the next request records activity
	if resp, _ := c.get("/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the dashboard when the session's activity cannot be written: %d, want 200", resp.StatusCode)
	}

	if err := cn.App.Store.Close(); err != nil {
		t.Fatal(err)
	}
	resp, body := c.get("/", "Accept-Language", "ja")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(body, "ノードが現在データベースを読み取れません。") {
		t.Fatalf("the dashboard when the session cannot be looked up: %d (Retry-After %q), want 503 in Japanese", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
