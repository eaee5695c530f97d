package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/netip"
	"time"

	"csirtlink/internal/feedrun"
	"csirtlink/internal/indicator"
	"csirtlink/internal/sqlstore"
	"csirtlink/internal/store"
	"csirtlink/internal/taxii"
	"csirtlink/internal/testnet"
	"csirtlink/internal/wire"
)

// writeIndicators writes n versions of cn's, each with its unsent mark, into cn's
// database while cn is stopped: what an import of n lines leaves for the module
// indicator-bulk-send, without the import's own time (bench/indicators measures that).
func writeIndicators(ctx context.Context, configPath string, n int) error {
	path, err := databasePath(configPath)
	if err != nil {
		return err
	}
	db, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	base := netip.MustParseAddr("11.0.0.0").As4()
	const batch = 5000
	pub := taxii.NewPublisher(db)
	ids := make([]string, 0, batch)
	for lo := 0; lo < n; lo += batch {
		ids = ids[:0]
		err := db.InTx(ctx, func(tx store.Tx) error {
			for i := lo; i < min(lo+batch, n); i++ {
				ind := store.Indicator{ID: indicator.NewID(), Author: "cn", Version: 1, State: store.IndicatorActive,
					Category: "malicious-code/c2-server", Confidence: 50 + i%50, TLP: "GREEN", Tags: []string{"bench", "c2"},
					Description: "Bulk benchmark object: a C2 address seen in sinkhole data", ValidFrom: now.Add(-time.Hour),
					CreatedBy: "bench", CreatedAt: now, Modified: now, ReceivedAt: now}
				if i%2 == 0 {
					a := base
					v := uint32(i)
					a[1], a[2], a[3] = byte(v>>16), byte(v>>8), byte(v)
					a[0] += byte(v >> 24)
					ind.Type, ind.Value = "ipv4", netip.AddrFrom4(a).String()
				} else {
					ind.Type, ind.Value, ind.Category = "domain", fmt.Sprintf("bulk-%08d.example", i), "fraud/phishing"
				}
				if err := tx.PutIndicator(ctx, ind); err != nil {
					return err
				}
				if err := tx.PutUnsent(ctx, ind.ID, 1, now); err != nil {
					return err
				}
				ids = append(ids, ind.ID)
			}
			return nil
		})
		if err == nil {
			// As the import's writes are published to the node's TAXII collection.
			err = pub.PublishMany(ctx, ids, now)
		}
		if err != nil {
			return fmt.Errorf("write indicators: %w", err)
		}
	}
	return nil
}

// ingestFeed ingests at cn a Shadowserver-style report of n events, each at its own
// address in jp's IPv6 constituency, so that none is merged with another and all are
// routed to jp.
func ingestFeed(ctx context.Context, n *testnet.Net, events int) error {
	cn := n.Node("cn")
	cn.App.Feeds.SetPartners(testnet.Partners("cn"))
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 1<<16)
		fmt.Fprintln(w, "timestamp,ip,protocol,port,hostname,tag,asn,geo")
		at := time.Now().UTC().Add(-2 * time.Hour).Format("2006-01-02 15:04:05")
		pfx := testnet.Constituencies["jp"][1].Addr().As16()
		for i := range events {
			a, h := pfx, i+1
			a[12], a[13], a[14], a[15] = byte(h>>24), byte(h>>16), byte(h>>8), byte(h)
			fmt.Fprintf(w, "%s,%s,tcp,23,,telnet,,\n", at, netip.AddrFrom16(a))
		}
		pw.CloseWithError(w.Flush())
	}()
	run, err := cn.App.Feeds.Ingest(ctx, "bench", feedrun.Request{Format: "shadowserver", Report: "scan_telnet", Feed: "Shadowserver",
		FileName: "2026-12-03-scan_telnet-bench.csv"}, pr, nil)
	pr.Close()
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	if got := run.Partners["jp"]; got != int64(events) {
		return fmt.Errorf("ingest: %d of %d events routed to jp", got, events)
	}
	return nil
}

// waiter watches the nodes for the phase's milestones.
type waiter struct {
	net   *testnet.Net
	kind  string
	n     int
	peers []string
	inbox int // envelopes from cn jp held before the phase
}

func (w *waiter) before(ctx context.Context) error {
	var err error
	w.inbox, err = w.net.Node("jp").App.Store.CountInbox(ctx, "cn")
	return err
}

