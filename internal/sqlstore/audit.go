package sqlstore

import (
	"context"
	"fmt"

	"csirtlink/internal/store"
)

const auditCols = `seq, at, actor, action, object, detail, prev_hash, hash`

// auditHead is the newest audit record a transaction appended.
type auditHead struct {
	r  store.AuditRecord
	ok bool
}

func (h *auditHead) forget() {
	if h != nil {
		h.ok = false
	}
}

// LastAudit returns the newest audit record. In a transaction it takes the audit chain's
// lock first (dialect.lockSQL), so that the record appended next follows this one and no
// concurrent writer appends the same sequence number: the chain never forks. After this
// transaction appended a record it is that record, unread: the lock is held already.
func (c conn) LastAudit(ctx context.Context) (store.AuditRecord, error) {
	if c.head != nil && c.head.ok {
		return c.head.r, nil
	}
	var r store.AuditRecord
	var at int64
	if err := c.lock(ctx, "audit"); err != nil {
		return r, err
	}
	err := c.row(ctx, `SELECT `+auditCols+` FROM audit ORDER BY seq DESC LIMIT 1`).
		Scan(&r.Seq, &at, &r.Actor, &r.Action, &r.Object, &r.Detail, &r.PrevHash, &r.Hash)
	if err != nil {
		return r, notFound(err, "audit")
	}
	r.At = fromMicros(at)
	return r, nil
}

// PutAudit appends an audit record.
func (c conn) PutAudit(ctx context.Context, r store.AuditRecord) error {
	_, err := c.exec(ctx, `INSERT INTO audit (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Seq, micros(r.At), r.Actor, r.Action, r.Object, r.Detail, r.PrevHash, r.Hash)
	if err != nil {
		return fmt.Errorf("sqlstore: audit: %w", err)
	}
	if c.head != nil {
		// Only a record that follows the chain's head becomes the head; the lock
		// LastAudit took keeps it so until the transaction ends.
		c.head.r, c.head.ok = r, true
	}
	return nil
}

// ListAudit lists records after a sequence number, oldest first.
func (c conn) ListAudit(ctx context.Context, afterSeq int64, limit int) ([]store.AuditRecord, error) {
	rows, err := c.query(ctx, `SELECT `+auditCols+` FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: audit: %w", err)
	}
	defer rows.Close()
	out := []store.AuditRecord{}
	for rows.Next() {
		var r store.AuditRecord
		var at int64
		if err := rows.Scan(&r.Seq, &at, &r.Actor, &r.Action, &r.Object, &r.Detail, &r.PrevHash, &r.Hash); err != nil {
			return nil, fmt.Errorf("sqlstore: audit: %w", err)
		}
		r.At = fromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}
