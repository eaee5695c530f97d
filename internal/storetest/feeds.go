package storetest

import (
	"math"
	"testing"

	"csirtlink/internal/store"
)

// The bulk feeds' half of the suite: network owners, feed runs and their chunks.

func netOwner(id string, minutes int) store.NetOwner {
	return store.NetOwner{ID: id, Name: "Owner " + id, Networks: []string{"192.0.2.0/24", "2001:db8::/32"}, ASNs: []uint32{64500},
		Domains: []string{id + ".example"}, Contacts: []store.OwnerContact{{Email: "abuse@" + id + ".example", Language: "ja", Format: "csv",
			Schedule: "daily", DigestAt: "08:30", Timezone: "Asia/Tokyo", BusinessDays: true, PGPKey: "-----BEGIN PGP PUBLIC KEY BLOCK-----"}},
		CreatedAt: at(minutes), UpdatedAt: at(minutes)}
}

func testOwners(t *testing.T, s store.Store) {
	ctx := t.Context()
	list, err := s.ListOwners(ctx)
	ok(t, err)
	same(t, "owners of an empty store", list, []store.NetOwner{})

	b, a := netOwner("isp-b", 1), netOwner("isp-a", 2)
	a.ASNs, a.Domains, a.Networks = nil, nil, nil
	ok(t, s.CreateOwner(ctx, b))
	ok(t, s.CreateOwner(ctx, a))
	isErr(t, "CreateOwner of a taken id", s.CreateOwner(ctx, netOwner("isp-a", 3)), store.ErrConflict)

	got, err := s.GetOwner(ctx, "isp-b")
	ok(t, err)
	same(t, "owner", got, b)
	list, err = s.ListOwners(ctx)
	ok(t, err)
	same(t, "owners by id", list, []store.NetOwner{a, b})

	b2 := b
	b2.Name, b2.Networks, b2.Contacts, b2.UpdatedAt = "Renamed", []string{"198.51.100.0/24"}, nil, at(9)
	b2.CreatedAt = at(50) // not written: creation stays
	ok(t, s.UpdateOwner(ctx, b2))
	got, err = s.GetOwner(ctx, "isp-b")
	ok(t, err)
	b2.CreatedAt = b.CreatedAt
	same(t, "owner after update", got, b2)
	isErr(t, "UpdateOwner of an unknown owner", s.UpdateOwner(ctx, netOwner("nobody", 1)), store.ErrNotFound)

	ok(t, s.DeleteOwner(ctx, "isp-a"))
	isErr(t, "DeleteOwner again", s.DeleteOwner(ctx, "isp-a"), store.ErrNotFound)
	_, err = s.GetOwner(ctx, "isp-a")
	isErr(t, "GetOwner of a deleted owner", err, store.ErrNotFound)
	list, err = s.ListOwners(ctx)
	ok(t, err)
	same(t, "owners after delete", len(list), 1)
}

func feedRun(id string, minutes int) store.FeedRun {
	return store.FeedRun{ID: id, Format: "shadowserver", Report: "scan_telnet", Feed: "shadowserver", FileName: "x.csv", TLP: "TLP:AMBER",
		CreatedBy: "alice", State: store.RunRunning, StartedAt: at(minutes), UpdatedAt: at(minutes)}
}

