package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/clock"
	"csirtlink/internal/testnet"
)

func startOne(t *testing.T) (*testnet.Node, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(time.Now())
	n, err := testnet.Start(context.Background(), testnet.Options{Dir: t.TempDir(), Clock: clk, Teams: testnet.Default[:1]})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n.Node("cn"), clk
}

// call makes an API request and returns the status, a header and the decoded body.
func call(t *testing.T, nd *testnet.Node, token, method, path string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, nd.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, resp.Header, body
}

func errorMessage(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

// An admin lists people and disables, enables and signs them out through the API; a
// disabled person's token stops at once, and only admins may do any of it.
func TestUserEndpoints(t *testing.T) {
	cn, _ := startOne(t)
	ctx := context.Background()
	if _, err := cn.App.Auth.CreateUser(ctx, "sato", "Sato Ken", "", auth.Handler); err != nil {
		t.Fatal(err)
	}
	sato, _, err := cn.App.Auth.IssueToken(ctx, "sato", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	admin := cn.Token

	st, _, body := call(t, cn, admin, "GET", "/api/v1/users")
	users, _ := body["users"].([]any)
	if st != http.StatusOK || len(users) != 3 {
		t.Fatalf("list users: %d %v", st, body)
	}
	for _, u := range users {
		if m := u.(map[string]any); m["name"] == "sato" && (m["role"] != "handler" || m["disabled_at"] != nil) {
			t.Errorf("sato listed as %v", m)
		}
	}
	if strings.Contains(strings.ToLower(toJSON(body)), "argon2") || strings.Contains(toJSON(body), "password") {
		t.Errorf("the list shows password hashes")
	}
	for _, p := range []string{"GET /api/v1/users", "POST /api/v1/users/admin/disable", "POST /api/v1/users/admin/sessions/revoke"} {
		method, path, _ := strings.Cut(p, " ")
		if st, _, _ := call(t, cn, sato, method, path); st != http.StatusForbidden {
			t.Errorf("%s as a handler: %d, want 403", p, st)
		}
	}

	st, _, body = call(t, cn, admin, "POST", "/api/v1/users/sato/disable")
	if u, _ := body["user"].(map[string]any); st != http.StatusOK || u["disabled_at"] == nil {
		t.Fatalf("disable: %d %v", st, body)
	}
	if st, _, body := call(t, cn, sato, "GET", "/api/v1/whoami"); st != http.StatusUnauthorized || errorMessage(body) != "invalid or expired token" {
		t.Errorf("a disabled person's token: %d %v", st, body)
	}
	if st, _, _ := call(t, cn, admin, "POST", "/api/v1/users/sato/enable"); st != http.StatusOK {
		t.Fatalf("enable: %d", st)
	}
	if st, _, _ := call(t, cn, sato, "GET", "/api/v1/whoami"); st != http.StatusOK {
		t.Errorf("an enabled person's token: %d", st)
	}
	if st, _, body := call(t, cn, admin, "POST", "/api/v1/users/sato/sessions/revoke"); st != http.StatusOK {
		t.Errorf("sign out: %d %v", st, body)
	}
	if st, _, body := call(t, cn, admin, "POST", "/api/v1/users/admin/disable"); st != http.StatusConflict || errorMessage(body) != "you cannot disable yourself" {
		t.Errorf("disable oneself: %d %v", st, body)
	}
	if st, _, body := call(t, cn, admin, "POST", "/api/v1/users/nobody/disable"); st != http.StatusNotFound || errorMessage(body) != `no user "nobody"` {
		t.Errorf("disable an unknown user: %d %v", st, body)
	}

	// The last enabled administrator stays, whoever asks: here a second admin, once
	// the first is disabled.
	if _, err := cn.App.Auth.CreateUser(ctx, "boss", "", "", auth.Admin); err != nil {
		t.Fatal(err)
	}
	boss, _, _ := cn.App.Auth.IssueToken(ctx, "boss", "", 0)
	if st, _, _ := call(t, cn, boss, "POST", "/api/v1/users/admin/disable"); st != http.StatusOK {
		t.Fatalf("disable the first admin: %d", st)
	}
	if _, err := cn.App.Auth.Disable(ctx, auth.CLI, "boss"); err == nil || !strings.Contains(err.Error(), "last enabled administrator") {
		t.Errorf("disabling the last enabled admin: %v", err)
	}
	recs, err := cn.App.Store.ListAudit(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		if strings.HasPrefix(r.Action, "user.") {
			got = append(got, r.Actor+" "+r.Action+" "+r.Object)
		}
	}
	want := "admin user.disable sato,admin user.enable sato,admin user.signout sato,boss user.disable admin"
	if strings.Join(got, ",") != want {
		t.Errorf("audit:\n got %s\nwant %s", strings.Join(got, ","), want)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// A storage failure during token lookup is 503 "try again", never 401 "invalid
// token"; failing to record the token's last use fails nothing.
func TestTokenLookupStorageFailures(t *testing.T) {
	cn, _ := startOne(t)
	db, err := sql.Open("sqlite", "file:"+cn.App.Config.DatabasePath()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER fail_token_use BEFORE UPDATE OF last_used_at ON tokens BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END`); err != nil {
		t.Fatal(err)
	}
	if st, _, body := call(t, cn, cn.Token, "GET", "/api/v1/whoami"); st != http.StatusOK {
		t.Fatalf("whoami when the token's use cannot be recorded: %d %v, want 200", st, body)
	}

	if err := cn.App.Store.Close(); err != nil {
		t.Fatal(err)
	}
	st, h, body := call(t, cn, cn.Token, "GET", "/api/v1/whoami")
	if st != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(errorMessage(body), "cannot read its database") {
		t.Fatalf("whoami when the token cannot be looked up: %d %v, want 503 with Retry-After", st, body)
	}
	// A token that was never good is still told so without the database's help.
	if st, _, _ := call(t, cn, "not-a-token", "GET", "/api/v1/whoami"); st != http.StatusUnauthorized {
		t.Errorf("a malformed token: %d, want 401", st)
	}
}
