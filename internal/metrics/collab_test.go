package metrics

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/cvd"
	"csirtlink/internal/identity"
	"csirtlink/internal/pgtest"
	"csirtlink/internal/sqlstore"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
	"csirtlink/internal/wire"
)

// collabNode is jp's node with a month of sharing, feed runs and vulnerability cases
// with cn and kr, whose figures the tests below compute by hand.
type collabNode struct {
	svc *Service
	st  *sqlstore.DB
}

// mar is 2 March 2026, 00:00 UTC; the figures are of 2026-03.
var mar = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func mday(d int) time.Time { return mar.AddDate(0, 0, d) }

func newCollabNode(t testing.TB, db *sqlstore.DB) collabNode {
	t.Helper()
	key := func() string {
		k, err := identity.Generate()
		if err != nil {
			t.Fatal(err)
		}
		return k.Public()
	}
	dir, err := team.NewDirectory(team.Team{ID: "jp", Name: "JPCERT/CC", Timezone: "Asia/Tokyo", PublicKey: key()}, []team.Peer{
		{Team: team.Team{ID: "cn", Name: "CNCERT/CC", Timezone: "Asia/Shanghai", PublicKey: key(), URL: "https://cn.example"}},
		{Team: team.Team{ID: "kr", Name: "KrCERT/CC", Timezone: "Asia/Seoul", PublicKey: key(), URL: "https://kr.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	seedCollab(t, db)
	return collabNode{svc: NewService(db, dir, clock.NewFake(time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC))), st: db}
}

func seedCollab(t testing.TB, s *sqlstore.DB) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	object := func(id, author string, created time.Time, holders ...string) {
		must(s.PutIndicator(ctx, store.Indicator{ID: id, Author: author, Version: 1, State: store.IndicatorActive, Type: "url",
			Value: "http://secret-" + id + ".example/login", Category: "fraud/phishing", Confidence: 80, TLP: "GREEN",
			Description: "SECRETDESCRIPTION", ValidFrom: created, CreatedAt: created, Modified: created, ReceivedAt: created}))
		for _, h := range holders {
			must(s.PutHolder(ctx, id, h, 1, created))
		}
	}
	n := 0
	sighting := func(object, team, kind string, at time.Time) {
		n++
		_, err := s.PutSighting(ctx, store.Sighting{ID: object + "-s" + string(rune('a'+n)), IndicatorID: object, Team: team, Kind: kind,
			Count: 1, Note: "SECRETNOTE", TLP: "GREEN", At: at, ReceivedAt: at})
		must(err)
	}
	h := time.Hour
	// jp's objects.
	object("jp-o1", "jp", mday(0), "cn", "kr")
	sighting("jp-o1", "cn", store.SightingSeen, mday(0).Add(h/2))
	sighting("jp-o1", "cn", store.SightingTakenDown, mday(0).Add(h))
	sighting("jp-o1", "kr", store.SightingTakenDown, mday(0).Add(2*h))
	object("jp-o2", "jp", mday(1), "cn")
	sighting("jp-o2", "cn", store.SightingTakenDown, mday(1).Add(25*h)) // the later one does not count
	sighting("jp-o2", "cn", store.SightingTakenDown, mday(1).Add(24*h))
	object("jp-o3", "jp", mday(2), "cn")
	sighting("jp-o3", "cn", store.SightingSeen, mday(2).Add(h))
	object("jp-o4", "jp", mday(3), "cn")
	sighting("jp-o4", "cn", store.SightingTakenDown, mday(3).Add(10*time.Minute))
	object("jp-o5", "jp", time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), "cn") // April
	sighting("jp-o5", "cn", store.SightingTakenDown, time.Date(2026, 4, 1, 0, 0, 10, 0, time.UTC))
	// cn's object, received.
	object("cn-o1", "cn", mday(4))
	sighting("cn-o1", "jp", store.SightingTakenDown, mday(4).Add(30*time.Minute))

	run := func(id, origin string, at time.Time, events, unrouted int64, owners, partners map[string]int64) {
		r := store.FeedRun{ID: id, Format: "csv", TLP: "AMBER", CreatedBy: "alice", State: store.RunRunning, StartedAt: at, UpdatedAt: at, Origin: origin}
		must(s.CreateFeedRun(ctx, r))
		fin := at.Add(time.Minute)
		r.State, r.UpdatedAt, r.FinishedAt, r.Events, r.Unrouted = store.RunDone, fin, &fin, events, unrouted
		r.Owners, r.Partners = owners, partners
		for _, v := range owners {
			r.RoutedOwners += v
		}
		for _, v := range partners {
			r.RoutedPartners += v
		}
		must(s.FinishFeedRun(ctx, r))
	}
	run("run-1", "", mday(8), 100, 5, map[string]int64{"owner-acme": 60}, map[string]int64{"cn": 30, "kr": 5})
	run("run-2", "", mday(9), 50, 0, map[string]int64{"owner-acme": 20, "owner-beta": 10}, map[string]int64{"cn": 20})
	run("run-3", "cn", mday(10), 40, 10, map[string]int64{"owner-beta": 30}, map[string]int64{})
	run("run-4", "", time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC), 7, 7, map[string]int64{}, map[string]int64{})

	kase := func(c cvd.Case) {
		b, err := json.Marshal(c)
		must(err)
		must(s.PutCVDCase(ctx, store.CVDCase{ID: c.ID, Owner: c.Owner, Title: c.Title, State: b, CreatedAt: c.CreatedAt, UpdatedAt: c.CreatedAt}))
	}
	at := func(t time.Time) *time.Time { return &t }
	kase(cvd.Case{ID: "jp-cvd-1", Owner: "jp", Title: "SECRETCASETITLE", Participants: []string{"jp", "cn"}, CreatedAt: mday(0),
		Embargo: cvd.Embargo{PublishAt: at(mday(10)), Agreed: []string{"jp", "cn"}},
		Statuses: []cvd.Status{{Team: "jp", VendorRef: "vref-1", Vendor: "SECRETVENDOR", Status: cvd.Affected},
			{Team: "jp", VendorRef: "vref-2", Status: cvd.Unassessed}, {Team: "cn", VendorRef: "vref-3", Status: cvd.Fixed}}})
	kase(cvd.Case{ID: "jp-cvd-2", Owner: "jp", Title: "Unpublished", Participants: []string{"jp", "cn", "kr"}, CreatedAt: mday(3),
		Embargo:  cvd.Embargo{PublishAt: at(mday(20)), Agreed: []string{"jp"}},
		Statuses: []cvd.Status{{Team: "kr", VendorRef: "vref-4", Status: cvd.UnderInvestigation}}})
	kase(cvd.Case{ID: "cn-cvd-1", Owner: "cn", Title: "Emergency", Participants: []string{"cn", "jp"}, CreatedAt: mday(6),
		Embargo: cvd.Embargo{Agreed: []string{}, Emergency: &cvd.Emergency{Team: "cn", By: "bob", Reason: "exploited", At: mday(8)}}})
}

