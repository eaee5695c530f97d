// Package storetest is the behaviour every store.Store must show, whatever its database.
//
// It tests through the store interfaces only, so that SQLite and PostgreSQL are held to
// the same suite (internal/sqlstore runs it on both).
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"csirtlink/internal/store"
)

// Run runs the suite. open must return a fresh, empty, migrated store for each call and
// close it when the test ends (t.Cleanup). The store must implement store.Console too.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Users", testUsers},
		{"UsersConcurrentDuplicate", testUsersConcurrentDuplicate},
		{"Tokens", testTokens},
		{"UserStatus", testUserStatus},
		{"Counters", testCounters},
		{"Incidents", testIncidents},
		{"IncidentList", testIncidentList},
		{"Participants", testParticipants},
		{"Entries", testEntries},
		{"Timeline", testTimeline},
		{"Times", testTimes},
		{"Links", testLinks},
		{"Outbox", testOutbox},
		{"Inbox", testInbox},
		{"Compaction", testCompaction},
		{"Refusals", testRefusals},
		{"Audit", testAudit},
		{"InTxCommits", testInTxCommits},
		{"InTxRollsBack", testInTxRollsBack},
		{"InTxRollsBackOnPanic", testInTxRollsBackOnPanic},
		{"OnCommitOutsideTx", testOnCommitOutsideTx},
		{"Within", testWithin},
		{"ConcurrentTakeSeq", testConcurrentTakeSeq},
		{"Partners", testPartners},

		// Several writers at once (concurrency.go).
		{"ConcurrentIncidentUpdates", testConcurrentIncidentUpdates},
		{"ConcurrentPageUpdates", testConcurrentPageUpdates},
		{"ConcurrentDeliveryUpdates", testConcurrentDeliveryUpdates},
		{"ConcurrentEscalationSteps", testConcurrentEscalationSteps},
		{"ConcurrentLinkApply", testConcurrentLinkApply},
		{"ConcurrentAuditAppends", testConcurrentAuditAppends},
		{"ConcurrentClaims", testConcurrentClaims},
		{"DiagnosticText", testDiagnosticText},

		// Hotline (hotline.go).
		{"Pages", testPages},
		{"ResolvePage", testResolvePage},
		{"ListPages", testListPages},
		{"PutDelivery", testPutDelivery},
		{"StaleDeliveries", testStaleDeliveries},
		{"Escalations", testEscalations},
		{"Notifications", testNotifications},
		{"NotificationsConcurrentDedupe", testNotificationsConcurrentDedupe},
		{"PendingNotifications", testPendingNotifications},
		{"CountNotifications", testCountNotifications},
		{"AbandonNotifications", testAbandonNotifications},
		{"Contacts", testContacts},
		{"AckCodes", testAckCodes},
		{"Rotations", testRotations},
		{"Overrides", testOverrides},
		{"Policies", testPolicies},
		{"PoliciesConcurrentDefault", testPoliciesConcurrentDefault},
		{"PoliciesConcurrentDefaultNoTx", testPoliciesConcurrentDefaultNoTx},
		{"CommChecks", testCommChecks},
		{"CommCheckNoTeams", testCommCheckNoTeams},
		{"Leases", testLeases},
		{"LeasesConcurrent", testLeasesConcurrent},
		{"HotlineTimes", testHotlineTimes},
		{"PeerOnCall", testPeerOnCall},
		{"PeerOnCallInTx", testPeerOnCallInTx},

		// Metrics (metrics.go).
		{"Aggregates", testAggregates},
		{"CVD", testCVD},
		{"MetricsReader", testMetricsReader},

		// Console (console.go).
		{"Passwords", testPasswords},
		{"Sessions", testSessions},
		{"DeleteUserSessions", testDeleteUserSessions},
		{"DeleteExpiredSessions", testDeleteExpiredSessions},
		{"TOTP", testTOTP},
		{"Prefs", testPrefs},
		{"ConsoleTimes", testConsoleTimes},

		// Bulk feeds (feeds.go).
		{"Owners", testOwners},
		{"FeedRuns", testFeedRuns},
		{"FeedRunInterrupted", testFeedRunInterrupted},
		{"Indicators", testIndicators},
		{"Sightings", testSightings},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// base is the suite's fixed "now"; times are whole microseconds in UTC unless a test
// is about precision.
var base = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func at(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }

func ptr[T any](v T) *T { return &v }

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func isErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func fails(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want an error", what)
	}
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func sameTime(t *testing.T, what string, got *time.Time, want time.Time) {
	t.Helper()
	if got == nil || !got.Equal(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func user(id, name string) store.User {
	return store.User{ID: id, Name: name, DisplayName: "Name " + name, Email: name + "@example.org",
		Role: "analyst", PasswordHash: "hash-" + name, CreatedAt: at(0)}
}

func testUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, u := range []store.User{user("u3", "carol"), user("u1", "alice"), user("u2", "bob")} {
		ok(t, s.CreateUser(ctx, u))
	}
	got, err := s.UserByName(ctx, "alice")
	ok(t, err)
	same(t, "UserByName", got, user("u1", "alice"))
	got, err = s.UserByID(ctx, "u2")
	ok(t, err)
	same(t, "UserByID", got, user("u2", "bob"))

	isErr(t, "duplicate name", s.CreateUser(ctx, user("u4", "alice")), store.ErrConflict)
	_, err = s.UserByName(ctx, "nobody")
	isErr(t, "unknown name", err, store.ErrNotFound)
	_, err = s.UserByID(ctx, "u9")
	isErr(t, "unknown id", err, store.ErrNotFound)

	all, err := s.ListUsers(ctx)
	ok(t, err)
	same(t, "ListUsers", all, []store.User{user("u1", "alice"), user("u2", "bob"), user("u3", "carol")})
}

// testUsersConcurrentDuplicate creates one name from several goroutines at once: one
// must win and every other must see ErrConflict, not a raw constraint error.
//
// Regression: a CreateUser that looks the name up before its INSERT lets a racing writer
// get the database's unique violation unwrapped, which callers such as auth, checking
// errors.Is(err, store.ErrConflict), treat as an internal error.
func testUsersConcurrentDuplicate(t *testing.T, s store.Store) {
	ctx := t.Context()
	const rounds, writers = 10, 8
	for round := range rounds {
		name := fmt.Sprintf("user%d", round)
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i := range writers {
			wg.Go(func() { errs[i] = s.CreateUser(ctx, user(fmt.Sprintf("u%d-%d", round, i), name)) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("concurrent CreateUser of one name: got %v, want store.ErrConflict", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d concurrent CreateUser calls of one name succeeded, want 1", won)
		}
	}
}

func testTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := user("u1", "alice")
	ok(t, s.CreateUser(ctx, u))
	live := store.Token{ID: "t1", UserID: "u1", Hash: "h-live", Label: "cli", CreatedAt: at(0), ExpiresAt: ptr(at(60))}
	for _, tok := range []store.Token{live,
		{ID: "t2", UserID: "u1", Hash: "h-forever", CreatedAt: at(0)},
		{ID: "t3", UserID: "u1", Hash: "h-now", CreatedAt: at(0), ExpiresAt: ptr(at(0))},
	} {
		ok(t, s.CreateToken(ctx, tok))
	}

	tok, gotUser, err := s.TokenByHash(ctx, "h-live", at(0))
	ok(t, err)
	same(t, "token's user", gotUser, u)
	tok.LastUsedAt = nil // whether it shows this use or none yet is the implementation's choice
	same(t, "token", tok, live)

	_, _, err = s.TokenByHash(ctx, "h-live", at(59))
	ok(t, err)
	_, _, err = s.TokenByHash(ctx, "h-live", at(60))
	isErr(t, "token at its expiry", err, store.ErrNotFound)
	_, _, err = s.TokenByHash(ctx, "h-now", at(0))
	isErr(t, "token expiring now", err, store.ErrNotFound)
	_, _, err = s.TokenByHash(ctx, "h-unknown", at(0))
	isErr(t, "unknown token", err, store.ErrNotFound)
	_, _, err = s.TokenByHash(ctx, "h-forever", at(100000))
	ok(t, err)

	// A lookup only reads; TouchToken records use, at most once a minute.
	tok, _, err = s.TokenByHash(ctx, "h-forever", at(100001))
	ok(t, err)
	if tok.LastUsedAt != nil {
		t.Fatalf("a lookup recorded a use: %v", tok.LastUsedAt)
	}
	seen := func(now time.Time) *time.Time {
		t.Helper()
		tok, _, err := s.TokenByHash(ctx, "h-forever", now)
		ok(t, err)
		ok(t, s.TouchToken(ctx, tok.ID, now))
		tok, _, err = s.TokenByHash(ctx, "h-forever", now)
		ok(t, err)
		return tok.LastUsedAt
	}
	t0 := at(200000)
	sameTime(t, "last use", seen(t0), t0)
	sameTime(t, "last use 30s later", seen(t0.Add(30*time.Second)), t0)
	sameTime(t, "last use 50s later (not rewritten at 30s)", seen(t0.Add(50*time.Second)), t0)
	t1 := t0.Add(2 * time.Minute)
	seen(t1)
	sameTime(t, "last use after a use 2m later", seen(t1.Add(10*time.Second)), t1)

	// Revocation ends a token at once and keeps its first time.
	ok(t, s.RevokeToken(ctx, "t2", at(300000)))
	ok(t, s.RevokeToken(ctx, "t2", at(300001)))
	_, _, err = s.TokenByHash(ctx, "h-forever", at(300002))
	isErr(t, "revoked token", err, store.ErrNotFound)
	isErr(t, "revoke unknown token", s.RevokeToken(ctx, "t-none", at(0)), store.ErrNotFound)
	toks, err := s.ListTokens(ctx, "u1")
	ok(t, err)
	if len(toks) != 3 || toks[1].ID != "t2" || toks[1].RevokedAt == nil || !toks[1].RevokedAt.Equal(at(300000)) {
		t.Fatalf("ListTokens: %+v", toks)
	}
}

// testUserStatus: a disabled user's tokens and sessions are not live, at once and
// without anything deleted; enabling them brings both back.
func testUserStatus(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := consoleOf(t, s)
	alice, bob := user("u1", "alice"), user("u2", "bob")
	ok(t, s.CreateUser(ctx, alice))
	ok(t, s.CreateUser(ctx, bob))
	ok(t, s.CreateToken(ctx, store.Token{ID: "t1", UserID: "u1", Hash: "h-alice", CreatedAt: at(0)}))
	ok(t, s.CreateToken(ctx, store.Token{ID: "t2", UserID: "u2", Hash: "h-bob", CreatedAt: at(0)}))
	ok(t, c.CreateSession(ctx, session("s-alice", "u1", 0, 100)))
	ok(t, c.CreateSession(ctx, session("s-bob", "u2", 0, 100)))
	live := func(what string, want bool) {
		t.Helper()
		_, _, terr := s.TokenByHash(ctx, "h-alice", at(1))
		_, _, serr := c.SessionByHash(ctx, "s-alice", at(1))
		for name, err := range map[string]error{"token": terr, "session": serr} {
			if want {
				ok(t, err)
			} else {
				isErr(t, what+": "+name, err, store.ErrNotFound)
			}
		}
		// Bob is never touched.
		_, _, err := s.TokenByHash(ctx, "h-bob", at(1))
		ok(t, err)
		_, _, err = c.SessionByHash(ctx, "s-bob", at(1))
		ok(t, err)
	}
	live("enabled", true)

	ok(t, s.SetUserDisabled(ctx, "u1", ptr(at(1))))
	live("disabled", false)
	got, err := s.UserByName(ctx, "alice")
	ok(t, err)
	sameTime(t, "disabled_at", got.DisabledAt, at(1))
	all, err := s.ListUsers(ctx)
	ok(t, err)
	if len(all) != 2 || all[0].DisabledAt == nil || all[1].DisabledAt != nil {
		t.Fatalf("ListUsers after disabling alice: %+v", all)
	}

	ok(t, s.SetUserDisabled(ctx, "u1", nil))
	live("enabled again", true)
	got, err = s.UserByID(ctx, "u1")
	ok(t, err)
	same(t, "user enabled again", got, alice)
	isErr(t, "SetUserDisabled of an unknown user", s.SetUserDisabled(ctx, "u404", ptr(at(1))), store.ErrNotFound)

	ok(t, s.RecordSignin(ctx, "u2", at(5)))
	got, err = s.UserByID(ctx, "u2")
	ok(t, err)
	sameTime(t, "last_signin_at", got.LastSigninAt, at(5))
	ok(t, s.RecordSignin(ctx, "u2", at(9)))
	got, err = s.UserByID(ctx, "u2")
	ok(t, err)
	sameTime(t, "last_signin_at after a second sign-in", got.LastSigninAt, at(9))
}

func testCounters(t *testing.T, s store.Store) {
	ctx := t.Context()
	next := func(name string) int64 {
		t.Helper()
		v, err := s.NextCounter(ctx, name)
		ok(t, err)
		return v
	}
	got := []int64{next("incident/2026"), next("incident/2026"), next("other"), next("incident/2026"), next("other")}
	same(t, "counter values", got, []int64{1, 2, 1, 3, 2})
}

func incident(id, coordinator string, updated int, participants ...string) store.Incident {
	in := store.Incident{ID: id, Coordinator: coordinator, Title: "Title " + id, Description: "About " + id,
		Category: "phishing", Severity: "high", TLP: "AMBER", Status: "open", CreatedBy: "alice",
		CreatedAt: at(0), UpdatedAt: at(updated), LastPosition: 0, Participants: []store.Participant{}}
	for _, p := range participants {
		in.Participants = append(in.Participants, store.Participant{Team: p, Status: "invited", UpdatedAt: at(0)})
	}
	return in
}

func testIncidents(t *testing.T, s store.Store) {
	ctx := t.Context()
	in := incident("cn-2026-0001", "cn", 1, "kr", "de", "jp")
	in.Participants[1].Status, in.Participants[1].AcknowledgedAt = "acknowledged", ptr(at(2))
	ok(t, s.CreateIncident(ctx, in))

	got, err := s.GetIncident(ctx, in.ID)
	ok(t, err)
	if len(got.Timeline) != 0 {
		t.Errorf("GetIncident returned a timeline: %+v", got.Timeline)
	}
	got.Timeline = nil
	want := in
	want.Participants = []store.Participant{in.Participants[1], in.Participants[2], in.Participants[0]} // de, jp, kr
	same(t, "GetIncident", got, want)

	upd := want
	upd.Title, upd.Description, upd.Category = "New title", "New description", "malware"
	upd.Severity, upd.TLP, upd.Status = "critical", "RED", "closed"
	upd.UpdatedAt, upd.LastPosition = at(5), 7
	upd.Participants = nil // UpdateIncident leaves participants alone
	ok(t, s.UpdateIncident(ctx, upd))
	got, err = s.GetIncident(ctx, in.ID)
	ok(t, err)
	upd.Participants = want.Participants
	same(t, "after UpdateIncident", got, upd)

	isErr(t, "UpdateIncident of an unknown incident", s.UpdateIncident(ctx, incident("cn-2026-0404", "cn", 1)), store.ErrNotFound)
	_, err = s.GetIncident(ctx, "cn-2026-0404")
	isErr(t, "GetIncident of an unknown incident", err, store.ErrNotFound)
	fails(t, "CreateIncident with an existing id", s.CreateIncident(ctx, incident(in.ID, "cn", 9)))
}

func testIncidentList(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := incident("a", "cn", 10, "jp")
	b := incident("b", "jp", 30, "cn", "kr")
	b.Status, b.Severity, b.Category, b.TLP = "closed", "low", "malware", "GREEN"
	c := incident("c", "kr", 20)
	c.Severity, c.TLP = "low", "CLEAR"
	d := incident("d", "cn", 40, "kr")
	d.Severity, d.Category = "critical", "ddos"
	for _, in := range []store.Incident{c, a, d, b} {
		ok(t, s.CreateIncident(ctx, in))
	}
	cases := []struct {
		name string
		f    store.IncidentFilter
		want []string
	}{
		{"all", store.IncidentFilter{}, []string{"d", "b", "c", "a"}},
		{"status", store.IncidentFilter{Status: "open"}, []string{"d", "c", "a"}},
		{"severity", store.IncidentFilter{Severity: "low"}, []string{"b", "c"}},
		{"category", store.IncidentFilter{Category: "phishing"}, []string{"c", "a"}},
		{"tlp", store.IncidentFilter{TLP: "AMBER"}, []string{"d", "a"}},
		{"team kr (participant or coordinator)", store.IncidentFilter{Team: "kr"}, []string{"d", "b", "c"}},
		{"team jp", store.IncidentFilter{Team: "jp"}, []string{"b", "a"}},
		{"team unknown", store.IncidentFilter{Team: "xx"}, nil},
		{"status and team", store.IncidentFilter{Status: "open", Team: "kr"}, []string{"d", "c"}},
		{"limit", store.IncidentFilter{Limit: 2}, []string{"d", "b"}},
		{"limit with filter", store.IncidentFilter{Severity: "low", Limit: 1}, []string{"b"}},
	}
	for _, tc := range cases {
		got, err := s.ListIncidents(ctx, tc.f)
		ok(t, err)
		var ids []string
		for _, in := range got {
			ids = append(ids, in.ID)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("ListIncidents %s (%+v): got %v, want %v", tc.name, tc.f, ids, tc.want)
		}
	}
}

func testParticipants(t *testing.T, s store.Store) {
	ctx := t.Context()
	in := incident("cn-2026-0001", "cn", 1, "kr")
	ok(t, s.CreateIncident(ctx, in))
	kr := store.Participant{Team: "kr", Status: "acknowledged", AcknowledgedAt: ptr(at(3)), UpdatedAt: at(3)}
	ok(t, s.UpsertParticipant(ctx, in.ID, kr))
	de := store.Participant{Team: "de", Status: "invited", UpdatedAt: at(4)}
	ok(t, s.UpsertParticipant(ctx, in.ID, de))
	got, err := s.GetIncident(ctx, in.ID)
	ok(t, err)
	same(t, "participants", got.Participants, []store.Participant{de, kr})

	kr = store.Participant{Team: "kr", Status: "declined", UpdatedAt: at(5)}
	ok(t, s.UpsertParticipant(ctx, in.ID, kr))
	got, err = s.GetIncident(ctx, in.ID)
	ok(t, err)
	same(t, "participants after a second upsert", got.Participants, []store.Participant{de, kr})

	fails(t, "participant of an unknown incident", s.UpsertParticipant(ctx, "cn-2026-0404", de))
}

func entry(id, incidentID string, position int64, created int) store.Entry {
	return store.Entry{ID: id, IncidentID: incidentID, Position: position, Team: "cn", Author: "alice", Kind: "note",
		Body: "body of " + id, TLP: "AMBER", Recipients: []string{"jp", "kr"}, Data: `{"k":"` + id + `"}`,
		CreatedAt: at(created), Signature: []byte{0x00, 0xff, 0x80, byte(len(id)), 'z', 0x00}}
}

func testEntries(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok(t, s.CreateIncident(ctx, incident("i1", "cn", 1)))
	ok(t, s.CreateIncident(ctx, incident("i2", "cn", 1)))
	get := func(id string) store.Entry {
		t.Helper()
		e, err := s.GetEntry(ctx, id)
		ok(t, err)
		return e
	}

	e := entry("e1", "i1", 0, 1)
	ok(t, s.PutEntry(ctx, e))
	same(t, "pending entry", get("e1"), e)

	// A second put of a held entry sets its position; a third does not move it.
	e.Position = 1
	ok(t, s.PutEntry(ctx, e))
	same(t, "entry after sequencing", get("e1"), e)
	moved := e
	moved.Position = 5
	ok(t, s.PutEntry(ctx, moved))
	same(t, "entry after a second sequencing", get("e1"), e)

	fails(t, "a second entry at the same position", s.PutEntry(ctx, entry("e2", "i1", 1, 2)))
	ok(t, s.PutEntry(ctx, entry("e3", "i2", 1, 2))) // same position, other incident

	bare := entry("e4", "i1", 0, 3)
	bare.Recipients, bare.Data = nil, ""
	ok(t, s.PutEntry(ctx, bare))
	got := get("e4")
	if len(got.Recipients) != 0 || got.Data != "" {
		t.Errorf("entry without recipients or data came back with %q, %q", got.Recipients, got.Data)
	}
	one := entry("e5", "i1", 0, 3)
	one.Recipients = []string{"jp"}
	ok(t, s.PutEntry(ctx, one))
	same(t, "one recipient", get("e5").Recipients, []string{"jp"})

	_, err := s.GetEntry(ctx, "e404")
	isErr(t, "unknown entry", err, store.ErrNotFound)
	fails(t, "entry of an unknown incident", s.PutEntry(ctx, entry("e6", "i404", 0, 1)))
}

func testTimeline(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok(t, s.CreateIncident(ctx, incident("i1", "cn", 1)))
	ok(t, s.CreateIncident(ctx, incident("i2", "cn", 1)))
	// Sequenced entries were created after the pending ones, so only position puts them first.
	for _, e := range []store.Entry{
		entry("pending-late", "i1", 0, 20),
		entry("pos2", "i1", 2, 31),
		entry("pending-early", "i1", 0, 10),
		entry("pos1", "i1", 1, 32),
		entry("other", "i2", 1, 1),
	} {
		ok(t, s.PutEntry(ctx, e))
	}
	got, err := s.Timeline(ctx, "i1")
	ok(t, err)
	var ids []string
	for _, e := range got {
		ids = append(ids, e.ID)
	}
	same(t, "timeline order", ids, []string{"pos1", "pos2", "pending-early", "pending-late"})
	same(t, "timeline entry", got[0], entry("pos1", "i1", 1, 32))

	got, err = s.Timeline(ctx, "i404")
	ok(t, err)
	if len(got) != 0 {
		t.Errorf("timeline of an unknown incident: %+v", got)
	}
}

// timeChecks gives the time the times tests store — nanoseconds, in a zone east of
// UTC — and checks that a time came back as the store must return it: in UTC,
// truncated (not rounded) to the microsecond.
func timeChecks(t *testing.T) (in time.Time, check func(string, time.Time), checkPtr func(string, *time.Time)) {
	in = time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.FixedZone("UTC+9", 9*3600))
	want := time.Date(2026, 5, 5, 22, 8, 9, 123456000, time.UTC)
	check = func(what string, got time.Time) {
		t.Helper()
		if got != want || got.Location() != time.UTC {
			t.Errorf("%s: got %v (%s), want %v", what, got, got.Location(), want)
		}
	}
	checkPtr = func(what string, got *time.Time) {
		t.Helper()
		if got == nil {
			t.Errorf("%s: got nil, want %v", what, want)
			return
		}
		check(what, *got)
	}
	return in, check, checkPtr
}

// testTimes stores a time with nanoseconds in a zone east of UTC everywhere a record
// keeps one, and expects it back in UTC, truncated (not rounded) to the microsecond.
func testTimes(t *testing.T, s store.Store) {
	ctx := t.Context()
	in, check, checkPtr := timeChecks(t)

	u := user("u1", "alice")
	u.CreatedAt = in
	ok(t, s.CreateUser(ctx, u))
	gotU, err := s.UserByID(ctx, "u1")
	ok(t, err)
	check("user created_at", gotU.CreatedAt)

	ok(t, s.CreateToken(ctx, store.Token{ID: "t1", UserID: "u1", Hash: "h", CreatedAt: in, ExpiresAt: ptr(in.Add(time.Hour))}))
	tok, _, err := s.TokenByHash(ctx, "h", in)
	ok(t, err)
	check("token created_at", tok.CreatedAt)
	if tok.ExpiresAt == nil {
		t.Fatal("token lost its expiry")
	}
	check("token expires_at (an hour on)", tok.ExpiresAt.Add(-time.Hour))
	ok(t, s.TouchToken(ctx, tok.ID, in))
	tok, _, err = s.TokenByHash(ctx, "h", in.Add(10*time.Second))
	ok(t, err)
	checkPtr("token last_used_at", tok.LastUsedAt)
	ok(t, s.SetUserDisabled(ctx, "u1", &in))
	ok(t, s.RecordSignin(ctx, "u1", in))
	gotU, err = s.UserByID(ctx, "u1")
	ok(t, err)
	checkPtr("user disabled_at", gotU.DisabledAt)
	checkPtr("user last_signin_at", gotU.LastSigninAt)

	inc := incident("i1", "cn", 0)
	inc.CreatedAt, inc.UpdatedAt = in, in
	inc.Participants = []store.Participant{{Team: "kr", Status: "acknowledged", AcknowledgedAt: &in, UpdatedAt: in}}
	ok(t, s.CreateIncident(ctx, inc))
	gotI, err := s.GetIncident(ctx, "i1")
	ok(t, err)
	check("incident created_at", gotI.CreatedAt)
	check("incident updated_at", gotI.UpdatedAt)
	checkPtr("participant acknowledged_at", gotI.Participants[0].AcknowledgedAt)
	check("participant updated_at", gotI.Participants[0].UpdatedAt)

	e := entry("e1", "i1", 0, 0)
	e.CreatedAt = in
	ok(t, s.PutEntry(ctx, e))
	gotE, err := s.GetEntry(ctx, "e1")
	ok(t, err)
	check("entry created_at", gotE.CreatedAt)

	ok(t, s.EnsureLink(ctx, "jp"))
	ok(t, s.LinkContact(ctx, "jp", in, store.LinkEvent{Sent: true, Delivered: true, Received: true}))
	ok(t, s.LinkError(ctx, "jp", in, "down"))
	ok(t, s.LinkPullError(ctx, "jp", in, "down"))
	l, err := s.GetLink(ctx, "jp")
	ok(t, err)
	checkPtr("link last_contact_at", l.LastContactAt)
	checkPtr("link last_delivered_at", l.LastDeliveredAt)
	checkPtr("link last_sent_at", l.LastSentAt)
	checkPtr("link last_received_at", l.LastReceivedAt)
	checkPtr("link last_error_at", l.LastErrorAt)
	checkPtr("link last_pull_error_at", l.LastPullErrorAt)

	ok(t, s.Enqueue(ctx, store.OutboxItem{Peer: "jp", Seq: 1, Type: "x", ObjectID: "i1", Envelope: []byte("e1"), CreatedAt: in}))
	ok(t, s.Enqueue(ctx, store.OutboxItem{Peer: "jp", Seq: 2, Type: "x", ObjectID: "i1", Envelope: []byte("e2"), CreatedAt: in}))
	ok(t, s.MarkDelivered(ctx, "jp", 1, in, []byte("r")))
	sent, err := s.Sent(ctx, "jp")
	ok(t, err)
	check("outbox created_at", sent[0].CreatedAt)
	checkPtr("outbox delivered_at", sent[0].DeliveredAt)
	st, err := s.OutboxStats(ctx, "jp")
	ok(t, err)
	checkPtr("outbox oldest queued", st.OldestQueued)

	ok(t, s.PutInbox(ctx, store.InboxItem{Origin: "jp", Seq: 1, Digest: []byte("d"), Type: "x", ObjectID: "i1",
		Status: "applied", ReceivedAt: in, Envelope: []byte("e"), Receipt: []byte("r")}))
	gotIn, err := s.GetInbox(ctx, "jp", 1)
	ok(t, err)
	check("inbox received_at", gotIn.ReceivedAt)

	ok(t, s.AddRefusal(ctx, store.Refusal{ID: "r1", At: in, Peer: "jp", Remote: "192.0.2.1", Reason: "x", Detail: "y"}))
	refs, err := s.Refusals(ctx, 10)
	ok(t, err)
	check("refusal at", refs[0].At)

	ok(t, s.PutAudit(ctx, store.AuditRecord{Seq: 1, At: in, Actor: "a", Action: "b", Object: "c", Hash: "h"}))
	rec, err := s.LastAudit(ctx)
	ok(t, err)
	check("audit at", rec.At)
}

func testLinks(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetLink(ctx, "jp")
	isErr(t, "GetLink of an unknown peer", err, store.ErrNotFound)
	_, err = s.TakeSeq(ctx, "jp")
	isErr(t, "TakeSeq of an unknown peer", err, store.ErrNotFound)

	ok(t, s.EnsureLink(ctx, "jp"))
	ok(t, s.EnsureLink(ctx, "jp"))
	l, err := s.GetLink(ctx, "jp")
	ok(t, err)
	same(t, "new link", l, store.Link{Peer: "jp", NextSeq: 1})

	for want := uint64(1); want <= 3; want++ {
		got, err := s.TakeSeq(ctx, "jp")
		ok(t, err)
		if got != want {
			t.Fatalf("TakeSeq: got %d, want %d", got, want)
		}
	}
	ok(t, s.EnsureLink(ctx, "jp")) // must not reset the sequence
	ok(t, s.EnsureLink(ctx, "kr"))
	got, err := s.TakeSeq(ctx, "kr")
	ok(t, err)
	if got != 1 {
		t.Fatalf("TakeSeq of a second peer: got %d, want 1", got)
	}
	ok(t, s.SetLastInSeq(ctx, "jp", 42))

	ok(t, s.LinkError(ctx, "jp", at(1), "connection refused"))
	l, err = s.GetLink(ctx, "jp")
	ok(t, err)
	same(t, "after TakeSeq, SetLastInSeq, LinkError", l,
		store.Link{Peer: "jp", NextSeq: 4, LastInSeq: 42, LastError: "connection refused", LastErrorAt: ptr(at(1))})

	// What the peer sends us never clears an error in sending to it.
	ok(t, s.LinkContact(ctx, "jp", at(2), store.LinkEvent{Received: true}))
	l, err = s.GetLink(ctx, "jp")
	ok(t, err)
	if l.LastError != "connection refused" || l.LastDeliveredAt != nil || l.LastSentAt != nil {
		t.Fatalf("after a receive: %+v; want the send error kept, nothing sent", l)
	}
	sameTime(t, "last contact", l.LastContactAt, at(2))
	sameTime(t, "last received", l.LastReceivedAt, at(2))

	ok(t, s.LinkContact(ctx, "jp", at(3), store.LinkEvent{Sent: true}))
	l, err = s.GetLink(ctx, "jp")
	ok(t, err)
	if l.LastError != "" || l.LastDeliveredAt != nil {
		t.Fatalf("after a send: last_error %q, last_delivered_at %v; want cleared/unset", l.LastError, l.LastDeliveredAt)
	}
	sameTime(t, "last sent", l.LastSentAt, at(3))
	sameTime(t, "last received (a send keeps it)", l.LastReceivedAt, at(2))

	ok(t, s.LinkError(ctx, "jp", at(3), "timeout"))
	ok(t, s.LinkPullError(ctx, "jp", at(3), "pull: 503"))
	ok(t, s.LinkContact(ctx, "jp", at(4), store.LinkEvent{Sent: true, Delivered: true}))
	ok(t, s.LinkContact(ctx, "jp", at(5), store.LinkEvent{Received: true}))
	l, err = s.GetLink(ctx, "jp")
	ok(t, err)
	if l.LastError != "" || l.LastPullError != "pull: 503" {
		t.Fatalf("after a send and a receive: last_error %q, last_pull_error %q; want only the send error cleared", l.LastError, l.LastPullError)
	}
	ok(t, s.LinkContact(ctx, "jp", at(6), store.LinkEvent{Received: true, Pulled: true}))
	l, err = s.GetLink(ctx, "jp")
	ok(t, err)
	if l.LastPullError != "" {
		t.Fatalf("last_pull_error after a pull: %q", l.LastPullError)
	}
	sameTime(t, "last contact", l.LastContactAt, at(6))
	sameTime(t, "last delivery (only a delivering contact sets it)", l.LastDeliveredAt, at(4))
	sameTime(t, "last sent", l.LastSentAt, at(4))
	sameTime(t, "last received", l.LastReceivedAt, at(6))
	if l.NextSeq != 4 || l.LastInSeq != 42 {
		t.Fatalf("contact changed the sequences: %+v", l)
	}
}

// Compaction empties the envelope copies of old delivered (outbox) and received
// (inbox) items, and only those; rows, receipts and digests stay.
func testCompaction(t *testing.T, s store.Store) {
	ctx := t.Context()
	for seq := uint64(1); seq <= 4; seq++ {
		ok(t, s.Enqueue(ctx, outboxItem("jp", seq)))
	}
	ok(t, s.MarkDelivered(ctx, "jp", 1, at(10), []byte("receipt 1")))
	ok(t, s.MarkDelivered(ctx, "jp", 2, at(20), []byte("receipt 2")))
	ok(t, s.MarkDelivered(ctx, "jp", 3, at(30), []byte("receipt 3")))
	n, err := s.CompactOutbox(ctx, at(25), 1)
	ok(t, err)
	same(t, "outbox compacted with limit 1", n, 1)
	n, err = s.CompactOutbox(ctx, at(25), 100)
	ok(t, err)
	same(t, "outbox compacted after", n, 1)
	n, err = s.CompactOutbox(ctx, at(25), 100)
	ok(t, err)
	same(t, "outbox compacted again", n, 0)
	sent, err := s.Sent(ctx, "jp")
	ok(t, err)
	same(t, "outbox rows kept", seqs(sent), []uint64{1, 2, 3, 4})
	for i, it := range sent {
		compacted := i < 2
		if compacted != (len(it.Envelope) == 0) {
			t.Errorf("outbox %d: envelope %q; compacted want %v", it.Seq, it.Envelope, compacted)
		}
		if it.Seq <= 3 && string(it.Receipt) != fmt.Sprintf("receipt %d", it.Seq) {
			t.Errorf("outbox %d: receipt %q", it.Seq, it.Receipt)
		}
	}
	same(t, "pending (never compacted)", seqs(pendingOf(t, s, "jp")), []uint64{4})

	for _, it := range []store.InboxItem{inboxItem("jp", 1), inboxItem("jp", 2), inboxItem("kr", 3)} {
		ok(t, s.PutInbox(ctx, it))
	}
	n, err = s.CompactInbox(ctx, at(3), 100)
	ok(t, err)
	same(t, "inbox compacted", n, 2)
	for _, k := range []struct {
		origin    string
		seq       uint64
		compacted bool
	}{{"jp", 1, true}, {"jp", 2, true}, {"kr", 3, false}} {
		got, err := s.GetInbox(ctx, k.origin, k.seq)
		ok(t, err)
		want := inboxItem(k.origin, k.seq)
		if k.compacted {
			want.Envelope = []byte{}
		}
		if len(got.Envelope) == 0 {
			got.Envelope = []byte{}
		}
		same(t, fmt.Sprintf("inbox %s/%d", k.origin, k.seq), got, want)
	}
}

func pendingOf(t *testing.T, s store.Store, peer string) []store.OutboxItem {
	items, err := s.Pending(t.Context(), peer, 0, 100)
	ok(t, err)
	return items
}

func outboxItem(peer string, seq uint64) store.OutboxItem {
	return store.OutboxItem{Peer: peer, Seq: seq, Type: "entry.append", ObjectID: fmt.Sprintf("obj-%d", seq),
		Envelope: []byte(fmt.Sprintf("envelope %s %d \x00\xff", peer, seq)), CreatedAt: at(int(seq))}
}

func seqs(items []store.OutboxItem) []uint64 {
	var out []uint64
	for _, it := range items {
		out = append(out, it.Seq)
	}
	return out
}

func testOutbox(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, seq := range []uint64{3, 1, 5, 2, 4} {
		ok(t, s.Enqueue(ctx, outboxItem("jp", seq)))
	}
	ok(t, s.Enqueue(ctx, outboxItem("kr", 1)))
	fails(t, "duplicate (peer, seq)", s.Enqueue(ctx, store.OutboxItem{Peer: "jp", Seq: 3, Type: "other", ObjectID: "x", Envelope: []byte("x"), CreatedAt: at(9)}))

	pending := func(peer string, after uint64, limit int) []store.OutboxItem {
		t.Helper()
		items, err := s.Pending(ctx, peer, after, limit)
		ok(t, err)
		return items
	}
	all := pending("jp", 0, 10)
	same(t, "Pending order", seqs(all), []uint64{1, 2, 3, 4, 5})
	first := all[2]
	if first.Type != "entry.append" || first.ObjectID != "obj-3" || !bytes.Equal(first.Envelope, outboxItem("jp", 3).Envelope) ||
		!first.CreatedAt.Equal(at(3)) || first.Attempts != 0 || first.DeliveredAt != nil || len(first.Receipt) != 0 {
		t.Fatalf("queued item (after a refused duplicate): %+v", first)
	}
	same(t, "Pending after 2, limit 2", seqs(pending("jp", 2, 2)), []uint64{3, 4})
	same(t, "Pending of another peer", seqs(pending("kr", 0, 10)), []uint64{1})
	same(t, "Pending of an unknown peer", len(pending("xx", 0, 10)), 0)

	ok(t, s.MarkDelivered(ctx, "jp", 2, at(20), []byte("receipt 2")))
	same(t, "Pending after a delivery", seqs(pending("jp", 0, 10)), []uint64{1, 3, 4, 5})
	ok(t, s.MarkDelivered(ctx, "jp", 2, at(30), []byte("a later receipt")))

	ok(t, s.AddAttempt(ctx, "jp", 3))
	ok(t, s.AddAttempt(ctx, "jp", 4))
	sent, err := s.Sent(ctx, "jp")
	ok(t, err)
	same(t, "Sent order", seqs(sent), []uint64{1, 2, 3, 4, 5})
	var attempts []int
	for _, it := range sent {
		attempts = append(attempts, it.Attempts)
	}
	same(t, "attempts (only undelivered, up to seq)", attempts, []int{2, 0, 2, 1, 0})
	d := sent[1]
	sameTime(t, "delivered_at (first delivery kept)", d.DeliveredAt, at(20))
	same(t, "receipt (first receipt kept)", string(d.Receipt), "receipt 2")
	kr, err := s.Sent(ctx, "kr")
	ok(t, err)
	same(t, "attempts of another peer", kr[0].Attempts, 0)

	st, err := s.OutboxStats(ctx, "jp")
	ok(t, err)
	same(t, "stats", st, store.OutboxStats{Queued: 4, OldestQueued: ptr(at(1)), Delivered: 1})
	ok(t, s.MarkDelivered(ctx, "jp", 1, at(21), []byte("receipt 1")))
	st, err = s.OutboxStats(ctx, "jp")
	ok(t, err)
	same(t, "stats after delivering the oldest", st, store.OutboxStats{Queued: 3, OldestQueued: ptr(at(3)), Delivered: 2})
	st, err = s.OutboxStats(ctx, "xx")
	ok(t, err)
	same(t, "stats of an unknown peer", st, store.OutboxStats{})

	ok(t, s.Enqueue(ctx, store.OutboxItem{Peer: "jp", Seq: 6, Type: "page.send", ObjectID: "p", Envelope: []byte("x"), CreatedAt: at(22)}))
	progress, err := s.OutboxProgress(ctx, "jp", at(21))
	ok(t, err)
	same(t, "progress by kind", progress, []store.KindProgress{
		{Type: "entry.append", Queued: 3, Sent: 2, Acknowledged: 2, AcknowledgedSince: 1},
		{Type: "page.send", Queued: 1},
	})
	progress, err = s.OutboxProgress(ctx, "xx", at(0))
	ok(t, err)
	same(t, "progress of an unknown peer", len(progress), 0)
}

func inboxItem(origin string, seq uint64) store.InboxItem {
	return store.InboxItem{Origin: origin, Seq: seq, Digest: []byte{0xde, 0xad, byte(seq)}, Type: "entry.append",
		ObjectID: fmt.Sprintf("obj-%d", seq), Status: "applied", ReceivedAt: at(int(seq)),
		Envelope: []byte(fmt.Sprintf("env %s %d", origin, seq)), Receipt: []byte(fmt.Sprintf("rcpt %s %d \x00", origin, seq))}
}

func testInbox(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, it := range []store.InboxItem{inboxItem("jp", 1), inboxItem("jp", 2), inboxItem("kr", 1)} {
		ok(t, s.PutInbox(ctx, it))
	}
	dup := inboxItem("jp", 1)
	dup.Status, dup.Receipt = "rejected", []byte("other")
	fails(t, "duplicate (origin, seq)", s.PutInbox(ctx, dup))

	got, err := s.GetInbox(ctx, "jp", 1)
	ok(t, err)
	same(t, "GetInbox", got, inboxItem("jp", 1))
	got, err = s.GetInbox(ctx, "kr", 1)
	ok(t, err)
	same(t, "GetInbox of another origin", got, inboxItem("kr", 1))
	_, err = s.GetInbox(ctx, "jp", 3)
	isErr(t, "GetInbox of an unknown seq", err, store.ErrNotFound)

	for origin, want := range map[string]int{"jp": 2, "kr": 1, "xx": 0} {
		n, err := s.CountInbox(ctx, origin)
		ok(t, err)
		if n != want {
			t.Errorf("CountInbox(%s): got %d, want %d", origin, n, want)
		}
	}
}

func testRefusals(t *testing.T, s store.Store) {
	ctx := t.Context()
	refs, err := s.Refusals(ctx, 10)
	ok(t, err)
	same(t, "no refusals", len(refs), 0)
	r := func(id string, minute int) store.Refusal {
		return store.Refusal{ID: id, At: at(minute), Peer: "jp", Remote: "192.0.2.7:443", Reason: "bad signature", Detail: "detail " + id}
	}
	for _, x := range []store.Refusal{r("r1", 1), r("r3", 3), r("r2", 2)} {
		ok(t, s.AddRefusal(ctx, x))
	}
	refs, err = s.Refusals(ctx, 10)
	ok(t, err)
	same(t, "refusals newest first", refs, []store.Refusal{r("r3", 3), r("r2", 2), r("r1", 1)})
	refs, err = s.Refusals(ctx, 2)
	ok(t, err)
	same(t, "refusals with limit", refs, []store.Refusal{r("r3", 3), r("r2", 2)})
	n, err := s.PruneRefusals(ctx, at(3))
	ok(t, err)
	same(t, "refusals pruned", n, 2)
	refs, err = s.Refusals(ctx, 10)
	ok(t, err)
	same(t, "refusals left after pruning", refs, []store.Refusal{r("r3", 3)})
}

func auditRecord(seq int64) store.AuditRecord {
	return store.AuditRecord{Seq: seq, At: at(int(seq)), Actor: "alice", Action: "incident.create",
		Object: fmt.Sprintf("cn-2026-%04d", seq), Detail: "detail", PrevHash: fmt.Sprintf("h%d", seq-1), Hash: fmt.Sprintf("h%d", seq)}
}

func testAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.LastAudit(ctx)
	isErr(t, "LastAudit of an empty log", err, store.ErrNotFound)
	for _, seq := range []int64{1, 2, 3, 4, 5} {
		ok(t, s.PutAudit(ctx, auditRecord(seq)))
	}
	fails(t, "a second record with the same seq", s.PutAudit(ctx, auditRecord(3)))
	last, err := s.LastAudit(ctx)
	ok(t, err)
	same(t, "LastAudit", last, auditRecord(5))

	list := func(after int64, limit int) []store.AuditRecord {
		t.Helper()
		rs, err := s.ListAudit(ctx, after, limit)
		ok(t, err)
		return rs
	}
	same(t, "ListAudit(0, 10)", list(0, 10), []store.AuditRecord{auditRecord(1), auditRecord(2), auditRecord(3), auditRecord(4), auditRecord(5)})
	same(t, "ListAudit(2, 2)", list(2, 2), []store.AuditRecord{auditRecord(3), auditRecord(4)})
	same(t, "ListAudit(5, 10)", len(list(5, 10)), 0)
}

func testInTxCommits(t *testing.T, s store.Store) {
	ctx := t.Context()
	var hooks []string
	err := s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateUser(ctx, user("u1", "alice")); err != nil {
			return err
		}
		if _, err := tx.UserByName(ctx, "alice"); err != nil {
			return fmt.Errorf("a transaction must see its own writes: %w", err)
		}
		if err := tx.EnsureLink(ctx, "jp"); err != nil {
			return err
		}
		seq, err := tx.TakeSeq(ctx, "jp")
		if err != nil {
			return err
		}
		if err := tx.Enqueue(ctx, outboxItem("jp", seq)); err != nil {
			return err
		}
		tx.OnCommit(func() {
			// A hook runs after commit, so the store outside the transaction sees the writes.
			if _, err := s.UserByName(ctx, "alice"); err != nil {
				t.Errorf("OnCommit hook ran before the commit was visible: %v", err)
			}
			hooks = append(hooks, "first")
		})
		tx.OnCommit(func() { hooks = append(hooks, "second") })
		if len(hooks) != 0 {
			t.Errorf("OnCommit hooks ran inside the transaction: %v", hooks)
		}
		return nil
	})
	ok(t, err)
	same(t, "hooks after commit, in order", hooks, []string{"first", "second"})
	_, err = s.UserByName(ctx, "alice")
	ok(t, err)
	sent, err := s.Sent(ctx, "jp")
	ok(t, err)
	same(t, "outbox after commit", seqs(sent), []uint64{1})
}

