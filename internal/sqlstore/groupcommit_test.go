package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/store"
)

// Writers that arrive while another holds the write lock share its transaction and its
// one commit; one whose function fails is rolled back alone.
func TestWritersArrivingTogetherShareOneCommit(t *testing.T) {
	db := openSQLite(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	ctx := t.Context()
	for _, p := range []string{"p0", "p1", "p2", "p3", "p4"} {
		if err := db.EnsureLink(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	commits0, _ := db.CommitStats()
	release := make(chan struct{})
	errBoom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 5)
	write := func(i int, hold bool) {
		defer wg.Done()
		errs[i] = db.InTx(ctx, func(tx store.Tx) error {
			if _, err := tx.TakeSeq(ctx, fmt.Sprintf("p%d", i)); err != nil {
				return err
			}
			if hold {
				<-release
			}
			if i == 3 {
				return errBoom
			}
			return nil
		})
	}
	wg.Add(1)
	go write(0, true)
	// The first writer holds the transaction; the others queue behind it.
	waitFor(t, func() bool { return db.commits.open.Load() != nil && db.commits.waiting.Load() == 0 })
	for i := 1; i < 5; i++ {
		wg.Add(1)
		go write(i, false)
	}
	waitFor(t, func() bool { return db.commits.waiting.Load() == 4 })
	close(release)
	wg.Wait()
	for i, err := range errs {
		if want := (i == 3); (err != nil) != want || want && !errors.Is(err, errBoom) {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if commits, _ := db.CommitStats(); commits-commits0 != 1 {
		t.Errorf("%d commits for five writers arriving together, want 1", commits-commits0)
	}
	for i := range 5 {
		l, err := db.GetLink(ctx, fmt.Sprintf("p%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if want := uint64(2); i == 3 {
			if l.NextSeq != 1 {
				t.Errorf("p3: the failed writer's change was kept (next_seq %d)", l.NextSeq)
			}
		} else if l.NextSeq != want {
			t.Errorf("p%d: next_seq %d, want %d", i, l.NextSeq, want)
		}
	}
}

// A writer that passed its turn returns only once the shared commit is made, so what
// it was told is on disk; and it learns when that commit failed.
func TestAMemberWaitsForTheSharedCommit(t *testing.T) {
	db := openSQLite(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	ctx := t.Context()
	if err := db.EnsureLink(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- db.InTx(ctx, func(tx store.Tx) error {
			_, err := tx.TakeSeq(ctx, "p")
			<-release
			return err
		})
	}()
	waitFor(t, func() bool { return db.commits.open.Load() != nil })
	secondIn := make(chan struct{})
	secondDone := make(chan error, 1)
	go func() {
		defer func() { secondDone <- fmt.Errorf("panicked: %v", recover()) }()
		db.InTx(ctx, func(tx store.Tx) error {
			close(secondIn)
			// The last member panics: the shared transaction is rolled back, and the
			// first writer, which is waiting for the commit, must be told.
			panic("boom")
		})
	}()
	waitFor(t, func() bool { return db.commits.waiting.Load() == 1 })
	close(release)
	<-secondIn
	if err := <-secondDone; err.Error() != "panicked: boom" {
		t.Fatalf("second writer: %v", err)
	}
	if err := <-firstDone; !errors.Is(err, errGroupAborted) {
		t.Fatalf("first writer: %v, want the shared rollback", err)
	}
	if l, _ := db.GetLink(ctx, "p"); l.NextSeq != 1 {
		t.Fatalf("next_seq %d after the rollback", l.NextSeq)
	}
	// The goroutine that panicked died with it; the store goes on.
	if err := db.InTx(ctx, func(tx store.Tx) error { _, err := tx.TakeSeq(ctx, "p"); return err }); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// A transaction that appends several audit records reads the chain's head once; a
// savepoint rolled back takes its records, and the remembered head, with it. The chain
// stays whole.
func TestAuditHeadWithinATransaction(t *testing.T) {
	db := openSQLite(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	ctx := t.Context()
	now := time.Now()
	errUndo := errors.New("undo")
	err := db.InTx(ctx, func(tx store.Tx) error {
		for i := range 3 {
			if err := audit.Append(ctx, tx, now, "peer:cn", "entry.comment", "cn-2026-0001", fmt.Sprint(i)); err != nil {
				return err
			}
		}
		err := tx.Within(ctx, func() error {
			if err := audit.Append(ctx, tx, now, "peer:cn", "entry.comment", "cn-2026-0001", "undone"); err != nil {
				return err
			}
			return errUndo
		})
		if !errors.Is(err, errUndo) {
			return fmt.Errorf("within: %v", err)
		}
		return audit.Append(ctx, tx, now, "peer:cn", "entry.comment", "cn-2026-0001", "after")
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := audit.Verify(ctx, db)
	if err != nil || n != 4 {
		t.Fatalf("chain of %d records: %v", n, err)
	}
	recs, _ := db.ListAudit(ctx, 0, 10)
	if recs[3].Detail != "after" {
		t.Fatalf("last record %q", recs[3].Detail)
	}
}

// A writer whose request ended while it waited in the queue writes nothing and leaves
// the transaction it would have joined to the others.
func TestACancelledWriterDoesNotFailTheGroup(t *testing.T) {
	db := openSQLite(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	ctx := t.Context()
	for _, p := range []string{"a", "b"} {
		if err := db.EnsureLink(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	release := make(chan struct{})
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- db.InTx(ctx, func(tx store.Tx) error {
			_, err := tx.TakeSeq(ctx, "a")
			<-release
			return err
		})
	}()
	waitFor(t, func() bool { return db.commits.open.Load() != nil })
	gone, cancel := context.WithCancel(ctx)
	secondDone := make(chan error, 1)
	go func() {
		secondDone <- db.InTx(gone, func(tx store.Tx) error { _, err := tx.TakeSeq(gone, "b"); return err })
	}()
	waitFor(t, func() bool { return db.commits.waiting.Load() == 1 })
	cancel()
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatalf("the first writer failed with the cancelled one: %v", err)
	}
	if err := <-secondDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled writer: %v", err)
	}
	if a, _ := db.GetLink(ctx, "a"); a.NextSeq != 2 {
		t.Fatalf("a: next_seq %d", a.NextSeq)
	}
	if b, _ := db.GetLink(ctx, "b"); b.NextSeq != 1 {
		t.Fatalf("b: next_seq %d", b.NextSeq)
	}
}
