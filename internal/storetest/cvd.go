package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"csirtlink/internal/store"
)

// CVD: a case is replaced whole, listed newest first; an entry is inserted once and
// positioned once, its timeline sequenced first; vendors keep their products.
func testCVD(t *testing.T, s store.Store) {
	ctx := context.Background()
	at := time.Date(2026, 12, 2, 3, 4, 5, 6000, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.GetCVDCase(ctx, "cn-2026-v0001"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing case: %v", err)
	}
	k := store.CVDCase{ID: "cn-2026-v0001", Owner: "cn", Title: "Router", State: []byte(`{"a":1}`), CreatedAt: at, UpdatedAt: at}
	must(s.PutCVDCase(ctx, k))
	must(s.PutCVDCase(ctx, store.CVDCase{ID: "cn-2026-v0002", Owner: "cn", Title: "NAS", State: []byte(`{}`), CreatedAt: at, UpdatedAt: at.Add(time.Hour)}))
	k.Owner, k.State, k.Private, k.LastPosition, k.UpdatedAt = "jp", []byte(`{"a":2}`), []byte(`{"reporter":{"name":"R"}}`), 3, at.Add(2*time.Hour)
	must(s.PutCVDCase(ctx, k))
	got, err := s.GetCVDCase(ctx, k.ID)
	if err != nil || got.Owner != "jp" || string(got.State) != `{"a":2}` || string(got.Private) != `{"reporter":{"name":"R"}}` ||
		got.LastPosition != 3 || !got.CreatedAt.Equal(at) || !got.UpdatedAt.Equal(k.UpdatedAt) {
		t.Fatalf("case %+v %v", got, err)
	}
	list, err := s.ListCVDCases(ctx, 0)
	if err != nil || len(list) != 2 || list[0].ID != k.ID {
		t.Fatalf("list %+v %v", list, err)
	}
	e := store.CVDEntry{ID: "e2", CaseID: k.ID, Team: "kr", Author: "kim", Kind: "comment", Body: "pending", TLP: "AMBER", CreatedAt: at, Signature: []byte{0, 1}}
	must(s.PutCVDEntry(ctx, e))
	must(s.PutCVDEntry(ctx, store.CVDEntry{ID: "e1", CaseID: k.ID, Position: 1, Team: "cn", Author: "wang", Kind: "status", TLP: "AMBER",
		Data: `{"status":"fixed"}`, CreatedAt: at.Add(time.Minute), Signature: []byte{2}}))
	tl, err := s.CVDTimeline(ctx, k.ID)
	if err != nil || len(tl) != 2 || tl[0].ID != "e1" || tl[1].Position != 0 {
		t.Fatalf("timeline %+v %v", tl, err)
	}
	e.Position = 2
	must(s.PutCVDEntry(ctx, e))
	e.Position = 5
	must(s.PutCVDEntry(ctx, e)) // positioned once: a second position changes nothing
	got2, err := s.GetCVDEntry(ctx, "e2")
	if err != nil || got2.Position != 2 || got2.Body != "pending" || string(got2.Signature) != "\x00\x01" || !got2.CreatedAt.Equal(at) {
		t.Fatalf("entry %+v %v", got2, err)
	}
	must(s.PutCVDVendor(ctx, store.CVDVendor{ID: "vd1", CaseID: k.ID, Name: "OEM KK", Email: "psirt@oem.example", Products: []string{"p1", "p2"},
		Shared: true, CreatedBy: "tanaka", CreatedAt: at}))
	vs, err := s.ListCVDVendors(ctx, k.ID)
	if err != nil || len(vs) != 1 || !vs[0].Shared || len(vs[0].Products) != 2 || vs[0].Email != "psirt@oem.example" {
		t.Fatalf("vendors %+v %v", vs, err)
	}
	if vs, err := s.ListCVDVendors(ctx, "cn-2026-v0002"); err != nil || len(vs) != 0 {
		t.Fatalf("vendors of another case %+v %v", vs, err)
	}
	must(s.AddCVDVendorMessage(ctx, store.CVDVendorMessage{ID: "m2", CaseID: k.ID, VendorID: "vd1", Direction: "in", Address: "psirt@oem.example",
		Subject: "Re", Body: "修正済み", Author: "OEM KK", CreatedAt: at.Add(time.Second)}))
	must(s.AddCVDVendorMessage(ctx, store.CVDVendorMessage{ID: "m1", CaseID: k.ID, VendorID: "vd1", Direction: "out", Address: "psirt@oem.example",
		Subject: "Case", Body: "Please check.", Author: "tanaka", CreatedAt: at}))
	ms, err := s.ListCVDVendorMessages(ctx, k.ID)
	if err != nil || len(ms) != 2 || ms[0].ID != "m1" || ms[1].Body != "修正済み" || !ms[1].CreatedAt.Equal(at.Add(time.Second)) {
		t.Fatalf("vendor messages %+v %v", ms, err)
	}
}