func testInTxRollsBack(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok(t, s.EnsureLink(ctx, "jp"))
	errBoom := errors.New("boom")
	ran := false
	err := s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateUser(ctx, user("u1", "alice")); err != nil {
			return err
		}
		if _, err := tx.TakeSeq(ctx, "jp"); err != nil {
			return err
		}
		if err := tx.Enqueue(ctx, outboxItem("jp", 1)); err != nil {
			return err
		}
		if _, err := tx.NextCounter(ctx, "n"); err != nil {
			return err
		}
		tx.OnCommit(func() { ran = true })
		return errBoom
	})
	isErr(t, "InTx returns fn's error", err, errBoom)
	if ran {
		t.Error("OnCommit hook ran for a rolled-back transaction")
	}
	_, err = s.UserByName(ctx, "alice")
	isErr(t, "user written in a rolled-back transaction", err, store.ErrNotFound)
	sent, err := s.Sent(ctx, "jp")
	ok(t, err)
	same(t, "outbox after rollback", len(sent), 0)
	seq, err := s.TakeSeq(ctx, "jp")
	ok(t, err)
	same(t, "sequence after rollback", seq, uint64(1))
	n, err := s.NextCounter(ctx, "n")
	ok(t, err)
	same(t, "counter after rollback", n, int64(1))
}

