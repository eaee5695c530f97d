package integration

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/store"
	"csirtlink/internal/testnet"
	"csirtlink/internal/wire"
)

type indicatorView struct {
	ID        string `json:"id"`
	Author    string `json:"author"`
	Version   int64  `json:"version"`
	Value     string `json:"value"`
	TLP       string `json:"tlp"`
	Revoked   bool   `json:"revoked"`
	Sightings []struct {
		Team  string `json:"team"`
		Kind  string `json:"kind"`
		Count int64  `json:"count"`
	} `json:"sightings"`
}

// An AMBER indicator shared with jp reaches jp under the same id; a sighting at jp
// reaches the author without changing the object's version; a revocation reaches jp.
func TestIndicatorSharedSightedRevoked(t *testing.T) {
	n := startNet(t, testnetOptions())
	cn, jp, kr := n.Node("cn"), n.Node("jp"), n.Node("kr")
	var made indicatorView
	if code := call(t, cn, "POST", "/api/v1/indicators", map[string]any{"type": "ipv4", "value": "198.51.100.7",
		"category": "malicious-code/c2-server", "confidence": 80, "tlp": "AMBER", "share_with": []string{"jp"},
		"valid_until": time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)}, &made); code != http.StatusCreated || made.ID == "" {
		t.Fatalf("create: %d %+v", code, made)
	}
	eventually(t, 3*time.Second, "the indicator at jp", func() error {
		var got indicatorView
		if code := call(t, jp, "GET", "/api/v1/indicators/"+made.ID, nil, &got); code != 200 || got.Value != "198.51.100.7" || got.Author != "cn" {
			return fmt.Errorf("%d %+v", code, got)
		}
		return nil
	})
	var list struct{ Indicators []indicatorView }
	call(t, jp, "GET", "/api/v1/indicators?value=198.51.100.7", nil, &list)
	if len(list.Indicators) != 1 || list.Indicators[0].ID != made.ID {
		t.Fatalf("jp's list by value: %+v", list)
	}
	// AMBER named jp only: kr never gets it.
	time.Sleep(100 * time.Millisecond)
	if code := call(t, kr, "GET", "/api/v1/indicators/"+made.ID, nil, nil); code != http.StatusNotFound {
		t.Fatalf("kr holds jp's AMBER indicator: %d", code)
	}
	// Only the author changes its object.
	var e apiError
	if code := call(t, jp, "PUT", "/api/v1/indicators/"+made.ID, map[string]any{"type": "ipv4", "value": "198.51.100.7",
		"category": "malicious-code/c2-server", "tlp": "AMBER"}, &e); code != http.StatusForbidden {
		t.Fatalf("jp changed cn's indicator: %d %+v", code, e)
	}
	if code := call(t, jp, "POST", "/api/v1/indicators/"+made.ID+"/sightings", map[string]any{"kind": "seen", "count": 3000,
		"first_seen": "2026-01-01T00:00:00Z", "last_seen": time.Now().UTC().Format(time.RFC3339)}, nil); code != http.StatusCreated {
		t.Fatalf("sighting: %d", code)
	}
	eventually(t, 3*time.Second, "the sighting at cn", func() error {
		var got indicatorView
		call(t, cn, "GET", "/api/v1/indicators/"+made.ID, nil, &got)
		if len(got.Sightings) != 1 || got.Sightings[0].Team != "jp" || got.Sightings[0].Count != 3000 || got.Sightings[0].Kind != "seen" {
			return fmt.Errorf("%+v", got)
		}
		if got.Version != 1 {
			return fmt.Errorf("the sighting changed the version to %d", got.Version)
		}
		return nil
	})
	// Search at jp: an address inside a shared /24, by cn.
	var cidr indicatorView
	if code := call(t, cn, "POST", "/api/v1/indicators", map[string]any{"type": "cidr", "value": "198.51.100.0/24",
		"category": "malicious-code/c2-server", "tlp": "GREEN"}, &cidr); code != http.StatusCreated {
		t.Fatalf("create cidr: %d", code)
	}
	eventually(t, 3*time.Second, "the CIDR found by an address inside it, at jp", func() error {
		var res struct {
			Hits []struct{ Source, Match, Value, TLP, Team string } `json:"hits"`
		}
		call(t, jp, "GET", "/api/v1/search?q=198.51.100.9", nil, &res)
		for _, h := range res.Hits {
			if h.Value == "198.51.100.0/24" && h.Match == "cidr" && h.Team == "cn" && h.TLP == "GREEN" {
				return nil
			}
		}
		return fmt.Errorf("%+v", res)
	})
	var rv struct{ Revoked bool }
	if code := call(t, cn, "DELETE", "/api/v1/indicators/"+made.ID, nil, &rv); code != 200 || !rv.Revoked {
		t.Fatalf("revoke: %d", code)
	}
	eventually(t, 3*time.Second, "revoked at jp", func() error {
		var got indicatorView
		code := call(t, jp, "GET", "/api/v1/indicators/"+made.ID, nil, &got)
		if code != 404 && !got.Revoked {
			return fmt.Errorf("%d %+v", code, got)
		}
		return nil
	})
	var res struct {
		Hits []struct{ IndicatorID string }
	}
	call(t, jp, "GET", "/api/v1/search?q=198.51.100.7", nil, &res)
	for _, h := range res.Hits {
		if h.IndicatorID == made.ID {
			t.Fatalf("the revoked indicator is still found at jp: %+v", res)
		}
	}
}

