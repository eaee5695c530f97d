package exchange_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/config"
	"csirtlink/internal/exchange"
	"csirtlink/internal/indicator"
	"csirtlink/internal/misp"
	"csirtlink/internal/pgtest"
	"csirtlink/internal/store"
	"csirtlink/internal/testnet"
	"csirtlink/internal/tlp"
)

// The MISP feed as an unchanged MISP instance reads it (MISP's feed reader: fetch
// manifest.json, compare each event's timestamp with the copy held, fetch {uuid}.json;
// hashes.csv for correlation), with the token in a custom Authorization header. The
// feed "soc" of every test node is for outsiders up to GREEN.
func TestMISPFeed(t *testing.T) {
	testMISPFeed(t, nil)
}

// TestMISPFeedPostgres is the same with cn's node on PostgreSQL.
func TestMISPFeedPostgres(t *testing.T) {
	testMISPFeed(t, map[string]config.Database{"cn": {Driver: config.Postgres, DSN: pgtest.DSN(t)}})
}

func testMISPFeed(t *testing.T, dbs map[string]config.Database) {
	ctx := context.Background()
	n, err := testnet.Start(ctx, testnet.Options{Dir: t.TempDir(), Databases: dbs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	cn := n.Node("cn")
	ind := cn.App.Indicators
	wei := indicator.Actor{Name: "wei"}
	mk := func(in indicator.Input) store.Indicator {
		t.Helper()
		if in.Category == "" {
			in.Category = "malicious-code/c2-server"
		}
		x, err := ind.Create(ctx, wei, in)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	green := mk(indicator.Input{Value: "green-c2.example", TLP: "GREEN", Tags: []string{"emotet"}})
	clear := mk(indicator.Input{Value: "198.51.100.9", TLP: "CLEAR"})
	strict := mk(indicator.Input{Value: "http://strict.example/gate", TLP: "AMBER+STRICT", ShareWith: []string{"jp"}})
	amber := mk(indicator.Input{Value: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", TLP: "AMBER", ShareWith: []string{"jp"}})
	revoked := mk(indicator.Input{Value: "phish@revoked.example", TLP: "GREEN"})
	if _, err := ind.Revoke(ctx, wei, revoked.ID); err != nil {
		t.Fatal(err)
	}

	get := func(path, auth string) (int, []byte, http.Header) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, cn.URL+misp.FeedPath+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, resp.Header
	}
	for _, auth := range []string{"", "Bearer wrong", cn.Token, "Bearer " + n.Node("jp").MISPFeedToken} {
		for _, path := range []string{"/manifest.json", "/hashes.csv", "/" + misp.DerivedUUID("feed", "cn/"+green.ID[:2]) + ".json"} {
			if code, _, h := get(path, auth); code != http.StatusUnauthorized || h.Get("WWW-Authenticate") == "" {
				t.Errorf("%s with %q: %d, want 401", path, auth, code)
			}
		}
	}
	tok := cn.MISPFeedToken
	code, body, _ := get("/manifest.json", tok) // MISP sends the header as configured: no "Bearer"
	if code != http.StatusOK {
		t.Fatalf("manifest: %d %s", code, body)
	}
	var manifest map[string]misp.ManifestEntry
	if err := json.Unmarshal(body, &manifest); err != nil {
		t.Fatalf("manifest: %v\n%s", err, body)
	}
	if len(manifest) == 0 {
		t.Fatal("empty manifest")
	}
	attrs := map[string]misp.Attribute{}
	var wantHashes []string
	all := string(body)
	for uuid, m := range manifest {
		code, doc, h := get("/"+uuid+".json", "Bearer "+tok)
		if code != http.StatusOK || h.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s", uuid, code, doc)
		}
		all += string(doc)
		d, err := misp.Decode(doc)
		if err != nil {
			t.Fatalf("event %s does not decode: %v\n%s", uuid, err, doc)
		}
		if d.UUID != uuid || d.Timestamp != m.Timestamp || d.Info != m.Info || d.Orgc != m.Orgc || m.Orgc.Name != "CNCERT/CC" {
			t.Errorf("event %s: %+v, manifest says %+v", uuid, d.Event, m)
		}
		newest := misp.Num(0)
		for _, a := range d.Attributes {
			attrs[a.UUID] = a
			newest = max(newest, a.Timestamp)
			if !a.Deleted {
				sum := md5.Sum([]byte(a.Value))
				wantHashes = append(wantHashes, hex.EncodeToString(sum[:])+","+uuid)
			}
		}
		if newest != m.Timestamp {
			t.Errorf("event %s: timestamp %d, newest attribute %d: MISP would not see the change", uuid, m.Timestamp, newest)
		}
	}
	for _, x := range []store.Indicator{green, clear} {
		a, ok := attrs[x.ID]
		if !ok || a.Deleted || a.Value != x.Value {
			t.Errorf("%s (TLP:%s) not in the feed as itself: %+v", x.Value, x.TLP, a)
		}
	}
	if l, _ := misp.LabelOfTags(attrs[green.ID].Tags); l != "GREEN" || !slices.ContainsFunc(attrs[green.ID].Tags, func(t misp.Tag) bool { return t.Name == "emotet" }) {
		t.Errorf("green's tags: %+v", attrs[green.ID].Tags)
	}
	for _, x := range []store.Indicator{strict, amber} {
		if _, ok := attrs[x.ID]; ok || strings.Contains(all, x.Value) || strings.Contains(all, x.ID) {
			t.Errorf("TLP:%s indicator %s is in a feed for outsiders up to GREEN", x.TLP, x.Value)
		}
	}
	gone, ok := attrs[revoked.ID]
	if !ok || !gone.Deleted {
		t.Errorf("the revoked indicator is not in the feed as deleted: %+v", gone)
	}
	code, hashes, _ := get("/hashes.csv", "Bearer "+tok)
	lines := strings.Split(strings.TrimSpace(string(hashes)), "\n")
	sort.Strings(lines)
	sort.Strings(wantHashes)
	if code != http.StatusOK || !slices.Equal(lines, wantHashes) {
		t.Errorf("hashes.csv %d:\n%s\nwant\n%s", code, hashes, strings.Join(wantHashes, "\n"))
	}
	if code, _, _ := get("/"+misp.DerivedUUID("feed", "nobody/00")+".json", tok); code != http.StatusNotFound {
		t.Errorf("an event not in the feed: %d", code)
	}

	// A change shows in the manifest: MISP fetches the event again and drops the attribute.
	before := manifest
	time.Sleep(1100 * time.Millisecond) // MISP timestamps are seconds
	if _, err := ind.Revoke(ctx, wei, green.ID); err != nil {
		t.Fatal(err)
	}
	_, body, _ = get("/manifest.json", tok)
	manifest = nil
	if err := json.Unmarshal(body, &manifest); err != nil {
		t.Fatal(err)
	}
	ev := misp.DerivedUUID("feed", "cn/"+green.ID[:2])
	if manifest[ev].Timestamp <= before[ev].Timestamp {
		t.Errorf("the event of a revoked indicator kept its timestamp %d", manifest[ev].Timestamp)
	}
	_, doc, _ := get("/"+ev+".json", tok)
	d, _ := misp.Decode(doc)
	for _, a := range d.Attributes {
		if a.UUID == green.ID && !a.Deleted {
			t.Errorf("revoked, yet not deleted in its event: %+v", a)
		}
	}

	// A peer's revoked indicator leaves feeds too: jp's GREEN indicator reaches cn,
	// then its tombstone; cn's feed goes from the attribute to the attribute deleted.
	jp := n.Node("jp")
	theirs, err := jp.App.Indicators.Create(ctx, indicator.Actor{Name: "hanako"}, indicator.Input{Value: "jp-c2.example", TLP: "GREEN", Category: "malicious-code/c2-server"})
	if err != nil {
		t.Fatal(err)
	}
	inFeed := func() (misp.Attribute, bool) {
		_, doc, _ := get("/"+misp.DerivedUUID("feed", "jp/"+theirs.ID[:2])+".json", tok)
		d, err := misp.Decode(doc)
		if err != nil {
			return misp.Attribute{}, false
		}
		for _, a := range d.Attributes {
			if a.UUID == theirs.ID {
				return a, true
			}
		}
		return misp.Attribute{}, false
	}
	waitFor(t, "jp's indicator in cn's feed", func() bool { a, ok := inFeed(); return ok && !a.Deleted })
	if _, err := jp.App.Indicators.Revoke(ctx, indicator.Actor{Name: "hanako"}, theirs.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "jp's revoked indicator deleted in cn's feed", func() bool { a, ok := inFeed(); return ok && a.Deleted })

	// A label made stricter: what the feed carried leaves it as a deleted attribute without
	// content (MISP drops its copy); the stricter version's content never shows. Our own
	// indicator narrowed to AMBER, and jp's narrowed to AMBER+STRICT for kr alone (cn, no
	// longer in its audience, keeps a withdrawn tombstone).
	attrIn := func(author, id string) (misp.Attribute, string, bool) {
		_, doc, _ := get("/"+misp.DerivedUUID("feed", author+"/"+id[:2])+".json", tok)
		d, err := misp.Decode(doc)
		if err != nil {
			return misp.Attribute{}, string(doc), false
		}
		for _, a := range d.Attributes {
			if a.UUID == id {
				return a, string(doc), true
			}
		}
		return misp.Attribute{}, string(doc), false
	}
	narrowed := mk(indicator.Input{Value: "narrowed-c2.example", TLP: "GREEN"})
	theirs2, err := jp.App.Indicators.Create(ctx, indicator.Actor{Name: "hanako"}, indicator.Input{Value: "jp-narrowed.example", TLP: "GREEN", Category: "malicious-code/c2-server"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both GREEN indicators in cn's feed", func() bool {
		a, _, ok := attrIn("cn", narrowed.ID)
		b, _, ok2 := attrIn("jp", theirs2.ID)
		return ok && !a.Deleted && ok2 && !b.Deleted
	})
	time.Sleep(1100 * time.Millisecond)
	if _, err := ind.Update(ctx, wei, narrowed.ID, indicator.Input{Type: narrowed.Type, Value: "narrowed-c2.example", Category: narrowed.Category,
		TLP: "AMBER", ShareWith: []string{"jp"}, Description: "secret-detail"}); err != nil {
		t.Fatal(err)
	}
	if _, err := jp.App.Indicators.Update(ctx, indicator.Actor{Name: "hanako"}, theirs2.ID, indicator.Input{Type: theirs2.Type, Value: "jp-narrowed.example",
		Category: theirs2.Category, TLP: "AMBER+STRICT", ShareWith: []string{"kr"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "jp's narrowed indicator withdrawn at cn", func() bool {
		x, err := cn.App.Store.GetIndicator(ctx, theirs2.ID)
		return err == nil && x.State == store.IndicatorWithdrawn
	})
	for _, c := range []struct{ author, id, name string }{{"cn", narrowed.ID, "ours, narrowed to AMBER"}, {"jp", theirs2.ID, "jp's, narrowed to AMBER+STRICT for kr"}} {
		a, doc, ok := attrIn(c.author, c.id)
		if !ok || !a.Deleted || a.Type != "comment" || a.Value == "narrowed-c2.example" || a.Value == "jp-narrowed.example" {
			t.Errorf("%s: not in the feed as a deleted attribute without content: %+v", c.name, a)
		}
		if strings.Contains(doc, "secret-detail") || strings.Contains(doc, "tlp:amber") {
			t.Errorf("%s: the stricter version's content is in the feed:\n%s", c.name, doc)
		}
	}
	_, body, _ = get("/manifest.json", tok)
	var after map[string]misp.ManifestEntry
	if err := json.Unmarshal(body, &after); err != nil {
		t.Fatal(err)
	}
	if ev := misp.DerivedUUID("feed", "cn/"+narrowed.ID[:2]); after[ev].Timestamp < misp.Num(time.Now().Add(-time.Second).Unix()) {
		t.Errorf("the event of the narrowed indicator kept an old timestamp %d: MISP would not fetch it", after[ev].Timestamp)
	}
	code, hashes, _ = get("/hashes.csv", tok)
	if sum := md5.Sum([]byte("narrowed-c2.example")); code != http.StatusOK || strings.Contains(string(hashes), hex.EncodeToString(sum[:])) {
		t.Errorf("hashes.csv still lists the narrowed indicator (%d)", code)
	}

	// Sightings go as egress lets them: jp's GREEN one does, its AMBER+STRICT one (for
	// cn, the author, alone) does not.
	waitFor(t, "cn's CLEAR indicator at jp", func() bool { _, err := jp.App.Indicators.Get(ctx, clear.ID); return err == nil })
	for _, label := range []string{"GREEN", "AMBER+STRICT"} {
		if _, err := jp.App.Indicators.Report(ctx, indicator.Actor{Name: "hanako"}, clear.ID, indicator.SightingInput{Kind: "seen", Count: 3, TLP: label}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both sightings at cn", func() bool { x, _ := cn.App.Store.Sightings(ctx, clear.ID); return len(x) == 2 })
	_, doc, _ = get("/"+misp.DerivedUUID("feed", "cn/"+clear.ID[:2])+".json", tok)
	d, _ = misp.Decode(doc)
	var seen []misp.Sighting
	for _, a := range d.Attributes {
		if a.UUID == clear.ID {
			seen = a.Sightings
		}
	}
	if len(seen) != 1 || seen[0].Source != "jp" || seen[0].Type != misp.SightingSeen {
		t.Errorf("sightings in the feed: %+v", seen)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// A feed never carries AMBER+STRICT or RED, whatever audience it is configured for.
func TestMISPFeedCeiling(t *testing.T) {
	s := exchange.New(nil, nil, nil, nil)
	for _, l := range []string{"AMBER+STRICT", "RED"} {
		if err := s.SetMISPFeeds(map[string]exchange.Audience{"x": {Team: "jp", Ceiling: tlp.Label(l)}}); err == nil {
			t.Errorf("a feed up to %s was accepted", l)
		}
	}
	if err := s.SetMISPFeeds(map[string]exchange.Audience{"x": {Ceiling: "AMBER"}}); err != nil {
		t.Error(err)
	}
}

// BenchmarkMISPFeed: one manifest request's work (read, decide, group, encode) for a
// node holding 10,000 shared indicators, all GREEN.
func BenchmarkMISPFeed(b *testing.B) {
	ctx := context.Background()
	n, err := testnet.Start(ctx, testnet.Options{Dir: b.TempDir(), Teams: testnet.Default[:1]})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close() })
	cn := n.Node("cn")
	var rows []indicator.Row
	for i := range 10000 {
		rows = append(rows, indicator.Row{Line: i + 1, Input: indicator.Input{Value: fmt.Sprintf("c2-%d.example", i), TLP: "GREEN", Category: "malicious-code/c2-server"}})
	}
	if res, err := cn.App.Indicators.ImportRows(ctx, indicator.Actor{Name: "wei"}, rows, "indicator.import"); err != nil || res.Added != len(rows) {
		b.Fatal(res, err)
	}
	for _, cold := range []bool{true, false} {
		name := "cached"
		if cold {
			name = "made"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				if cold {
					cn.App.Exchange.ForgetFeeds()
				}
				events, err := cn.App.Exchange.FeedEvents(ctx, "soc")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := misp.Manifest(events); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
