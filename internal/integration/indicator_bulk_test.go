package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/bulk"
	"csirtlink/internal/config"
	"csirtlink/internal/egress"
	"csirtlink/internal/indicator"
	"csirtlink/internal/store"
	"csirtlink/internal/testnet"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// An import reaches partners in bulk chunks — a few envelopes for 1,200 objects, each
// object decided for each peer on its own: kr never holds what is AMBER+STRICT for jp —
// and a revocation after it reaches jp. At jp, a chunk's objects are applied by the
// rules of single versions (a late copy does not resurrect a revoked object) and a chunk
// with one object its sender did not write is refused whole.
// Run with every node on SQLite, and with the sender (cn) and a receiver (jp) on
// PostgreSQL.
func TestIndicatorImportSentInBulk(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testIndicatorImportSentInBulk(t, nil) })
	t.Run("postgres", func(t *testing.T) { testIndicatorImportSentInBulk(t, onPostgres(t, "cn", "jp")) })
}

func testIndicatorImportSentInBulk(t *testing.T, dbs map[string]config.Database) {
	dir := t.TempDir()
	n := startNet(t, testnet.Options{Dir: dir, Logger: testLogger, Databases: dbs})
	ctx := context.Background()
	cn, jp, kr := n.Node("cn"), n.Node("jp"), n.Node("kr")
	var file strings.Builder
	file.WriteString("value,type,category,tlp,share_with,confidence\n")
	const lines = 1_200
	for i := range lines {
		label, with := "GREEN", ""
		if i%2 == 1 {
			label, with = "AMBER+STRICT", "jp"
		}
		fmt.Fprintf(&file, "10.9.%d.%d,ipv4,malicious-code/c2-server,%s,%s,%d\n", i/256, i%256, label, with, 40+i%50)
	}
	res, err := cn.App.Indicators.Import(ctx, indicator.Actor{Name: "bench"}, strings.NewReader(file.String()), indicator.ImportOptions{})
	if err != nil || !res.Imported || res.Added != lines {
		t.Fatalf("import: %+v %v", res, err)
	}
	count := func(nd *testnet.Node, label string) int {
		list, err := nd.App.Store.ListIndicators(ctx, store.IndicatorFilter{Author: "cn", TLP: label, Limit: 5000})
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	eventually(t, 20*time.Second, "the import at jp and kr", func() error {
		if a, b, c := count(jp, "GREEN"), count(jp, "AMBER+STRICT"), count(kr, "GREEN"); a != lines/2 || b != lines/2 || c != lines/2 {
			return fmt.Errorf("jp %d GREEN %d AMBER+STRICT, kr %d GREEN", a, b, c)
		}
		return nil
	})
	if c := count(kr, "AMBER+STRICT"); c != 0 {
		t.Fatalf("kr holds %d AMBER+STRICT objects named for jp", c)
	}
	for _, p := range []string{"jp", "kr"} {
		sent, err := cn.App.Store.Sent(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		chunks := 0
		for _, it := range sent {
			if it.Type == wire.TypeBulkChunk {
				chunks++
			}
			if it.Type == wire.TypeIndicatorUpsert {
				t.Errorf("an imported object went to %s in an envelope of its own", p)
			}
		}
		if chunks == 0 || chunks > 3 {
			t.Errorf("%d chunks to %s for %d objects", chunks, p, lines)
		}
	}
	// A revocation after the import reaches jp.
	list, _ := cn.App.Store.IndicatorsByValue(ctx, []string{"10.9.0.1"}, 1)
	if len(list) != 1 {
		t.Fatalf("10.9.0.1 at cn: %+v", list)
	}
	gone := list[0]
	if code := call(t, cn, "DELETE", "/api/v1/indicators/"+gone.ID, nil, nil); code != http.StatusOK {
		t.Fatalf("revoke: %d", code)
	}
	eventually(t, 5*time.Second, "the revocation at jp", func() error {
		if got, err := jp.App.Store.GetIndicator(ctx, gone.ID); err != nil || got.State != store.IndicatorRevoked {
			return fmt.Errorf("%+v %v", got.State, err)
		}
		return nil
	})
	// Chunks sent by hand, in cn's and in kr's name.
	chunk := func(author string, inds ...wire.Indicator) ([]byte, string) {
		t.Helper()
		b, err := bulk.NewBuilder(wire.TypeIndicatorUpsert, egress.Context{Self: author, Peers: []string{"jp"}, Community: []string{"jp"}},
			egress.Destination{Kind: egress.Federation, Team: "jp"})
		if err != nil {
			t.Fatal(err)
		}
		for _, ind := range inds {
			ectx := egress.Context{Self: author, Peers: []string{"jp"}, Community: []string{"jp"}, Participants: ind.Audience}
			if ok, err := b.AddIn(ectx, tlp.Item{Label: tlp.Label(ind.TLP), Author: author, Recipients: ind.ShareWith}, must(wire.EncodeIndicator(ind))); !ok || err != nil {
				t.Fatalf("add %s: %v %v", ind.ID, ok, err)
			}
		}
		c := must(b.Take("test-"+author, 1, true))
		return must(c.Payload()), string(c.Label)
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	obj := func(id, author, value string, version int64) wire.Indicator {
		return wire.Indicator{ID: id, Author: author, Version: version, Type: "ipv4", Value: value, Category: "malicious-code/c2-server",
			Confidence: 50, TLP: "GREEN", ShareWith: []string{}, Audience: []string{}, Incidents: []string{}, Tags: []string{},
			ValidFrom: at, CreatedBy: "x", CreatedAt: at, Modified: at}
	}
	fromCN := impersonate(t, n, dir, "cn")
	fresh := indicator.NewID()
	payload, label := chunk("cn", obj(fresh, "cn", "10.8.0.1", 1), obj(gone.ID, "cn", gone.Value, 1))
	expect(t, "a chunk with a late copy", fromCN.send(jp, wire.TypeBulkChunk, "test-cn/1", label, payload), "applied", "")
	if got, err := jp.App.Store.GetIndicator(ctx, fresh); err != nil || got.Value != "10.8.0.1" {
		t.Fatalf("the chunk's new object at jp: %+v %v", got, err)
	}
	if got, _ := jp.App.Store.GetIndicator(ctx, gone.ID); got.State != store.IndicatorRevoked {
		t.Fatalf("a late copy in a chunk resurrected a revoked object: %+v", got)
	}
	// Versions in order: a chunk with version 3, then one with version 2 of the same object.
	newer := obj(fresh, "cn", "10.8.0.1", 3)
	newer.Confidence = 90
	payload, label = chunk("cn", newer)
	expect(t, "version 3 in a chunk", fromCN.send(jp, wire.TypeBulkChunk, "test-cn/2", label, payload), "applied", "")
	payload, label = chunk("cn", obj(fresh, "cn", "10.8.0.1", 2))
	expect(t, "version 2 after it", fromCN.send(jp, wire.TypeBulkChunk, "test-cn/3", label, payload), "applied", "")
	if got, _ := jp.App.Store.GetIndicator(ctx, fresh); got.Version != 3 || got.Confidence != 90 {
		t.Fatalf("an older version in a chunk replaced a newer one: %+v", got)
	}
	// An object stricter than the envelope says: the chunk is refused whole.
	strict := obj(indicator.NewID(), "cn", "10.6.0.1", 1)
	strict.TLP, strict.ShareWith, strict.Audience = "AMBER+STRICT", []string{"jp"}, []string{"jp"}
	payload, _ = chunk("cn", obj(indicator.NewID(), "cn", "10.6.0.2", 1), strict)
	expect(t, "a chunk under a laxer label", fromCN.send(jp, wire.TypeBulkChunk, "test-cn/4", "GREEN", payload), "rejected", "stricter than the envelope")
	if list, _ := jp.App.Store.IndicatorsByValue(ctx, []string{"10.6.0.1", "10.6.0.2"}, 10); len(list) != 0 {
		t.Fatalf("a refused chunk left %d objects", len(list))
	}
	fromKR := impersonate(t, n, dir, "kr")
	mine := indicator.NewID()
	payload, label = chunk("kr", obj(mine, "kr", "10.7.0.1", 1), obj(fresh, "kr", "10.8.0.1", 9))
	expect(t, "a chunk with cn's object in kr's name", fromKR.send(jp, wire.TypeBulkChunk, "test-kr/1", label, payload), "rejected", "not kr's")
	if _, err := jp.App.Store.GetIndicator(ctx, mine); err == nil {
		t.Fatal("a refused chunk's other object was kept")
	}
	if got, _ := jp.App.Store.GetIndicator(ctx, fresh); got.Author != "cn" || got.Version != 3 {
		t.Fatalf("kr changed cn's object: %+v", got)
	}
}
