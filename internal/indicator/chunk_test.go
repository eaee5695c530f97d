package indicator

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/store"
	"csirtlink/internal/wire"
)

// chunkOf is a bulk chunk of indicator versions, as an author's node builds one.
func chunkOf(t *testing.T, inds ...store.Indicator) wire.BulkChunk {
	t.Helper()
	var raw bytes.Buffer
	for _, ind := range inds {
		b, err := wire.EncodeIndicator(toWire(ind))
		if err != nil {
			t.Fatal(err)
		}
		raw.Write(b)
		raw.WriteByte('\n')
	}
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	return wire.BulkChunk{Kind: wire.TypeIndicatorUpsert, Group: "ind-test", Part: 1, Last: true, Count: len(inds),
		Size: int64(raw.Len()), Data: zw.EncodeAll(raw.Bytes(), nil)}
}

func version(author string, i int, v int64, now time.Time) store.Indicator {
	return store.Indicator{ID: NewID(), Author: author, Version: v, State: store.IndicatorActive, Type: "ipv4",
		Value: fmt.Sprintf("192.0.2.%d", i), Category: "malicious-code/c2-server", Confidence: 60, TLP: "GREEN",
		ValidFrom: now.Add(-time.Hour), CreatedAt: now, Modified: now}
}

// A chunk's versions are checked and applied whole: the held copies are read for the
// whole chunk at once, and still an id another team wrote is refused (the chunk with
// it), a revoked copy stays revoked, the latest version in the same chunk wins, and the
// changes are told once, after commit.
func TestBulkChunkAppliesWholeOrNone(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		s := testNode(t, st)
		var told [][]string
		s.OnChanges(func(ids []string) { told = append(told, slices.Clone(ids)) })
		now := time.Now().UTC().Truncate(time.Second)
		theirs, revoked := version("kr", 1, 1, now), version("jp", 2, 1, now)
		revoked.State = store.IndicatorRevoked
		err := st.InTx(t.Context(), func(tx store.Tx) error {
			return errors.Join(tx.PutIndicator(t.Context(), theirs), tx.PutIndicator(t.Context(), revoked))
		})
		if err != nil {
			t.Fatal(err)
		}
		env := &envelope.Envelope{Origin: "jp", TLP: "GREEN"}
		apply := func(c wire.BulkChunk) error {
			return st.InTx(t.Context(), func(tx store.Tx) error { return s.applyChunk(t.Context(), tx, env, c) })
		}

		fresh := version("jp", 3, 1, now)
		takeover := version("jp", 4, 1, now)
		takeover.ID = theirs.ID
		var rej *federation.Reject
		if err := apply(chunkOf(t, fresh, takeover)); !errors.As(err, &rej) {
			t.Fatalf("a chunk with kr's id sent by jp: %v, want a rejection", err)
		}
		if _, err := st.GetIndicator(t.Context(), fresh.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the rejected chunk's other version was kept: %v", err)
		}
		if got, _ := st.GetIndicator(t.Context(), theirs.ID); got.Author != "kr" || got.Value != theirs.Value {
			t.Fatalf("kr's indicator became %+v", got)
		}

		back := version("jp", 5, 2, now)
		back.ID = revoked.ID
		second := fresh
		second.Version, second.Confidence = 2, 90
		newer := version("jp", 6, 2, now)
		older := newer
		older.Version, older.Confidence = 1, 10
		if err := apply(chunkOf(t, fresh, back, second, newer, older)); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.GetIndicator(t.Context(), revoked.ID); got.State != store.IndicatorRevoked {
			t.Fatalf("a revoked indicator came back: %+v", got)
		}
		if got, _ := st.GetIndicator(t.Context(), fresh.ID); got.Version != 2 || got.Confidence != 90 {
			t.Fatalf("the later version in the chunk: got version %d, confidence %d", got.Version, got.Confidence)
		}
		if got, _ := st.GetIndicator(t.Context(), newer.ID); got.Version != 2 || got.Confidence != 60 {
			t.Fatalf("an earlier version after a later one in the chunk: got version %d, confidence %d", got.Version, got.Confidence)
		}
		if want := [][]string{{fresh.ID, fresh.ID, newer.ID}}; !slices.EqualFunc(told, want, slices.Equal) {
			t.Fatalf("told %v, want %v (once, after the commit)", told, want)
		}
	})
}
