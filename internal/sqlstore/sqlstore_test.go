package sqlstore

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"csirtlink/internal/store"
	"csirtlink/internal/storetest"
)

func openSQLite(t *testing.T, path string) *DB {
	t.Helper()
	db, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestSQLiteStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db := openSQLite(t, filepath.Join(t.TempDir(), "node.db"))
		t.Cleanup(func() { db.Close() })
		return db
	})
}

type migration struct{ version, appliedAt int64 }

func appliedMigrations(t *testing.T, db *DB) []migration {
	t.Helper()
	rows, err := db.db.QueryContext(t.Context(), `SELECT version, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []migration
	for rows.Next() {
		var m migration
		if err := rows.Scan(&m.version, &m.appliedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReopenKeepsDataAndRunsNoMigration(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "node.db")
	db := openSQLite(t, path)
	files, err := fs.Glob(migrations, "migrations/sqlite/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no embedded migrations: %v", err)
	}
	before := appliedMigrations(t, db)
	if len(before) != len(files) {
		t.Fatalf("%d migrations applied, %d embedded", len(before), len(files))
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v < 1 || int64(v) != before[len(before)-1].version {
		t.Fatalf("SchemaVersion = %d, applied %+v", v, before)
	}
	if err := db.CreateUser(ctx, store.User{ID: "u1", Name: "alice", Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openSQLite(t, path)
	defer db.Close()
	if after := appliedMigrations(t, db); !reflect.DeepEqual(after, before) {
		t.Fatalf("reopening changed schema_migrations:\n got %+v\nwant %+v", after, before)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrating a migrated database: %v", err)
	}
	if after := appliedMigrations(t, db); !reflect.DeepEqual(after, before) {
		t.Fatalf("a second Migrate changed schema_migrations:\n got %+v\nwant %+v", after, before)
	}
	if v2, err := db.SchemaVersion(ctx); err != nil || v2 != v {
		t.Fatalf("SchemaVersion after reopen = %d, %v; want %d", v2, err, v)
	}
	if _, err := db.UserByName(ctx, "alice"); err != nil {
		t.Fatalf("data lost on reopen: %v", err)
	}
}

// TestEveryPooledConnectionHasThePragmas holds several connections at once, so the pool
// must open new ones, and checks each: pragmas set on one connection only are a classic
// SQLite trap (foreign_keys and busy_timeout are per connection).
func TestEveryPooledConnectionHasThePragmas(t *testing.T) {
	ctx := t.Context()
	db := openSQLite(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	const n = 4
	for i := range n {
		c, err := db.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for pragma, want := range map[string]string{
			"journal_mode": "wal",
			"foreign_keys": "1",
			"busy_timeout": "10000",
			"synchronous":  "2", // FULL
			"temp_store":   "2", // MEMORY
		} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("connection %d: PRAGMA %s = %s, want %s", i, pragma, got, want)
			}
		}
	}
	if st := db.db.Stats(); st.OpenConnections < n {
		t.Fatalf("only %d connections open; the test did not exercise the pool", st.OpenConnections)
	}
}

func TestForeignKeysAreEnforced(t *testing.T) {
	ctx := t.Context()
	db := openSQLite(t, filepath.Join(t.TempDir(), "node.db"))
	defer db.Close()
	if err := db.CreateToken(ctx, store.Token{ID: "t1", UserID: "nobody", Hash: "h"}); err == nil {
		t.Error("a token of an unknown user was stored")
	}
	err := db.InTx(ctx, func(tx store.Tx) error {
		return tx.PutEntry(ctx, store.Entry{ID: "e1", IncidentID: "nothing", Signature: []byte("s")})
	})
	if err == nil {
		t.Error("an entry of an unknown incident was stored in a transaction")
	}
}

// TestOpenSQLiteTakesThePathLiterally opens databases in directories whose names hold
// characters that mean something in a URI.
//
// Regression: with the path put into the "file:" URI unescaped, SQLite reads "#" as a
// fragment, so ".../node#1/node.db" and ".../node#2/node.db" both open ".../node" (two
// nodes share one database); it decodes "%41" to "A" (the open fails); and "?" ends the
// path and pushes the busy_timeout pragma out of the query (busy_timeout 0).
func TestOpenSQLiteTakesThePathLiterally(t *testing.T) {
	parent := t.TempDir()
	for _, name := range []string{"node#1", "node#2", "100%41", "what?now"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(parent, name)
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "node.db")
			db, err := OpenSQLite(t.Context(), path)
			if err != nil {
				t.Fatalf("OpenSQLite(%q): %v", path, err)
			}
			defer db.Close()
			if err := db.CreateUser(t.Context(), store.User{ID: name, Name: name, Role: "admin"}); err != nil {
				t.Fatal(err)
			}
			users, err := db.ListUsers(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(users) != 1 {
				t.Errorf("database at %q holds another database's users: %+v", path, users)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("no database file at the path given: %v", err)
			}
			var timeout int
			if err := db.db.QueryRowContext(t.Context(), `PRAGMA busy_timeout`).Scan(&timeout); err != nil {
				t.Fatal(err)
			}
			if timeout != 10000 {
				t.Errorf("busy_timeout = %d, want 10000", timeout)
			}
		})
	}
}
