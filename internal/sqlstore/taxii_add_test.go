package sqlstore

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"csirtlink/internal/pgtest"
	"csirtlink/internal/store"
)

// A batch's versions are numbered in order, those held skipped, and exactly the newest
// version of each object is its last, whatever order the batch and earlier batches
// brought them in: paging with match[version]=last depends on it.
func testAddTAXIIObjectsKeepsOneLatest(t *testing.T, db *DB) {
	ctx := t.Context()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	if err := db.EnsureTAXIICollection(ctx, store.TAXIICollection{ID: "c1", Title: "t"}); err != nil {
		t.Fatal(err)
	}
	v := func(id string, minute int) store.TAXIIObject {
		return store.TAXIIObject{ID: id, Version: now.Add(time.Duration(minute) * time.Minute), SpecVersion: "2.1", Type: "indicator",
			TLP: "GREEN", Source: "test", Raw: []byte(`{"id":"` + id + `"}`)}
	}
	first, err := db.AddTAXIIObjects(ctx, "c1", []store.TAXIIObject{v("a", 1), v("b", 5), v("c", 1)}, now)
	if err != nil || len(first) != 3 {
		t.Fatalf("first batch: %v %d", err, len(first))
	}
	// a: newer twice in one batch; b: an older version, then its held one again, then a
	// newer; c: the held one only; d: new, older after newer; e: 300 new objects (more
	// than one statement's rows).
	batch := []store.TAXIIObject{v("a", 2), v("b", 3), v("a", 3), v("b", 5), v("c", 1), v("d", 9), v("d", 4), v("b", 6)}
	for i := range 300 {
		batch = append(batch, v("e"+string(rune('A'+i%26))+string(rune('A'+i/26)), i))
	}
	added, err := db.AddTAXIIObjects(ctx, "c1", batch, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(batch) - 2; len(added) != want {
		t.Fatalf("added %d, want %d (the held b@5 and c@1 skipped)", len(added), want)
	}
	for i, o := range added {
		if o.Seq != int64(4+i) || (i > 0 && !o.DateAdded.After(added[i-1].DateAdded)) {
			t.Fatalf("added[%d]: seq %d, date %v", i, o.Seq, o.DateAdded)
		}
	}
	all, err := db.TAXIIObjects(ctx, store.TAXIIQuery{Collection: "c1", Labels: []string{"GREEN"}, Version: store.TAXIIVersion{All: true}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	latest := map[string][]time.Time{}
	newest := map[string]time.Time{}
	for _, o := range all {
		if o.Latest {
			latest[o.ID] = append(latest[o.ID], o.Version)
		}
		if o.Version.After(newest[o.ID]) {
			newest[o.ID] = o.Version
		}
	}
	for id, at := range newest {
		if !slices.Equal(latest[id], []time.Time{at}) {
			t.Errorf("%s: latest versions %v, want only %v", id, latest[id], at)
		}
	}
	if len(all) != 3+len(added) {
		t.Errorf("%d rows, want %d", len(all), 3+len(added))
	}
}

func TestAddTAXIIObjectsKeepsOneLatest(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		db := openSQLite(t, filepath.Join(t.TempDir(), "node.db"))
		defer db.Close()
		testAddTAXIIObjectsKeepsOneLatest(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		pgtest.Base(t)
		testAddTAXIIObjectsKeepsOneLatest(t, openPostgres(t, pgtest.DSN(t)))
	})
}
