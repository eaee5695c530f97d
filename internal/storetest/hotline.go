package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"csirtlink/internal/store"
)

// The hotline half of the suite: pages and their deliveries, escalations, notification
// attempts, contacts, acknowledgement codes, on-call documents, comm checks and leases.

// page is a page from one team to others, each delivery "sent" when the page was made;
// its deliveries are in team order, as GetPage returns them.
func page(id, from string, created int, teams ...string) store.Page {
	p := store.Page{ID: id, From: from, Severity: "high", Summary: "Summary of " + id, Details: "Details of " + id,
		TLP: "AMBER", CreatedBy: "alice", CreatedAt: at(created), Deliveries: []store.Delivery{}}
	for _, team := range teams {
		p.Deliveries = append(p.Deliveries, store.Delivery{PageID: id, Team: team, State: "sent", SentAt: at(created)})
	}
	sort.Slice(p.Deliveries, func(i, j int) bool { return p.Deliveries[i].Team < p.Deliveries[j].Team })
	return p
}

// normBytes treats an empty byte slice like a missing one: which of the two a store
// returns for "none" is its own choice.
func normBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func normDelivery(d store.Delivery) store.Delivery {
	d.AckStatement, d.Receipt = normBytes(d.AckStatement), normBytes(d.Receipt)
	return d
}

func normPage(p store.Page) store.Page {
	ds := make([]store.Delivery, 0, len(p.Deliveries))
	for _, d := range p.Deliveries {
		ds = append(ds, normDelivery(d))
	}
	p.Deliveries = ds
	return p
}

func samePage(t *testing.T, what string, got, want store.Page) {
	t.Helper()
	same(t, what, normPage(got), normPage(want))
}

func sameDelivery(t *testing.T, what string, got, want store.Delivery) {
	t.Helper()
	same(t, what, normDelivery(got), normDelivery(want))
}

func createPages(t *testing.T, s store.Store, ps ...store.Page) {
	t.Helper()
	for _, p := range ps {
		ok(t, s.CreatePage(t.Context(), p))
	}
}

func getPage(t *testing.T, s store.Store, id string) store.Page {
	t.Helper()
	p, err := s.GetPage(t.Context(), id)
	ok(t, err)
	return p
}

func getDelivery(t *testing.T, s store.Store, pageID, team string) store.Delivery {
	t.Helper()
	d, err := s.GetDelivery(t.Context(), pageID, team)
	ok(t, err)
	return d
}

// race runs fn n times at once and returns each call's error.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = fn(i) })
	}
	wg.Wait()
	return errs
}

// oneWins checks that exactly one of errs is nil and every other one is target.
func oneWins(t *testing.T, what string, errs []error, target error) {
	t.Helper()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, target):
			t.Fatalf("%s: got error %v, want nil or %v", what, err, target)
		}
	}
	if won != 1 {
		t.Fatalf("%s: %d of %d concurrent calls succeeded, want 1", what, won, len(errs))
	}
}

func testPages(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetPage(ctx, "cn-2026-p0404")
	isErr(t, "GetPage of an unknown page", err, store.ErrNotFound)

	// Every field set, every optional time and byte slice present; the deliveries are
	// given out of team order and without their page id, which CreatePage fills in.
	full := store.Page{ID: "cn-2026-p0001", From: "cn", Severity: "critical", Summary: "Summary \u00e9 \u6f22",
		Details: "line one\nline two\t\u6f22", IncidentID: "cn-2026-0001", TLP: "RED", Drill: true, CommCheckID: "cn-2026-c0001",
		CreatedBy: "alice", CreatedAt: at(1), ResolvedAt: ptr(at(9)), ResolvedBy: "carol"}
	kr := store.Delivery{Team: "kr", State: "acknowledged", SentAt: at(1), DeliveredAt: ptr(at(2)), NotifiedAt: ptr(at(3)),
		NotifiedChannel: "email", AcknowledgedAt: ptr(at(4)), AcknowledgedBy: "kim", AckVia: "code",
		AckStatement: []byte{0x00, 0xff, 's', 0x80, 0x00}, Receipt: []byte{0xde, 0xad, 0x00, 'r'},
		FallbackAt: ptr(at(5)), FallbackError: "smtp: 451 try later", ResolvedAt: ptr(at(9))}
	de := store.Delivery{Team: "de", State: "sent", SentAt: at(1)} // every optional field empty
	jp := store.Delivery{Team: "jp", State: "delivered", SentAt: at(1), DeliveredAt: ptr(at(2)), Receipt: []byte("receipt")}
	full.Deliveries = []store.Delivery{kr, de, jp}
	ok(t, s.CreatePage(ctx, full))

	want := full
	want.Deliveries = nil
	for _, d := range []store.Delivery{de, jp, kr} {
		d.PageID = full.ID
		want.Deliveries = append(want.Deliveries, d)
	}
	got := getPage(t, s, full.ID)
	samePage(t, "GetPage (every field)", got, want)
	for _, d := range got.Deliveries {
		if d.Team == "de" && (d.DeliveredAt != nil || d.NotifiedAt != nil || d.AcknowledgedAt != nil || d.FallbackAt != nil ||
			d.ResolvedAt != nil || len(d.AckStatement) != 0 || len(d.Receipt) != 0) {
			t.Fatalf("delivery stored without optional fields came back with some: %+v", d)
		}
	}
	sameDelivery(t, "GetDelivery", getDelivery(t, s, full.ID, "kr"), want.Deliveries[2])

	// A page with nothing optional set.
	bare := page("jp-2026-p0001", "jp", 2, "cn")
	ok(t, s.CreatePage(ctx, bare))
	got = getPage(t, s, bare.ID)
	if got.ResolvedAt != nil || got.Drill || got.IncidentID != "" || got.CommCheckID != "" || got.ResolvedBy != "" {
		t.Fatalf("page stored without optional fields came back with some: %+v", got)
	}
	samePage(t, "GetPage (optional fields empty)", got, bare)

	// A page with no deliveries at all.
	none := page("jp-2026-p0002", "jp", 3)
	ok(t, s.CreatePage(ctx, none))
	got = getPage(t, s, none.ID)
	same(t, "deliveries of a page sent to no one", len(got.Deliveries), 0)

	isErr(t, "CreatePage with an existing id", s.CreatePage(ctx, page(full.ID, "cn", 5, "jp")), store.ErrConflict)
	samePage(t, "page after a refused duplicate", getPage(t, s, full.ID), want)

	_, err = s.GetDelivery(ctx, full.ID, "us")
	isErr(t, "GetDelivery of a team not paged", err, store.ErrNotFound)
	_, err = s.GetDelivery(ctx, "cn-2026-p0404", "jp")
	isErr(t, "GetDelivery of an unknown page", err, store.ErrNotFound)
}

