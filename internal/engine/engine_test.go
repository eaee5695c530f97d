package engine

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/pgtest"
	"csirtlink/internal/sqlstore"
)

type counter struct{ n atomic.Int32 }

func (c *counter) Name() string                    { return "counter" }
func (c *counter) UpdateAll(context.Context) error { c.n.Add(1); return nil }

// Two replicas on one database: only the lease holder works; when it stops, the other
// takes over at once; a crashed holder's lease must expire first. On PostgreSQL each
// replica has its own connection pool, as two processes would.
func TestOneReplicaWorksAtATime(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		db, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "n.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		oneReplicaWorksAtATime(t, db, db)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		var dbs [2]*sqlstore.DB
		for i := range dbs {
			db, err := sqlstore.OpenPostgres(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			dbs[i] = db
		}
		oneReplicaWorksAtATime(t, dbs[0], dbs[1])
	})
}

func oneReplicaWorksAtATime(t *testing.T, dbA, dbB Leaser) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	log := slog.New(slog.DiscardHandler)
	a, b := &counter{}, &counter{}
	ea := New(dbA, clk, log, Options{LeaseTTL: 10 * time.Second}, a)
	eb := New(dbB, clk, log, Options{LeaseTTL: 10 * time.Second}, b)
	if !ea.Cycle(ctx) || eb.Cycle(ctx) {
		t.Fatal("both replicas or neither ran")
	}
	clk.Advance(6 * time.Second) // past half the lease: a renews, b still waits
	if !ea.Cycle(ctx) || eb.Cycle(ctx) {
		t.Fatal("the lease did not hold across a renewal")
	}
	// a crashes (stops cycling without releasing): b waits for the lease to expire.
	clk.Advance(9 * time.Second)
	if eb.Cycle(ctx) {
		t.Fatal("b took a lease that had not expired")
	}
	clk.Advance(2 * time.Second)
	if !eb.Cycle(ctx) {
		t.Fatal("b did not take the expired lease")
	}
	if a.n.Load() != 2 || b.n.Load() != 1 {
		t.Fatalf("cycles: a %d, b %d", a.n.Load(), b.n.Load())
	}
	// b stops cleanly: it releases, and a takes over without waiting.
	runCtx, cancel := context.WithCancel(ctx)
	cancel()
	eb.Run(runCtx)
	ea.leaseUntil = time.Time{}
	if !ea.Cycle(ctx) {
		t.Fatal("a could not take over after b released the lease")
	}
}
