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

// ClaimIdempotency stores r as claimed unless a live record holds its key.
func (db *DB) ClaimIdempotency(ctx context.Context, r store.IdempotencyRecord, now time.Time) (store.IdempotencyRecord, bool, error) {
	var held store.IdempotencyRecord
	claimed := false
	_, err := db.inTx(ctx, func(t store.Tx) error {
		c := t.(conn)
		var created, expires int64
		err := c.row(ctx, `SELECT `+idemCols+` FROM idempotency WHERE user_id = ? AND idem_key = ?`, r.UserID, r.Key).
			Scan(&held.UserID, &held.Key, &held.Method, &held.Path, &held.RequestHash, &held.State, &held.Status,
				&held.ContentType, &held.Location, &held.Body, &created, &expires)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case expires > micros(now):
			held.CreatedAt, held.ExpiresAt = fromMicros(created), fromMicros(expires)
			return nil
		default:
			if _, err := c.exec(ctx, `DELETE FROM idempotency WHERE user_id = ? AND idem_key = ?`, r.UserID, r.Key); err != nil {
				return err
			}
		}
		_, err = c.exec(ctx, `INSERT INTO idempotency (`+idemCols+`) VALUES (?, ?, ?, ?, ?, ?, 0, '', '', NULL, ?, ?)`,
			r.UserID, r.Key, r.Method, r.Path, r.RequestHash, store.IdemClaimed, micros(r.CreatedAt), micros(r.ExpiresAt))
		claimed = err == nil
		return err
	})
	if err != nil {
		return held, false, fmt.Errorf("sqlstore: idempotency claim: %w", err)
	}
	if claimed {
		r.State = store.IdemClaimed
		return r, true, nil
	}
	return held, false, nil
}

// RetakeIdempotency claims again a record still claimed since createdAt.
func (c conn) RetakeIdempotency(ctx context.Context, r store.IdempotencyRecord, createdAt time.Time) (bool, error) {
	res, err := c.exec(ctx, `UPDATE idempotency SET created_at = ?, expires_at = ? `+
		`WHERE user_id = ? AND idem_key = ? AND state = ? AND created_at = ?`,
		micros(r.CreatedAt), micros(r.ExpiresAt), r.UserID, r.Key, store.IdemClaimed, micros(createdAt))
	if err != nil {
		return false, fmt.Errorf("sqlstore: idempotency retake: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// FinishIdempotency keeps the answer.
func (c conn) FinishIdempotency(ctx context.Context, r store.IdempotencyRecord) error {
	_, err := c.exec(ctx, `UPDATE idempotency SET state = ?, status = ?, content_type = ?, location = ?, body = ? `+
		`WHERE user_id = ? AND idem_key = ?`,
		store.IdemDone, r.Status, r.ContentType, r.Location, r.Body, r.UserID, r.Key)
	if err != nil {
		return fmt.Errorf("sqlstore: idempotency finish: %w", err)
	}
	return nil
}

// ReleaseIdempotency deletes a claim whose request had no effect.
func (c conn) ReleaseIdempotency(ctx context.Context, userID, key string) error {
	_, err := c.exec(ctx, `DELETE FROM idempotency WHERE user_id = ? AND idem_key = ? AND state = ?`, userID, key, store.IdemClaimed)
	if err != nil {
		return fmt.Errorf("sqlstore: idempotency release: %w", err)
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

// markApplied marks, in the transaction c, the record of the request whose context
// ctx is, applied.
func (c conn) markApplied(ctx context.Context, m *store.IdempotencyMark) error {
	_, err := c.exec(ctx, `UPDATE idempotency SET state = ? WHERE user_id = ? AND idem_key = ? AND state = ?`,
		store.IdemApplied, m.UserID, m.Key, store.IdemClaimed)
	if err != nil {
		return fmt.Errorf("sqlstore: idempotency mark: %w", err)
	}
	return nil
}

var _ store.Idempotency = (*DB)(nil)
