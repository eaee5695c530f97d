package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"csirtlink/internal/feedrun"
	"csirtlink/internal/feedshare"
	"csirtlink/internal/store"
	"csirtlink/internal/testnet"
	"csirtlink/internal/wire"
)

// shadowserverReport is a scan_telnet report with n events in each network given.
func shadowserverReport(counts map[string]int) string {
	m := map[netip.Prefix]int{}
	for p, n := range counts {
		m[netip.MustParsePrefix(p)] = n
	}
	return testnet.ShadowserverReport(m, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
}

// partnersOf is cn's view of its partners' constituencies: the seam the partner
// directory fills.
var partnersOf = testnet.Partners("cn")

func ingest(t *testing.T, nd *testnet.Node, body, tlpLabel string) store.FeedRun {
	t.Helper()
	req, _ := http.NewRequest("POST", nd.URL+"/api/v1/feeds/ingest?format=shadowserver&report=scan_telnet&feed=Shadowserver&tlp="+
		strings.ReplaceAll(tlpLabel, "+", "%2B"), strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+nd.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var run store.FeedRun
	if err := json.NewDecoder(resp.Body).Decode(&run); err != nil || resp.StatusCode != 201 {
		t.Fatalf("ingest: %d %v", resp.StatusCode, err)
	}
	return run
}

func addOwner(t *testing.T, nd *testnet.Node, id, network string) {
	t.Helper()
	mustCall(t, nd, "POST", "/api/v1/owners", map[string]any{"id": id, "name": id, "networks": []string{network},
		"contacts": []map[string]any{{"email": "abuse@" + id + ".example", "language": "ja", "format": "csv", "schedule": "immediate"}}}, 201)
}

type reportsView struct {
	Reports []store.FeedRun `json:"reports"`
}

// Events routed to a partner's constituency reach the partner's node as a signed bulk
// report and are routed there to its owner, with provenance; an AMBER+STRICT or RED
// feed never leaves.
func TestRoutedEventsReachThePartnersOwners(t *testing.T) {
	n := startNet(t, testnetOptions())
	cn, jp, kr := n.Node("cn"), n.Node("jp"), n.Node("kr")
	cn.App.Feeds.SetPartners(partnersOf)
	addOwner(t, cn, "cn-isp", "192.0.2.0/24")
	addOwner(t, jp, "jp-isp", "198.51.100.0/25")

	run := ingest(t, cn, shadowserverReport(map[string]int{"192.0.2.0/24": 30, "198.51.100.0/24": 500, "203.0.113.0/24": 70, "100.64.0.0/16": 9}), "AMBER")
	if run.Owners["cn-isp"] != 30 || run.Partners["jp"] != 500 || run.Partners["kr"] != 70 || run.Unrouted != 9 {
		t.Fatalf("cn's run: %+v", run)
	}
	var got reportsView
	eventually(t, 15*time.Second, "jp holds cn's report", func() error {
		call(t, jp, "GET", "/api/v1/feeds/reports?partner=cn", nil, &got)
		if len(got.Reports) != 1 || got.Reports[0].State != store.RunDone {
			return fmt.Errorf("%+v", got.Reports)
		}
		return nil
	})
	r := got.Reports[0]
	// jp's owner holds the lower half of jp's /24: addresses .1-.127 of the 250 cycled.
	if r.Events != 500 || r.Origin != "cn" || r.SourceRun != run.ID || r.Feed != "Shadowserver" || r.Owners["jp-isp"]+r.Unrouted != 500 ||
		r.Owners["jp-isp"] == 0 || r.Unrouted == 0 {
		t.Fatalf("jp's report from cn: %+v", r)
	}
	err := jp.App.Feeds.Events(t.Context(), r.ID, store.ChunkOwner, "jp-isp", func(rec feedrun.Record) error {
		if !netip.MustParsePrefix("198.51.100.0/25").Contains(netip.MustParseAddr(rec.IP)) || rec.Feed != "Shadowserver" || rec.TLP != "AMBER" {
			return fmt.Errorf("jp-isp got %+v", rec)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "kr holds cn's report", func() error {
		var kg reportsView
		call(t, kr, "GET", "/api/v1/feeds/reports?partner=cn", nil, &kg)
		if len(kg.Reports) != 1 || kg.Reports[0].Events != 70 {
			return fmt.Errorf("%+v", kg.Reports)
		}
		return nil
	})
	// kr's events never went to jp, nor jp's to kr.
	var none reportsView
	call(t, jp, "GET", "/api/v1/feeds/reports?partner=kr", nil, &none)
	if len(none.Reports) != 0 {
		t.Fatalf("jp got reports from kr: %+v", none.Reports)
	}

	// Restricted feeds: routed, but not a byte leaves.
	for _, label := range []string{"AMBER+STRICT", "RED"} {
		run := ingest(t, cn, shadowserverReport(map[string]int{"198.51.100.0/24": 20}), label)
		eventually(t, 10*time.Second, "delivery decided", func() error {
			ds, _ := cn.App.Store.FeedDeliveriesOf(t.Context(), run.ID)
			if len(ds) != 1 || ds[0].State != store.DeliveryRefused || ds[0].Refused != 20 {
				return fmt.Errorf("%+v", ds)
			}
			return nil
		})
	}
	sent, _ := cn.App.Store.Sent(t.Context(), "jp")
	chunks := 0
	for _, it := range sent {
		if it.Type == wire.TypeBulkChunk {
			chunks++
			if !strings.HasPrefix(it.ObjectID, run.ID+"/") {
				t.Fatalf("a chunk of another run went to jp: %s", it.ObjectID)
			}
		}
	}
	if chunks != 1 {
		t.Fatalf("%d chunks went to jp, want 1", chunks)
	}
	if code := call(t, jp, "GET", "/api/v1/feeds/reports", nil, nil); code != 422 {
		t.Fatalf("reports without a partner: %d", code)
	}
}

// jp's node is killed (SIGKILL) while it applies a report of several chunks. Each chunk
// is stored whole or not at all: after the restart and the resends every part holds
// exactly its events, once.
func TestKilledWhileApplyingABulkChunkKeepsAllOrNone(t *testing.T) {
	opts := testnetOptions()
	opts.Federation = fastFed
	opts.Federation.BatchSize = 2 // three batches of two chunks: a kill can fall between them or inside one
	n := startNet(t, opts)
	ctx := context.Background()
	cn, jp := n.Node("cn"), n.Node("jp")
	cn.App.Feeds.SetPartners(partnersOf)
	addOwner(t, jp, "jp-isp", "198.51.100.0/24")
	child, childErr := runAsChild(t, n, "jp")
	const total = 60_000 // six chunks of 10,000
	run := ingest(t, cn, shadowserverReport(map[string]int{"198.51.100.0/24": total}), "AMBER")
	chunkSeqs := func() (all, acked []uint64) {
		sent, _ := cn.App.Store.Sent(ctx, "jp")
		for _, it := range sent {
			if it.Type == wire.TypeBulkChunk {
				all = append(all, it.Seq)
				if it.DeliveredAt != nil {
					acked = append(acked, it.Seq)
				}
			}
		}
		return
	}
	// Kill while a push of chunks is under way: jp is reading or applying them.
	deadline := time.Now().Add(30 * time.Second)
	for {
		all, acked := chunkSeqs()
		links, _ := cn.App.Fed.Links(ctx)
		inFlight := false
		for _, l := range links {
			inFlight = inFlight || (l.Peer == "jp" && l.InFlightSince != nil)
		}
		if len(all) > 0 && len(acked) < len(all) && inFlight {
			time.Sleep(40 * time.Millisecond)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no push of chunks under way within 30s")
		}
		time.Sleep(time.Millisecond)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	all, acked := chunkSeqs()
	t.Logf("at the kill: %d of %d chunks acknowledged", len(acked), len(all))
	if err := n.Restart(ctx, "jp"); err != nil {
		t.Fatalf("restart jp: %v\n%s", err, childErr.String())
	}
	jp = n.Node("jp")
	// Right after the restart, before any resend: each part jp holds is whole.
	checkParts := func(wantAll bool) error {
		runID := feedshare.RunID("cn", run.ID)
		perPart := map[int64]int64{}
		for _, kind := range []string{store.ChunkOwner, store.ChunkUnrouted} {
			target := ""
			if kind == store.ChunkOwner {
				target = "jp-isp"
			}
			chunks, err := jp.App.Store.FeedChunks(ctx, runID, kind, target)
			if err != nil {
				return err
			}
			for _, c := range chunks {
				perPart[c.Seq/1_000_000] += int64(c.Events)
			}
		}
		var sum int64
		for p, k := range perPart {
			if k != 10_000 {
				return fmt.Errorf("part %d holds %d events, not 10,000", p, k)
			}
			sum += k
		}
		if wantAll && sum != total {
			return fmt.Errorf("%d of %d events", sum, total)
		}
		return nil
	}
	if err := checkParts(false); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "every part once", func() error { return checkParts(true) })
	var got reportsView
	call(t, jp, "GET", "/api/v1/feeds/reports?partner=cn", nil, &got)
	if len(got.Reports) != 1 || got.Reports[0].Events != total || got.Reports[0].Owners["jp-isp"] != total || got.Reports[0].State != store.RunDone {
		t.Fatalf("jp's report: %+v", got.Reports)
	}
}
