package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"csirtlink/internal/pgtest"
	"csirtlink/internal/store"
)

// fresh reads an incident from the database itself, past what tx keeps.
func fresh(t *testing.T, ctx context.Context, tx store.Tx, id string) store.Incident {
	t.Helper()
	c := tx.(conn)
	c.local = nil
	in, err := c.GetIncident(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// The incident a transaction keeps is, after each of its writes and after a rollback to
// a savepoint, what the database holds: the next entry of a batch decides by it.
func testIncidentKeptAsTheDatabaseHoldsIt(t *testing.T, db *DB) {
	ctx := t.Context()
	now := time.Date(2026, 12, 3, 9, 0, 0, 123456789, time.UTC)
	in := store.Incident{ID: "cn-2026-0001", Coordinator: "cn", Title: "t", Category: "c", Severity: "high", TLP: "AMBER",
		Status: "open", CreatedBy: "li", CreatedAt: now, UpdatedAt: now,
		Participants: []store.Participant{{Team: "cn", Status: "acknowledged", AcknowledgedAt: &now, UpdatedAt: now}, {Team: "kr", Status: "invited", UpdatedAt: now}}}
	if err := db.InTx(ctx, func(tx store.Tx) error { return tx.CreateIncident(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	errUndo := errors.New("undo")
	same := func(tx store.Tx, step string) {
		t.Helper()
		got, err := tx.GetIncident(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := fresh(t, ctx, tx, in.ID); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: kept\n%+v\nthe database holds\n%+v", step, got, want)
		}
	}
	err := db.InTx(ctx, func(tx store.Tx) error {
		got, err := tx.GetIncident(ctx, in.ID)
		if err != nil {
			return err
		}
		// What a caller does with its copy is not what the transaction keeps.
		got.Participants[1].Status, got.Status = "done", "closed"
		same(tx, "after a caller changed its copy")

		later := now.Add(time.Second + 987)
		got.Status, got.UpdatedAt, got.LastPosition = "in_progress", later, 7
		if err := tx.UpdateIncident(ctx, got); err != nil {
			return err
		}
		same(tx, "after UpdateIncident")
		if err := tx.UpsertParticipant(ctx, in.ID, store.Participant{Team: "kr", Status: "working", AcknowledgedAt: &later, UpdatedAt: later}); err != nil {
			return err
		}
		same(tx, "after a participant's status")
		if err := tx.UpsertParticipant(ctx, in.ID, store.Participant{Team: "jp", Status: "invited", UpdatedAt: later}); err != nil {
			return err
		}
		same(tx, "after a new participant")
		err = tx.Within(ctx, func() error {
			got, err := tx.GetIncident(ctx, in.ID)
			if err != nil {
				return err
			}
			got.Status = "closed"
			if err := tx.UpdateIncident(ctx, got); err != nil {
				return err
			}
			if err := tx.UpsertParticipant(ctx, in.ID, store.Participant{Team: "kr", Status: "done", UpdatedAt: later}); err != nil {
				return err
			}
			return errUndo
		})
		if !errors.Is(err, errUndo) {
			return fmt.Errorf("within: %v", err)
		}
		same(tx, "after a rollback to a savepoint")
		if got, _ := tx.GetIncident(ctx, in.ID); got.Status != "in_progress" {
			return fmt.Errorf("after the rollback the incident is %s", got.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestIncidentKeptAsTheDatabaseHoldsIt(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		db := openSQLite(t, filepath.Join(t.TempDir(), "node.db"))
		defer db.Close()
		testIncidentKeptAsTheDatabaseHoldsIt(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		pgtest.Base(t)
		testIncidentKeptAsTheDatabaseHoldsIt(t, openPostgres(t, pgtest.DSN(t)))
	})
}

// Writers sharing one commit share what the transaction keeps; a writer rolled back to
// its savepoint leaves nothing of its writes there for the next.
func TestAFailedWriterLeavesNothingKeptForTheNext(t *testing.T) {
	db := openSQLite(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	ctx := t.Context()
	now := time.Now().UTC()
	in := store.Incident{ID: "cn-2026-0001", Coordinator: "cn", Title: "t", Category: "c", Severity: "high", TLP: "AMBER",
		Status: "open", CreatedBy: "li", CreatedAt: now, UpdatedAt: now, Participants: []store.Participant{{Team: "cn", Status: "invited", UpdatedAt: now}}}
	if err := db.InTx(ctx, func(tx store.Tx) error { return tx.CreateIncident(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- db.InTx(ctx, func(tx store.Tx) error {
			_, err := tx.GetIncident(ctx, in.ID) // kept for the group
			<-release
			return err
		})
	}()
	waitFor(t, func() bool { return db.commits.open.Load() != nil })
	errUndo := errors.New("undo")
	var failedRan atomic.Bool
	failed := make(chan error, 1)
	go func() {
		failed <- db.InTx(ctx, func(tx store.Tx) error {
			failedRan.Store(true)
			got, err := tx.GetIncident(ctx, in.ID)
			if err != nil {
				return err
			}
			got.Status = "closed"
			if err := tx.UpdateIncident(ctx, got); err != nil {
				return err
			}
			return errUndo
		})
	}()
	waitFor(t, func() bool { return db.commits.waiting.Load() == 1 })
	third := make(chan error, 1)
	go func() {
		third <- db.InTx(ctx, func(tx store.Tx) error {
			if !failedRan.Load() {
				return errors.New("ran before the failed writer")
			}
			got, err := tx.GetIncident(ctx, in.ID)
			if err != nil {
				return err
			}
			if got.Status != "open" {
				return fmt.Errorf("sees the failed writer's status %q", got.Status)
			}
			return nil
		})
	}()
	waitFor(t, func() bool { return db.commits.waiting.Load() == 2 })
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-failed; !errors.Is(err, errUndo) {
		t.Fatalf("the failed writer: %v", err)
	}
	if err := <-third; err != nil {
		t.Fatalf("the next writer: %v", err)
	}
}