func testResolvePage(t *testing.T, s store.Store) {
	ctx := t.Context()
	p := page("cn-2026-p0001", "cn", 1, "jp", "kr")
	other := page("cn-2026-p0002", "cn", 2, "jp")
	createPages(t, s, p, other)

	ok(t, s.ResolvePage(ctx, p.ID, at(5), "carol"))
	want := p
	want.ResolvedAt, want.ResolvedBy = ptr(at(5)), "carol"
	samePage(t, "resolved page", getPage(t, s, p.ID), want)

	isErr(t, "ResolvePage of a resolved page", s.ResolvePage(ctx, p.ID, at(6), "dave"), store.ErrNotFound)
	samePage(t, "page resolved twice (the first resolution is kept)", getPage(t, s, p.ID), want)
	isErr(t, "ResolvePage of an unknown page", s.ResolvePage(ctx, "cn-2026-p0404", at(6), "dave"), store.ErrNotFound)
	samePage(t, "another page", getPage(t, s, other.ID), other)

	// Two people resolve one page at once: one of them does.
	errs := race(8, func(i int) error { return s.ResolvePage(ctx, other.ID, at(10+i), fmt.Sprintf("user%d", i)) })
	oneWins(t, "concurrent ResolvePage", errs, store.ErrNotFound)
}

func testListPages(t *testing.T, s store.Store) {
	ctx := t.Context()
	p1 := page("p1", "cn", 1, "jp")
	p2 := page("p2", "jp", 2, "cn", "kr")
	p2.Drill = true
	p3 := page("p3", "cn", 3, "kr", "de")
	p3.Drill, p3.ResolvedAt, p3.ResolvedBy = true, ptr(at(4)), "alice"
	p4 := page("p4", "kr", 4, "cn")
	p5 := page("p5", "cn", 5, "jp")
	// How far each delivery got, for WaitingFor: sent, delivered and notified still wait
	// for an acknowledgement; acknowledged and resolved do not.
	p1.Deliveries[0].State = "delivered"    // jp
	p2.Deliveries[0].State = "notified"     // cn
	p3.Deliveries[0].State = "resolved"     // de
	p4.Deliveries[0].State = "acknowledged" // cn
	createPages(t, s, p3, p1, p5, p2, p4)

	yes, no := true, false
	cases := []struct {
		name string
		f    store.PageFilter
		want []string
	}{
		{"all, newest first", store.PageFilter{}, []string{"p5", "p4", "p3", "p2", "p1"}},
		{"from", store.PageFilter{From: "cn"}, []string{"p5", "p3", "p1"}},
		{"from a team that sent none", store.PageFilter{From: "de"}, nil},
		{"not from", store.PageFilter{NotFrom: "cn"}, []string{"p4", "p2"}},
		{"open", store.PageFilter{Open: true}, []string{"p5", "p4", "p2", "p1"}},
		{"drill", store.PageFilter{Drill: &yes}, []string{"p3", "p2"}},
		{"not drill", store.PageFilter{Drill: &no}, []string{"p5", "p4", "p1"}},
		{"since (inclusive)", store.PageFilter{Since: at(3)}, []string{"p5", "p4", "p3"}},
		{"since after every page", store.PageFilter{Since: at(6)}, nil},
		{"limit", store.PageFilter{Limit: 2}, []string{"p5", "p4"}},
		{"from, open", store.PageFilter{From: "cn", Open: true}, []string{"p5", "p1"}},
		{"not from, open, not drill", store.PageFilter{NotFrom: "cn", Open: true, Drill: &no}, []string{"p4"}},
		{"open, drill", store.PageFilter{Open: true, Drill: &yes}, []string{"p2"}},
		{"since and limit", store.PageFilter{Since: at(2), Limit: 3}, []string{"p5", "p4", "p3"}},
		{"from and limit", store.PageFilter{From: "cn", Limit: 1}, []string{"p5"}},
		{"waiting for cn (one acknowledged)", store.PageFilter{WaitingFor: "cn"}, []string{"p2"}},
		{"waiting for jp (sent, delivered)", store.PageFilter{WaitingFor: "jp"}, []string{"p5", "p1"}},
		{"waiting for kr (a resolved page's delivery still sent)", store.PageFilter{WaitingFor: "kr"}, []string{"p3", "p2"}},
		{"waiting for kr, open", store.PageFilter{WaitingFor: "kr", Open: true}, []string{"p2"}},
		{"waiting for de (delivery resolved)", store.PageFilter{WaitingFor: "de"}, nil},
		{"waiting for a team never paged", store.PageFilter{WaitingFor: "xx"}, nil},
		{"waiting for us: open, to us", store.PageFilter{WaitingFor: "cn", Open: true, NotFrom: "cn"}, []string{"p2"}},
		{"waiting, limit after the filter", store.PageFilter{WaitingFor: "jp", Limit: 1}, []string{"p5"}},
		{"waiting, since", store.PageFilter{WaitingFor: "jp", Since: at(2)}, []string{"p5"}},
	}
	for _, tc := range cases {
		got, err := s.ListPages(ctx, tc.f)
		ok(t, err)
		var ids []string
		for _, p := range got {
			ids = append(ids, p.ID)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("ListPages %s (%+v): got %v, want %v", tc.name, tc.f, ids, tc.want)
		}
	}

	// Listed pages carry their deliveries: the console's "waiting" list reads them.
	got, err := s.ListPages(ctx, store.PageFilter{})
	ok(t, err)
	byID := map[string]store.Page{}
	for _, p := range got {
		byID[p.ID] = p
	}
	for _, want := range []store.Page{p1, p2, p3, p4, p5} {
		samePage(t, "listed page "+want.ID, byID[want.ID], want)
	}
}

func testPutDelivery(t *testing.T, s store.Store) {
	ctx := t.Context()
	p := page("cn-2026-p0001", "cn", 1, "jp", "kr")
	other := page("cn-2026-p0002", "cn", 1, "jp")
	createPages(t, s, p, other)

	// An update replaces every field but when the page was sent.
	jp := store.Delivery{PageID: p.ID, Team: "jp", State: "acknowledged", SentAt: at(1), DeliveredAt: ptr(at(2)),
		NotifiedAt: ptr(at(3)), NotifiedChannel: "webhook", AcknowledgedAt: ptr(at(4)), AcknowledgedBy: "taro",
		AckVia: "console", AckStatement: []byte{0x01, 0x00, 0xfe}, Receipt: []byte{0x00, 'r'},
		FallbackAt: ptr(at(5)), FallbackError: "no relay", ResolvedAt: ptr(at(6))}
	ok(t, s.PutDelivery(ctx, jp))
	sameDelivery(t, "delivery after an update", getDelivery(t, s, p.ID, "jp"), jp)

	// A later update may clear what an earlier one set.
	cleared := store.Delivery{PageID: p.ID, Team: "jp", State: "delivered", SentAt: at(1), DeliveredAt: ptr(at(7))}
	ok(t, s.PutDelivery(ctx, cleared))
	sameDelivery(t, "delivery after an update that clears fields", getDelivery(t, s, p.ID, "jp"), cleared)

	// A new team is inserted, and takes its place in team order.
	de := store.Delivery{PageID: p.ID, Team: "de", State: "sent", SentAt: at(8)}
	ok(t, s.PutDelivery(ctx, de))
	want := p
	want.Deliveries = []store.Delivery{de, cleared, p.Deliveries[1]}
	samePage(t, "page after PutDelivery", getPage(t, s, p.ID), want)
	samePage(t, "another page with the same team", getPage(t, s, other.ID), other)

	fails(t, "PutDelivery of an unknown page", s.PutDelivery(ctx, store.Delivery{PageID: "cn-2026-p0404", Team: "jp", State: "sent", SentAt: at(1)}))
}

