// Package feedqueue benchmarks feed routing through the JetStream work queue: one
// ingesting process publishes a report's parsed batches, and 1, 2 or 3 routing workers
// (each with its own NATS connection and PostgreSQL pool, as on separate machines)
// enrich, route, chunk and commit them. Needs PostgreSQL and NATS with JetStream
// (pgtest, natstest); results in docs/benchmarks.md.
//
//	go test ./bench/feedqueue -run '^$' -bench . -benchtime 3x
package feedqueue

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/feed/formats"
	"csirtlink/internal/feedrun"
	"csirtlink/internal/natstest"
	"csirtlink/internal/pgtest"
	"csirtlink/internal/routequeue"
	"csirtlink/internal/sqlstore"
	"csirtlink/internal/store"
)

// A report of benchRows rows over benchOwners owners (one /24 each, in 100.64.0.0/10),
// a fifth of the rows outside every owner.
const (
	benchRows   = 100_000
	benchOwners = 1000
)

func benchReport() string {
	var b strings.Builder
	b.WriteString(`"timestamp","ip","protocol","port","asn","geo","hostname","tag"` + "\n")
	for i := range benchRows {
		o := (i * 7919) % benchOwners
		ip := fmt.Sprintf("100.%d.%d.%d", 64+o/256, o%256, i%250+1)
		if i%5 == 4 {
			ip = fmt.Sprintf("8.8.%d.%d", i/250%250, i%250+1)
		}
		fmt.Fprintf(&b, `"2024-05-01 00:%02d:%02d","%s","tcp",23,64500,JP,"host-%d.example.net","telnet;mirai"`+"\n", i/60%60, i%60, ip, i)
	}
	return b.String()
}

func BenchmarkQueuedRouting(b *testing.B) {
	for _, workers := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchWorkers(b, workers) })
	}
}

func benchWorkers(b *testing.B, workers int) {
	ctx := context.Background()
	dsn, url := pgtest.DSN(b), natstest.URL(b)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := routequeue.Config{URL: url, Stream: natstest.Stream()}
	open := func() *sqlstore.DB {
		db, err := sqlstore.OpenPostgres(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db
	}
	queue := func(name string) *routequeue.Queue {
		q, err := routequeue.Open(ctx, cfg, name, log)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(q.Close)
		return q
	}
	db := open()
	now := time.Now().UTC()
	for o := range benchOwners {
		id := fmt.Sprintf("owner-%04d", o)
		if err := db.CreateOwner(ctx, store.NetOwner{ID: id, Name: id, Networks: []string{fmt.Sprintf("100.%d.%d.0/24", 64+o/256, o%256)},
			Contacts: []store.OwnerContact{{Email: "abuse@" + id + ".example", Language: "en", Format: "csv", Schedule: "daily"}}, CreatedAt: now, UpdatedAt: now}); err != nil {
			b.Fatal(err)
		}
	}
	pub := queue("ingest")
	b.Cleanup(func() { pub.DeleteStream(context.Background()) })
	svc := feedrun.New(db, formats.Registry(), nil, clock.Real{}, log)
	svc.SetQueue(pub)
	report := benchReport()

	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var mu sync.Mutex
	busy := make([]time.Duration, workers)
	for w := range workers {
		wdb, q := open(), queue(fmt.Sprintf("w%d", w))
		r := feedrun.New(wdb, formats.Registry(), nil, clock.Real{}, log).BatchRouter(fmt.Sprintf("w%d", w))
		wg.Go(func() {
			q.Work(wctx, func(ctx context.Context, bt routequeue.Batch, last bool) error {
				t0 := time.Now()
				err := r.Route(ctx, bt.RunID, bt.Seq, bt.Events, last)
				mu.Lock()
				busy[w] += time.Since(t0)
				mu.Unlock()
				return err
			})
		})
	}
	b.Cleanup(func() { stop(); wg.Wait() })

	var events int64
	var publish time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		run, err := svc.Ingest(ctx, "bench", feedrun.Request{Format: "shadowserver", Report: "scan_telnet"}, strings.NewReader(report), nil)
		if err != nil {
			b.Fatal(err)
		}
		publish += time.Since(t0)
		for run.State == store.RunRunning {
			time.Sleep(20 * time.Millisecond)
			if run, err = svc.Get(ctx, run.ID); err != nil {
				b.Fatal(err)
			}
		}
		if run.State != store.RunDone || run.Events != benchRows {
			b.Fatalf("run %s: %s, %d events", run.ID, run.State, run.Events)
		}
		events += run.Events
	}
	elapsed := b.Elapsed()
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(events)/elapsed.Seconds()/float64(workers), "events/s/worker")
	b.ReportMetric(float64(events)/publish.Seconds(), "published/s")
	var sum time.Duration
	for _, d := range busy {
		sum += d
	}
	// The rate of a worker while it routes (enrich, route, encode, compress, commit),
	// beside the wall-clock rate that includes waiting for batches.
	b.ReportMetric(float64(events)/sum.Seconds(), "events/s/busy-worker")
}
