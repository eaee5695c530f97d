package sqlstore

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/faults"
	"csirtlink/internal/store"
)

// TestProbeWriteSeesAReadOnlyDatabase: reads work on a database whose file cannot be
// written; the probe must say it cannot write, and why, and recover with the file.
func TestProbeWriteSeesAReadOnlyDatabase(t *testing.T) {
	t.Run("immutable", func(t *testing.T) { testProbeReadOnly(t, faults.Immutable) })
	t.Run("mode", func(t *testing.T) {
		if faults.AsUnprivileged(t) {
			testProbeReadOnly(t, faults.ReadOnlyMode)
		}
	})
}

func testProbeReadOnly(t *testing.T, makeFault fault) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "node.db")
	db := openSQLite(t, path)
	defer db.Close()
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	if err := db.ProbeWrite(ctx, now); err != nil {
		t.Fatalf("probe on a healthy database: %v", err)
	}
	restore := makeFault(t, path)
	db.db.SetMaxIdleConns(-1) // the pool turns over: no connection from before the fault
	db.db.SetMaxIdleConns(2)
	if _, err := db.ListUsers(ctx); err != nil {
		t.Fatalf("reads fail too: %v", err)
	}
	err := db.ProbeWrite(ctx, now.Add(time.Second))
	if !errors.Is(err, store.ErrStorageReadOnly) {
		t.Fatalf("probe during the fault = %v, want ErrStorageReadOnly", err)
	}
	restore()
	if err := db.ProbeWrite(ctx, now.Add(2*time.Second)); err != nil {
		t.Fatalf("probe after the fault: %v", err)
	}
	var at int64
	if err := db.row(ctx, `SELECT written_at FROM write_probe WHERE id = 1`).Scan(&at); err != nil || at != micros(now.Add(2*time.Second)) {
		t.Fatalf("the probe wrote %d, %v; want %d", at, err, micros(now.Add(2*time.Second)))
	}
}

// TestStorageProblemNamesAFullDatabase makes SQLite itself answer SQLITE_FULL, with a
// page limit on one connection, and checks the classification /readyz relies on.
func TestStorageProblemNamesAFullDatabase(t *testing.T) {
	ctx := t.Context()
	db := openSQLite(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	c, err := db.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var pages int
	if err := c.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(ctx, `PRAGMA max_page_count = `+strconv.Itoa(pages)); err != nil {
		t.Fatal(err)
	}
	_, err = c.ExecContext(ctx, `INSERT INTO users (id, name, display_name, email, role, password_hash, created_at) VALUES ('big', 'big', ?, '', 'admin', '', 0)`,
		strings.Repeat("x", 64<<10))
	if err == nil {
		t.Fatal("a write beyond max_page_count succeeded")
	}
	if p := db.d.storageProblem(err); p != store.ErrStorageFull {
		t.Fatalf("storageProblem(%v) = %v, want ErrStorageFull", err, p)
	}
	if p := db.d.storageProblem(errors.New("database or disk is full")); p != nil {
		t.Errorf("a plain error with the words was classified: %v", p)
	}
}