func testStaleDeliveries(t *testing.T, s store.Store) {
	ctx := t.Context()
	cutoff := at(10)
	ours := page("cn-2026-p0001", "cn", 1)
	theirs := page("jp-2026-p0001", "jp", 1)
	resolved := page("cn-2026-p0002", "cn", 1)
	resolved.ResolvedAt, resolved.ResolvedBy = ptr(at(9)), "alice"
	later := page("cn-2026-p0003", "cn", 1)
	createPages(t, s, ours, theirs, resolved, later)

	d := func(pageID, team, state string, sent int) store.Delivery {
		return store.Delivery{PageID: pageID, Team: team, State: state, SentAt: at(sent)}
	}
	stale1 := d(ours.ID, "jp", "sent", 5)
	stale0 := d(ours.ID, "us", "sent", 2)
	stale2 := d(later.ID, "kr", "sent", 7)
	fellBack := d(ours.ID, "kr", "sent", 5)
	fellBack.FallbackAt, fellBack.FallbackError = ptr(at(8)), "smtp down"
	for _, x := range []store.Delivery{
		stale1, stale0, stale2, fellBack,
		d(ours.ID, "de", "delivered", 5),    // a receipt came back
		d(ours.ID, "fr", "acknowledged", 5), // further on
		d(ours.ID, "it", "sent", 15),        // not yet overdue
		d(theirs.ID, "cn", "sent", 5),       // a page from another team
		d(resolved.ID, "jp", "sent", 5),     // resolved since
	} {
		ok(t, s.PutDelivery(ctx, x))
	}

	stale := func(origin string, cutoff time.Time, limit int) []store.Delivery {
		t.Helper()
		ds, err := s.StaleDeliveries(ctx, origin, cutoff, limit)
		ok(t, err)
		for i := range ds {
			ds[i] = normDelivery(ds[i])
		}
		return ds
	}
	same(t, "StaleDeliveries, oldest first", stale("cn", cutoff, 10), []store.Delivery{stale0, stale1, stale2})
	same(t, "StaleDeliveries with a limit", stale("cn", cutoff, 2), []store.Delivery{stale0, stale1})
	same(t, "StaleDeliveries with an earlier cutoff", stale("cn", at(3), 10), []store.Delivery{stale0})
	same(t, "StaleDeliveries of the other team's pages", stale("jp", cutoff, 10), []store.Delivery{d(theirs.ID, "cn", "sent", 5)})
	same(t, "StaleDeliveries of a team with no pages", len(stale("xx", cutoff, 10)), 0)

	// Marking a fallback takes a delivery off the list.
	stale0.FallbackAt = ptr(at(11))
	ok(t, s.PutDelivery(ctx, stale0))
	same(t, "StaleDeliveries after a fallback", stale("cn", cutoff, 10), []store.Delivery{stale1, stale2})
}

func testEscalations(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.NextEscalation(ctx)
	isErr(t, "NextEscalation with no escalations", err, store.ErrNotFound)
	_, err = s.GetEscalation(ctx, "p404")
	isErr(t, "GetEscalation of an unknown page", err, store.ErrNotFound)
	createPages(t, s, page("e1", "jp", 0, "cn"), page("e2", "jp", 0, "cn"), page("e3", "jp", 0, "cn"), page("e4", "jp", 0, "cn"))

	esc := func(pageID string, next *time.Time) store.Escalation {
		return store.Escalation{PageID: pageID, Policy: `{"id":"hotline","levels":[{"delay_minutes":5}]}`, NextAt: next, StartedAt: at(0)}
	}
	e1, e2, e3 := esc("e1", ptr(at(5))), esc("e2", ptr(at(3))), esc("e3", ptr(at(20)))
	// A stopped escalation, as the hotline writes one: no next step.
	e4 := esc("e4", nil)
	e4.Round, e4.Level, e4.StoppedAt, e4.StopReason = 1, 2, ptr(at(2)), "already acknowledged"
	for _, e := range []store.Escalation{e1, e2, e3, e4} {
		ok(t, s.PutEscalation(ctx, e))
	}
	get := func(pageID string) store.Escalation {
		t.Helper()
		e, err := s.GetEscalation(ctx, pageID)
		ok(t, err)
		return e
	}
	same(t, "GetEscalation", get("e1"), e1)
	same(t, "GetEscalation of a stopped escalation", get("e4"), e4)

	due := func(now time.Time, limit int) []store.Escalation {
		t.Helper()
		es, err := s.DueEscalations(ctx, now, limit)
		ok(t, err)
		return es
	}
	next := func() time.Time {
		t.Helper()
		n, err := s.NextEscalation(ctx)
		ok(t, err)
		return n
	}
	same(t, "DueEscalations, earliest first (next_at <= now)", due(at(5), 10), []store.Escalation{e2, e1})
	same(t, "DueEscalations with a limit", due(at(5), 1), []store.Escalation{e2})
	same(t, "DueEscalations earlier", due(at(4), 10), []store.Escalation{e2})
	same(t, "DueEscalations before any is due", len(due(at(2), 10)), 0)
	same(t, "DueEscalations much later (never the stopped one)", due(at(1000), 10), []store.Escalation{e2, e1, e3})
	sameTime(t, "NextEscalation", ptr(next()), at(3))

	// An update moves the escalation on.
	e2.Level, e2.NextAt = 1, ptr(at(30))
	ok(t, s.PutEscalation(ctx, e2))
	same(t, "escalation after an update", get("e2"), e2)
	same(t, "DueEscalations after an update", due(at(5), 10), []store.Escalation{e1})
	sameTime(t, "NextEscalation after an update", ptr(next()), at(5))

	// Stopping clears the next step.
	for _, e := range []*store.Escalation{&e1, &e3} {
		e.NextAt, e.StoppedAt, e.StopReason = nil, ptr(at(6)), "resolved"
		ok(t, s.PutEscalation(ctx, *e))
	}
	same(t, "stopped escalation", get("e1"), e1)
	same(t, "DueEscalations after stopping two", due(at(1000), 10), []store.Escalation{e2})
	sameTime(t, "NextEscalation after stopping two", ptr(next()), at(30))
	e2.NextAt, e2.StoppedAt, e2.StopReason = nil, ptr(at(7)), "every level notified; no acknowledgement"
	ok(t, s.PutEscalation(ctx, e2))
	same(t, "DueEscalations with every escalation stopped", len(due(at(1000), 10)), 0)
	_, err = s.NextEscalation(ctx)
	isErr(t, "NextEscalation with every escalation stopped", err, store.ErrNotFound)

	fails(t, "PutEscalation of an unknown page", s.PutEscalation(ctx, esc("p404", ptr(at(1)))))
}