// An AMBER+STRICT indicator for jp is neither in kr's store nor in any envelope queued for kr.
func TestIndicatorAmberStrictNeverReachesOthers(t *testing.T) {
	n := startNet(t, testnetOptions())
	cn, jp, kr := n.Node("cn"), n.Node("jp"), n.Node("kr")
	in := createIncident(t, cn, "AMBER", "jp", "kr")
	var made indicatorView
	if code := call(t, cn, "POST", "/api/v1/indicators", map[string]any{"type": "domain", "value": "c2.evil.example",
		"category": "malicious-code/c2-server", "tlp": "AMBER+STRICT", "share_with": []string{"jp"}, "incidents": []string{in.ID}}, &made); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	eventually(t, 3*time.Second, "at jp", func() error {
		if code := call(t, jp, "GET", "/api/v1/indicators/"+made.ID, nil, nil); code != 200 {
			return fmt.Errorf("%d", code)
		}
		return nil
	})
	ctx := context.Background()
	if _, err := kr.App.Store.GetIndicator(ctx, made.ID); err == nil {
		t.Fatal("kr's store holds an AMBER+STRICT indicator for jp")
	}
	sent, err := cn.App.Store.Sent(ctx, "kr")
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range sent {
		if it.ObjectID == made.ID || strings.Contains(string(it.Envelope), "c2.evil.example") {
			t.Fatalf("an envelope for kr names the indicator: %s %s", it.Type, it.ObjectID)
		}
	}
	// Search at jp finds the host under the shared domain.
	var res struct {
		Hits []struct{ Match, Value string }
	}
	call(t, jp, "GET", "/api/v1/search?q="+"http://www.c2.evil.example/gate.php", nil, &res)
	if !slices.ContainsFunc(res.Hits, func(h struct{ Match, Value string }) bool { return h.Value == "c2.evil.example" && h.Match == "domain" }) {
		t.Fatalf("no subdomain hit: %+v", res)
	}
}