func openSQLite(t testing.TB) *sqlstore.DB {
	db, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openPostgres(t *testing.T) *sqlstore.DB {
	db, err := sqlstore.OpenPostgres(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestCollabFiguresSQLite(t *testing.T)   { testCollabFigures(t, openSQLite(t)) }
func TestCollabFiguresPostgres(t *testing.T) { testCollabFigures(t, openPostgres(t)) }

func wantTally(t *testing.T, what string, got Tally, n int, records ...string) {
	t.Helper()
	if got.N != n || strings.Join(got.Records, ",") != strings.Join(records, ",") {
		t.Errorf("%s: n %d records %v, want %d %v", what, got.N, got.Records, n, records)
	}
	if got.Method == "" || got.Evidence == "" {
		t.Errorf("%s: no method or evidence", what)
	}
}

func wantFigure(t *testing.T, what string, f Figure, n int, p50, p95, mx float64) {
	t.Helper()
	if f.N != n {
		t.Errorf("%s: n %d, want %d", what, f.N, n)
		return
	}
	if n == 0 {
		if f.P50 != nil {
			t.Errorf("%s: percentiles of nothing", what)
		}
		return
	}
	if *f.P50 != p50 || *f.P95 != p95 || *f.Max != mx {
		t.Errorf("%s: p50 %v p95 %v max %v, want %v %v %v", what, *f.P50, *f.P95, *f.Max, p50, p95, mx)
	}
	if !strings.Contains(f.Method, "nearest rank") || f.Evidence == "" {
		t.Errorf("%s: method %q evidence %q", what, f.Method, f.Evidence)
	}
}

func direction(t *testing.T, r Report, from, to string) Direction {
	t.Helper()
	for _, d := range r.Directions {
		if d.From == from && d.To == to {
			return d
		}
	}
	t.Fatalf("no direction %s → %s", from, to)
	return Direction{}
}

func testCollabFigures(t *testing.T, db *sqlstore.DB) {
	n := newCollabNode(t, db)
	ctx := context.Background()
	per, _ := ParsePeriod("2026-03")
	r, err := n.svc.Compute(ctx, per, "")
	if err != nil {
		t.Fatal(err)
	}

	// Sharing, jp → cn: jp-o1..o4 went to cn; cn reported o1 seen and taken down, o2
	// taken down twice, o3 seen, o4 taken down. Takedown times 3600 (o1), 86400 (o2's
	// first), 600 (o4): sorted 600, 3600, 86400; nearest rank p50 = the 2nd, p95 = the 3rd.
	jc := direction(t, r, "jp", "cn")
	wantTally(t, "jp→cn objects", jc.Sharing.Objects, 4, "jp-o1", "jp-o2", "jp-o3", "jp-o4")
	if jc.Sharing.Sightings.N != 6 || jc.Sharing.Takedowns.N != 4 {
		t.Errorf("jp→cn: %d sightings, %d takedowns; want 6, 4", jc.Sharing.Sightings.N, jc.Sharing.Takedowns.N)
	}
	wantFigure(t, "jp→cn time to takedown", jc.Sharing.TimeToTakedown, 3, 3600, 86400, 86400)
	if jc.Sharing.Objects.Evidence != EvidenceLocal || jc.Sharing.TimeToTakedown.Evidence != EvidenceEnvelope {
		t.Errorf("jp→cn evidence: %s, %s", jc.Sharing.Objects.Evidence, jc.Sharing.TimeToTakedown.Evidence)
	}
	jk := direction(t, r, "jp", "kr")
	wantTally(t, "jp→kr objects", jk.Sharing.Objects, 1, "jp-o1")
	wantFigure(t, "jp→kr time to takedown", jk.Sharing.TimeToTakedown, 1, 7200, 7200, 7200)
	cj := direction(t, r, "cn", "jp")
	wantTally(t, "cn→jp objects (received)", cj.Sharing.Objects, 1, "cn-o1")
	wantFigure(t, "cn→jp time to takedown", cj.Sharing.TimeToTakedown, 1, 1800, 1800, 1800)
	if cj.Sharing.Objects.Evidence != EvidenceEnvelope {
		t.Errorf("received objects rest on %s", cj.Sharing.Objects.Evidence)
	}
	// Pooled: 600, 1800, 3600, 7200, 86400: p50 the 3rd, p95 the ceil(4.75) = 5th.
	wantTally(t, "pooled objects", r.Sharing.Objects, 6, "cn-o1", "jp-o1", "jp-o2", "jp-o3", "jp-o4")
	wantFigure(t, "pooled time to takedown", r.Sharing.TimeToTakedown, 5, 3600, 86400, 86400)

	// Feeds: jp's runs 1 and 2 routed 30 + 20 events to cn, 5 to kr; cn's report (run 3)
	// brought 40. April's run is out of the period.
	wantTally(t, "jp→cn events", jc.Feeds.Events, 50, "run-1", "run-2")
	wantTally(t, "jp→kr events", jk.Feeds.Events, 5, "run-1")
	wantTally(t, "cn→jp events", cj.Feeds.Events, 40, "run-3")
	f := r.Own.Feeds
	wantTally(t, "own runs", f.Runs, 3, "run-1", "run-2", "run-3")
	if f.Events != 190 || f.RoutedOwners != 120 || f.RoutedPartners != 55 || f.Unrouted != 15 || f.UnroutedShare == nil || *f.UnroutedShare != 0.0789 {
		t.Errorf("own feeds %+v", f)
	}
	if len(f.ByOwner) != 2 || f.ByOwner[0] != (Count{"owner-acme", 80}) || f.ByOwner[1] != (Count{"owner-beta", 40}) {
		t.Errorf("by owner %+v", f.ByOwner)
	}
	if len(f.ByPartner) != 2 || f.ByPartner[0] != (Count{"cn", 50}) || f.ByPartner[1] != (Count{"kr", 5}) {
		t.Errorf("by partner %+v", f.ByPartner)
	}

	// CVD: jp-cvd-1 (with cn) published at its agreed instant, 10 days after it opened;
	// jp-cvd-2 (cn, kr) is not agreed by all; cn-cvd-1 published in an emergency after 2 days.
	wantTally(t, "jp→cn cases", jc.CVD.Cases, 2, "jp-cvd-1", "jp-cvd-2")
	wantTally(t, "jp→cn vendors reached", jc.CVD.VendorsReached, 1, "jp-cvd-1")
	wantFigure(t, "jp→cn time to publication", jc.CVD.TimeToPublication, 1, 864000, 864000, 864000)
	wantTally(t, "jp→kr cases", jk.CVD.Cases, 1, "jp-cvd-2")
	wantTally(t, "jp→kr vendors reached", jk.CVD.VendorsReached, 1, "jp-cvd-2")
	wantFigure(t, "jp→kr time to publication", jk.CVD.TimeToPublication, 0, 0, 0, 0)
	wantFigure(t, "cn→jp time to publication", cj.CVD.TimeToPublication, 1, 172800, 172800, 172800)
	wantTally(t, "pooled cases", r.CVD.Cases, 3, "cn-cvd-1", "jp-cvd-1", "jp-cvd-2")
	wantFigure(t, "pooled time to publication", r.CVD.TimeToPublication, 2, 172800, 864000, 864000)
	oc := r.Own.CVD
	wantTally(t, "own cases", oc.Cases, 2, "jp-cvd-1", "jp-cvd-2")
	wantTally(t, "own vendors contacted", oc.VendorsContacted, 2, "jp-cvd-1")
	wantTally(t, "own vendors reached", oc.VendorsReached, 1, "jp-cvd-1")
	wantFigure(t, "own time to publication", oc.TimeToPublication, 1, 864000, 864000, 864000)

	// What Prometheus is told (internal/opmetrics): the same records, counted.
	cc, err := n.st.CountCollab(ctx, "jp")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, c := range cc {
		got[c.Kind+"/"+c.Group+"/"+c.Sub] = c.N
	}
	for k, v := range map[string]int64{"feed_events/own/owner": 90, "feed_events/own/partner": 55, "feed_events/own/unrouted": 12,
		"feed_events/partner/owner": 30, "feed_events/partner/partner": 0, "feed_events/partner/unrouted": 10,
		"objects/out/active": 5, "objects/in/active": 1, "sightings/in/seen": 2, "sightings/in/taken-down": 6,
		"sightings/out/taken-down": 1, "cvd_cases/owner/": 2, "cvd_cases/participant/": 1} {
		if got[k] != v {
			t.Errorf("count %s: %d, want %d", k, got[k], v)
		}
	}

	// One partner: only the directions with kr.
	rk, err := n.svc.Compute(ctx, per, "kr")
	if err != nil {
		t.Fatal(err)
	}
	wantTally(t, "kr objects", rk.Sharing.Objects, 1, "jp-o1")
	wantFigure(t, "kr time to takedown", rk.Sharing.TimeToTakedown, 1, 7200, 7200, 7200)
	wantTally(t, "kr cases", rk.CVD.Cases, 1, "jp-cvd-2")

	// What jp publishes: counts and percentiles, valid, and nothing of the cases.
	agg := ToWire(r, time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC))
	if err := ValidateAggregate(agg, "jp", time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatalf("our aggregate: %v", err)
	}
	b, err := wire.EncodeMetricsAggregate(agg)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"jp-o", "cn-o", "secret", "SECRET", "run-", "owner-", "vref-", "cvd-", "alice", "bob", "exploited", "Unpublished"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the aggregate holds %q: %s", secret, b)
		}
	}
	back, err := wire.DecodeMetricsAggregate(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Own.Feeds == nil || back.Own.Feeds.Events != 190 || back.Own.CVD.Published != 1 {
		t.Errorf("own sections %+v", back.Own)
	}
	for _, d := range back.Directions {
		if d.From == "jp" && d.To == "cn" {
			if d.Sharing.Objects != 4 || d.Sharing.TimeToTakedown.P95 != 86400 || d.Feeds.Events != 50 || d.CVD.Cases != 2 {
				t.Errorf("jp→cn published as %+v %+v %+v", d.Sharing, d.Feeds, d.CVD)
			}
		}
	}
}

// The receiver holds the new sections to what they can be.
func TestValidateAggregateCollab(t *testing.T) {
	now := time.Date(2026, 10, 2, 1, 0, 0, 0, time.UTC)
	good := func() wire.MetricsAggregate {
		a := goodAggregate()
		a.Version = wire.MetricsAggregateVersion
		a.Own.Feeds = &wire.AggregateOwnFeeds{Runs: 2, Events: 100, RoutedOwners: 60, RoutedPartners: 30, Unrouted: 10}
		a.Own.CVD = &wire.AggregateOwnCVD{Cases: 2, VendorsContacted: 3, VendorsReached: 2, Published: 1,
			TimeToPublication: wire.AggregateFigure{N: 1, P50: 86400, P95: 86400, Max: 86400}}
		a.Directions[0].Sharing = &wire.AggregateSharing{Objects: 3, Sightings: 4, Takedowns: 2,
			TimeToTakedown: wire.AggregateFigure{N: 2, P50: 600, P95: 3600, Max: 3600}}
		a.Directions[0].Feeds = &wire.AggregateFeeds{Events: 30}
		a.Directions[0].CVD = &wire.AggregateCVD{Cases: 1, VendorsReached: 1, Published: 1,
			TimeToPublication: wire.AggregateFigure{N: 1, P50: 86400, P95: 86400, Max: 86400}}
		return a
	}
	if err := ValidateAggregate(good(), "jp", now); err != nil {
		t.Fatalf("a good aggregate: %v", err)
	}
	for name, f := range map[string]func(a *wire.MetricsAggregate){
		"more takedowns than sightings":   func(a *wire.MetricsAggregate) { a.Directions[0].Sharing.Takedowns = 5 },
		"takedown times without takedown": func(a *wire.MetricsAggregate) { a.Directions[0].Sharing.Takedowns = 1 },
		"negative objects":                func(a *wire.MetricsAggregate) { a.Directions[0].Sharing.Objects = -1 },
		"takedown percentiles disordered": func(a *wire.MetricsAggregate) { a.Directions[0].Sharing.TimeToTakedown.P50 = 7200 },
		"too many events":                 func(a *wire.MetricsAggregate) { a.Directions[0].Feeds.Events = maxCount + 1 },
		"more published than cases":       func(a *wire.MetricsAggregate) { a.Directions[0].CVD.Published = 2 },
		"publication times of nothing":    func(a *wire.MetricsAggregate) { a.Directions[0].CVD.Published = 0 },
		"more unrouted than events":       func(a *wire.MetricsAggregate) { a.Own.Feeds.Unrouted = 101 },
		"more vendors reached":            func(a *wire.MetricsAggregate) { a.Own.CVD.VendorsReached = 4 },
		"own publication time negative":   func(a *wire.MetricsAggregate) { a.Own.CVD.TimeToPublication.P50 = -1 },
	} {
		a := good()
		f(&a)
		if err := ValidateAggregate(a, "jp", now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
