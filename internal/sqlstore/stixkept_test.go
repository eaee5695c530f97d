package sqlstore

import (
	"path/filepath"
	"testing"
	"time"

	"csirtlink/internal/pgtest"
	"csirtlink/internal/store"
)

// TestSTIXKept: kept STIX objects are stored once per (id, bytes), come back with their
// bytes and provenance unchanged, in import order a page at a time, filtered by label;
// on SQLite and on PostgreSQL.
func TestSTIXKept(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) *DB{
		"sqlite": func(t *testing.T) *DB {
			db, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "kept.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
		"postgres": func(t *testing.T) *DB { return openPostgres(t, pgtest.DSN(t)) },
	} {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := t.Context()
			at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
			raw := []byte("{ \"type\": \"malware\",\n \"name\": \"蠕虫 \\u00e9\" }")
			objs := []store.STIXKeptObject{
				{ID: "b", STIXID: "malware--1", Type: "malware", Version: at, TLP: "GREEN", Digest: "d1", ImportedBy: "kenji", ImportedAt: at, Source: "bundle--1", Why: "w", Raw: raw},
				{ID: "a", STIXID: "autonomous-system--2", Type: "autonomous-system", TLP: "RED", Digest: "d2", ImportedBy: "kenji", ImportedAt: at, Source: "bundle--1", Why: "w", Raw: []byte(`{"number":1}`)},
				{ID: "c", STIXID: "malware--1", Type: "malware", Version: at, TLP: "GREEN", Digest: "d1", ImportedBy: "kenji", ImportedAt: at.Add(time.Second), Source: "bundle--2", Why: "w", Raw: raw},
			}
			added, err := db.AddSTIXKept(ctx, objs)
			if err != nil {
				t.Fatal(err)
			}
			if len(added) != 2 || added[0].ID != "b" || added[1].ID != "a" {
				t.Fatalf("added %+v; want b and a (c holds b's bytes)", added)
			}
			page, err := db.STIXKeptObjects(ctx, store.STIXKeptQuery{Limit: 1})
			if err != nil || len(page) != 1 || page[0].ID != "a" || !page[0].Version.IsZero() || page[0].TLP != "RED" {
				t.Fatalf("first page: %+v %v", page, err)
			}
			page, err = db.STIXKeptObjects(ctx, store.STIXKeptQuery{AfterAt: page[0].ImportedAt, AfterID: page[0].ID, Limit: 5})
			if err != nil || len(page) != 1 || page[0].ID != "b" || string(page[0].Raw) != string(raw) || !page[0].Version.Equal(at) ||
				page[0].ImportedBy != "kenji" || page[0].Source != "bundle--1" || !page[0].ImportedAt.Equal(at) {
				t.Fatalf("second page: %+v %v", page, err)
			}
			green, err := db.STIXKeptObjects(ctx, store.STIXKeptQuery{Labels: []string{"GREEN"}, Limit: 5})
			if err != nil || len(green) != 1 || green[0].ID != "b" {
				t.Fatalf("GREEN only: %+v %v", green, err)
			}
			if none, err := db.STIXKeptObjects(ctx, store.STIXKeptQuery{Labels: []string{}, Limit: 5}); err != nil || len(none) != 0 {
				t.Fatalf("no labels: %+v %v", none, err)
			}
		})
	}
}