func notification(id, pageID, user, channel string, created int) store.Notification {
	return store.Notification{ID: id, PageID: pageID, User: user, Channel: channel, Address: user + "@example.org",
		Round: 1, Level: 2, DedupeKey: fmt.Sprintf("%s|%s|%s|%s", pageID, user, channel, id), State: "pending", CreatedAt: at(created)}
}

func pageNotifications(t *testing.T, s store.Store, pageID string) []store.Notification {
	t.Helper()
	ns, err := s.PageNotifications(t.Context(), pageID)
	ok(t, err)
	return ns
}

func notificationIDs(ns []store.Notification) []string {
	var ids []string
	for _, n := range ns {
		ids = append(ids, n.ID)
	}
	return ids
}

func testNotifications(t *testing.T, s store.Store) {
	ctx := t.Context()
	createPages(t, s, page("p1", "jp", 0, "cn"), page("p2", "jp", 0, "cn"))
	add := func(n store.Notification) bool {
		t.Helper()
		added, err := s.AddNotification(ctx, n)
		ok(t, err)
		return added
	}

	n1 := notification("n1", "p1", "alice", "email", 1)
	if !add(n1) {
		t.Fatal("AddNotification of a new dedupe key: got false, want true")
	}
	same(t, "PageNotifications", pageNotifications(t, s, "p1"), []store.Notification{n1})

	// The same dedupe key again, on a different attempt: not added, nothing changed.
	dup := notification("n2", "p1", "bob", "webhook", 2)
	dup.DedupeKey, dup.State, dup.AttemptedAt, dup.Error = n1.DedupeKey, "sent", ptr(at(2)), "other"
	if add(dup) {
		t.Fatal("AddNotification of an existing dedupe key: got true, want false")
	}
	same(t, "PageNotifications after a repeated dedupe key", pageNotifications(t, s, "p1"), []store.Notification{n1})
	if add(dup) {
		t.Fatal("AddNotification of an existing dedupe key, a third time: got true, want false")
	}

	// The attempt is claimed, then finished.
	n1.State, n1.AttemptedAt = "sending", ptr(at(3))
	ok(t, s.PutNotification(ctx, n1))
	same(t, "claimed notification", pageNotifications(t, s, "p1"), []store.Notification{n1})
	n1.State, n1.FinishedAt, n1.Error = "failed", ptr(at(4)), "smtp: 550 no such user"
	ok(t, s.PutNotification(ctx, n1))
	same(t, "failed notification", pageNotifications(t, s, "p1"), []store.Notification{n1})

	// PageNotifications lists a page's attempts oldest first, and only that page's.
	n3 := notification("n3", "p1", "alice", "console", 0)
	n4 := notification("n4", "p2", "alice", "email", 1)
	n5 := notification("n5", "p1", "carol", "email", 5)
	for _, n := range []store.Notification{n5, n4, n3} {
		if !add(n) {
			t.Fatalf("AddNotification %s: got false, want true", n.ID)
		}
	}
	same(t, "PageNotifications order", pageNotifications(t, s, "p1"), []store.Notification{n3, n1, n5})
	same(t, "PageNotifications of another page", pageNotifications(t, s, "p2"), []store.Notification{n4})
	same(t, "PageNotifications of an unknown page", len(pageNotifications(t, s, "p404")), 0)

	fails(t, "AddNotification of an unknown page", func() error {
		_, err := s.AddNotification(ctx, notification("n9", "p404", "alice", "email", 1))
		return err
	}())
}

// testNotificationsConcurrentDedupe adds one dedupe key from several goroutines at once:
// exactly one attempt is recorded, and no caller sees an error.
func testNotificationsConcurrentDedupe(t *testing.T, s store.Store) {
	ctx := t.Context()
	createPages(t, s, page("p1", "jp", 0, "cn"))
	const rounds, writers = 5, 8
	for round := range rounds {
		key := fmt.Sprintf("p1|alice|email|%d", round)
		added := make([]bool, writers)
		errs := race(writers, func(i int) error {
			n := notification(fmt.Sprintf("n%d-%d", round, i), "p1", "alice", "email", round)
			n.DedupeKey = key
			var err error
			added[i], err = s.AddNotification(ctx, n)
			return err
		})
		for _, err := range errs {
			ok(t, err)
		}
		if k := len(slices.DeleteFunc(added, func(b bool) bool { return !b })); k != 1 {
			t.Fatalf("%d concurrent AddNotification calls of one dedupe key returned true, want 1", k)
		}
	}
	same(t, "attempts recorded", len(pageNotifications(t, s, "p1")), rounds)
}

