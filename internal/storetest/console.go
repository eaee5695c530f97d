package storetest

import (
	"fmt"
	"testing"
	"time"

	"csirtlink/internal/store"
)

// The console half of the suite: passwords, sessions, TOTP second factors and
// preferences. store.Console is not part of store.Store (the console's writes never
// share a transaction), but every store must implement it.

func consoleOf(t *testing.T, s store.Store) store.Console {
	t.Helper()
	c, isConsole := s.(store.Console)
	if !isConsole {
		t.Fatalf("%T does not implement store.Console", s)
	}
	return c
}

func testPasswords(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := consoleOf(t, s)
	ok(t, s.CreateUser(ctx, user("u1", "alice")))
	ok(t, s.CreateUser(ctx, user("u2", "bob")))

	ok(t, c.SetPasswordHash(ctx, "u1", "$argon2id$v=19$m=65536,t=3,p=4$new"))
	got, err := s.UserByID(ctx, "u1")
	ok(t, err)
	want := user("u1", "alice")
	want.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=4$new"
	same(t, "user after SetPasswordHash", got, want)
	got, err = s.UserByID(ctx, "u2")
	ok(t, err)
	same(t, "another user", got, user("u2", "bob"))

	isErr(t, "SetPasswordHash of an unknown user", c.SetPasswordHash(ctx, "u404", "hash"), store.ErrNotFound)
	_, err = s.UserByID(ctx, "u404")
	isErr(t, "user after SetPasswordHash of an unknown user", err, store.ErrNotFound)
}

func session(hash, userID string, created, expires int) store.Session {
	return store.Session{Hash: hash, UserID: userID, Created: at(created), LastSeen: at(created), Expires: at(expires),
		RemoteIP: "192.0.2.10", UserAgent: "Mozilla/5.0 (" + hash + ")"}
}

func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := consoleOf(t, s)
	alice, bob := user("u1", "alice"), user("u2", "bob")
	ok(t, s.CreateUser(ctx, alice))
	ok(t, s.CreateUser(ctx, bob))

	live := session("h1", "u1", 0, 30)
	pending := session("h2", "u1", 1, 5)
	pending.Pending, pending.RemoteIP, pending.UserAgent = true, "", ""
	for _, x := range []store.Session{live, pending} {
		ok(t, c.CreateSession(ctx, x))
	}
	get := func(hash string, now time.Time) (store.Session, store.User, error) {
		t.Helper()
		return c.SessionByHash(ctx, hash, now)
	}
	got, u, err := get("h1", at(0))
	ok(t, err)
	same(t, "SessionByHash", got, live)
	same(t, "session's user", u, alice)
	got, _, err = get("h2", at(4))
	ok(t, err)
	same(t, "pending session", got, pending)

	_, _, err = get("h1", at(30))
	isErr(t, "session at its expiry", err, store.ErrNotFound)
	_, _, err = get("h2", at(6))
	isErr(t, "session after its expiry", err, store.ErrNotFound)
	_, _, err = get("h404", at(0))
	isErr(t, "unknown session", err, store.ErrNotFound)

	// Activity moves the idle expiry, and only that session's.
	ok(t, c.TouchSession(ctx, "h1", at(20), at(50)))
	got, _, err = get("h1", at(40))
	ok(t, err)
	live.LastSeen, live.Expires = at(20), at(50)
	same(t, "touched session", got, live)
	_, _, err = get("h2", at(6))
	isErr(t, "another session after a touch", err, store.ErrNotFound)

	fails(t, "CreateSession with an existing hash", c.CreateSession(ctx, session("h1", "u2", 0, 100)))
	got, u, err = get("h1", at(0))
	ok(t, err)
	same(t, "session after a refused duplicate", got, live)
	same(t, "session's user after a refused duplicate", u, alice)
	fails(t, "CreateSession of an unknown user", c.CreateSession(ctx, session("h9", "u404", 0, 100)))

	ok(t, c.DeleteSession(ctx, "h1"))
	_, _, err = get("h1", at(0))
	isErr(t, "deleted session", err, store.ErrNotFound)
	_, _, err = get("h2", at(1))
	ok(t, err)
}

func testDeleteUserSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := consoleOf(t, s)
	ok(t, s.CreateUser(ctx, user("u1", "alice")))
	ok(t, s.CreateUser(ctx, user("u2", "bob")))
	for _, x := range []store.Session{
		session("a1", "u1", 0, 100), session("a2", "u1", 0, 100), session("a3", "u1", 0, 100),
		session("b1", "u2", 0, 100),
	} {
		ok(t, c.CreateSession(ctx, x))
	}
	alive := func() []string {
		t.Helper()
		var out []string
		for _, h := range []string{"a1", "a2", "a3", "b1"} {
			_, _, err := c.SessionByHash(ctx, h, at(1))
			switch {
			case err == nil:
				out = append(out, h)
			default:
				isErr(t, "SessionByHash "+h, err, store.ErrNotFound)
			}
		}
		return out
	}
	// Changing a password signs the user out everywhere else.
	ok(t, c.DeleteUserSessions(ctx, "u1", "a2"))
	same(t, "sessions after DeleteUserSessions keeping one", alive(), []string{"a2", "b1"})
	ok(t, c.DeleteUserSessions(ctx, "u1", ""))
	same(t, "sessions after DeleteUserSessions keeping none", alive(), []string{"b1"})
	ok(t, c.DeleteUserSessions(ctx, "u404", ""))
	ok(t, c.DeleteUserSessions(ctx, "u2", "a1")) // keep names another user's session
	same(t, "sessions after DeleteUserSessions keeping another user's", len(alive()), 0)
}

func testDeleteExpiredSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := consoleOf(t, s)
	ok(t, s.CreateUser(ctx, user("u1", "alice")))
	for _, x := range []store.Session{session("old", "u1", 0, 5), session("older", "u1", 0, 2), session("live", "u1", 0, 20)} {
		ok(t, c.CreateSession(ctx, x))
	}
	ok(t, c.DeleteExpiredSessions(ctx, at(10)))
	// Looked up as of a time when all three were live: only the deletion hides them.
	for hash, want := range map[string]error{"old": store.ErrNotFound, "older": store.ErrNotFound, "live": nil} {
		_, _, err := c.SessionByHash(ctx, hash, at(1))
		if want == nil {
			ok(t, err)
		} else {
			isErr(t, fmt.Sprintf("session %s after DeleteExpiredSessions", hash), err, want)
		}
	}
}

func testTOTP(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := consoleOf(t, s)
	ok(t, s.CreateUser(ctx, user("u1", "alice")))
	ok(t, s.CreateUser(ctx, user("u2", "bob")))
	_, err := c.GetTOTP(ctx, "u1")
	isErr(t, "GetTOTP of a user without one", err, store.ErrNotFound)
	get := func(userID string) store.TOTP {
		t.Helper()
		x, err := c.GetTOTP(ctx, userID)
		ok(t, err)
		return x
	}

	enrolling := store.TOTP{UserID: "u1", Secret: "JBSWY3DPEHPK3PXP", CreatedAt: at(1)}
	ok(t, c.PutTOTP(ctx, enrolling))
	same(t, "TOTP being enrolled", get("u1"), enrolling)
	enabled := store.TOTP{UserID: "u1", Secret: "GEZDGNBVGY3TQOJQ", Enabled: true, LastStep: 100, CreatedAt: at(2)}
	ok(t, c.PutTOTP(ctx, enabled))
	same(t, "TOTP after a second put", get("u1"), enabled)
	bobs := store.TOTP{UserID: "u2", Secret: "MFRGGZDFMZTWQ2LK", Enabled: true, LastStep: 7, CreatedAt: at(3)}
	ok(t, c.PutTOTP(ctx, bobs))

	// Each step signs in once: only a newer one is taken.
	ok(t, c.UseTOTPStep(ctx, "u1", 101))
	enabled.LastStep = 101
	same(t, "TOTP after a step", get("u1"), enabled)
	isErr(t, "the same step again", c.UseTOTPStep(ctx, "u1", 101), store.ErrConflict)
	isErr(t, "an older step", c.UseTOTPStep(ctx, "u1", 99), store.ErrConflict)
	ok(t, c.UseTOTPStep(ctx, "u1", 105))
	enabled.LastStep = 105
	same(t, "TOTP after a later step", get("u1"), enabled)
	same(t, "another user's TOTP", get("u2"), bobs)
	ok(t, c.UseTOTPStep(ctx, "u2", 8)) // steps are per user

	// A step used from several sign-ins at once is taken by one.
	errs := race(8, func(int) error { return c.UseTOTPStep(ctx, "u1", 200) })
	oneWins(t, "concurrent UseTOTPStep of one step", errs, store.ErrConflict)
	same(t, "last step after concurrent use", get("u1").LastStep, int64(200))

	ok(t, c.DeleteTOTP(ctx, "u1"))
	_, err = c.GetTOTP(ctx, "u1")
	isErr(t, "GetTOTP after DeleteTOTP", err, store.ErrNotFound)
	fails(t, "UseTOTPStep of a user without TOTP", c.UseTOTPStep(ctx, "u1", 300))
	same(t, "another user's TOTP after a delete", get("u2").Secret, bobs.Secret)
	fails(t, "PutTOTP of an unknown user", c.PutTOTP(ctx, store.TOTP{UserID: "u404", Secret: "X", CreatedAt: at(1)}))
}

