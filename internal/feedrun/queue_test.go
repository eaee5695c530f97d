package feedrun_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/feed"
	"csirtlink/internal/feed/formats"
	"csirtlink/internal/feedrun"
	"csirtlink/internal/natstest"
	"csirtlink/internal/pgtest"
	"csirtlink/internal/routequeue"
	"csirtlink/internal/sqlstore"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
)

// The child worker of the SIGKILL tests: a worker process that stops at its first
// batch, before routing it (before) or after committing it (after), and waits to be
// killed.
func TestMain(m *testing.M) {
	if mode := os.Getenv("CSIRTLINK_ROUTE_CHILD"); mode != "" {
		os.Exit(runChild(mode))
	}
	os.Exit(m.Run())
}

func runChild(mode string) int {
	ctx := context.Background()
	db, err := sqlstore.OpenPostgres(ctx, os.Getenv("CSIRTLINK_ROUTE_DSN"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	q, err := routequeue.Open(ctx, routequeue.Config{URL: os.Getenv("CSIRTLINK_ROUTE_NATS"), Stream: os.Getenv("CSIRTLINK_ROUTE_STREAM"), AckWait: ackWait}, "child", log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	r := feedrun.New(db, formats.Registry(), nil, clock.Real{}, log).BatchRouter("child")
	q.Work(ctx, func(ctx context.Context, b routequeue.Batch, last bool) error {
		if mode == "after" {
			if err := r.Route(ctx, b.RunID, b.Seq, b.Events, last); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return err
			}
		}
		fmt.Printf("%s %d\n", mode, b.Seq)
		select {} // killed here, the batch unacknowledged
	})
	return 1
}

const ackWait = 2 * time.Second

type fixture struct {
	dsn, url, stream string
	db               *sqlstore.DB
	log              *slog.Logger
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dsn: pgtest.DSN(t), url: natstest.URL(t), stream: natstest.Stream(), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	f.db = f.openDB(t)
	now := time.Now().UTC()
	for id, nw := range map[string]string{"isp": "198.51.100.0/24", "uni": "203.0.113.0/24", "doc": "192.0.2.0/24"} {
		if err := f.db.CreateOwner(t.Context(), store.NetOwner{ID: id, Name: id, Networks: []string{nw},
			Contacts: []store.OwnerContact{{Email: "abuse@" + id + ".example", Language: "en", Format: "csv", Schedule: "immediate"}}, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		q := f.queue(t, "cleanup")
		q.DeleteStream(context.Background())
	})
	return f
}

func (f *fixture) openDB(t *testing.T) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.OpenPostgres(t.Context(), f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func (f *fixture) queue(t *testing.T, name string) *routequeue.Queue {
	t.Helper()
	q, err := routequeue.Open(context.Background(), routequeue.Config{URL: f.url, Stream: f.stream, AckWait: ackWait, MaxDeliver: 5}, name, f.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q
}

// ingest queues a report of rows rows (every 1,000th malformed) and returns its run.
func (f *fixture) ingest(t *testing.T, rows int) (*feedrun.Service, store.FeedRun) {
	t.Helper()
	svc := feedrun.New(f.db, formats.Registry(), nil, clock.Real{}, f.log)
	svc.SetQueue(f.queue(t, "ingest"))
	run, err := svc.Ingest(t.Context(), "alice", feedrun.Request{Format: "shadowserver", Report: "scan_telnet", Feed: "test"}, strings.NewReader(report(rows)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return svc, run
}

func report(rows int) string {
	var b strings.Builder
	b.WriteString(`"timestamp","ip","protocol","port","asn","geo"` + "\n")
	for i := range rows {
		ip := [...]string{"198.51.100.%d", "203.0.113.%d", "192.0.2.%d", "8.8.4.%d"}[i%4]
		ip = fmt.Sprintf(ip, i%250+1)
		if i%1000 == 999 {
			ip = "not-an-address"
		}
		fmt.Fprintf(&b, `"2024-05-01 00:00:01","%s","tcp",23,64500,JP`+"\n", ip)
	}
	return b.String()
}

// worker runs a routing worker with its own database pool and NATS connection, as on
// another machine, until the test ends or stop is called.
func (f *fixture) worker(t *testing.T, name string) (stop func()) {
	t.Helper()
	db, q := f.openDB(t), f.queue(t, name)
	r := feedrun.New(db, formats.Registry(), nil, clock.Real{}, f.log).BatchRouter(name)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.Work(ctx, func(ctx context.Context, b routequeue.Batch, last bool) error {
			return r.Route(ctx, b.RunID, b.Seq, b.Events, last)
		})
	}()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

func waitDone(t *testing.T, svc *feedrun.Service, id string) store.FeedRun {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		run, err := svc.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if run.State != store.RunRunning {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still running after 60 s", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkOnce checks the run's counts against the report of rows rows, and that each
// good row's event is stored exactly once.
func checkOnce(t *testing.T, svc *feedrun.Service, run store.FeedRun, rows int) {
	t.Helper()
	malformed := int64(rows / 1000)
	events := int64(rows) - malformed
	if run.State != store.RunDone || run.Events != events || run.Malformed != malformed || len(run.Errors) != int(malformed) {
		t.Fatalf("run: %s, %d events, %d malformed (%d errors); want done, %d, %d", run.State, run.Events, run.Malformed, len(run.Errors), events, malformed)
	}
	if run.RoutedOwners+run.RoutedPartners+run.Unrouted != run.Events {
		t.Fatalf("owners %d + partners %d + unrouted %d != events %d", run.RoutedOwners, run.RoutedPartners, run.Unrouted, run.Events)
	}
	want := map[string]int64{}
	for i := range rows {
		if i%1000 != 999 && i%4 < 3 {
			want[[...]string{"isp", "uni", "doc"}[i%4]]++
		}
	}
	for id, n := range want {
		if run.Owners[id] != n {
			t.Errorf("owner %s: %d events, want %d", id, run.Owners[id], n)
		}
	}
	seen := map[int64]int{}
	read := func(kind, target string) {
		if err := svc.Events(t.Context(), run.ID, kind, target, func(r feedrun.Record) error { seen[r.Line]++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	for id := range want {
		read(store.ChunkOwner, id)
	}
	read(store.ChunkUnrouted, "")
	if int64(len(seen)) != events {
		t.Fatalf("%d distinct events stored, want %d", len(seen), events)
	}
	for line, n := range seen {
		if n != 1 {
			t.Fatalf("the event of line %d stored %d times", line, n)
		}
	}
}

// Two workers on their own connections share a queued run's batches: every event is
// routed exactly once, the run's counts add up, and both workers took part.
func TestQueuedRunTwoWorkersRouteEachEventOnce(t *testing.T) {
	f := newFixture(t)
	f.worker(t, "w1")
	f.worker(t, "w2")
	const rows = 30_000
	svc, run := f.ingest(t, rows)
	run = waitDone(t, svc, run.ID)
	checkOnce(t, svc, run, rows)
	batches, err := f.db.FeedBatches(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]int{}
	for _, b := range batches {
		by[b.RoutedBy]++
	}
	if events := rows - rows/1000; len(batches) != (events+feedrun.QueueBatch-1)/feedrun.QueueBatch || len(by) != 2 {
		t.Fatalf("%d batches routed by %v", len(batches), by)
	}
	t.Logf("batches per worker: %v", by)
}

// A worker process is killed (SIGKILL) holding a batch, before routing it and after
// committing it but before acknowledging it. Either way the batch is redelivered to
// the other worker after AckWait, and every event is routed exactly once.
func TestQueuedBatchOfAKilledWorkerIsRedelivered(t *testing.T) {
	for _, mode := range []string{"before", "after"} {
		t.Run(mode, func(t *testing.T) {
			f := newFixture(t)
			q := f.queue(t, "watch")
			child := exec.Command(os.Args[0], "-test.run=^$")
			child.Env = append(os.Environ(), "CSIRTLINK_ROUTE_CHILD="+mode, "CSIRTLINK_ROUTE_DSN="+f.dsn, "CSIRTLINK_ROUTE_NATS="+f.url,
				"CSIRTLINK_ROUTE_STREAM="+f.stream)
			out, err := child.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var childErr strings.Builder
			child.Stderr = &childErr
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { child.Process.Kill(); child.Wait() })
			const rows = 20_000
			svc, run := f.ingest(t, rows)

			line := make(chan string, 1)
			go func() {
				s, _ := bufio.NewReader(out).ReadString('\n')
				line <- s
			}()
			var held int64
			select {
			case s := <-line:
				if held, err = strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(s), mode+" "), 10, 64); err != nil {
					t.Fatalf("child said %q: %v\n%s", s, err, childErr.String())
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("the child took no batch\n%s", childErr.String())
			}
			if err := child.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			child.Wait()

			f.worker(t, "survivor")
			run = waitDone(t, svc, run.ID)
			checkOnce(t, svc, run, rows)
			batches, err := f.db.FeedBatches(t.Context(), run.ID)
			if err != nil {
				t.Fatal(err)
			}
			wantBy := map[string]string{"before": "survivor", "after": "child"}[mode]
			for _, b := range batches {
				if b.Seq == held && b.RoutedBy != wantBy {
					t.Fatalf("batch %d held by the killed child was routed by %s, want %s", held, b.RoutedBy, wantBy)
				}
			}
			// The held batch comes again after AckWait (in "after", once the run may already
			// be done): one redelivery, then an empty stream, and the run as it was.
			deadline := time.Now().Add(20 * time.Second)
			for {
				n, err := q.Deliveries(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				left, err := q.Pending(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if n == uint64(len(batches))+1 && left == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d deliveries of %d batches, %d left in the stream; want one redelivery, none left", n, len(batches), left)
				}
				time.Sleep(50 * time.Millisecond)
			}
			checkOnce(t, svc, waitDone(t, svc, run.ID), rows)
		})
	}
}

// Routing a batch that is already routed (a delivery after its worker committed but
// died before acknowledging) changes nothing: no chunk, no count, on both databases.
func TestDuplicateBatchChangesNothing(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) *sqlstore.DB{
		"sqlite": func(t *testing.T) *sqlstore.DB {
			db, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "node.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
		"postgres": func(t *testing.T) *sqlstore.DB {
			db, err := sqlstore.OpenPostgres(t.Context(), pgtest.DSN(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
	} {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := t.Context()
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			svc := feedrun.New(db, formats.Registry(), nil, clock.Real{}, log)
			now := time.Now().UTC()
			if err := db.CreateFeedRun(ctx, store.FeedRun{ID: "run-dup", Format: "shadowserver", TLP: "AMBER", CreatedBy: "alice", State: store.RunRunning,
				StartedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			evs := parse(t, report(2000))
			r := svc.BatchRouter("w")
			snapshot := func() string {
				bs, err := db.FeedBatches(ctx, "run-dup")
				if err != nil {
					t.Fatal(err)
				}
				chunks, err := db.FeedChunks(ctx, "run-dup", store.ChunkUnrouted, "")
				if err != nil {
					t.Fatal(err)
				}
				return fmt.Sprintf("%d batches %+v, %d unrouted chunks", len(bs), bs[0].Owners, len(chunks))
			}
			if err := r.Route(ctx, "run-dup", 1, evs[:1000], false); err != nil {
				t.Fatal(err)
			}
			if err := r.Route(ctx, "run-dup", 2, evs[1000:], false); err != nil {
				t.Fatal(err)
			}
			before := snapshot()
			if err := r.Route(ctx, "run-dup", 2, evs[1000:], false); err != nil {
				t.Fatal(err)
			}
			if after := snapshot(); after != before {
				t.Fatalf("a duplicate batch changed the store:\n%s\n%s", before, after)
			}
			// Sealing with both batches routed finishes the run with them counted once.
			if err := db.InTx(ctx, func(tx store.Tx) error {
				return tx.SealFeedRun(ctx, store.FeedSeal{RunID: "run-dup", Batches: 3, SealedAt: now})
			}); err != nil {
				t.Fatal(err)
			}
			if err := r.Route(ctx, "run-dup", 3, evs[:1], false); err != nil {
				t.Fatal(err)
			}
			run, err := svc.Get(ctx, "run-dup")
			if err != nil || run.State != store.RunDone || run.Events != 1999 {
				t.Fatalf("run after its last batch: %s, %d events, %v", run.State, run.Events, err)
			}
		})
	}
}

func parse(t *testing.T, body string) []feed.Event {
	t.Helper()
	p, err := formats.Registry().Open(strings.NewReader(body), feed.Config{Format: "shadowserver", Report: "scan_telnet", TLP: tlp.Amber})
	if err != nil {
		t.Fatal(err)
	}
	var out []feed.Event
	for ev, err := range feed.All(p, 1024) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, *ev)
	}
	return out
}
