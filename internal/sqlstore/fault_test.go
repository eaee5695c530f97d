package sqlstore

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"modernc.org/sqlite"

	"csirtlink/internal/faults"
	"csirtlink/internal/store"
)

// A fault takes write access to a file away for real and returns what gives it back.
type fault func(t testing.TB, path string) (restore func())

// holdReaders has n readers each hold a query open until all n do, so the pool must
// open n connections at once, as it does under read load.
func holdReaders(t *testing.T, db *DB, n int) {
	t.Helper()
	ctx := t.Context()
	var opened, done sync.WaitGroup
	opened.Add(n)
	done.Add(n)
	errs := make(chan error, n)
	for range n {
		go func() {
			defer done.Done()
			rows, err := db.db.QueryContext(ctx, `SELECT name FROM users`)
			opened.Done()
			if err != nil {
				errs <- err
				return
			}
			defer rows.Close()
			opened.Wait()
			for rows.Next() {
			}
			errs <- rows.Err()
		}()
	}
	done.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a read failed during the fault: %v", err)
		}
	}
}

// TestWritesRecoverAfterTheFileWasBrieflyUnwritable: while the database file cannot be
// written, readers make the pool open new connections, which SQLite opens read-only.
// Once the fault ends, every write must succeed again without reopening the database.
//
// Regression: the read-only connections were pooled, and every later write (lone
// statements, transactions, the engine's lease) failed with "attempt to write a
// readonly database" until the node was restarted. For a node not run as root, the
// read-only connections also recreated the -wal and -shm read-only, which outlived the
// fault. Root ignores mode bits, so there the mode variant runs as an unprivileged
// user in a child process, and the immutable attribute makes the fault in this one.
func TestWritesRecoverAfterTheFileWasBrieflyUnwritable(t *testing.T) {
	// The first write after the fault is a lone statement, or a transaction (whose BEGIN
	// a connection opened read-only does not refuse; its first write does).
	t.Run("immutable", func(t *testing.T) { testWritesRecover(t, "", faults.Immutable, false) })
	t.Run("immutable-tx", func(t *testing.T) { testWritesRecover(t, "", faults.Immutable, true) })
	t.Run("mode", func(t *testing.T) {
		if faults.AsUnprivileged(t) {
			testWritesRecover(t, "", faults.ReadOnlyMode, false)
		}
	})
	t.Run("mode-tx", func(t *testing.T) {
		if faults.AsUnprivileged(t) {
			testWritesRecover(t, "", faults.ReadOnlyMode, true)
		}
	})
	// A -wal that cannot be written: connections opened meanwhile open it read-only
	// though the database file is writable, so only a failed write shows them. (Its mode
	// makes no lasting fault: SQLite deletes and recreates the -wal as the pool turns
	// over.)
	t.Run("immutable-wal", func(t *testing.T) { testWritesRecover(t, "-wal", faults.Immutable, false) })
	t.Run("immutable-wal-tx", func(t *testing.T) { testWritesRecover(t, "-wal", faults.Immutable, true) })
}