func testPendingNotifications(t *testing.T, s store.Store) {
	ctx := t.Context()
	createPages(t, s, page("p1", "jp", 0, "cn"), page("p2", "jp", 0, "cn"))
	pending := func(limit int) []string {
		t.Helper()
		ns, err := s.PendingNotifications(ctx, limit)
		ok(t, err)
		return notificationIDs(ns)
	}
	same(t, "PendingNotifications of none", len(pending(10)), 0)

	ns := []store.Notification{
		notification("a", "p1", "alice", "email", 3),
		notification("b", "p2", "alice", "email", 1),
		notification("c", "p1", "bob", "console", 2),
		notification("d", "p2", "bob", "webhook", 4),
		notification("e", "p1", "carol", "email", 0),
	}
	for _, n := range ns {
		if _, err := s.AddNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	same(t, "PendingNotifications, oldest first", pending(10), []string{"e", "b", "c", "a", "d"})
	same(t, "PendingNotifications with a limit", pending(2), []string{"e", "b"})
	got, err := s.PendingNotifications(ctx, 1)
	ok(t, err)
	same(t, "pending notification", got, []store.Notification{ns[4]})

	claimed := ns[1]
	claimed.State, claimed.AttemptedAt = "sending", ptr(at(5))
	skipped := ns[4]
	skipped.State, skipped.FinishedAt, skipped.Error = "skipped", ptr(at(5)), "page already acknowledged"
	for _, n := range []store.Notification{claimed, skipped} {
		ok(t, s.PutNotification(ctx, n))
	}
	same(t, "PendingNotifications after a claim and a skip", pending(10), []string{"c", "a", "d"})
}

func testCountNotifications(t *testing.T, s store.Store) {
	ctx := t.Context()
	createPages(t, s, page("p1", "jp", 0, "cn"), page("p2", "jp", 0, "cn"))
	put := func(n store.Notification, state string, attempted int) {
		t.Helper()
		if _, err := s.AddNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
		if state == "pending" {
			return
		}
		n.State = state
		if attempted >= 0 {
			n.AttemptedAt = ptr(at(attempted))
		}
		if state != "sending" {
			n.FinishedAt = ptr(at(attempted + 1))
		}
		ok(t, s.PutNotification(ctx, n))
	}
	put(notification("pending", "p1", "alice", "email", 0), "pending", -1)
	put(notification("sending", "p1", "alice", "email", 0), "sending", 10)
	put(notification("sent", "p1", "alice", "email", 0), "sent", 20)
	put(notification("unknown", "p1", "alice", "email", 0), "unknown", 30)
	put(notification("failed", "p1", "alice", "email", 0), "failed", 25)   // made, but did not reach her
	put(notification("skipped", "p1", "alice", "email", 0), "skipped", -1) // never made
	put(notification("other-page", "p2", "alice", "email", 0), "sent", 15)
	put(notification("other-channel", "p1", "alice", "console", 0), "sent", 20)
	put(notification("other-user", "p1", "bob", "email", 0), "sent", 20)

	count := func(user, channel, pageID string, since time.Time) int {
		t.Helper()
		n, err := s.CountNotifications(ctx, user, channel, pageID, since, 1000)
		ok(t, err)
		return n
	}
	cases := []struct {
		name                string
		user, channel, page string
		since               time.Time
		want                int
	}{
		{"one page, since the start", "alice", "email", "p1", at(0), 3},
		{"one page, since an attempt (inclusive)", "alice", "email", "p1", at(20), 2},
		{"one page, since the last attempt", "alice", "email", "p1", at(31), 0},
		{"every page", "alice", "email", "", at(0), 4},
		{"every page, since", "alice", "email", "", at(15), 3},
		{"other page", "alice", "email", "p2", at(0), 1},
		{"other channel", "alice", "console", "", at(0), 1},
		{"other user", "bob", "email", "p1", at(0), 1},
		{"unknown user", "nobody", "email", "", at(0), 0},
		{"unknown page", "alice", "email", "p404", at(0), 0},
	}
	for _, tc := range cases {
		if got := count(tc.user, tc.channel, tc.page, tc.since); got != tc.want {
			t.Errorf("CountNotifications %s (%s, %s, %q, %v): got %d, want %d (only sending, sent and unknown count)",
				tc.name, tc.user, tc.channel, tc.page, tc.since, got, tc.want)
		}
	}
	// Counting stops at upTo.
	all := count("alice", "email", "", at(0))
	if all < 2 {
		t.Fatalf("need at least two attempts to check upTo, have %d", all)
	}
	if got, err := s.CountNotifications(ctx, "alice", "email", "", at(0), 1); err != nil || got != 1 {
		t.Errorf("CountNotifications up to 1 of %d: got %d, %v", all, got, err)
	}
}

func testAbandonNotifications(t *testing.T, s store.Store) {
	ctx := t.Context()
	createPages(t, s, page("p1", "jp", 0, "cn"))
	set := func(n store.Notification) store.Notification {
		t.Helper()
		if _, err := s.AddNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
		if n.State != "pending" {
			ok(t, s.PutNotification(ctx, n))
		}
		return n
	}
	sending := func(id string, attempted int) store.Notification {
		n := notification(id, "p1", "alice", "email", 0)
		n.State, n.AttemptedAt = "sending", ptr(at(attempted))
		return n
	}
	old1 := set(sending("old1", 1))
	old2 := set(sending("old2", 5))
	recent := set(sending("recent", 10))
	sent := sending("sent", 1)
	sent.State, sent.FinishedAt = "sent", ptr(at(2))
	sent = set(sent)
	pending := set(notification("pending", "p1", "alice", "email", 0))

	n, err := s.AbandonNotifications(ctx, at(10))
	ok(t, err)
	same(t, "notifications abandoned", n, 2)
	got := map[string]store.Notification{}
	for _, x := range pageNotifications(t, s, "p1") {
		got[x.ID] = x
	}
	for _, x := range []store.Notification{old1, old2} {
		g := got[x.ID]
		if g.State != "unknown" || g.AttemptedAt == nil || !g.AttemptedAt.Equal(*x.AttemptedAt) {
			t.Errorf("abandoned attempt %s: state %q, attempted %v; want unknown, %v", x.ID, g.State, g.AttemptedAt, *x.AttemptedAt)
		}
	}
	same(t, "attempt claimed at the cutoff", got["recent"], recent)
	same(t, "finished attempt", got["sent"], sent)
	same(t, "pending attempt", got["pending"], pending)

	n, err = s.AbandonNotifications(ctx, at(10))
	ok(t, err)
	same(t, "notifications abandoned a second time", n, 0)
	n, err = s.AbandonNotifications(ctx, at(11))
	ok(t, err)
	same(t, "notifications abandoned with a later cutoff", n, 1)

	// An abandoned attempt counts as made: it may have reached the person.
	k, err := s.CountNotifications(ctx, "alice", "email", "p1", at(0), 1000)
	ok(t, err)
	same(t, "attempts counted after abandoning", k, 4)
}

func testContacts(t *testing.T, s store.Store) {
	ctx := t.Context()
	contacts := func(user string) []store.Contact {
		t.Helper()
		cs, err := s.Contacts(ctx, user)
		ok(t, err)
		return cs
	}
	same(t, "contacts of nobody", len(contacts("alice")), 0)

	mail := store.Contact{ID: "c1", User: "alice", Channel: "email", Address: "alice@example.org",
		PGPKey: "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF...\n-----END PGP PUBLIC KEY BLOCK-----\n", CreatedAt: at(1)}
	hook := store.Contact{ID: "c2", User: "alice", Channel: "webhook", Address: "https://hooks.example.org/x?a=1&b=2",
		Secret: "0123456789abcdef-secret", CreatedAt: at(2)}
	bob := store.Contact{ID: "c3", User: "bob", Channel: "email", Address: "bob@example.org", CreatedAt: at(0)}
	for _, c := range []store.Contact{hook, bob, mail} {
		ok(t, s.PutContact(ctx, c))
	}
	same(t, "Contacts, oldest first", contacts("alice"), []store.Contact{mail, hook})
	same(t, "Contacts of another user", contacts("bob"), []store.Contact{bob})

	ok(t, s.DeleteContact(ctx, "c1"))
	same(t, "Contacts after a delete", contacts("alice"), []store.Contact{hook})
	isErr(t, "DeleteContact of a deleted contact", s.DeleteContact(ctx, "c1"), store.ErrNotFound)
	isErr(t, "DeleteContact of an unknown contact", s.DeleteContact(ctx, "c404"), store.ErrNotFound)
	same(t, "Contacts of another user after the deletes", contacts("bob"), []store.Contact{bob})
}

func testAckCodes(t *testing.T, s store.Store) {
	ctx := t.Context()
	createPages(t, s, page("p1", "cn", 0, "jp"))
	_, err := s.GetAckCode(ctx, "h404")
	isErr(t, "GetAckCode of an unknown code", err, store.ErrNotFound)

	code := store.AckCode{CodeHash: "h1", PageID: "p1", Team: "jp", User: "taro", Purpose: "fallback", ExpiresAt: at(60), ShowsContent: true}
	anon := store.AckCode{CodeHash: "h2", PageID: "p1", Team: "cn", Purpose: "notify", ExpiresAt: at(30)}
	ok(t, s.PutAckCode(ctx, code))
	ok(t, s.PutAckCode(ctx, anon))
	get := func(hash string) store.AckCode {
		t.Helper()
		c, err := s.GetAckCode(ctx, hash)
		ok(t, err)
		return c
	}
	same(t, "GetAckCode", get("h1"), code)
	same(t, "GetAckCode without a user", get("h2"), anon)

	ok(t, s.UseAckCode(ctx, "h1", at(10)))
	code.UsedAt = ptr(at(10))
	same(t, "used code", get("h1"), code)
	isErr(t, "UseAckCode a second time", s.UseAckCode(ctx, "h1", at(11)), store.ErrNotFound)
	same(t, "code used twice (the first use is kept)", get("h1"), code)
	same(t, "another code", get("h2"), anon)
	isErr(t, "UseAckCode of an unknown code", s.UseAckCode(ctx, "h404", at(11)), store.ErrNotFound)

	fails(t, "PutAckCode of an unknown page", s.PutAckCode(ctx, store.AckCode{CodeHash: "h3", PageID: "p404", Team: "jp", Purpose: "notify", ExpiresAt: at(1)}))

	// A code is used once, however many people try it at once.
	errs := race(8, func(i int) error { return s.UseAckCode(ctx, "h2", at(20+i)) })
	oneWins(t, "concurrent UseAckCode", errs, store.ErrNotFound)
	if get("h2").UsedAt == nil {
		t.Fatal("code used concurrently has no use recorded")
	}
}

func docs(m map[string][]byte) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

func testRotations(t *testing.T, s store.Store) {
	ctx := t.Context()
	rotations := func() map[string]string {
		t.Helper()
		m, err := s.Rotations(ctx)
		ok(t, err)
		return docs(m)
	}
	same(t, "no rotations", rotations(), map[string]string{})
	ok(t, s.PutRotation(ctx, "r1", []byte(`{"id":"r1","v":1}`), at(1)))
	ok(t, s.PutRotation(ctx, "r2", []byte(`{"id":"r2","name":"\u00e9\u6f22"}`), at(2)))
	ok(t, s.PutRotation(ctx, "r1", []byte(`{"id":"r1","v":2}`), at(3)))
	same(t, "rotations after an update", rotations(), map[string]string{"r1": `{"id":"r1","v":2}`, "r2": `{"id":"r2","name":"\u00e9\u6f22"}`})
	ok(t, s.DeleteRotation(ctx, "r2"))
	same(t, "rotations after a delete", rotations(), map[string]string{"r1": `{"id":"r1","v":2}`})
	isErr(t, "DeleteRotation of a deleted rotation", s.DeleteRotation(ctx, "r2"), store.ErrNotFound)
	isErr(t, "DeleteRotation of an unknown rotation", s.DeleteRotation(ctx, "r404"), store.ErrNotFound)
}

func testOverrides(t *testing.T, s store.Store) {
	ctx := t.Context()
	overrides := func(since time.Time) []string {
		t.Helper()
		bs, err := s.Overrides(ctx, since)
		ok(t, err)
		out := []string{}
		for _, b := range bs {
			out = append(out, string(b))
		}
		sort.Strings(out) // in no particular order
		return out
	}
	same(t, "no overrides", overrides(at(0)), []string{})
	ok(t, s.PutOverride(ctx, "o1", "r1", []byte(`o1 ends 10`), at(10)))
	ok(t, s.PutOverride(ctx, "o2", "r1", []byte(`o2 ends 20`), at(20)))
	ok(t, s.PutOverride(ctx, "o3", "r2", []byte(`o3 ends 5`), at(5)))
	same(t, "Overrides since the start", overrides(at(0)), []string{"o1 ends 10", "o2 ends 20", "o3 ends 5"})
	same(t, "Overrides since 5 (one ending then is over)", overrides(at(5)), []string{"o1 ends 10", "o2 ends 20"})
	same(t, "Overrides since 10", overrides(at(10)), []string{"o2 ends 20"})
	same(t, "Overrides after every end", overrides(at(20)), []string{})

	ok(t, s.PutOverride(ctx, "o1", "r2", []byte(`o1 ends 30`), at(30)))
	same(t, "Overrides after moving an end", overrides(at(10)), []string{"o1 ends 30", "o2 ends 20"})
	ok(t, s.PutOverride(ctx, "o2", "r1", []byte(`o2 ends 3`), at(3)))
	same(t, "Overrides after moving an end earlier", overrides(at(4)), []string{"o1 ends 30", "o3 ends 5"})

	ok(t, s.DeleteOverride(ctx, "o1"))
	same(t, "Overrides after a delete", overrides(at(0)), []string{"o2 ends 3", "o3 ends 5"})
	isErr(t, "DeleteOverride of a deleted override", s.DeleteOverride(ctx, "o1"), store.ErrNotFound)
	isErr(t, "DeleteOverride of an unknown override", s.DeleteOverride(ctx, "o404"), store.ErrNotFound)
}

func testPolicies(t *testing.T, s store.Store) {
	ctx := t.Context()
	policies := func() (map[string]string, string) {
		t.Helper()
		m, def, err := s.Policies(ctx)
		ok(t, err)
		return docs(m), def
	}
	check := func(what string, wantDocs map[string]string, wantDef string) {
		t.Helper()
		got, def := policies()
		same(t, what+": documents", got, wantDocs)
		if def != wantDef {
			t.Fatalf("%s: default %q, want %q", what, def, wantDef)
		}
	}
	check("no policies", map[string]string{}, "")

	ok(t, s.PutPolicy(ctx, "p1", []byte(`p1 v1`), false, at(1)))
	check("one policy, not default", map[string]string{"p1": "p1 v1"}, "")
	ok(t, s.PutPolicy(ctx, "p2", []byte(`p2 v1`), true, at(2)))
	check("a default policy", map[string]string{"p1": "p1 v1", "p2": "p2 v1"}, "p2")
	ok(t, s.PutPolicy(ctx, "p3", []byte(`p3 v1`), true, at(3)))
	check("a new default clears the old", map[string]string{"p1": "p1 v1", "p2": "p2 v1", "p3": "p3 v1"}, "p3")
	ok(t, s.PutPolicy(ctx, "p2", []byte(`p2 v2`), false, at(4)))
	check("updating another policy leaves the default", map[string]string{"p1": "p1 v1", "p2": "p2 v2", "p3": "p3 v1"}, "p3")
	ok(t, s.PutPolicy(ctx, "p3", []byte(`p3 v2`), true, at(5)))
	check("updating the default policy as default", map[string]string{"p1": "p1 v1", "p2": "p2 v2", "p3": "p3 v2"}, "p3")
	ok(t, s.PutPolicy(ctx, "p1", []byte(`p1 v2`), true, at(6)))
	check("an existing policy made default", map[string]string{"p1": "p1 v2", "p2": "p2 v2", "p3": "p3 v2"}, "p1")
	// A put replaces the whole policy, its default flag too.
	ok(t, s.PutPolicy(ctx, "p1", []byte(`p1 v3`), false, at(7)))
	check("the default policy put as not default", map[string]string{"p1": "p1 v3", "p2": "p2 v2", "p3": "p3 v2"}, "")

	ok(t, s.PutPolicy(ctx, "p2", []byte(`p2 v2`), true, at(8)))
	ok(t, s.DeletePolicy(ctx, "p2"))
	check("the default policy deleted", map[string]string{"p1": "p1 v3", "p3": "p3 v2"}, "")
	isErr(t, "DeletePolicy of a deleted policy", s.DeletePolicy(ctx, "p2"), store.ErrNotFound)
	isErr(t, "DeletePolicy of an unknown policy", s.DeletePolicy(ctx, "p404"), store.ErrNotFound)
}

// testPoliciesConcurrentDefault makes several policies default at once, each in its own
// transaction as the hotline does, and expects one default at the end: deleting it
// must leave none.
func testPoliciesConcurrentDefault(t *testing.T, s store.Store) {
	concurrentDefaults(t, s, 10, func(id string, round int) error {
		return s.InTx(t.Context(), func(tx store.Tx) error {
			return tx.PutPolicy(t.Context(), id, []byte("doc"), true, at(round))
		})
	})
}

// testPoliciesConcurrentDefaultNoTx is testPoliciesConcurrentDefault without the
// transactions: the aggregates are usable outside one (store.Tx), and a default policy
// must still replace the old default.
//
// PutPolicy used to clear the old default and insert the new one in two statements,
// so two concurrent calls outside a transaction could both leave a default behind.
func testPoliciesConcurrentDefaultNoTx(t *testing.T, s store.Store) {
	concurrentDefaults(t, s, 50, func(id string, round int) error {
		return s.PutPolicy(t.Context(), id, []byte("doc"), true, at(round))
	})
}

func concurrentDefaults(t *testing.T, s store.Store, rounds int, put func(id string, round int) error) {
	t.Helper()
	ctx := t.Context()
	const writers = 8
	for round := range rounds {
		errs := race(writers, func(i int) error { return put(fmt.Sprintf("p%d-%d", round, i), round) })
		for _, err := range errs {
			ok(t, err)
		}
		_, def, err := s.Policies(ctx)
		ok(t, err)
		if def == "" {
			t.Fatalf("round %d: no default after %d policies were made default", round, writers)
		}
		ok(t, s.DeletePolicy(ctx, def))
		_, def2, err := s.Policies(ctx)
		ok(t, err)
		if def2 != "" {
			t.Fatalf("round %d: after deleting the default %s, %s is default too: concurrent puts left two defaults", round, def, def2)
		}
	}
}

func testCommChecks(t *testing.T, s store.Store) {
	ctx := t.Context()
	list := func(limit int) []store.CommCheck {
		t.Helper()
		cs, err := s.CommChecks(ctx, limit)
		ok(t, err)
		return cs
	}
	same(t, "no comm checks", len(list(10)), 0)
	cc := func(id string, created int, teams ...string) store.CommCheck {
		return store.CommCheck{ID: id, PageID: "cn-2026-" + id, Teams: teams, CreatedBy: "scheduler", CreatedAt: at(created)}
	}
	c1, c2, c3 := cc("c0001", 1, "de", "jp", "kr"), cc("c0002", 3, "jp"), cc("c0003", 2, "kr", "us")
	for _, c := range []store.CommCheck{c1, c2, c3} {
		ok(t, s.CreateCommCheck(ctx, c))
	}
	same(t, "CommChecks, newest first", list(10), []store.CommCheck{c2, c3, c1})
	same(t, "CommChecks with a limit", list(1), []store.CommCheck{c2})
}

// testCommCheckNoTeams stores a comm check that names no team.
//
// An empty team list once came back as one team "" (strings.Split of an empty column).
func testCommCheckNoTeams(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok(t, s.CreateCommCheck(ctx, store.CommCheck{ID: "c0001", PageID: "cn-2026-p0001", CreatedBy: "alice", CreatedAt: at(1)}))
	cs, err := s.CommChecks(ctx, 10)
	ok(t, err)
	if len(cs) != 1 {
		t.Fatalf("CommChecks: got %d comm checks, want 1", len(cs))
	}
	if len(cs[0].Teams) != 0 {
		t.Fatalf("comm check stored with no teams came back with teams %q, want none", cs[0].Teams)
	}
}

func testLeases(t *testing.T, s store.Store) {
	ctx := t.Context()
	const ttl = 10 * time.Minute
	try := func(name, holder string, now time.Time) bool {
		t.Helper()
		got, err := s.TryLease(ctx, name, holder, now, ttl)
		ok(t, err)
		return got
	}
	expect := func(what, name, holder string, now time.Time, want bool) {
		t.Helper()
		if got := try(name, holder, now); got != want {
			t.Fatalf("TryLease %s (%s by %s at %v): got %v, want %v", what, name, holder, now.Format(time.TimeOnly), got, want)
		}
	}
	expect("of a free lease", "engine", "a", at(0), true)
	expect("renewed by its holder", "engine", "a", at(5), true) // now held until 15
	expect("by another holder before expiry", "engine", "b", at(1), false)
	expect("by another holder after the first term, before the renewed one ends", "engine", "b", at(12), false)
	expect("of another lease", "other", "b", at(12), true)
	expect("by another holder after expiry", "engine", "b", at(16), true) // b until 26
	expect("by the former holder", "engine", "a", at(17), false)
	expect("renewed by the new holder", "engine", "b", at(17), true) // b until 27
	expect("renewed after it expired, nobody having taken it", "other", "b", at(40), true)

	// Releasing someone else's lease does nothing.
	ok(t, s.ReleaseLease(ctx, "engine", "a"))
	expect("after another holder released it", "engine", "a", at(18), false)
	// Its holder releasing it lets another take it at once.
	ok(t, s.ReleaseLease(ctx, "engine", "b"))
	expect("right after its holder released it", "engine", "a", at(18), true)
	expect("by the holder that released it", "engine", "b", at(19), false)
	ok(t, s.ReleaseLease(ctx, "never-taken", "a"))
	ok(t, s.ReleaseLease(ctx, "engine", "a"))
	ok(t, s.ReleaseLease(ctx, "engine", "a"))
	expect("released twice", "engine", "c", at(20), true)
}

// testLeasesConcurrent starts several replicas at once: exactly one gets the lease.
func testLeasesConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const rounds, replicas = 5, 8
	for round := range rounds {
		name := fmt.Sprintf("engine%d", round)
		took := make([]bool, replicas)
		errs := race(replicas, func(i int) error {
			var err error
			took[i], err = s.TryLease(ctx, name, fmt.Sprintf("replica%d", i), at(round), time.Minute)
			return err
		})
		for _, err := range errs {
			ok(t, err)
		}
		if k := len(slices.DeleteFunc(took, func(b bool) bool { return !b })); k != 1 {
			t.Fatalf("%d of %d replicas took one lease at once, want 1", k, replicas)
		}
	}
}

