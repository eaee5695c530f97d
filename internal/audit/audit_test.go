package audit_test

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	// The same pure-Go driver the store uses, to tamper with the file behind its back.
	_ "modernc.org/sqlite"

	"csirtlink/internal/audit"
	"csirtlink/internal/sqlstore"
	"csirtlink/internal/store"
)

// A time with nanoseconds in a zone east of UTC: the chain must still verify once the
// store has kept it as UTC microseconds.
var when = time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.FixedZone("UTC+9", 9*3600))

// openLog returns a store holding three audit records by actor, and the path of its file.
func openLog(t *testing.T, actor string) (*sqlstore.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "node.db")
	db, err := sqlstore.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for i, action := range []string{"user.create", "incident.create", "token.issue"} {
		err := db.InTx(t.Context(), func(tx store.Tx) error {
			return audit.Append(t.Context(), tx, when.Add(time.Duration(i)*time.Second), actor, action,
				fmt.Sprintf("object-%d", i+1), fmt.Sprintf(`{"n":%d}`, i+1))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return db, path
}

// tamper runs SQL on the store's file through a connection of its own.
func tamper(t *testing.T, path, q string) {
	t.Helper()
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	res, err := raw.ExecContext(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%s changed %d rows, want 1", q, n)
	}
}

func TestVerifyAcceptsAnIntactChain(t *testing.T) {
	db, _ := openLog(t, "alice")
	n, err := audit.Verify(t.Context(), db)
	if n != 3 || err != nil {
		t.Fatalf("Verify = %d, %v; want 3, nil", n, err)
	}
	rs, err := db.ListAudit(t.Context(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].PrevHash != "" || rs[1].PrevHash != rs[0].Hash || rs[2].PrevHash != rs[1].Hash {
		t.Errorf("records are not chained: %+v", rs)
	}
}

func TestVerifyOfAnEmptyLog(t *testing.T) {
	db, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, err := audit.Verify(t.Context(), db); n != 0 || err != nil {
		t.Fatalf("Verify = %d, %v; want 0, nil", n, err)
	}
}

func TestVerifyReportsAnAlteredRecord(t *testing.T) {
	for column, value := range map[string]string{
		"detail":    `'{"n":20}'`,
		"actor":     `'mallory'`,
		"action":    `'user.delete'`,
		"object":    `'object-9'`,
		"at":        `at + 1`,
		"prev_hash": `'0000'`,
		"hash":      `'0000'`,
	} {
		t.Run(column, func(t *testing.T) {
			db, path := openLog(t, "alice")
			tamper(t, path, `UPDATE audit SET `+column+` = `+value+` WHERE seq = 2`)
			n, err := audit.Verify(t.Context(), db)
			if err == nil || !strings.Contains(err.Error(), "record 2 ") {
				t.Fatalf("Verify = %d, %v; want an error naming record 2", n, err)
			}
			if n != 1 {
				t.Errorf("Verify counted %d good records, want 1", n)
			}
		})
	}
}

func TestVerifyReportsADeletedRecord(t *testing.T) {
	for _, tc := range []struct {
		name    string
		seq     int
		reports string // the record Verify must name
		good    int64
	}{
		{"middle", 2, "record 3 ", 1},
		{"first", 1, "record 2 ", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, path := openLog(t, "alice")
			tamper(t, path, fmt.Sprintf(`DELETE FROM audit WHERE seq = %d`, tc.seq))
			n, err := audit.Verify(t.Context(), db)
			if err == nil || !strings.Contains(err.Error(), tc.reports) {
				t.Fatalf("Verify = %d, %v; want an error naming %s", n, err, tc.reports)
			}
			if n != tc.good {
				t.Errorf("Verify counted %d good records, want %d", n, tc.good)
			}
		})
	}
}

// TestVerifyReportsASplicedRecord replaces a record with one that hashes correctly but
// belongs to another chain: only the link to the previous record can show it.
func TestVerifyReportsASplicedRecord(t *testing.T) {
	db, path := openLog(t, "alice")
	_, otherPath := openLog(t, "bob")
	other, err := sql.Open("sqlite", otherPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var at int64
	var actor, action, object, detail, prev, hash string
	err = other.QueryRowContext(t.Context(), `SELECT at, actor, action, object, detail, prev_hash, hash FROM audit WHERE seq = 2`).
		Scan(&at, &actor, &action, &object, &detail, &prev, &hash)
	if err != nil {
		t.Fatal(err)
	}
	tamper(t, path, fmt.Sprintf(`UPDATE audit SET at = %d, actor = '%s', action = '%s', object = '%s', detail = '%s', prev_hash = '%s', hash = '%s' WHERE seq = 2`,
		at, actor, action, object, detail, prev, hash))
	n, err := audit.Verify(t.Context(), db)
	if err == nil || !strings.Contains(err.Error(), "record 2 ") {
		t.Fatalf("Verify = %d, %v; want an error naming record 2", n, err)
	}
}

func TestAppendRolledBackWithItsTransactionLeavesNoGap(t *testing.T) {
	db, _ := openLog(t, "alice")
	errBoom := errors.New("boom")
	err := db.InTx(t.Context(), func(tx store.Tx) error {
		if err := audit.Append(t.Context(), tx, when, "alice", "incident.update", "object-1", ""); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatal(err)
	}
	if err := audit.Append(t.Context(), db, when, "alice", "incident.close", "object-1", ""); err != nil {
		t.Fatal(err)
	}
	if n, err := audit.Verify(t.Context(), db); n != 4 || err != nil {
		t.Fatalf("Verify = %d, %v; want 4, nil", n, err)
	}
}

func TestConcurrentAppendsKeepOneChain(t *testing.T) {
	db, _ := openLog(t, "alice")
	const workers, each = 8, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				err := db.InTx(t.Context(), func(tx store.Tx) error {
					return audit.Append(t.Context(), tx, when, fmt.Sprintf("worker-%d", w), "x", fmt.Sprint(i), "")
				})
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n, err := audit.Verify(t.Context(), db); n != 3+workers*each || err != nil {
		t.Fatalf("Verify = %d, %v; want %d, nil", n, err, 3+workers*each)
	}
}