// testWritesRecover makes the database file, or its -wal, unwritable, and after the
// fault writes first as a lone statement or, with txFirst, as a transaction.
func testWritesRecover(t *testing.T, file string, makeFault fault, txFirst bool) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "node.db")
	db := openSQLite(t, path)
	defer db.Close()
	if err := db.CreateUser(ctx, store.User{ID: "u0", Name: "before", Role: "admin"}); err != nil {
		t.Fatal(err)
	}

	if file != "" {
		// Keep a connection open throughout, as load does, or SQLite deletes the -wal
		// when the pool turns over, and the fault with it.
		pin, err := db.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer pin.Close()
		if err := pin.PingContext(ctx); err != nil {
			t.Fatal(err)
		}
	}
	restore := makeFault(t, path+file)
	if file == "" && !opensReadOnly(t, path) {
		t.Fatal("a new connection opened the database for writing: the test made no fault")
	}
	// The pool turns over during the fault, as it does under load (idle connections
	// beyond the pool's limit are closed): every connection from now on is new.
	db.db.SetMaxIdleConns(-1)
	db.db.SetMaxIdleConns(2)
	holdReaders(t, db, 8)
	if err := db.CreateUser(ctx, store.User{ID: "u1", Name: "during", Role: "admin"}); err == nil {
		t.Fatal("a write succeeded during the fault")
	}
	holdReaders(t, db, 8)
	restore()
	if opensReadOnly(t, path) {
		t.Fatal("the fault did not end")
	}

	now := time.Now()
	for i := range 10 {
		name := fmt.Sprintf("after%d", i)
		lone := func() {
			if err := db.CreateUser(ctx, store.User{ID: name, Name: name, Role: "admin"}); err != nil {
				t.Fatalf("write %d after the fault: %v", i, err)
			}
		}
		inTx := func() {
			err := db.InTx(ctx, func(tx store.Tx) error {
				return tx.CreateUser(ctx, store.User{ID: "tx" + name, Name: "tx" + name, Role: "admin"})
			})
			if err != nil {
				t.Fatalf("transaction %d after the fault: %v", i, err)
			}
		}
		if txFirst {
			inTx()
			lone()
		} else {
			lone()
			inTx()
		}
		if ok, err := db.TryLease(ctx, "engine", "me", now, time.Minute); err != nil || !ok {
			t.Fatalf("engine lease %d after the fault: %v, %v", i, ok, err)
		}
	}
	holdReaders(t, db, 8)
	if err := db.CreateUser(ctx, store.User{ID: "last", Name: "last", Role: "admin"}); err != nil {
		t.Fatalf("write after the pool grew again: %v", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if m := mode(t, p); m != 0o600 {
			t.Errorf("%s is mode %04o after the fault, want 0600", filepath.Base(p), m)
		}
	}
}

// opensReadOnly opens a connection of its own, outside the pool, and reports whether
// SQLite fell back to read-only.
func opensReadOnly(t *testing.T, path string) bool {
	t.Helper()
	c, err := sqlite.NewConnector(sqliteDialect{}.dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	dc, err := c.Connect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	ro, err := dc.(sqliteConn).IsReadOnly("main")
	if err != nil {
		t.Fatal(err)
	}
	return ro
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestDatabaseFilesArePrivate: the database and its -wal and -shm hold every incident
// and token hash; no other user of the machine may read them. (SQLite creates them
// 0644 by itself.)
func TestDatabaseFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "node.db")
	db := openSQLite(t, path)
	defer db.Close()
	if err := db.CreateUser(t.Context(), store.User{ID: "u", Name: "u", Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if m := mode(t, p); m != 0o600 {
			t.Errorf("%s is mode %04o, want 0600", filepath.Base(p), m)
		}
	}
	if notes := db.PermissionNotes(); len(notes) != 0 {
		t.Errorf("a fresh database has permission notes: %q", notes)
	}
}

// TestLooseDatabaseFilesAreTightened: a database made by an older version (0644) is made
// private when opened, and a data directory others may enter is reported.
func TestLooseDatabaseFilesAreTightened(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "node.db")
	openSQLite(t, path).Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	db := openSQLite(t, path)
	defer db.Close()
	if m := mode(t, path); m != 0o600 {
		t.Errorf("database left at mode %04o", m)
	}
	notes := strings.Join(db.PermissionNotes(), "\n")
	if !strings.Contains(notes, path+" was mode 0644; now 0600") {
		t.Errorf("the tightening is not reported: %q", notes)
	}
	if !strings.Contains(notes, "data directory "+dir+" is mode 0755") {
		t.Errorf("the open data directory is not reported: %q", notes)
	}
	if m := mode(t, dir); m != 0o755 {
		t.Errorf("the data directory was changed to %04o; it may be shared, so it is only reported", m)
	}
}