// poll calls done every d until it reports true, and returns when it did.
func poll(ctx context.Context, d time.Duration, what string, done func() (bool, error)) (time.Time, error) {
	for {
		ok, err := done()
		if err != nil {
			return time.Time{}, err
		}
		if ok {
			return time.Now(), nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(d):
		}
	}
}

// queued reports when cn has queued every object in chunk envelopes.
func (w *waiter) queued(ctx context.Context) error {
	st := w.net.Node("cn").App.Store
	_, err := poll(ctx, 50*time.Millisecond, "cn to queue every object", func() (bool, error) {
		if w.kind == "feed" {
			ds, err := st.DueFeedDeliveries(ctx, store.DeliverPartner, time.Now().Add(time.Hour), 1)
			return len(ds) == 0, err
		}
		us, err := st.Unsent(ctx, 1)
		return len(us) == 0, err
	})
	return err
}

// firstApplied is when jp first held an envelope from cn it did not hold before.
func (w *waiter) firstApplied(ctx context.Context) (time.Time, error) {
	st := w.net.Node("jp").App.Store
	return poll(ctx, 2*time.Millisecond, "the first chunk at jp", func() (bool, error) {
		c, err := st.CountInbox(ctx, "cn")
		return c > w.inbox, err
	})
}

// sending is when cn began its first push to jp at or after since: its sender woken by
// jp's return (jp's first heartbeat), not waiting out its back-off.
func (w *waiter) sending(ctx context.Context, since time.Time) (time.Time, error) {
	fed := w.net.Node("cn").App.Fed
	var began time.Time
	_, err := poll(ctx, time.Millisecond, "cn to push to jp", func() (bool, error) {
		ls, err := fed.Links(ctx)
		for _, l := range ls {
			if l.Peer == "jp" && l.InFlightSince != nil && !l.InFlightSince.Before(since) {
				began = *l.InFlightSince
				return true, err
			}
		}
		return false, err
	})
	return began, err
}

// allHeld is when peer held every object: for feed events, when its copy of the report
// is complete; for indicators, when cn has queued them all and holds the peer's
// receipts for every envelope (a receipt is signed after the chunk's transaction
// committed there).
func (w *waiter) allHeld(ctx context.Context, peer string) (time.Time, error) {
	var seen string
	at, err := poll(ctx, 10*time.Millisecond, "every object at "+peer, func() (bool, error) {
		if w.kind == "feed" {
			runs, err := w.net.Node(peer).App.Share.Received(ctx, "cn", 1)
			if err != nil || len(runs) == 0 {
				return false, err
			}
			seen = fmt.Sprintf("%d events held", runs[0].Events)
			return runs[0].State == store.RunDone && runs[0].Events == int64(w.n), nil
		}
		st := w.net.Node("cn").App.Store
		us, err := st.Unsent(ctx, 1)
		if err != nil || len(us) > 0 {
			seen = "cn still queueing"
			return false, err
		}
		s, err := st.OutboxStats(ctx, peer)
		seen = fmt.Sprintf("%d envelopes unacknowledged", s.Queued)
		return s.Queued == 0, err
	})
	if err != nil {
		return at, fmt.Errorf("%w (%s)", err, seen)
	}
	return at, nil
}

// chunks counts the chunk envelopes cn queued for the first peer.
func (w *waiter) chunks(ctx context.Context) (int, error) {
	ks, err := w.net.Node("cn").App.Store.OutboxProgress(ctx, w.peers[0], time.Time{})
	for _, k := range ks {
		if k.Type == wire.TypeBulkChunk {
			return k.Queued + k.Acknowledged, err
		}
	}
	return 0, err
}

// verify counts, in each peer's database, the objects it holds: all n, or an error.
func (w *waiter) verify(ctx context.Context) error {
	if w.kind == "feed" {
		return nil // allHeld counted the events of the received report
	}
	for _, p := range w.peers {
		path, err := databasePath(w.net.Node(p).ConfigPath)
		if err != nil {
			return err
		}
		db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
		if err != nil {
			return err
		}
		var c int
		err = db.QueryRowContext(ctx, `SELECT count(*) FROM indicators WHERE author = 'cn' AND state = 'active'`).Scan(&c)
		db.Close()
		if err != nil {
			return fmt.Errorf("count %s's indicators: %w", p, err)
		}
		if c != w.n {
			return fmt.Errorf("%s holds %d of cn's %d indicators", p, c, w.n)
		}
	}
	return nil
}
