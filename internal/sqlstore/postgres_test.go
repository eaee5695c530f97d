package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"csirtlink/internal/pgtest"
	"csirtlink/internal/store"
	"csirtlink/internal/storetest"
)

func openPostgres(t *testing.T, dsn string) *DB {
	t.Helper()
	db, err := OpenPostgres(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestPostgresStore is the store suite on PostgreSQL, each test in a schema of its own.
func TestPostgresStore(t *testing.T) {
	pgtest.Base(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openPostgres(t, pgtest.DSN(t)) })
}

func TestPostgresReopenRunsNoMigration(t *testing.T) {
	dsn := pgtest.DSN(t)
	db := openPostgres(t, dsn)
	before := appliedMigrations(t, db)
	if err := db.CreateUser(t.Context(), store.User{ID: "u1", Name: "alice", Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openPostgres(t, dsn)
	if after := appliedMigrations(t, db); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("reopening changed schema_migrations:\n got %+v\nwant %+v", after, before)
	}
	if _, err := db.UserByName(t.Context(), "alice"); err != nil {
		t.Fatalf("data lost on reopen: %v", err)
	}
}

// TestPostgresMigrationsMirrorSQLite holds the two sets of migrations to the same numbers:
// a SQLite migration without its PostgreSQL twin would leave a PostgreSQL node behind.
func TestPostgresMigrationsMirrorSQLite(t *testing.T) {
	names := func(dialect string) []string {
		entries, err := migrations.ReadDir("migrations/" + dialect)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	sqlite, pg := names("sqlite"), names("postgres")
	if fmt.Sprint(sqlite) != fmt.Sprint(pg) {
		t.Fatalf("migrations differ:\n sqlite   %v\n postgres %v", sqlite, pg)
	}
}

// TestPostgresReplicasMigrateAtOnce starts several replicas on one empty database at the
// same moment: the migration lock lets one migrate and the others find it done.
func TestPostgresReplicasMigrateAtOnce(t *testing.T) {
	dsn := pgtest.DSN(t)
	const replicas = 4
	dbs := make([]*DB, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { dbs[i], errs[i] = OpenPostgres(t.Context(), dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	if n, files := len(appliedMigrations(t, dbs[0])), mustGlob(t, "migrations/postgres/*.sql"); n != len(files) {
		t.Fatalf("%d migrations applied, %d embedded", n, len(files))
	}
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	entries, err := migrations.ReadDir(pattern[:strings.LastIndex(pattern, "/")])
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestPostgresErrorsHideThePassword opens databases with a password in the DSN that
// cannot work, and checks that no error repeats it.
func TestPostgresErrorsHideThePassword(t *testing.T) {
	const secret = "s3cret-Pa55"
	for _, dsn := range []string{
		"postgres://csirtlink:" + secret + "@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", // nothing listens
		"postgres://csirtlink:" + secret + "@127.0.0.1:99999/x",                                  // a bad port
		"host=127.0.0.1 port=1 user=x password=" + secret + " connect_timeout=2 sslmode=disable",
		"host=127.0.0.1 password='" + secret + " unterminated",
	} {
		db, err := OpenPostgres(t.Context(), dsn)
		if err == nil {
			db.Close()
			t.Fatalf("OpenPostgres(%q) worked", dsn)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error repeats the password: %v", err)
		}
		if !strings.Contains(err.Error(), "database.dsn") && !strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("the error does not say what failed: %v", err)
		}
	}
}

// TestPostgresDeadlockVictimRunsAgain makes two transactions lock two incidents in
// opposite orders. PostgreSQL aborts one as a deadlock victim; InTx runs it again and
// both commit.
func TestPostgresDeadlockVictimRunsAgain(t *testing.T) {
	ctx := t.Context()
	db := openPostgres(t, pgtest.DSN(t))
	for _, id := range []string{"a", "b"} {
		if err := db.CreateIncident(ctx, store.Incident{ID: id, Coordinator: "cn", Status: "open", TLP: "AMBER", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	// Each transaction takes its first lock, then waits until the other has its first,
	// then asks for the other's: a deadlock on the first run. A re-run finds the
	// channels closed and goes straight through.
	first := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}
	var once = map[string]*sync.Once{"a": {}, "b": {}}
	runs := map[string]int{}
	var mu sync.Mutex
	bump := func(in store.Tx, id string) error {
		got, err := in.GetIncident(ctx, id)
		if err != nil {
			return err
		}
		got.LastPosition++
		return in.UpdateIncident(ctx, got)
	}
	txn := func(mine, theirs string) error {
		return db.InTx(ctx, func(tx store.Tx) error {
			mu.Lock()
			runs[mine]++
			mu.Unlock()
			if err := bump(tx, mine); err != nil {
				return err
			}
			once[mine].Do(func() { close(first[mine]) })
			<-first[theirs]
			return bump(tx, theirs)
		})
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = txn("a", "b") })
	wg.Go(func() { errs[1] = txn("b", "a") })
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("a transaction failed: %v", err)
	}
	if runs["a"]+runs["b"] < 3 {
		t.Fatalf("runs %v: no transaction was run again, so there was no deadlock to survive", runs)
	}
	for _, id := range []string{"a", "b"} {
		in, err := db.GetIncident(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if in.LastPosition != 2 {
			t.Errorf("incident %s: last position %d, want 2 (each transaction once)", id, in.LastPosition)
		}
	}
}

// TestPostgresChangesReachOtherReplicas opens two stores on one schema, as two replicas
// of a node, and two on another schema, as another node: a change published by one
// replica reaches the other replica's subscribers, not its own, and not the other node's.
func TestPostgresChangesReachOtherReplicas(t *testing.T) {
	dsn, otherDSN := pgtest.DSN(t), pgtest.DSN(t)
	a, b := openPostgres(t, dsn), openPostgres(t, dsn)
	c, d := openPostgres(t, otherDSN), openPostgres(t, otherDSN)
	got := func(db *DB) chan string {
		ch := make(chan string, 10)
		db.Changes().Subscribe(func(kind, id string) { ch <- kind + " " + id })
		return ch
	}
	fromA, fromB, fromD := got(a), got(b), got(d)
	for _, db := range []*DB{a, b, c, d} {
		select {
		case <-db.Changes().Listening():
		case <-t.Context().Done():
			t.Fatal("a replica never listened")
		}
	}
	a.Changes().Publish("incident", "cn-2026-0001")
	b.Changes().Publish("page", "jp-2026-p0002")
	if m := <-fromB; m != "incident cn-2026-0001" {
		t.Fatalf("replica b heard %q", m)
	}
	if m := <-fromA; m != "page jp-2026-p0002" {
		t.Fatalf("replica a heard %q", m)
	}
	// A notice after the others: PostgreSQL delivers in commit order, so when it
	// arrives, anything published before it has too.
	b.Changes().Publish("page", "last")
	if m := <-fromA; m != "page last" {
		t.Fatalf("replica a heard %q", m)
	}
	if len(fromB) > 0 {
		t.Errorf("replica b heard its own notice: %q", <-fromB)
	}
	c.Changes().Publish("page", "marker")
	if m := <-fromD; m != "page marker" {
		t.Errorf("the other node heard %q before its own replica's notice: notices leak between schemas", m)
	}
	if (&DB{}).Changes() != nil {
		t.Error("a store without a change feed returned one")
	}
}

// TestPostgresHotRowDoesNotStarveThePool queues many more transactions on one incident's
// row lock than the pool has connections, with lone reads going on meanwhile: all finish.
//
// Regression: statements were prepared through the pool; the transaction holding the
// lock needed a second connection to prepare its next statement while every connection
// was held by a transaction waiting for that lock, and the node stalled.
func TestPostgresHotRowDoesNotStarveThePool(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	db := openPostgres(t, pgtest.DSN(t))
	if err := db.CreateIncident(ctx, store.Incident{ID: "hot", Coordinator: "cn", Status: "open", TLP: "AMBER", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := db.EnsureLink(ctx, "jp"); err != nil {
		t.Fatal(err)
	}
	const writers = 3 * pgMaxConns
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for range writers {
		wg.Go(func() {
			errs <- db.InTx(ctx, func(tx store.Tx) error {
				in, err := tx.GetIncident(ctx, "hot")
				if err != nil {
					return err
				}
				in.LastPosition++
				if err := tx.UpdateIncident(ctx, in); err != nil {
					return err
				}
				_, err = tx.TakeSeq(ctx, "jp")
				return err
			})
		})
	}
	wg.Go(func() {
		for range 50 {
			if _, err := db.GetLink(ctx, "jp"); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("stalled or failed: %v", err)
		}
	}
	in, err := db.GetIncident(ctx, "hot")
	if err != nil || in.LastPosition != writers {
		t.Fatalf("last position %d (%v), want %d", in.LastPosition, err, writers)
	}
}
