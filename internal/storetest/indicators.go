package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"csirtlink/internal/store"
)

// Indicators: put replaces by id (a tombstone too), lookups by value see only live ones,
// filters select, holders are kept per team with the last version.
func testIndicators(t *testing.T, s store.Store) {
	ctx := context.Background()
	at := time.Date(2026, 10, 2, 3, 4, 5, 6000, time.UTC)
	until := at.Add(24 * time.Hour)
	a := store.Indicator{ID: "3f2504e0-4f89-41d3-9a0c-0305e82c3301", Author: "cn", Version: 1, State: store.IndicatorActive,
		Type: "cidr", Value: "198.51.100.0/24", Category: "malicious-code/c2-server", Confidence: 80, TLP: "AMBER",
		ShareWith: []string{"jp"}, Audience: []string{"jp", "kr"}, Incidents: []string{"cn-2026-0001"}, Tags: []string{"mirai", "c2"},
		Description: "C2 network 网络", ValidFrom: at, ValidUntil: &until, CreatedBy: "alice", CreatedAt: at, Modified: at, ReceivedAt: at}
	b := store.Indicator{ID: "7c9e6679-7425-40de-944b-e07fc1f90ae7", Author: "jp", Version: 3, State: store.IndicatorActive,
		Type: "domain", Value: "evil.example", Category: "fraud/phishing", Confidence: 50, TLP: "GREEN", ValidFrom: at,
		CreatedAt: at, Modified: at.Add(time.Minute), ReceivedAt: at}
	for _, in := range []store.Indicator{a, b} {
		if err := s.PutIndicator(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetIndicator(ctx, a.ID)
	if err != nil || !reflect.DeepEqual(got, a) {
		t.Fatalf("got %+v %v\nwant %+v", got, err, a)
	}
	if _, err := s.GetIndicator(ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing indicator: %v", err)
	}
	found, err := s.IndicatorsByValue(ctx, []string{"198.51.100.0/24", "evil.example", "other.example"}, 10)
	if err != nil || len(found) != 2 || found[0].ID != b.ID {
		t.Errorf("by value: %+v %v", found, err)
	}
	// MatchIndicators shows the same live objects as IndicatorsByValue, newest first, with
	// the columns a search hit shows; those holding the first value come before the rest.
	ms, err := s.MatchIndicators(ctx, []string{"other.example", "198.51.100.0/24", "evil.example"}, 10)
	if err != nil || len(ms) != 2 || ms[0].ID != b.ID || ms[1] != (store.IndicatorMatch{ID: a.ID, Author: "cn", Type: "cidr",
		Value: "198.51.100.0/24", Category: a.Category, TLP: "AMBER", Confidence: 80, ValidUntil: ms[1].ValidUntil, Modified: at}) ||
		ms[1].ValidUntil == nil || !ms[1].ValidUntil.Equal(until) || ms[0].ValidUntil != nil {
		t.Errorf("match: %+v %v", ms, err)
	}
	if ms, _ := s.MatchIndicators(ctx, []string{"198.51.100.0/24", "evil.example"}, 1); len(ms) != 1 || ms[0].ID != a.ID {
		t.Errorf("match with limit 1, the first value's older object first: %+v", ms)
	}
	// Unsent marks: one per object (a later version replaces the earlier), oldest first,
	// gone once deleted.
	for i, u := range []store.Unsent{{IndicatorID: b.ID, Version: 3, QueuedAt: at}, {IndicatorID: a.ID, Version: 1, QueuedAt: at.Add(time.Second)},
		{IndicatorID: b.ID, Version: 4, QueuedAt: at.Add(time.Hour)}} {
		if err := s.PutUnsent(ctx, u.IndicatorID, u.Version, u.QueuedAt); err != nil {
			t.Fatal(i, err)
		}
	}
	us, err := s.Unsent(ctx, 10)
	if err != nil || !reflect.DeepEqual(us, []store.Unsent{{IndicatorID: b.ID, Version: 4, QueuedAt: at}, {IndicatorID: a.ID, Version: 1, QueuedAt: at.Add(time.Second)}}) {
		t.Errorf("unsent: %+v %v", us, err)
	}
	if err := s.DeleteUnsent(ctx, []string{b.ID}); err != nil {
		t.Fatal(err)
	}
	if us, _ := s.Unsent(ctx, 10); len(us) != 1 || us[0].IndicatorID != a.ID {
		t.Errorf("unsent after delete: %+v", us)
	}
	if err := s.DeleteUnsent(ctx, []string{a.ID}); err != nil {
		t.Fatal(err)
	}
	list := func(f store.IndicatorFilter) []string {
		t.Helper()
		f.Now = at.Add(48 * time.Hour)
		l, err := s.ListIndicators(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, in := range l {
			ids = append(ids, in.Author)
		}
		return ids
	}
	for name, c := range map[string]struct {
		f    store.IndicatorFilter
		want []string
	}{
		"all":         {store.IndicatorFilter{}, []string{"jp", "cn"}},
		"type":        {store.IndicatorFilter{Type: "cidr"}, []string{"cn"}},
		"tlp":         {store.IndicatorFilter{TLP: "GREEN"}, []string{"jp"}},
		"author":      {store.IndicatorFilter{Author: "cn"}, []string{"cn"}},
		"category":    {store.IndicatorFilter{Category: "fraud/phishing"}, []string{"jp"}},
		"expired":     {store.IndicatorFilter{Expired: "yes"}, []string{"cn"}},
		"not expired": {store.IndicatorFilter{Expired: "no"}, []string{"jp"}},
		"not seen":    {store.IndicatorFilter{Seen: "no"}, []string{"jp", "cn"}},
		"seen":        {store.IndicatorFilter{Seen: "yes"}, nil},
	} {
		if got := list(c.f); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", name, got, c.want)
		}
	}
	// A tombstone replaces the object: gone from lookups, listed only on request.
	stone := store.Indicator{ID: a.ID, Author: "cn", Version: 2, State: store.IndicatorRevoked, Modified: at.Add(time.Hour), RevokedAt: &at, ReceivedAt: at}
	if err := s.PutIndicator(ctx, stone); err != nil {
		t.Fatal(err)
	}
	if found, _ := s.IndicatorsByValue(ctx, []string{"198.51.100.0/24"}, 10); len(found) != 0 {
		t.Errorf("a tombstone is found by value: %+v", found)
	}
	if got := list(store.IndicatorFilter{Revoked: true}); !reflect.DeepEqual(got, []string{"cn", "jp"}) {
		t.Errorf("with tombstones: %v", got)
	}
	for _, v := range []int64{1, 2} {
		if err := s.PutHolder(ctx, a.ID, "kr", v, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutHolder(ctx, a.ID, "jp", 1, at); err != nil {
		t.Fatal(err)
	}
	if h, err := s.Holders(ctx, a.ID); err != nil || !reflect.DeepEqual(h, []string{"jp", "kr"}) {
		t.Errorf("holders %v %v", h, err)
	}
	// Many holders at once: new rows and a new version of one held.
	if err := s.PutHolders(ctx, []store.Holder{{IndicatorID: b.ID, Team: "cn", Version: 3, At: at}, {IndicatorID: b.ID, Team: "kr", Version: 3, At: at},
		{IndicatorID: a.ID, Team: "jp", Version: 2, At: at}}); err != nil {
		t.Fatal(err)
	}
	if h, err := s.Holders(ctx, b.ID); err != nil || !reflect.DeepEqual(h, []string{"cn", "kr"}) {
		t.Errorf("holders after PutHolders %v %v", h, err)
	}
	// Many objects at once, in id order, a missing id left out, a tombstone included.
	got2, err := s.GetIndicators(ctx, []string{b.ID, "00000000-0000-4000-8000-000000000000", a.ID})
	if err != nil || len(got2) != 2 || got2[0].ID != a.ID || got2[0].State != store.IndicatorRevoked || !reflect.DeepEqual(got2[1], b) {
		t.Errorf("get indicators: %+v %v", got2, err)
	}
}

// Sightings: kept once per id, listed oldest first, and seen by the list's filter.
func testSightings(t *testing.T, s store.Store) {
	ctx := context.Background()
	at := time.Date(2026, 10, 2, 3, 4, 5, 6000, time.UTC)
	ind := store.Indicator{ID: "9b2c4ad2-87d4-4a3a-8d6e-1f0a7c2d5e11", Author: "cn", Version: 1, State: store.IndicatorActive,
		Type: "ipv4", Value: "203.0.113.9", Category: "malicious-code/c2-server", TLP: "GREEN", ValidFrom: at, CreatedAt: at, Modified: at, ReceivedAt: at}
	if err := s.PutIndicator(ctx, ind); err != nil {
		t.Fatal(err)
	}
	if ms, err := s.MatchIndicators(ctx, []string{ind.Value}, 10); err != nil || len(ms) != 1 || ms[0].Sighted {
		t.Errorf("match before any sighting: %+v %v", ms, err)
	}
	first := at.Add(-time.Hour)
	x := store.Sighting{ID: "0f8fad5b-d9cb-469f-a165-70867728950e", IndicatorID: ind.ID, Team: "jp", Kind: store.SightingSeen, Count: 3000,
		FirstSeen: &first, LastSeen: &at, Constituency: "JP", Note: "bots", TLP: "AMBER+STRICT", Recipients: []string{"cn"}, ReportedBy: "tanaka",
		At: at, ReceivedAt: at}
	y := store.Sighting{ID: "1f8fad5b-d9cb-469f-a165-70867728950e", IndicatorID: ind.ID, Team: "kr", Kind: store.SightingTakenDown,
		TLP: "GREEN", At: at.Add(time.Minute), ReceivedAt: at}
	for _, z := range []store.Sighting{y, x} {
		if ok, err := s.PutSighting(ctx, z); !ok || err != nil {
			t.Fatalf("put %s: %v %v", z.ID, ok, err)
		}
	}
	if ok, err := s.PutSighting(ctx, x); ok || err != nil {
		t.Errorf("a sighting stored twice: %v %v", ok, err)
	}
	if ms, err := s.MatchIndicators(ctx, []string{ind.Value}, 10); err != nil || len(ms) != 1 || !ms[0].Sighted {
		t.Errorf("match of a sighted object: %+v %v", ms, err)
	}
	got, err := s.Sightings(ctx, ind.ID)
	if err != nil || len(got) != 2 || !reflect.DeepEqual(got[0], x) || got[1].Team != "kr" {
		t.Errorf("sightings %+v %v", got, err)
	}
	if got, err := s.SightingsOf(ctx, []string{ind.ID, "00000000-0000-4000-8000-000000000000"}); err != nil || len(got) != 2 || got[0].ID != x.ID {
		t.Errorf("sightings of several: %+v %v", got, err)
	}
	l, err := s.ListIndicators(ctx, store.IndicatorFilter{Seen: "yes", Now: at})
	if err != nil || len(l) != 1 || l[0].ID != ind.ID {
		t.Errorf("seen: %+v %v", l, err)
	}
}
