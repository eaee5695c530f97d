package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"csirtlink/internal/store"
)

type batchCounts struct {
	Owners   map[string]int64 `json:"owners,omitempty"`
	Partners map[string]int64 `json:"partners,omitempty"`
}

// RecordFeedBatch records a routed batch once. On PostgreSQL a second worker recording
// the same batch at once waits on the primary key until the first commits, then finds
// it there.
func (c conn) RecordFeedBatch(ctx context.Context, b store.FeedBatch) (bool, error) {
	counts, err := json.Marshal(batchCounts{Owners: b.Owners, Partners: b.Partners})
	if err != nil {
		return false, fmt.Errorf("sqlstore: record feed batch: %w", err)
	}
	res, err := c.exec(ctx, `INSERT INTO feed_run_batches (run_id, seq, events, routed_owners, routed_partners, unrouted, counts, routed_by, routed_at) `+
		`VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, seq) DO NOTHING`,
		b.RunID, b.Seq, b.Events, b.RoutedOwners, b.RoutedPartners, b.Unrouted, string(counts), b.RoutedBy, micros(b.RoutedAt))
	if err != nil {
		return false, fmt.Errorf("sqlstore: record feed batch %s/%d: %w", b.RunID, b.Seq, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: record feed batch %s/%d: %w", b.RunID, b.Seq, err)
	}
	return n == 1, nil
}

// FeedBatches lists a run's routed batches.
func (c conn) FeedBatches(ctx context.Context, runID string) ([]store.FeedBatch, error) {
	rows, err := c.query(ctx, `SELECT seq, events, routed_owners, routed_partners, unrouted, counts, routed_by, routed_at `+
		`FROM feed_run_batches WHERE run_id = ? ORDER BY seq`, runID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: feed batches: %w", err)
	}
	defer rows.Close()
	var out []store.FeedBatch
	for rows.Next() {
		b := store.FeedBatch{RunID: runID}
		var counts string
		var at int64
		if err := rows.Scan(&b.Seq, &b.Events, &b.RoutedOwners, &b.RoutedPartners, &b.Unrouted, &counts, &b.RoutedBy, &at); err != nil {
			return nil, fmt.Errorf("sqlstore: feed batches: %w", err)
		}
		var bc batchCounts
		if err := json.Unmarshal([]byte(counts), &bc); err != nil {
			return nil, fmt.Errorf("sqlstore: feed batch %s/%d counts: %w", runID, b.Seq, err)
		}
		b.Owners, b.Partners, b.RoutedAt = bc.Owners, bc.Partners, fromMicros(at)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: feed batches: %w", err)
	}
	return out, nil
}

// CountFeedBatches counts a run's routed batches.
func (c conn) CountFeedBatches(ctx context.Context, runID string) (int64, error) {
	var n int64
	if err := c.row(ctx, `SELECT COUNT(*) FROM feed_run_batches WHERE run_id = ?`, runID).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count feed batches: %w", err)
	}
	return n, nil
}

// TouchFeedRun stamps a running run. Its UPDATE is the run's lock for a worker deciding
// whether its batch was the last.
func (c conn) TouchFeedRun(ctx context.Context, runID string, at time.Time) error {
	res, err := c.exec(ctx, `UPDATE feed_runs SET updated_at = ? WHERE id = ? AND state = ?`, micros(at), runID, store.RunRunning)
	if err != nil {
		return fmt.Errorf("sqlstore: touch feed run: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("feed run %s is not running: %w", runID, store.ErrConflict)
	}
	return nil
}

// chunksPerInsert bounds a multi-row INSERT: 64 rows of 6 values stay far below either
// database's limit on bound parameters.
const chunksPerInsert = 64

// AddFeedChunks stores a batch's chunks: one stamp of the run (its lock), then a
// multi-row INSERT per 64 chunks. A batch spread over 1,000 owners writes 1,000 small
// chunks, and a statement each made the commit the worker's bottleneck.
func (c conn) AddFeedChunks(ctx context.Context, cs []store.FeedChunk, at time.Time) error {
	add := func(tc conn) error {
		if len(cs) == 0 {
			return nil
		}
		if err := tc.TouchFeedRun(ctx, cs[0].RunID, at); err != nil {
			return err
		}
		for len(cs) > 0 {
			part := cs[:min(len(cs), chunksPerInsert)]
			cs = cs[len(part):]
			q := `INSERT INTO feed_chunks (run_id, seq, kind, target, events, data) VALUES ` +
				strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?), ", len(part)), ", ")
			args := make([]any, 0, 6*len(part))
			for _, ch := range part {
				args = append(args, ch.RunID, ch.Seq, ch.Kind, ch.Target, ch.Events, ch.Data)
			}
			if _, err := tc.exec(ctx, q, args...); err != nil {
				return fmt.Errorf("sqlstore: add feed chunks: %w", err)
			}
		}
		return nil
	}
	if c.inTx() {
		return add(c)
	}
	return c.owner.InTx(ctx, func(tx store.Tx) error { return add(tx.(conn)) })
}

// SealFeedRun records a run's seal, with the run locked.
func (c conn) SealFeedRun(ctx context.Context, s store.FeedSeal) error {
	errs, err := json.Marshal(s.Errors)
	if err != nil {
		return fmt.Errorf("sqlstore: seal feed run: %w", err)
	}
	capped := 0
	if s.Capped {
		capped = 1
	}
	seal := func(tc conn) error {
		if err := tc.TouchFeedRun(ctx, s.RunID, s.SealedAt); err != nil {
			return err
		}
		if _, err := tc.exec(ctx, `INSERT INTO feed_run_seals (run_id, batches, malformed, errors, capped, sealed_at) VALUES (?, ?, ?, ?, ?, ?)`,
			s.RunID, s.Batches, s.Malformed, string(errs), capped, micros(s.SealedAt)); err != nil {
			return fmt.Errorf("sqlstore: seal feed run: %w", err)
		}
		return nil
	}
	if c.inTx() {
		return seal(c)
	}
	return c.owner.InTx(ctx, func(tx store.Tx) error { return seal(tx.(conn)) })
}

// GetFeedSeal reads a run's seal.
func (c conn) GetFeedSeal(ctx context.Context, runID string) (store.FeedSeal, error) {
	s := store.FeedSeal{RunID: runID}
	var errs string
	var capped, at int64
	err := c.row(ctx, `SELECT batches, malformed, errors, capped, sealed_at FROM feed_run_seals WHERE run_id = ?`, runID).
		Scan(&s.Batches, &s.Malformed, &errs, &capped, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("feed run %s is not sealed: %w", runID, store.ErrNotFound)
	}
	if err != nil {
		return s, fmt.Errorf("sqlstore: feed seal: %w", err)
	}
	if err := json.Unmarshal([]byte(errs), &s.Errors); err != nil {
		return s, fmt.Errorf("sqlstore: feed seal %s errors: %w", runID, err)
	}
	s.Capped, s.SealedAt = capped != 0, fromMicros(at)
	return s, nil
}
