package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"csirtlink/internal/store"
)

const idemCols = `user_id, idem_key, method, path, request_hash, state, status, content_type, location, body, created_at, expires_at`

// LookupIdempotency returns a user's live record of a key.
func (c conn) LookupIdempotency(ctx context.Context, userID, key string, now time.Time) (store.IdempotencyRecord, bool, error) {
	var r store.IdempotencyRecord
	var created, expires int64
	err := c.row(ctx, `SELECT `+idemCols+` FROM idempotency WHERE user_id = ? AND idem_key = ? AND expires_at > ?`, userID, key, micros(now)).
		Scan(&r.UserID, &r.Key, &r.Method, &r.Path, &r.RequestHash, &r.State, &r.Status, &r.ContentType, &r.Location, &r.Body, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("sqlstore: idempotency: %w", err)
	}
	r.CreatedAt, r.ExpiresAt = fromMicros(created), fromMicros(expires)
	return r, true, nil
}

// putIdempotency inserts r, or replaces the record of its key if that expired by
// r.CreatedAt or is r's own applied record (then only state and answer change). It
// reports false when a live record of another request holds the key.
func (c conn) putIdempotency(ctx context.Context, r store.IdempotencyRecord) (bool, error) {
	res, err := c.exec(ctx, `INSERT INTO idempotency (`+idemCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) `+
		`ON CONFLICT (user_id, idem_key) DO UPDATE SET method = excluded.method, path = excluded.path, `+
		`request_hash = excluded.request_hash, state = excluded.state, status = excluded.status, `+
		`content_type = excluded.content_type, location = excluded.location, body = excluded.body, `+
		`created_at = CASE WHEN idempotency.expires_at <= excluded.created_at THEN excluded.created_at ELSE idempotency.created_at END, `+
		`expires_at = CASE WHEN idempotency.expires_at <= excluded.created_at THEN excluded.expires_at ELSE idempotency.expires_at END `+
		`WHERE idempotency.expires_at <= excluded.created_at `+
		`OR (idempotency.state = ? AND excluded.state = ? AND idempotency.request_hash = excluded.request_hash AND idempotency.created_at = excluded.created_at)`,
		r.UserID, r.Key, r.Method, r.Path, r.RequestHash, r.State, r.Status, r.ContentType, r.Location, r.Body,
		micros(r.CreatedAt), micros(r.ExpiresAt), store.IdemApplied, store.IdemDone)
	if err != nil {
		return false, fmt.Errorf("sqlstore: idempotency: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// FinishIdempotency keeps the answer.
func (c conn) FinishIdempotency(ctx context.Context, r store.IdempotencyRecord) error {
	r.State = store.IdemDone
	ok, err := c.putIdempotency(ctx, r)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("sqlstore: idempotency: %w", store.ErrKeyTaken)
	}
	return nil
}

// PruneIdempotency deletes records that expired before a time.
func (c conn) PruneIdempotency(ctx context.Context, before time.Time) (int, error) {
	res, err := c.exec(ctx, `DELETE FROM idempotency WHERE expires_at < ?`, micros(before))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: idempotency prune: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// markApplied writes, in the transaction c, the record of the request whose mark m
// is: the request's effect and its record commit together.
func (c conn) markApplied(ctx context.Context, m *store.IdempotencyMark) error {
	r := m.Record
	r.State = store.IdemApplied
	ok, err := c.putIdempotency(ctx, r)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("sqlstore: %w", store.ErrKeyTaken)
	}
	return nil
}

var _ store.Idempotency = (*DB)(nil)