// testHotlineTimes is testTimes for the hotline's records.
func testHotlineTimes(t *testing.T, s store.Store) {
	ctx := t.Context()
	in, check, checkPtr := timeChecks(t)

	p := store.Page{ID: "p1", From: "cn", Severity: "high", Summary: "s", TLP: "AMBER", CreatedBy: "alice", CreatedAt: in,
		ResolvedAt: &in, Deliveries: []store.Delivery{{Team: "jp", State: "resolved", SentAt: in, DeliveredAt: &in,
			NotifiedAt: &in, AcknowledgedAt: &in, FallbackAt: &in, ResolvedAt: &in}}}
	ok(t, s.CreatePage(ctx, p))
	gotP := getPage(t, s, "p1")
	check("page created_at", gotP.CreatedAt)
	checkPtr("page resolved_at", gotP.ResolvedAt)
	d := gotP.Deliveries[0]
	check("delivery sent_at", d.SentAt)
	for what, v := range map[string]*time.Time{"delivered_at": d.DeliveredAt, "notified_at": d.NotifiedAt,
		"acknowledged_at": d.AcknowledgedAt, "fallback_at": d.FallbackAt, "resolved_at": d.ResolvedAt} {
		checkPtr("delivery "+what, v)
	}

	ok(t, s.PutEscalation(ctx, store.Escalation{PageID: "p1", Policy: "{}", NextAt: &in, StartedAt: in, StoppedAt: &in}))
	e, err := s.GetEscalation(ctx, "p1")
	ok(t, err)
	checkPtr("escalation next_at", e.NextAt)
	check("escalation started_at", e.StartedAt)
	checkPtr("escalation stopped_at", e.StoppedAt)
	next, err := s.NextEscalation(ctx)
	ok(t, err)
	check("NextEscalation", next)

	n := store.Notification{ID: "n1", PageID: "p1", User: "alice", Channel: "email", DedupeKey: "k", State: "pending", CreatedAt: in}
	if _, err := s.AddNotification(ctx, n); err != nil {
		t.Fatal(err)
	}
	n.State, n.AttemptedAt, n.FinishedAt = "sent", &in, &in
	ok(t, s.PutNotification(ctx, n))
	ns := pageNotifications(t, s, "p1")
	check("notification created_at", ns[0].CreatedAt)
	checkPtr("notification attempted_at", ns[0].AttemptedAt)
	checkPtr("notification finished_at", ns[0].FinishedAt)

	ok(t, s.PutContact(ctx, store.Contact{ID: "c1", User: "alice", Channel: "email", Address: "a@example.org", CreatedAt: in}))
	cs, err := s.Contacts(ctx, "alice")
	ok(t, err)
	check("contact created_at", cs[0].CreatedAt)

	ok(t, s.PutAckCode(ctx, store.AckCode{CodeHash: "h", PageID: "p1", Team: "jp", Purpose: "notify", ExpiresAt: in}))
	ok(t, s.UseAckCode(ctx, "h", in))
	a, err := s.GetAckCode(ctx, "h")
	ok(t, err)
	check("ack code expires_at", a.ExpiresAt)
	checkPtr("ack code used_at", a.UsedAt)

	ok(t, s.CreateCommCheck(ctx, store.CommCheck{ID: "c1", PageID: "p1", Teams: []string{"jp"}, CreatedBy: "alice", CreatedAt: in}))
	ccs, err := s.CommChecks(ctx, 1)
	ok(t, err)
	check("comm check created_at", ccs[0].CreatedAt)
}

