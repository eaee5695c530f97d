package indicator

import (
	"slices"
	"testing"

	"csirtlink/internal/store"
)

// hitOf finds the hit for one value in a search's answer.
func hitOf(hits []Hit, value string) (Hit, bool) {
	i := slices.IndexFunc(hits, func(h Hit) bool { return h.Value == value })
	if i < 0 {
		return Hit{}, false
	}
	return hits[i], true
}

// One search finds an exact value, an address inside a shared network and a host under
// a shared domain, each with how it matched, its TLP and its author, and the sightings
// of the hit that has some; a revoked object is not found.
func TestSearchExactNetworkAndDomain(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		s := testNode(t, st)
		a := Actor{Name: "analyst"}
		mk := func(typ, value, tlp string) store.Indicator {
			t.Helper()
			ind, err := s.Create(ctx, a, Input{Type: typ, Value: value, Category: "malicious-code/c2-server", TLP: tlp})
			if err != nil {
				t.Fatalf("create %s: %v", value, err)
			}
			return ind
		}
		addr := mk("ipv4", "198.51.100.7", "AMBER")
		mk("cidr", "198.51.100.0/24", "GREEN")
		mk("cidr", "198.51.0.0/16", "CLEAR")
		mk("cidr", "203.0.113.0/24", "GREEN") // not around the address
		mk("domain", "evil.example", "GREEN")
		gone := mk("ipv4", "192.0.2.1", "GREEN")
		if _, err := s.Report(ctx, a, addr.ID, SightingInput{Kind: "seen", Count: 3000}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Revoke(ctx, a, gone.ID); err != nil {
			t.Fatal(err)
		}

		hits, err := s.Search(ctx, "198.51.100.7")
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 3 {
			t.Fatalf("hits for 198.51.100.7: %+v, want the address and two networks", hits)
		}
		h, ok := hitOf(hits, "198.51.100.7")
		if !ok || h.Match != MatchExact || h.TLP != "AMBER" || h.Team != "cn" || h.IndicatorID != addr.ID {
			t.Fatalf("exact hit: %+v", h)
		}
		if h.Sightings == nil || h.Sightings.Seen != 3000 {
			t.Fatalf("exact hit's sightings: %+v", h.Sightings)
		}
		for _, n := range []string{"198.51.100.0/24", "198.51.0.0/16"} {
			if h, ok := hitOf(hits, n); !ok || h.Match != MatchCIDR || h.Sightings != nil {
				t.Fatalf("network %s: %+v in %+v", n, h, hits)
			}
		}

		hits, err = s.Search(ctx, "http://www.c2.evil.example/gate.php")
		if err != nil {
			t.Fatal(err)
		}
		if h, ok := hitOf(hits, "evil.example"); !ok || h.Match != MatchDomain || len(hits) != 1 {
			t.Fatalf("host under a shared domain: %+v", hits)
		}

		if hits, err = s.Search(ctx, "192.0.2.1"); err != nil || len(hits) != 0 {
			t.Fatalf("a revoked object is found: %+v %v", hits, err)
		}
	})
}

// The searched value itself is never crowded out of the answer by the networks around
// it, however many objects hold them and however much newer they are: the one
// statement that reads every candidate ranks the value first.
func TestSearchValueFirstAmongManyNetworks(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		s := testNode(t, st)
		a := Actor{Name: "analyst"}
		addr, err := s.Create(ctx, a, Input{Type: "ipv4", Value: "198.51.100.7", Category: "malicious-code/c2-server", TLP: "GREEN"})
		if err != nil {
			t.Fatal(err)
		}
		for range MaxHits {
			if _, err := s.Create(ctx, a, Input{Type: "cidr", Value: "198.51.100.0/24", Category: "malicious-code/c2-server", TLP: "GREEN"}); err != nil {
				t.Fatal(err)
			}
		}
		hits, err := s.Search(ctx, "198.51.100.7")
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != MaxHits {
			t.Fatalf("%d hits, want the bound, %d", len(hits), MaxHits)
		}
		if hits[0].IndicatorID != addr.ID || hits[0].Match != MatchExact {
			t.Fatalf("first hit %+v, want the address itself", hits[0])
		}
	})
}
