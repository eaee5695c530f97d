package storetest

import (
	"errors"
	"testing"
	"time"

	"csirtlink/internal/store"
)

func testPartners(t *testing.T, s store.Store) {
	ctx := t.Context()
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	p := store.Partner{ID: "sg", Status: "pending", Doc: []byte(`{"id":"sg"}`), CreatedAt: at, UpdatedAt: at}
	if err := s.PutPartner(ctx, p); err != nil {
		t.Fatal(err)
	}
	p.Status, p.Doc, p.CreatedAt, p.UpdatedAt = "active", []byte(`{"id":"sg","name":"SingCERT"}`), at.Add(time.Hour), at.Add(time.Hour)
	if err := s.PutPartner(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetPartner(ctx, "sg")
	if err != nil || got.Status != "active" || string(got.Doc) != string(p.Doc) || !got.CreatedAt.Equal(at) || !got.UpdatedAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("a replaced partner: %+v %v (created_at kept, the rest replaced)", got, err)
	}
	grace := at.Add(7 * 24 * time.Hour)
	must(t, s.PutPartnerKey(ctx, store.PartnerKey{Team: "sg", PublicKey: "k1", AddedAt: at, Reason: "introduced"}))
	must(t, s.PutPartnerKey(ctx, store.PartnerKey{Team: "sg", PublicKey: "k2", AddedAt: at.Add(time.Minute), Reason: "rotated"}))
	must(t, s.PutPartnerKey(ctx, store.PartnerKey{Team: "sg", PublicKey: "k1", AddedAt: at.Add(time.Minute), RetiredAt: &at, GraceUntil: &grace, Reason: "rotated"}))
	keys, err := s.PartnerKeys(ctx, "sg")
	if err != nil || len(keys) != 2 || keys[0].PublicKey != "k1" || keys[0].GraceUntil == nil || !keys[0].GraceUntil.Equal(grace) || keys[1].RetiredAt != nil {
		t.Fatalf("key history: %+v %v", keys, err)
	}
	list, err := s.ListPartners(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %+v %v", list, err)
	}
	must(t, s.DeletePartner(ctx, "sg"))
	if _, err := s.GetPartner(ctx, "sg"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted partner: %v", err)
	}
	if keys, _ := s.PartnerKeys(ctx, "sg"); len(keys) != 0 {
		t.Fatalf("keys outlive their partner: %+v", keys)
	}
	if err := s.DeletePartner(ctx, "sg"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := s.GetSetting(ctx, "constituency"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unset setting: %v", err)
	}
	must(t, s.PutSetting(ctx, "constituency", []byte(`{"serial":1}`), at))
	must(t, s.PutSetting(ctx, "constituency", []byte(`{"serial":2}`), at))
	if v, err := s.GetSetting(ctx, "constituency"); err != nil || string(v) != `{"serial":2}` {
		t.Fatalf("setting: %s %v", v, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