func testPeerOnCall(t *testing.T, s store.Store) {
	ctx := t.Context()
	list := func() []store.PeerOnCall {
		t.Helper()
		ps, err := s.PeerOnCalls(ctx)
		ok(t, err)
		return ps
	}
	put := func(p store.PeerOnCall, want bool) {
		t.Helper()
		stored, err := s.PutPeerOnCall(ctx, p)
		ok(t, err)
		if stored != want {
			t.Fatalf("PutPeerOnCall %s at %v: stored %v, want %v", p.Team, p.At, stored, want)
		}
	}
	same(t, "no summaries", list(), []store.PeerOnCall{})
	jp1 := store.PeerOnCall{Team: "jp", Data: []byte(`{"team":"jp","v":1,"name":"田中"}`), At: at(10), ReceivedAt: at(11)}
	kr1 := store.PeerOnCall{Team: "kr", Data: []byte(`{"team":"kr","v":1}`), At: at(5), ReceivedAt: at(6)}
	put(jp1, true)
	put(kr1, true)
	same(t, "two summaries, by team", list(), []store.PeerOnCall{jp1, kr1})

	jp2 := store.PeerOnCall{Team: "jp", Data: []byte(`{"team":"jp","v":2}`), At: at(20), ReceivedAt: at(21)}
	put(jp2, true)
	same(t, "a newer summary replaces the old", list(), []store.PeerOnCall{jp2, kr1})

	put(store.PeerOnCall{Team: "jp", Data: []byte(`{"team":"jp","v":"old"}`), At: at(15), ReceivedAt: at(30)}, false)
	put(store.PeerOnCall{Team: "jp", Data: []byte(`{"team":"jp","v":"same"}`), At: at(20), ReceivedAt: at(31)}, false)
	same(t, "an older or equally old summary is ignored", list(), []store.PeerOnCall{jp2, kr1})
}

func testPeerOnCallInTx(t *testing.T, s store.Store) {
	ctx := t.Context()
	p := store.PeerOnCall{Team: "jp", Data: []byte(`{}`), At: at(1), ReceivedAt: at(2)}
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.PutPeerOnCall(ctx, p); err != nil {
			return err
		}
		return boom
	})
	isErr(t, "InTx", err, boom)
	ps, err := s.PeerOnCalls(ctx)
	ok(t, err)
	same(t, "summary after a rolled-back transaction", ps, []store.PeerOnCall{})
	ok(t, s.InTx(ctx, func(tx store.Tx) error {
		_, err := tx.PutPeerOnCall(ctx, p)
		return err
	}))
	ps, err = s.PeerOnCalls(ctx)
	ok(t, err)
	same(t, "summary after a commit", ps, []store.PeerOnCall{p})
}
