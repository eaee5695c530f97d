package metrics

import (
	"context"
	"fmt"
	"testing"
	"time"

	"csirtlink/internal/store"
)

// BenchmarkCollabYear10kObjects: a year's figures at jp holding 10,000 shared objects of
// its own (each sent to cn, half of them taken down) on SQLite — the cost of reading
// objects by the creation time in their documents (docs/metrics.md).
func BenchmarkCollabYear10kObjects(b *testing.B) {
	db := openSQLite(b)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	err := db.InTx(ctx, func(tx store.Tx) error {
		for i := range 10000 {
			at := t0.Add(time.Duration(i) * 30 * time.Minute)
			id := fmt.Sprintf("jp-o%05d", i)
			if err := tx.PutIndicator(ctx, store.Indicator{ID: id, Author: "jp", Version: 1, State: store.IndicatorActive, Type: "url",
				Value: "https://x" + id + ".example/", Category: "fraud/phishing", Confidence: 80, TLP: "GREEN", ValidFrom: at,
				CreatedAt: at, Modified: at, ReceivedAt: at}); err != nil {
				return err
			}
			if err := tx.PutHolder(ctx, id, "cn", 1, at); err != nil {
				return err
			}
			if i%2 == 0 {
				if _, err := tx.PutSighting(ctx, store.Sighting{ID: id + "-s", IndicatorID: id, Team: "cn", Kind: store.SightingTakenDown,
					TLP: "GREEN", At: at.Add(time.Duration(i%48) * time.Hour), ReceivedAt: at}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	n := newCollabNode(b, db)
	per, _ := ParsePeriod("2026")
	b.ResetTimer()
	for range b.N {
		r, err := n.svc.Compute(ctx, per, "")
		if err != nil {
			b.Fatal(err)
		}
		if r.Sharing.Objects.N < 10000 {
			b.Fatalf("%d objects", r.Sharing.Objects.N)
		}
	}
}