func testPrefs(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := consoleOf(t, s)
	ok(t, s.CreateUser(ctx, user("u1", "alice")))
	ok(t, s.CreateUser(ctx, user("u2", "bob")))
	get := func(userID string) store.Preferences {
		t.Helper()
		p, err := c.GetPrefs(ctx, userID)
		ok(t, err)
		return p
	}
	if p := get("u1"); p.Language != "" || p.Timezone != "" || (p.UserID != "" && p.UserID != "u1") {
		t.Fatalf("GetPrefs of a user with none stored: %+v, want empty preferences", p)
	}

	p := store.Preferences{UserID: "u1", Language: "ja-JP", Timezone: "Asia/Tokyo"}
	ok(t, c.PutPrefs(ctx, p))
	same(t, "GetPrefs", get("u1"), p)
	p = store.Preferences{UserID: "u1", Language: "de", Timezone: ""}
	ok(t, c.PutPrefs(ctx, p))
	same(t, "GetPrefs after a second put", get("u1"), p)
	if q := get("u2"); q.Language != "" || q.Timezone != "" {
		t.Fatalf("another user's preferences: %+v, want empty", q)
	}
	fails(t, "PutPrefs of an unknown user", c.PutPrefs(ctx, store.Preferences{UserID: "u404", Language: "en"}))
}

// testConsoleTimes is testTimes for the console's records.
func testConsoleTimes(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := consoleOf(t, s)
	in, check, _ := timeChecks(t)
	ok(t, s.CreateUser(ctx, user("u1", "alice")))
	ok(t, c.CreateSession(ctx, store.Session{Hash: "h", UserID: "u1", Created: in, LastSeen: in, Expires: in.Add(time.Hour)}))
	sess, _, err := c.SessionByHash(ctx, "h", in)
	ok(t, err)
	check("session created", sess.Created)
	check("session last seen", sess.LastSeen)
	check("session expires (an hour on)", sess.Expires.Add(-time.Hour))
	ok(t, c.TouchSession(ctx, "h", in.Add(time.Minute), in.Add(2*time.Hour)))
	sess, _, err = c.SessionByHash(ctx, "h", in)
	ok(t, err)
	check("touched session last seen (a minute on)", sess.LastSeen.Add(-time.Minute))
	check("touched session expires (two hours on)", sess.Expires.Add(-2*time.Hour))

	ok(t, c.PutTOTP(ctx, store.TOTP{UserID: "u1", Secret: "S", CreatedAt: in}))
	x, err := c.GetTOTP(ctx, "u1")
	ok(t, err)
	check("TOTP created_at", x.CreatedAt)
}
