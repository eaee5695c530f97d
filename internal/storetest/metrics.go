package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"csirtlink/internal/store"
)

// Aggregates: a newer one replaces an older one of the same team and period; an older
// or equal one changes nothing; they are listed by period, by team.
func testAggregates(t *testing.T, s store.Store) {
	ctx := context.Background()
	at := time.Date(2026, 10, 2, 3, 4, 5, 6000, time.UTC)
	put := func(team, period string, at time.Time, data string) bool {
		t.Helper()
		ok, err := s.PutAggregate(ctx, store.Aggregate{Team: team, Period: period, At: at, Data: []byte(data), ReceivedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !put("kr", "2026Q3", at, `{"a":1}`) || !put("jp", "2026Q3", at, `{"b":1}`) || !put("jp", "2026", at, `{"c":1}`) {
		t.Fatal("first aggregates not kept")
	}
	if put("jp", "2026Q3", at, `{"b":2}`) || put("jp", "2026Q3", at.Add(-time.Second), `{"b":3}`) {
		t.Error("an equal or older aggregate replaced the one kept")
	}
	if !put("jp", "2026Q3", at.Add(time.Second), `{"b":4}`) {
		t.Error("a newer aggregate was not kept")
	}
	got, err := s.ListAggregates(ctx, "2026Q3")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Team != "jp" || got[1].Team != "kr" || string(got[0].Data) != `{"b":4}` || !got[0].At.Equal(at.Add(time.Second)) {
		t.Errorf("listed %+v", got)
	}
	// Inside a transaction that rolls back, nothing is kept.
	s.InTx(ctx, func(tx store.Tx) error {
		tx.PutAggregate(ctx, store.Aggregate{Team: "cn", Period: "2026Q3", At: at, Data: []byte(`{}`), ReceivedAt: at})
		return errors.New("roll back")
	})
	if got, _ := s.ListAggregates(ctx, "2026Q3"); len(got) != 2 {
		t.Errorf("a rolled-back aggregate was kept: %d", len(got))
	}
}

// PagesCreated and IncidentsCreated list by creation time in [from, to), oldest first,
// with deliveries and participants.
func testMetricsReader(t *testing.T, s store.Store) {
	ctx := context.Background()
	mr, ok := s.(store.MetricsReader)
	if !ok {
		t.Fatal("the store is not a store.MetricsReader")
	}
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i, id := range []string{"cn-2026-p0001", "cn-2026-p0002", "jp-2026-p0001"} {
		from := id[:2]
		p := store.Page{ID: id, From: from, Severity: "high", Summary: "s", TLP: "GREEN", CreatedBy: "x", CreatedAt: day.Add(time.Duration(i) * 24 * time.Hour),
			Deliveries: []store.Delivery{{Team: "kr", State: "sent", SentAt: day}}}
		if err := s.CreatePage(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	ps, err := mr.PagesCreated(ctx, day.Add(time.Hour), day.Add(3*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].ID != "cn-2026-p0002" || ps[1].ID != "jp-2026-p0001" || len(ps[0].Deliveries) != 1 {
		t.Errorf("pages created: %+v", ps)
	}
	counts, err := mr.CountDeliveries(ctx, "cn")
	if err != nil {
		t.Fatal(err)
	}
	byDir := map[string]int{}
	for _, c := range counts {
		byDir[c.Direction+"/"+c.State] += c.N
	}
	if byDir["out/sent"] != 2 || byDir["in/sent"] != 1 {
		t.Errorf("delivery counts: %+v", counts)
	}
	in := store.Incident{ID: "cn-2026-0001", Coordinator: "cn", Title: "t", Category: "fraud/phishing", Severity: "low", TLP: "GREEN",
		Status: "open", CreatedBy: "x", CreatedAt: day, UpdatedAt: day}
	if err := s.CreateIncident(ctx, in); err != nil {
		t.Fatal(err)
	}
	for _, team := range []string{"cn", "jp"} {
		if err := s.UpsertParticipant(ctx, in.ID, store.Participant{Team: team, Status: "invited", UpdatedAt: day}); err != nil {
			t.Fatal(err)
		}
	}
	ins, err := mr.IncidentsCreated(ctx, day, day.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 1 || len(ins[0].Participants) != 2 {
		t.Errorf("incidents created: %+v", ins)
	}
	if ins, _ := mr.IncidentsCreated(ctx, day.Add(time.Microsecond), day.Add(time.Hour)); len(ins) != 0 {
		t.Error("an incident before from was listed")
	}
}