// testInTxRollsBackOnPanic panics inside a transaction that holds a write, and expects
// the panic to reach the caller and the store to go on working: net/http recovers a
// handler's panic, so a transaction left open there would hold its locks for good.
//
// Regression: an InTx that does not roll back when fn panics leaves the transaction open
// with its locks (on SQLite the write lock of BEGIN IMMEDIATE), and every later write,
// and on SQLite even opening a new pooled connection, waits and fails.
func testInTxRollsBackOnPanic(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok(t, s.EnsureLink(ctx, "jp"))
	recovered := func() (v any) {
		defer func() { v = recover() }()
		s.InTx(ctx, func(tx store.Tx) error {
			if _, err := tx.TakeSeq(ctx, "jp"); err != nil {
				return err
			}
			if err := tx.CreateUser(ctx, user("u1", "alice")); err != nil {
				return err
			}
			panic("boom")
		})
		return nil
	}()
	if recovered != "boom" {
		t.Fatalf("InTx: recovered %v, want the panic of fn to reach the caller", recovered)
	}
	wait, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	seq, err := s.TakeSeq(wait, "jp")
	if err != nil {
		t.Fatalf("store unusable after a panic inside InTx: TakeSeq: %v", err)
	}
	same(t, "sequence after a panicked transaction", seq, uint64(1))
	_, err = s.UserByName(wait, "alice")
	isErr(t, "user written by a panicked transaction", err, store.ErrNotFound)
}

