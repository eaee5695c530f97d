package feedrun

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"

	"csirtlink/internal/audit"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

// Deliveries lists what a run delivers: each partner's report, each owner contact's events.
func (s *Service) Deliveries(ctx context.Context, runID string) ([]store.FeedDelivery, error) {
	if _, err := s.Get(ctx, runID); err != nil {
		return nil, err
	}
	return s.st.FeedDeliveriesOf(ctx, runID)
}

// AssignHook is told, inside the assigning transaction, that events of a done run were
// given to an owner, so their delivery is recorded with them. The owner's new chunks
// are numbered from to to, after every chunk the run had before.
type AssignHook func(ctx context.Context, tx store.Tx, run store.FeedRun, ownerID string, from, to int64) error

// OnAssign adds a hook for assignments.
func (s *Service) OnAssign(h AssignHook) { s.assigned = append(s.assigned, h) }

// Assign gives a done run's unrouted events whose address is in network to an owner, in
// one transaction: the unrouted chunks are rewritten without them, the owner's get them
// (matched "assigned"), the counts move, and it is audited. It returns how many moved.
func (s *Service) Assign(ctx context.Context, actor, runID, ownerID, network string) (int64, error) {
	pfx, err := netip.ParsePrefix(network)
	if err != nil || pfx.Masked() != pfx {
		return 0, problem.Invalid("network", "must be a CIDR prefix without host bits, e.g. 203.0.113.0/24")
	}
	var moved int64
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		moved = 0
		run, err := tx.GetFeedRun(ctx, runID)
		if errors.Is(err, store.ErrNotFound) {
			return problem.NotFound("feed run %q not found", runID)
		}
		if err != nil {
			return err
		}
		if run.State != store.RunDone {
			return problem.Conflict("feed run %s is %s; only a finished run's unrouted events can be assigned", runID, run.State)
		}
		if _, err := tx.GetOwner(ctx, ownerID); errors.Is(err, store.ErrNotFound) {
			return problem.Invalid("owner", "no network owner %q", ownerID)
		} else if err != nil {
			return err
		}
		chunks, err := tx.FeedChunks(ctx, runID, store.ChunkUnrouted, "")
		if err != nil {
			return err
		}
		seq, err := tx.MaxFeedChunkSeq(ctx, runID)
		if err != nil {
			return err
		}
		keep := &chunkWriter{tx: tx, runID: runID, kind: store.ChunkUnrouted, seq: &seq}
		give := &chunkWriter{tx: tx, runID: runID, kind: store.ChunkOwner, target: ownerID, seq: &seq}
		if err := tx.DeleteFeedChunks(ctx, runID, store.ChunkUnrouted, ""); err != nil {
			return err
		}
		for _, c := range chunks {
			err := DecodeChunk(c.Data, func(r Record) error {
				if a, err := netip.ParseAddr(r.IP); err == nil && pfx.Contains(a) {
					r.Match = "assigned"
					moved++
					return give.add(ctx, r)
				}
				return keep.add(ctx, r)
			})
			if err != nil {
				return fmt.Errorf("feedrun: run %s chunk %d: %w", runID, c.Seq, err)
			}
		}
		if err := keep.flush(ctx); err != nil {
			return err
		}
		if err := give.flush(ctx); err != nil {
			return err
		}
		if moved == 0 {
			return nil
		}
		run.Unrouted -= moved
		run.RoutedOwners += moved
		run.Owners[ownerID] += moved
		run.UpdatedAt = s.clock.Now().UTC()
		if err := tx.SetFeedRunCounts(ctx, run); err != nil {
			return err
		}
		for _, h := range s.assigned {
			if err := h(ctx, tx, run, ownerID, give.first, give.last); err != nil {
				return err
			}
		}
		return audit.Append(ctx, tx, s.clock.Now(), actor, "feed.assign", runID,
			fmt.Sprintf("%d unrouted events in %s to owner %s", moved, pfx, ownerID))
	})
	return moved, err
}

// chunkWriter writes records into chunks of one recipient inside a transaction.
type chunkWriter struct {
	tx           store.Tx
	runID        string
	kind, target string
	seq          *int64
	first, last  int64 // the numbers of the chunks it wrote
	buf          bytes.Buffer
	n            int
}

func (w *chunkWriter) add(ctx context.Context, r Record) error {
	enc := json.NewEncoder(&w.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&r); err != nil {
		return err
	}
	if w.n++; w.n >= ChunkEvents {
		return w.flush(ctx)
	}
	return nil
}

func (w *chunkWriter) flush(ctx context.Context) error {
	if w.n == 0 {
		return nil
	}
	var out bytes.Buffer
	zw, _ := flate.NewWriter(&out, flate.BestSpeed)
	if _, err := zw.Write(w.buf.Bytes()); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	*w.seq++
	if w.first == 0 {
		w.first = *w.seq
	}
	w.last = *w.seq
	c := store.FeedChunk{RunID: w.runID, Seq: *w.seq, Kind: w.kind, Target: w.target, Events: w.n, Data: out.Bytes()}
	if err := w.tx.PutFeedChunk(ctx, c); err != nil {
		return err
	}
	w.buf.Reset()
	w.n = 0
	return nil
}
