package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/clock"
	"csirtlink/internal/sqlstore"
	"csirtlink/internal/store"
)

func open(t *testing.T) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// failing is the real store with chosen calls failing, as a full disk or a broken
// connection would make them.
type failing struct {
	*sqlstore.DB
	lookup, touch error
}

func (f failing) TokenByHash(ctx context.Context, hash string, now time.Time) (store.Token, store.User, error) {
	if f.lookup != nil {
		return store.Token{}, store.User{}, f.lookup
	}
	return f.DB.TokenByHash(ctx, hash, now)
}

func (f failing) TouchToken(ctx context.Context, id string, at time.Time) error {
	if f.touch != nil {
		return f.touch
	}
	return f.DB.TouchToken(ctx, id, at)
}

func TestAuthenticateWhenStorageFails(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	if _, err := auth.New(db, clk, nil).CreateUser(ctx, "sato", "", "", auth.Handler); err != nil {
		t.Fatal(err)
	}
	tok, _, err := auth.New(db, clk, nil).IssueToken(ctx, "sato", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	diskFull := errors.New("disk full")

	// Recording the use fails: the token still works, and the use is simply not kept.
	s := auth.New(failing{DB: db, touch: diskFull}, clk, nil)
	if u, err := s.Authenticate(ctx, tok); err != nil || u.Name != "sato" {
		t.Fatalf("Authenticate with a failing TouchToken: %v %v, want sato", u.Name, err)
	}
	// The lookup fails: not "bad token", but unavailable.
	s = auth.New(failing{DB: db, lookup: diskFull}, clk, nil)
	_, err = s.Authenticate(ctx, tok)
	if !errors.Is(err, auth.ErrUnavailable) || errors.Is(err, auth.ErrBadToken) || !errors.Is(err, diskFull) {
		t.Fatalf("Authenticate with a failing lookup: %v, want ErrUnavailable wrapping the cause", err)
	}
	// Healthy again: the use is recorded.
	s = auth.New(db, clk, nil)
	if _, err := s.Authenticate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	toks, err := s.Tokens(ctx, "sato")
	if err != nil || len(toks) != 1 || toks[0].LastUsedAt == nil || !toks[0].LastUsedAt.Equal(clk.Now()) {
		t.Fatalf("tokens after a healthy use: %+v %v", toks, err)
	}
}

// An administrator's password reset ends every session of that person; disabling ends
// them too and stops their tokens; enabling brings the tokens back, not the sessions.
func TestPasswordResetAndDisableEndSessions(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	s := auth.New(db, clk, nil)
	u, err := s.CreateUser(ctx, "sato", "", "", auth.Handler)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := s.IssueToken(ctx, "sato", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	newSession := func(hash string) {
		t.Helper()
		now := clk.Now()
		if err := db.CreateSession(ctx, store.Session{Hash: hash, UserID: u.ID, Created: now, LastSeen: now, Expires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	live := func(hash string) bool {
		t.Helper()
		_, _, err := db.SessionByHash(ctx, hash, clk.Now())
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	newSession("laptop")
	newSession("phone")
	if _, err := s.SetPassword(ctx, auth.CLI, "sato", "a new password for sato"); err != nil {
		t.Fatal(err)
	}
	if live("laptop") || live("phone") {
		t.Fatal("a session survived an administrator's password reset")
	}
	if _, err := s.SetPassword(ctx, auth.CLI, "sato", "short"); err == nil {
		t.Fatal("a short password was set")
	}

	newSession("laptop2")
	if _, err := s.Disable(ctx, auth.CLI, "sato"); err != nil {
		t.Fatal(err)
	}
	if live("laptop2") {
		t.Fatal("a session survived disabling")
	}
	if _, err := s.Authenticate(ctx, tok); !errors.Is(err, auth.ErrBadToken) {
		t.Fatalf("a disabled person's token: %v, want ErrBadToken", err)
	}
	if _, err := s.Disable(ctx, auth.CLI, "sato"); err != nil {
		t.Fatalf("disabling twice: %v", err)
	}
	if _, err := s.Enable(ctx, auth.CLI, "sato"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, tok); err != nil {
		t.Fatalf("an enabled person's token: %v", err)
	}
	newSession("desk")
	if _, err := s.SignOut(ctx, auth.CLI, "sato"); err != nil || live("desk") {
		t.Fatalf("sign out everywhere: %v, session live %v", err, live("desk"))
	}
	recs, err := db.ListAudit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Actor+":"+r.Action)
	}
	want := []string{"cli:user.password_set", "cli:user.disable", "cli:user.enable", "cli:user.signout"}
	if len(actions) != len(want) {
		t.Fatalf("audit %v, want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Fatalf("audit %v, want %v", actions, want)
		}
	}
}

// Two administrators disabling each other at once leave one of them enabled.
func TestTheLastAdminStays(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	s := auth.New(db, clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)), nil)
	a, _ := s.CreateUser(ctx, "a", "", "", auth.Admin)
	b, _ := s.CreateUser(ctx, "b", "", "", auth.Admin)
	errs := make(chan error, 2)
	go func() { _, err := s.Disable(ctx, auth.Actor{UserID: a.ID, Name: "a"}, "b"); errs <- err }()
	go func() { _, err := s.Disable(ctx, auth.Actor{UserID: b.ID, Name: "b"}, "a"); errs <- err }()
	e1, e2 := <-errs, <-errs
	if (e1 == nil) == (e2 == nil) {
		t.Fatalf("two admins disabling each other: %v, %v; want exactly one refused", e1, e2)
	}
	us, err := s.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	enabled := 0
	for _, u := range us {
		if u.DisabledAt == nil {
			enabled++
		}
	}
	if enabled != 1 {
		t.Fatalf("%d admins enabled, want 1", enabled)
	}
}
