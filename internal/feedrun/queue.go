package feedrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"csirtlink/internal/feed"
	"csirtlink/internal/feed/pipeline"
	"csirtlink/internal/route"
	"csirtlink/internal/store"
)

// Handoff carries a run's parsed batches to routing workers elsewhere (internal/routequeue
// on JetStream). Publish queues evs as batches numbered from first, durably, and returns
// the next free number (it may split a batch). Without one, the run routes in process.
type Handoff interface {
	Publish(ctx context.Context, runID string, first int64, evs []feed.Event) (int64, error)
}

// SetQueue makes ingestion hand its batches to workers (RouteBatch) instead of routing
// them itself.
func (s *Service) SetQueue(h Handoff) { s.queue = h }

// QueueBatch is the events per queued batch: large, because a batch's commit writes a
// chunk per recipient in it, and with many owners small batches make many tiny chunks.
// The queue splits a batch that would not fit in one message.
const QueueBatch = 8192

// ingestQueued parses the input and publishes its batches; the workers route them. The
// run stays running after Ingest returns; it is done when as many batches are recorded
// as the seal says, by whichever of the seal and the last batch commits second.
func (s *Service) ingestQueued(ctx context.Context, actor string, run store.FeedRun, p feed.Parser, agg *feed.Aggregator, prog *pipeline.Progress) (store.FeedRun, error) {
	// A parser's read is at most 1 MiB of rows; reads gather to QueueBatch events. Each
	// read gets a fresh batch, as the events gathered keep its text.
	pending := make([]feed.Event, 0, QueueBatch)
	next := int64(1)
	publish := func() error {
		if len(pending) == 0 {
			return nil
		}
		var err error
		if next, err = s.queue.Publish(ctx, run.ID, next, pending); err != nil {
			return err
		}
		run.Events += int64(len(pending))
		if prog != nil {
			prog.Events.Add(int64(len(pending)))
			prog.Malformed.Store(p.Stats().Malformed)
		}
		pending = pending[:0]
		return nil
	}
	var runErr error
	for {
		batch := feed.NewBatch(feed.DefaultBatchSize)
		err := p.Read(batch)
		pending = append(pending, batch.Events...)
		if len(pending) >= QueueBatch || errors.Is(err, io.EOF) {
			if perr := publish(); perr != nil {
				runErr = perr
				break
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			runErr = err
			break
		}
	}
	stats := p.Stats()
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	if runErr != nil {
		// Batches already queued find the run failed and are dropped.
		run.State, run.Failure, run.UpdatedAt, run.FinishedAt = store.RunFailed, runErr.Error(), now, &now
		run.Malformed = stats.Malformed
		run.FeedCounts = store.FeedCounts{Errors: rowErrors(stats)}
		return s.finish(ctx, actor, run, runErr)
	}
	seal := store.FeedSeal{RunID: run.ID, Batches: next - 1, Malformed: stats.Malformed, Errors: rowErrors(stats), SealedAt: now}
	seal.Capped = seal.Malformed > int64(len(seal.Errors))
	// Sealed even when the request's context ended: the batches are out.
	wctx := context.WithoutCancel(ctx)
	err := s.st.InTx(wctx, func(tx store.Tx) error {
		if err := tx.SealFeedRun(wctx, seal); err != nil {
			return err
		}
		if agg != nil {
			// The seal has locked the run; the workers' last commit keeps this count.
			run.Merged, run.UpdatedAt = agg.Merged(), now
			run.FeedCounts.Owners, run.FeedCounts.Partners, run.FeedCounts.Errors = map[string]int64{}, map[string]int64{}, []store.FeedRowError{}
			if err := tx.UpdateFeedRunCounts(wctx, run); err != nil {
				return err
			}
		}
		return s.completeIfRouted(wctx, tx, run.ID)
	})
	if err != nil {
		return run, err
	}
	return s.Get(wctx, run.ID)
}

func rowErrors(st feed.Stats) []store.FeedRowError {
	out := []store.FeedRowError{}
	for _, e := range st.Errors {
		out = append(out, store.FeedRowError{Line: e.Line, Field: e.Field, Message: e.Msg})
	}
	return out
}

// completeIfRouted finishes a sealed run whose batches are all recorded, summing their
// counts. The caller has locked the run (SealFeedRun, TouchFeedRun), so of the seal and
// the batches, the one that commits last sees all the others and finishes it.
func (s *Service) completeIfRouted(ctx context.Context, tx store.Tx, runID string) error {
	seal, err := tx.GetFeedSeal(ctx, runID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	n, err := tx.CountFeedBatches(ctx, runID)
	if err != nil || n < seal.Batches {
		return err
	}
	run, err := tx.GetFeedRun(ctx, runID)
	if err != nil {
		return err
	}
	batches, err := tx.FeedBatches(ctx, runID)
	if err != nil {
		return err
	}
	run.Events, run.RoutedOwners, run.RoutedPartners, run.Unrouted = 0, 0, 0, 0
	run.FeedCounts = store.FeedCounts{Owners: map[string]int64{}, Partners: map[string]int64{}, Errors: seal.Errors, Capped: seal.Capped,
		Aggregate: run.Aggregate, Merged: run.Merged}
	for _, b := range batches {
		run.Events += b.Events
		run.RoutedOwners += b.RoutedOwners
		run.RoutedPartners += b.RoutedPartners
		run.Unrouted += b.Unrouted
		for id, k := range b.Owners {
			run.Owners[id] += k
		}
		for id, k := range b.Partners {
			run.Partners[id] += k
		}
	}
	end := s.clock.Now().UTC().Truncate(time.Microsecond)
	run.State, run.Malformed, run.UpdatedAt, run.FinishedAt = store.RunDone, seal.Malformed, end, &end
	if err := s.Finish(ctx, tx, run); err != nil {
		return err
	}
	return auditRun(ctx, tx, run.CreatedBy, run)
}

// IndexTTL is how long a worker routes with one index before rebuilding it from the
// owners in the store, so an owner added on any replica reaches every worker.
const IndexTTL = 30 * time.Second

// BatchRouter routes queued batches on a worker: enrich, route, chunk, and commit the
// chunks with the batch's record in one transaction.
type BatchRouter struct {
	s    *Service
	name string
	log  *slog.Logger

	mu    sync.Mutex
	x     *route.Index
	built time.Time
}

// BatchRouter makes the router of worker name (recorded with each batch it routes).
func (s *Service) BatchRouter(name string) *BatchRouter {
	return &BatchRouter{s: s, name: name, log: s.log.With("worker", name)}
}

func (r *BatchRouter) index(ctx context.Context) (*route.Index, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.s.clock.Now()
	if r.x == nil || now.Sub(r.built) >= IndexTTL {
		x, err := r.s.Index(ctx)
		if err != nil {
			return nil, err
		}
		r.x, r.built = x, now
	}
	return r.x, nil
}

// Route routes one batch of a queued run and commits it; a batch already recorded
// changes nothing, and a batch of a run no longer running (failed, interrupted) is
// dropped. On the last delivery a failure fails the run, which would otherwise wait
// for the batch forever.
func (r *BatchRouter) Route(ctx context.Context, runID string, seq int64, evs []feed.Event, last bool) error {
	err := r.route(ctx, runID, seq, evs)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrConflict):
		r.log.Info("batch of a run no longer running dropped", "run", runID, "batch", seq)
		return nil
	case last && ctx.Err() == nil:
		r.fail(ctx, runID, fmt.Errorf("batch %d could not be routed: %w", seq, err))
	}
	return err
}

