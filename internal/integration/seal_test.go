package integration

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"csirtlink/internal/envelope"
	"csirtlink/internal/identity"
	"csirtlink/internal/testnet"
	"csirtlink/internal/wire"
)

// sendSealed delivers envelopes to a node in one batch, next in sequence, sealed as a
// sender of this build seals it (no signature per envelope), and returns the answer.
func (h *hostile) sendSealed(to *testnet.Node, typ string, objectIDs []string, label string, payloads [][]byte) envelope.Receipts {
	h.t.Helper()
	link, err := to.App.Store.GetLink(context.Background(), h.team)
	if err != nil {
		h.t.Fatal(err)
	}
	envs := make([]*envelope.Envelope, len(payloads))
	for i, p := range payloads {
		envs[i] = &envelope.Envelope{Origin: h.team, Destination: to.Team, Seq: link.LastInSeq + 1 + uint64(i), Type: typ,
			ObjectID: objectIDs[i], Time: time.Now(), TLP: label, Payload: p}
	}
	body, _ := json.Marshal(envelope.Batch{Envelopes: envs, Seal: envelope.SealBatch(h.key, h.team, to.Team, time.Now(), envs)})
	code, rs := post(h.t, to, h.key, h.team, time.Now(), body)
	if code != 200 {
		h.t.Fatalf("batch to %s: %d %+v", to.Team, code, rs)
	}
	return rs
}

// A batch whose seal — the one transport signature — is valid, but one of whose
// entries carries an author signature that is not: only that entry is rejected. The
// entries before and after it are applied, and one signed range receipt answers for
// all three.
func TestSealedBatchWithOneForgedAuthorSignatureRejectsOnlyThatEntry(t *testing.T) {
	dir := t.TempDir()
	n := startNet(t, testnet.Options{Dir: dir, Logger: testLogger})
	ctx := context.Background()
	cn, jp := n.Node("cn"), n.Node("jp")
	in := createIncident(t, cn, "AMBER", "jp")
	waitIncident(t, jp, in.ID)
	cnAs := impersonate(t, n, dir, "cn")
	stranger := must(identity.Generate())

	var payloads [][]byte
	var ids []string
	for i, k := range []identity.Key{cnAs.key, stranger, cnAs.key} {
		e := signEntry(k, wire.Entry{ID: identity.RandomID(16), IncidentID: in.ID, Position: int64(i + 1), Team: "cn",
			Author: "wang.lei", Kind: "comment", Body: []string{"first", "second, forged", "third"}[i], TLP: "AMBER",
			CreatedAt: time.Now().UTC().Truncate(time.Microsecond)})
		payloads = append(payloads, must(wire.EncodeEntry(e)))
		ids = append(ids, e.ID)
	}
	rs := cnAs.sendSealed(jp, wire.TypeEntryAppend, []string{in.ID, in.ID, in.ID}, "AMBER", payloads)
	if rs.Error != "" || len(rs.Ranges) != 1 {
		t.Fatalf("answer: error %q, %d range receipts, want one", rs.Error, len(rs.Ranges))
	}
	all := rs.All()
	if len(all) != 3 {
		t.Fatalf("%d receipts for 3 envelopes", len(all))
	}
	expect(t, "the first entry", *all[0], envelope.Applied, "")
	expect(t, "the entry with a forged author signature", *all[1], envelope.Rejected, "bad signature by cn")
	expect(t, "the third entry", *all[2], envelope.Applied, "")

	got, _ := getIncident(t, jp, in.ID)
	var held []string
	for _, e := range got.Timeline {
		held = append(held, e.ID)
	}
	if !slices.Contains(held, ids[0]) || slices.Contains(held, ids[1]) || !slices.Contains(held, ids[2]) {
		t.Fatalf("jp's timeline holds %v; want the first and third entries (%s, %s), not the forged one (%s)", held, ids[0], ids[2], ids[1])
	}
	// jp keeps each envelope with its share of cn's seal: evidence that cn sent it.
	cnPub := must(identity.ParsePublic(cnAs.key.Public()))
	link := must(jp.App.Store.GetLink(ctx, "cn"))
	for seq := link.LastInSeq - 2; seq <= link.LastInSeq; seq++ {
		row := must(jp.App.Store.GetInbox(ctx, "cn", seq))
		e := must(envelope.Unmarshal(row.Envelope))
		if err := e.VerifySealed(cnPub); err != nil {
			t.Errorf("seq %d: jp's copy does not prove cn sent it: %v", seq, err)
		}
	}
}
