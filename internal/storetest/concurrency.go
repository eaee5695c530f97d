package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"csirtlink/internal/store"
)

// The tests in this file run several writers at once against one store, each doing what
// the services do: read a record inside a transaction, decide, write it back. On SQLite
// every transaction runs alone; on PostgreSQL they run together, and the store's locks
// (store.Tx) must make the outcome the same. Each counts on a lost update showing: N
// increments must leave N.

const writers, rounds = 8, 5

// increments runs writers×rounds transactions that each add one to a value through
// read and write, and checks that none was lost.
func increments(t *testing.T, s store.Store, what string, read func(tx store.Tx) (int, error), write func(tx store.Tx, v int) error) {
	t.Helper()
	ctx := t.Context()
	errs := race(writers, func(int) error {
		for range rounds {
			err := s.InTx(ctx, func(tx store.Tx) error {
				v, err := read(tx)
				if err != nil {
					return err
				}
				return write(tx, v+1)
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	for _, err := range errs {
		ok(t, err)
	}
	var got int
	ok(t, s.InTx(ctx, func(tx store.Tx) error {
		var err error
		got, err = read(tx)
		return err
	}))
	if got != writers*rounds {
		t.Fatalf("%s: %d concurrent read-change-write transactions left %d: updates were lost", what, writers*rounds, got)
	}
}

func testConcurrentIncidentUpdates(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok(t, s.CreateIncident(ctx, incident("cn-2026-0001", "cn", 1, "cn", "jp")))
	increments(t, s, "GetIncident then UpdateIncident",
		func(tx store.Tx) (int, error) {
			in, err := tx.GetIncident(ctx, "cn-2026-0001")
			return int(in.LastPosition), err
		},
		func(tx store.Tx, v int) error {
			in, err := tx.GetIncident(ctx, "cn-2026-0001")
			if err != nil {
				return err
			}
			in.LastPosition = int64(v)
			return tx.UpdateIncident(ctx, in)
		})
}

func testConcurrentPageUpdates(t *testing.T, s store.Store) {
	ctx := t.Context()
	createPages(t, s, page("jp-2026-p0001", "jp", 1, "cn"))
	// The page row is the lock; the count lives in its delivery, as a page's state does.
	increments(t, s, "GetPage then PutDelivery",
		func(tx store.Tx) (int, error) {
			p, err := tx.GetPage(ctx, "jp-2026-p0001")
			if err != nil {
				return 0, err
			}
			return len(p.Deliveries[0].FallbackError), nil
		},
		func(tx store.Tx, v int) error {
			p, err := tx.GetPage(ctx, "jp-2026-p0001")
			if err != nil {
				return err
			}
			d := p.Deliveries[0]
			d.FallbackError = strings.Repeat("x", v)
			return tx.PutDelivery(ctx, d)
		})
}

func testConcurrentDeliveryUpdates(t *testing.T, s store.Store) {
	ctx := t.Context()
	createPages(t, s, page("jp-2026-p0001", "jp", 1, "cn"))
	increments(t, s, "GetDelivery then PutDelivery",
		func(tx store.Tx) (int, error) {
			d, err := tx.GetDelivery(ctx, "jp-2026-p0001", "cn")
			return len(d.NotifiedChannel), err
		},
		func(tx store.Tx, v int) error {
			d, err := tx.GetDelivery(ctx, "jp-2026-p0001", "cn")
			if err != nil {
				return err
			}
			d.NotifiedChannel = strings.Repeat("x", v)
			return tx.PutDelivery(ctx, d)
		})
}

func testConcurrentEscalationSteps(t *testing.T, s store.Store) {
	ctx := t.Context()
	createPages(t, s, page("jp-2026-p0001", "jp", 1, "cn"))
	ok(t, s.PutEscalation(ctx, store.Escalation{PageID: "jp-2026-p0001", Policy: "{}", StartedAt: at(1), NextAt: ptr(at(1))}))
	increments(t, s, "GetEscalation then PutEscalation",
		func(tx store.Tx) (int, error) {
			e, err := tx.GetEscalation(ctx, "jp-2026-p0001")
			return e.Level, err
		},
		func(tx store.Tx, v int) error {
			e, err := tx.GetEscalation(ctx, "jp-2026-p0001")
			if err != nil {
				return err
			}
			e.Level = v
			return tx.PutEscalation(ctx, e)
		})
}

func testConcurrentLinkApply(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok(t, s.EnsureLink(ctx, "jp"))
	increments(t, s, "LockLink then SetLastInSeq",
		func(tx store.Tx) (int, error) {
			l, err := tx.LockLink(ctx, "jp")
			return int(l.LastInSeq), err
		},
		func(tx store.Tx, v int) error {
			// Taking sequence numbers for the peer meanwhile, as relaying does, must not
			// deadlock with the inbound lock.
			if _, err := tx.TakeSeq(ctx, "jp"); err != nil {
				return err
			}
			return tx.SetLastInSeq(ctx, "jp", uint64(v))
		})
}

// testConcurrentAuditAppends appends to the audit log from many transactions at once, as
// audit.Append does: every append must succeed and the chain must not fork.
func testConcurrentAuditAppends(t *testing.T, s store.Store) {
	ctx := t.Context()
	errs := race(writers, func(w int) error {
		for i := range rounds {
			err := s.InTx(ctx, func(tx store.Tx) error {
				last, err := tx.LastAudit(ctx)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				r := store.AuditRecord{Seq: last.Seq + 1, At: at(1), Actor: fmt.Sprintf("w%d", w), Action: "a", Object: fmt.Sprint(i),
					PrevHash: last.Hash, Hash: fmt.Sprintf("h%d", last.Seq+1)}
				return tx.PutAudit(ctx, r)
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	for _, err := range errs {
		ok(t, err)
	}
	rs, err := s.ListAudit(ctx, 0, 1000)
	ok(t, err)
	if len(rs) != writers*rounds {
		t.Fatalf("%d records after %d appends", len(rs), writers*rounds)
	}
	for i, r := range rs {
		if r.Seq != int64(i+1) || (i > 0 && r.PrevHash != rs[i-1].Hash) {
			t.Fatalf("record %d (seq %d, prev %q) does not follow the one before: the chain forked", i, r.Seq, r.PrevHash)
		}
	}
}

// testConcurrentClaims has several engines claim the same pending notifications, each
// from the list it read before its transaction, as the notifier does: each attempt is
// claimed once.
func testConcurrentClaims(t *testing.T, s store.Store) {
	ctx := t.Context()
	createPages(t, s, page("jp-2026-p0001", "jp", 1, "cn"))
	const n = 20
	for i := range n {
		_, err := s.AddNotification(ctx, notification(fmt.Sprintf("n%02d", i), "jp-2026-p0001", "kim", "email", i))
		ok(t, err)
	}
	pending, err := s.PendingNotifications(ctx, 100)
	ok(t, err)
	var claims atomic.Int64
	errs := race(writers, func(int) error {
		return s.InTx(ctx, func(tx store.Tx) error {
			for _, stale := range pending {
				cur, err := tx.GetNotification(ctx, stale.ID)
				if err != nil {
					return err
				}
				if cur.State != "pending" {
					continue
				}
				cur.State, cur.AttemptedAt = "sending", ptr(at(30))
				if err := tx.PutNotification(ctx, cur); err != nil {
					return err
				}
				tx.OnCommit(func() { claims.Add(1) })
			}
			return nil
		})
	})
	for _, err := range errs {
		ok(t, err)
	}
	if got := claims.Load(); got != n {
		t.Fatalf("%d engines claimed %d pending notifications %d times, want each once", writers, n, got)
	}
	_, err = s.GetNotification(ctx, "n404")
	isErr(t, "GetNotification of an unknown attempt", err, store.ErrNotFound)
}

// testDiagnosticText stores error messages holding bytes PostgreSQL's text refuses (a
// NUL, invalid UTF-8), as a peer's error body or a mail relay's reply may: they are kept,
// cleaned, not lost with the write.
func testDiagnosticText(t *testing.T, s store.Store) {
	ctx := t.Context()
	const junk = "502 bad gateway \x00\xff\xfe end"
	clean := func(what, got string) {
		t.Helper()
		if !utf8.ValidString(got) || strings.ContainsRune(got, 0) || !strings.HasPrefix(got, "502 bad gateway ") || !strings.HasSuffix(got, " end") {
			t.Errorf("%s stored as %q: want the message, valid UTF-8 without NUL", what, got)
		}
	}
	ok(t, s.EnsureLink(ctx, "jp"))
	ok(t, s.LinkError(ctx, "jp", at(1), junk))
	l, err := s.GetLink(ctx, "jp")
	ok(t, err)
	clean("a link error", l.LastError)
	ok(t, s.LinkPullError(ctx, "jp", at(1), junk))
	l, err = s.GetLink(ctx, "jp")
	ok(t, err)
	clean("a pull error", l.LastPullError)

	ok(t, s.AddRefusal(ctx, store.Refusal{ID: "r1", At: at(1), Peer: "jp", Remote: "198.51.100.7\x00", Reason: "malformed\xff", Detail: junk}))
	rs, err := s.Refusals(ctx, 10)
	ok(t, err)
	if len(rs) != 1 {
		t.Fatalf("%d refusals stored, want 1", len(rs))
	}
	clean("a refusal's detail", rs[0].Detail)

	createPages(t, s, page("cn-2026-p0001", "cn", 1, "jp"))
	n := notification("n1", "cn-2026-p0001", "kim", "email", 1)
	_, err = s.AddNotification(ctx, n)
	ok(t, err)
	n.State, n.Error = "failed", junk
	ok(t, s.PutNotification(ctx, n))
	got, err := s.GetNotification(ctx, "n1")
	ok(t, err)
	clean("a notification error", got.Error)

	d := getDelivery(t, s, "cn-2026-p0001", "jp")
	d.FallbackAt, d.FallbackError = ptr(at(2)), junk
	ok(t, s.PutDelivery(ctx, d))
	clean("a fallback error", getDelivery(t, s, "cn-2026-p0001", "jp").FallbackError)
}
