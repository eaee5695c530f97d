package federation

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/envelope"
	"csirtlink/internal/identity"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
	"csirtlink/internal/wire"
)

// A backlog of large envelopes goes out in batches the receiver accepts, never in one
// body over its cap (which it would refuse forever, stalling the link).
func TestBatchesStayUnderTheReceiversCap(t *testing.T) {
	k, _ := identity.Generate()
	var items []store.OutboxItem
	for i := range 30 {
		e := &envelope.Envelope{Origin: "cn", Destination: "jp", Seq: uint64(i + 1), Type: "entry.append", ObjectID: "cn-2026-0001",
			Time: time.Now(), TLP: "AMBER", Payload: bytes.Repeat([]byte{'<'}, envelope.MaxPayload)}
		e.Sign(k)
		items = append(items, store.OutboxItem{Peer: "jp", Seq: e.Seq, Envelope: e.Marshal()})
	}
	f := &Federation{key: k, clock: clock.Real{}, dir: &team.Directory{Self: team.Team{ID: "cn"}}}
	sent := 0
	for sent < len(items) {
		envs, body, n, err := f.batchOf("jp", items[sent:])
		if err != nil {
			t.Fatal(err)
		}
		if n < 1 || len(envs) != n {
			t.Fatalf("batch of %d (%d decoded)", n, len(envs))
		}
		if len(body) > envelope.MaxBatchBytes {
			t.Fatalf("batch body %d bytes, over the receiver's cap of %d", len(body), envelope.MaxBatchBytes)
		}
		bt, err := envelope.DecodeBatch(body)
		if err != nil || len(bt.Envelopes) != n || bt.Envelopes[0].Seq != uint64(sent+1) {
			t.Fatalf("batch does not decode in order: %v", err)
		}
		sent += n
	}
	if one, _, n, _ := f.batchOf("jp", items[:3]); n != 3 || len(one) != 3 {
		t.Fatalf("small backlog split: %d", n)
	}
}

// A bulk chunk ends its batch, so that a peer back from an outage holds the first chunk
// of its backlog after one chunk's work, not after a batch of twenty.
func TestABulkChunkEndsItsBatch(t *testing.T) {
	k, _ := identity.Generate()
	var items []store.OutboxItem
	for i, typ := range []string{"entry.append", "entry.append", wire.TypeBulkChunk, wire.TypeBulkChunk, "entry.append"} {
		e := &envelope.Envelope{Origin: "cn", Destination: "jp", Seq: uint64(i + 1), Type: typ, ObjectID: "x",
			Time: time.Now(), TLP: "GREEN", Payload: []byte("{}")}
		items = append(items, store.OutboxItem{Peer: "jp", Seq: e.Seq, Type: typ, Envelope: e.Marshal()})
	}
	f := &Federation{key: k, clock: clock.Real{}, dir: &team.Directory{Self: team.Team{ID: "cn"}}}
	var sizes []int
	for sent := 0; sent < len(items); {
		_, _, n, err := f.batchOf("jp", items[sent:])
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, n)
		sent += n
	}
	if want := []int{3, 1, 1}; !slices.Equal(sizes, want) {
		t.Fatalf("batches of %v, want %v", sizes, want)
	}
}