func testOnCommitOutsideTx(t *testing.T, s store.Store) {
	ran := false
	s.OnCommit(func() { ran = true })
	if !ran {
		t.Fatal("OnCommit outside a transaction did not run at once")
	}
}

func testWithin(t *testing.T, s store.Store) {
	ctx := t.Context()
	errBoom := errors.New("boom")
	err := s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateUser(ctx, user("u1", "before")); err != nil {
			return err
		}
		err := tx.Within(ctx, func() error {
			if err := tx.CreateUser(ctx, user("u2", "failed")); err != nil {
				return err
			}
			if _, err := tx.NextCounter(ctx, "n"); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			return fmt.Errorf("within returned %v, want fn's error", err)
		}
		if _, err := tx.UserByName(ctx, "failed"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("a failed Within's write is still visible in the transaction: %v", err)
		}
		if err := tx.Within(ctx, func() error { return tx.CreateUser(ctx, user("u3", "succeeded")) }); err != nil {
			return err
		}
		return tx.CreateUser(ctx, user("u4", "after"))
	})
	ok(t, err)
	users, err := s.ListUsers(ctx)
	ok(t, err)
	var names []string
	for _, u := range users {
		names = append(names, u.Name)
	}
	same(t, "users after commit", names, []string{"after", "before", "succeeded"})
	n, err := s.NextCounter(ctx, "n")
	ok(t, err)
	same(t, "counter touched only in the failed Within", n, int64(1))
}

// testConcurrentTakeSeq is what keeps per-peer sequences gapless: concurrent
// transactions must never take the same number.
func testConcurrentTakeSeq(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok(t, s.EnsureLink(ctx, "jp"))
	const workers, each = 8, 25
	var mu sync.Mutex
	var got []uint64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				var seq uint64
				err := s.InTx(ctx, func(tx store.Tx) error {
					var err error
					seq, err = tx.TakeSeq(ctx, "jp")
					return err
				})
				if err != nil {
					t.Errorf("InTx: %v", err)
					return
				}
				mu.Lock()
				got = append(got, seq)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	for i, seq := range got {
		if seq != uint64(i+1) {
			t.Fatalf("sequence numbers not distinct and contiguous: position %d holds %d (all: %v)", i, seq, got)
		}
	}
	if len(got) != workers*each {
		t.Fatalf("got %d sequence numbers, want %d", len(got), workers*each)
	}
	l, err := s.GetLink(ctx, "jp")
	ok(t, err)
	same(t, "next seq", l.NextSeq, uint64(workers*each+1))
}