// A revocation reaches a peer that was down when it was made; a late copy of an older
// version, and a version from a team that is not the author, are refused.
func TestIndicatorRevocationReachesPeerThatWasDown(t *testing.T) {
	dir := t.TempDir()
	n := startNet(t, testnet.Options{Dir: dir, Logger: testLogger})
	ctx := context.Background()
	cn, jp := n.Node("cn"), n.Node("jp")
	var made indicatorView
	if code := call(t, cn, "POST", "/api/v1/indicators", map[string]any{"type": "url", "value": "http://phish.example/login",
		"category": "fraud/phishing", "tlp": "GREEN"}, &made); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	eventually(t, 3*time.Second, "at jp", func() error {
		_, err := jp.App.Store.GetIndicator(ctx, made.ID)
		return err
	})
	v1, _ := jp.App.Store.GetIndicator(ctx, made.ID)
	if err := n.Stop("jp"); err != nil {
		t.Fatal(err)
	}
	if code := call(t, cn, "DELETE", "/api/v1/indicators/"+made.ID, nil, nil); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	if err := n.Restart(ctx, "jp"); err != nil {
		t.Fatal(err)
	}
	jp = n.Node("jp")
	eventually(t, 5*time.Second, "the tombstone at jp", func() error {
		got, err := jp.App.Store.GetIndicator(ctx, made.ID)
		if err != nil || got.State != store.IndicatorRevoked {
			return fmt.Errorf("%+v %v", got, err)
		}
		return nil
	})
	// A late copy of version 1, from cn's node: taken (receipted) and changes nothing.
	late := must(wire.EncodeIndicator(wire.Indicator{ID: v1.ID, Author: "cn", Version: 1, Type: v1.Type, Value: v1.Value,
		Category: v1.Category, Confidence: v1.Confidence, TLP: v1.TLP, ShareWith: []string{}, Audience: []string{}, Incidents: []string{},
		Tags: []string{}, ValidFrom: v1.ValidFrom, CreatedBy: v1.CreatedBy, CreatedAt: v1.CreatedAt, Modified: v1.Modified}))
	fromCN := impersonate(t, n, dir, "cn")
	expect(t, "a late copy", fromCN.send(jp, wire.TypeIndicatorUpsert, v1.ID, "GREEN", late), "applied", "")
	if got, _ := jp.App.Store.GetIndicator(ctx, made.ID); got.State != store.IndicatorRevoked {
		t.Fatalf("a late copy resurrected it: %+v", got)
	}
	// kr may not write cn's object, even with a higher version.
	squat := must(wire.EncodeIndicator(wire.Indicator{ID: v1.ID, Author: "kr", Version: 9, Type: v1.Type, Value: v1.Value,
		Category: v1.Category, TLP: "GREEN", ShareWith: []string{}, Audience: []string{}, Incidents: []string{}, Tags: []string{},
		ValidFrom: v1.ValidFrom, CreatedAt: v1.CreatedAt, Modified: v1.Modified}))
	fromKR := impersonate(t, n, dir, "kr")
	expect(t, "a version from a non-author", fromKR.send(jp, wire.TypeIndicatorUpsert, v1.ID, "GREEN", squat), "rejected", "not kr's")
	// Nor send cn's object in cn's name: the envelope's origin is the writer.
	v1.Author = "cn"
	expect(t, "cn's object from kr", fromKR.send(jp, wire.TypeIndicatorUpsert, v1.ID, "GREEN", late), "rejected", "only the author sends")
}

// A version that narrows the audience withdraws the object from the team left out; a
// later one that names it again brings it back.
func TestIndicatorNarrowedAudienceIsWithdrawn(t *testing.T) {
	n := startNet(t, testnetOptions())
	cn, jp, kr := n.Node("cn"), n.Node("jp"), n.Node("kr")
	body := func(share ...string) map[string]any {
		return map[string]any{"type": "sha256", "value": strings.Repeat("ab", 32), "category": "malicious-code/malware-distribution",
			"tlp": "AMBER", "share_with": share}
	}
	var made indicatorView
	if code := call(t, cn, "POST", "/api/v1/indicators", body("jp", "kr"), &made); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	at := func(nd *testnetNode, want int, version int64) func() error {
		return func() error {
			var got indicatorView
			code := call(t, nd, "GET", "/api/v1/indicators/"+made.ID, nil, &got)
			if code != want || want == 200 && got.Version != version {
				return fmt.Errorf("%s: %d version %d", nd.Team, code, got.Version)
			}
			return nil
		}
	}
	eventually(t, 3*time.Second, "at kr", at(kr, 200, 1))
	if code := call(t, cn, "PUT", "/api/v1/indicators/"+made.ID, body("jp"), nil); code != 200 {
		t.Fatalf("narrow: %d", code)
	}
	eventually(t, 3*time.Second, "version 2 at jp", at(jp, 200, 2))
	eventually(t, 3*time.Second, "withdrawn from kr", at(kr, 404, 0))
	if code := call(t, cn, "PUT", "/api/v1/indicators/"+made.ID, body("jp", "kr"), nil); code != 200 {
		t.Fatalf("widen: %d", code)
	}
	eventually(t, 3*time.Second, "back at kr", at(kr, 200, 3))
}