func testFeedRuns(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := feedRun("r1", 0)
	ok(t, s.CreateFeedRun(ctx, r))
	isErr(t, "CreateFeedRun of a taken id", s.CreateFeedRun(ctx, r), store.ErrConflict)
	ok(t, s.CreateFeedRun(ctx, feedRun("r2", 5)))

	chunks := []store.FeedChunk{
		{RunID: "r1", Seq: 2, Kind: store.ChunkOwner, Target: "isp-a", Events: 3, Data: []byte{0, 1, 2, 255}},
		{RunID: "r1", Seq: 1, Kind: store.ChunkOwner, Target: "isp-a", Events: 1, Data: []byte("one")},
		{RunID: "r1", Seq: 3, Kind: store.ChunkOwner, Target: "isp-b", Events: 1, Data: []byte("b")},
		{RunID: "r1", Seq: 4, Kind: store.ChunkUnrouted, Events: 7, Data: []byte("u")},
	}
	for _, c := range chunks {
		ok(t, s.AddFeedChunk(ctx, c, at(1)))
	}
	fails(t, "AddFeedChunk with a taken seq", s.AddFeedChunk(ctx, chunks[0], at(1)))

	got, err := s.FeedChunks(ctx, "r1", store.ChunkOwner, "isp-a")
	ok(t, err)
	same(t, "isp-a's chunks in order", got, []store.FeedChunk{chunks[1], chunks[0]})
	got, err = s.FeedChunks(ctx, "r1", store.ChunkUnrouted, "")
	ok(t, err)
	same(t, "unrouted chunks", got, []store.FeedChunk{chunks[3]})

	run, err := s.GetFeedRun(ctx, "r1")
	ok(t, err)
	want := r
	want.UpdatedAt = at(1)
	want.FeedCounts = store.FeedCounts{Owners: map[string]int64{}, Partners: map[string]int64{}, Errors: []store.FeedRowError{}}
	same(t, "running run, stamped by its chunks", run, want)

	done := want
	done.State, done.UpdatedAt, done.FinishedAt = store.RunDone, at(2), ptr(at(2))
	done.Events, done.RoutedOwners, done.RoutedPartners, done.Unrouted, done.Malformed = 14, 5, 2, 7, 1
	done.FeedCounts = store.FeedCounts{Owners: map[string]int64{"isp-a": 4, "isp-b": 1}, Partners: map[string]int64{"jp": 2},
		Errors: []store.FeedRowError{{Line: 9, Field: "ip", Message: "not an address"}}, Capped: true}
	ok(t, s.FinishFeedRun(ctx, done))
	run, err = s.GetFeedRun(ctx, "r1")
	ok(t, err)
	same(t, "finished run", run, done)

	isErr(t, "FinishFeedRun twice", s.FinishFeedRun(ctx, done), store.ErrConflict)
	isErr(t, "AddFeedChunk to a finished run", s.AddFeedChunk(ctx, store.FeedChunk{RunID: "r1", Seq: 9, Kind: store.ChunkOwner, Target: "x", Data: []byte("x")}, at(3)), store.ErrConflict)
	missing := feedRun("r404", 0)
	isErr(t, "FinishFeedRun of an unknown run", s.FinishFeedRun(ctx, missing), store.ErrNotFound)
	_, err = s.GetFeedRun(ctx, "r404")
	isErr(t, "GetFeedRun of an unknown run", err, store.ErrNotFound)

	list, err := s.ListFeedRuns(ctx, 0)
	ok(t, err)
	if len(list) != 2 || list[0].ID != "r2" || list[1].ID != "r1" {
		t.Fatalf("ListFeedRuns: want r2, r1 (newest first), got %+v", list)
	}
	list, err = s.ListFeedRuns(ctx, 1)
	ok(t, err)
	same(t, "ListFeedRuns limited", len(list), 1)
}

func testFeedRunInterrupted(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok(t, s.CreateFeedRun(ctx, feedRun("stale", 0)))
	ok(t, s.CreateFeedRun(ctx, feedRun("live", 10)))
	n, err := s.InterruptFeedRuns(ctx, at(5), at(11))
	ok(t, err)
	same(t, "runs interrupted", n, 1)
	r, err := s.GetFeedRun(ctx, "stale")
	ok(t, err)
	same(t, "stale run's state", r.State, store.RunInterrupted)
	r, err = s.GetFeedRun(ctx, "live")
	ok(t, err)
	same(t, "live run's state", r.State, store.RunRunning)
	// The process that wrote the stale run, if it only paused, cannot add to it or finish it.
	isErr(t, "AddFeedChunk to an interrupted run", s.AddFeedChunk(ctx, store.FeedChunk{RunID: "stale", Seq: 1, Kind: store.ChunkUnrouted, Data: []byte("x")}, at(12)), store.ErrConflict)
	done := feedRun("stale", 0)
	done.State = store.RunDone
	isErr(t, "FinishFeedRun of an interrupted run", s.FinishFeedRun(ctx, done), store.ErrConflict)
}

