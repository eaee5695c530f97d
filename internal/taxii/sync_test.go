package taxii

import (
	"fmt"
	"testing"
	"time"

	"csirtlink/internal/sqlstore"
	"csirtlink/internal/store"
)

// Sync pages through every indicator held, a page at a time, and publishes each one
// exactly once, also where many share one modified time (as an import's lines do).
func TestSyncPagesThroughEveryIndicator(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testSyncPages(t, openSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { testSyncPages(t, openPostgres(t)) })
}

func testSyncPages(t *testing.T, db *sqlstore.DB) {
	newNode(t, db)
	p := NewPublisher(db)
	const total = 2*publishBatch + 317
	for i := range total {
		// Three modified times only: most of a page shares its time with the next page.
		at := t0.Add(time.Duration(i%3) * time.Minute)
		ind := store.Indicator{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Author: "cn", Version: 1, State: store.IndicatorActive,
			Type: "ipv4", Value: fmt.Sprintf("198.51.%d.%d", i/256, i%256), Category: "malicious-code/c2-server", Confidence: 50, TLP: "GREEN",
			ValidFrom: t0, CreatedAt: t0, Modified: at, ReceivedAt: at}
		if err := db.PutIndicator(t.Context(), ind); err != nil {
			t.Fatal(err)
		}
	}
	n, err := p.Sync(t.Context(), t0)
	if err != nil || n != total {
		t.Fatalf("sync read %d of %d indicators: %v", n, total, err)
	}
	objs, err := db.TAXIIObjects(t.Context(), store.TAXIIQuery{Collection: IndicatorsCollection, Labels: tlpStrings(), MetaOnly: true,
		Version: store.TAXIIVersion{All: true}, Limit: 2 * total})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, o := range objs {
		if seen[o.ID] {
			t.Fatalf("%s published twice", o.ID)
		}
		seen[o.ID] = true
	}
	if len(seen) != total {
		t.Fatalf("%d indicators in the collection, want %d", len(seen), total)
	}
}