func (r *BatchRouter) route(ctx context.Context, runID string, seq int64, evs []feed.Event) error {
	x, err := r.index(ctx)
	if err != nil {
		return err
	}
	var lookup interface{ Enrich(*feed.Event) }
	if r.s.enricher != nil {
		lookup = r.s.enricher.NewLookup()
	}
	b := store.FeedBatch{RunID: runID, Seq: seq, Events: int64(len(evs)), Owners: map[string]int64{}, Partners: map[string]int64{}, RoutedBy: r.name}
	bufs := map[target]*chunkBuf{}
	var order []target
	for i := range evs {
		ev := &evs[i]
		if lookup != nil {
			lookup.Enrich(ev)
		}
		d := x.Route(ev)
		t := target{kind: store.ChunkUnrouted}
		switch d.Kind {
		case route.ToOwner:
			t = target{kind: store.ChunkOwner, id: d.ID}
			b.RoutedOwners++
			b.Owners[d.ID]++
		case route.ToPartner:
			t = target{kind: store.ChunkPartner, id: d.ID}
			b.RoutedPartners++
			b.Partners[d.ID]++
		default:
			b.Unrouted++
		}
		cb := bufs[t]
		if cb == nil {
			cb = &chunkBuf{}
			bufs[t] = cb
			order = append(order, t)
		}
		if err := appendRecord(&cb.b, ev, d); err != nil {
			return err
		}
		cb.n++
	}
	// Compressed before the transaction, which then only writes.
	chunks := make([]store.FeedChunk, len(order))
	for i, t := range order {
		data, err := deflate(bufs[t].b.Bytes())
		if err != nil {
			return err
		}
		// A batch holds at most 65,536 events, so at most as many chunks: the batch's
		// number in the high bits keeps chunk numbers unique across workers.
		chunks[i] = store.FeedChunk{RunID: runID, Seq: seq<<17 | int64(i), Kind: t.kind, Target: t.id, Events: bufs[t].n, Data: data}
	}
	return r.s.st.InTx(ctx, func(tx store.Tx) error {
		now := r.s.clock.Now().UTC().Truncate(time.Microsecond)
		b.RoutedAt = now
		fresh, err := tx.RecordFeedBatch(ctx, b)
		if err != nil || !fresh {
			return err // routed before: its worker died before acknowledging
		}
		if err := tx.AddFeedChunks(ctx, chunks, now); err != nil {
			return err
		}
		return r.s.completeIfRouted(ctx, tx, runID)
	})
}

func (r *BatchRouter) fail(ctx context.Context, runID string, cause error) {
	r.log.Error("failing a feed run", "run", runID, "err", cause)
	wctx := context.WithoutCancel(ctx)
	err := r.s.st.InTx(wctx, func(tx store.Tx) error {
		run, err := tx.GetFeedRun(wctx, runID)
		if err != nil {
			return err
		}
		end := r.s.clock.Now().UTC().Truncate(time.Microsecond)
		run.State, run.Failure, run.UpdatedAt, run.FinishedAt = store.RunFailed, cause.Error(), end, &end
		if err := r.s.Finish(wctx, tx, run); err != nil {
			return err
		}
		return auditRun(wctx, tx, run.CreatedBy, run)
	})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		r.log.Error("failing a feed run failed", "run", runID, "err", err)
	}
}