func testFeedDeliveries(t *testing.T, s store.Store) {
	ctx := t.Context()
	// A report received from a partner: listed by origin, and never interrupted for
	// silence (its next part may come after an outage).
	in := feedRun("in-jp-run7", 0)
	in.Origin, in.SourceRun = "jp", "run7"
	ok(t, s.CreateFeedRun(ctx, in))
	ok(t, s.CreateFeedRun(ctx, feedRun("ours", 1)))
	n, err := s.InterruptFeedRuns(ctx, at(30), at(31))
	ok(t, err)
	same(t, "runs interrupted (ours only)", n, 1)
	in.UpdatedAt = at(2)
	in.Events, in.RoutedOwners, in.TLP = 3, 3, "GREEN"
	in.FeedCounts = store.FeedCounts{Owners: map[string]int64{"isp": 3}, Partners: map[string]int64{}, Errors: []store.FeedRowError{}}
	ok(t, s.UpdateFeedRunCounts(ctx, in))
	got, err := s.ListFeedRunsFrom(ctx, "jp", 0)
	ok(t, err)
	same(t, "runs from jp", got, []store.FeedRun{in})
	got, err = s.ListFeedRunsFrom(ctx, "kr", 0)
	ok(t, err)
	same(t, "runs from kr", len(got), 0)
	isErr(t, "SetFeedRunCounts of a running run", s.SetFeedRunCounts(ctx, in), store.ErrConflict)

	ok(t, s.PutFeedChunk(ctx, store.FeedChunk{RunID: in.ID, Seq: 2_000_001, Kind: store.ChunkOwner, Target: "isp", Events: 3, Data: []byte("x")}))
	seq, err := s.MaxFeedChunkSeq(ctx, in.ID)
	ok(t, err)
	same(t, "highest chunk", seq, int64(2_000_001))
	ok(t, s.PutFeedChunk(ctx, store.FeedChunk{RunID: in.ID, Seq: 2_000_002, Kind: store.ChunkOwner, Target: "other", Events: 9, Data: []byte("x")}))
	ok(t, s.PutFeedChunk(ctx, store.FeedChunk{RunID: in.ID, Seq: 2_000_003, Kind: store.ChunkOwner, Target: "isp", Events: 4, Data: []byte("x")}))
	type span struct{ first, last, events int64 }
	spanOf := func(from, to int64) span {
		f, l, n, err := s.FeedChunkSpan(ctx, in.ID, store.ChunkOwner, "isp", from, to)
		ok(t, err)
		return span{f, l, n}
	}
	// Only the target's chunks count: another owner's chunk 2,000,002 is not in isp's span.
	same(t, "isp's whole span", spanOf(0, math.MaxInt64), span{2_000_001, 2_000_003, 7})
	same(t, "isp's span from 2,000,002", spanOf(2_000_002, math.MaxInt64), span{2_000_003, 2_000_003, 4})
	same(t, "an empty span", spanOf(0, 2_000_000), span{1, 0, 0})
	ok(t, s.DeleteFeedChunks(ctx, in.ID, store.ChunkOwner, "other"))
	ok(t, s.DeleteFeedChunks(ctx, in.ID, store.ChunkOwner, "isp"))
	ok(t, s.PutFeedChunk(ctx, store.FeedChunk{RunID: in.ID, Seq: 2_000_001, Kind: store.ChunkOwner, Target: "isp", Events: 3, Data: []byte("x")}))
	ok(t, s.DeleteFeedChunks(ctx, in.ID, store.ChunkOwner, "isp"))
	seq, err = s.MaxFeedChunkSeq(ctx, in.ID)
	ok(t, err)
	same(t, "no chunk left", seq, int64(0))

	d1 := store.FeedDelivery{RunID: in.ID, Kind: store.DeliverOwner, Target: "isp", Contact: "a@isp.example", State: store.DeliveryPending,
		DueAt: at(5), CreatedAt: at(2), UpdatedAt: at(2)}
	d2 := d1
	d2.Contact, d2.DueAt = "b@isp.example", at(60)
	ok(t, s.AddFeedDelivery(ctx, d1))
	ok(t, s.AddFeedDelivery(ctx, d2))
	isErr(t, "AddFeedDelivery twice", s.AddFeedDelivery(ctx, d1), store.ErrConflict)
	due, err := s.DueFeedDeliveries(ctx, store.DeliverOwner, at(10), 0)
	ok(t, err)
	same(t, "due deliveries", due, []store.FeedDelivery{d1})
	due, err = s.DueFeedDeliveries(ctx, store.DeliverPartner, at(100), 0)
	ok(t, err)
	same(t, "due partner deliveries", len(due), 0)

	r := store.OwnerReport{ID: "rep1", OwnerID: "isp", Contact: d1.Contact, Language: "ko", Format: "json", State: store.ReportPending,
		NextAt: at(10), CreatedAt: at(10), UpdatedAt: at(10)}
	ok(t, s.CreateOwnerReport(ctx, r))
	d1.State, d1.ReportID, d1.UpdatedAt = store.DeliveryReported, r.ID, at(10)
	ok(t, s.SetFeedDelivery(ctx, d1, store.DeliveryPending))
	isErr(t, "SetFeedDelivery from a state it left", s.SetFeedDelivery(ctx, d1, store.DeliveryPending), store.ErrConflict)
	rd, err := s.ReportDeliveries(ctx, r.ID)
	ok(t, err)
	same(t, "the report's deliveries", rd, []store.FeedDelivery{d1})
	all, err := s.FeedDeliveriesOf(ctx, in.ID)
	ok(t, err)
	same(t, "the run's deliveries", all, []store.FeedDelivery{d1, d2})

	reps, err := s.DueOwnerReports(ctx, at(10), 0)
	ok(t, err)
	same(t, "due reports", reps, []store.OwnerReport{r})
	r.State, r.Attempts, r.Encrypted, r.UpdatedAt = store.ReportSending, 1, true, at(11)
	ok(t, s.UpdateOwnerReport(ctx, r, store.ReportPending))
	isErr(t, "claiming a report twice", s.UpdateOwnerReport(ctx, r, store.ReportPending), store.ErrConflict)
	n, err = s.AbandonOwnerReports(ctx, at(12))
	ok(t, err)
	same(t, "reports abandoned", n, 1)
	back, err := s.GetOwnerReport(ctx, r.ID)
	ok(t, err)
	same(t, "abandoned report", back.State, store.ReportUnknown)
	reps, err = s.OwnerReports(ctx, "isp", 0)
	ok(t, err)
	same(t, "isp's reports", len(reps), 1)
	reps, err = s.OwnerReports(ctx, "other", 0)
	ok(t, err)
	same(t, "other's reports", len(reps), 0)
	_, err = s.GetOwnerReport(ctx, "nope")
	isErr(t, "GetOwnerReport of an unknown report", err, store.ErrNotFound)
}
