package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"csirtlink/internal/store"
)

// EnsureLink creates the link row for a peer if it is missing.
func (c conn) EnsureLink(ctx context.Context, peer string) error {
	_, err := c.exec(ctx, `INSERT INTO links (peer) VALUES (?) ON CONFLICT (peer) DO NOTHING`, peer)
	if err != nil {
		return fmt.Errorf("sqlstore: link %s: %w", peer, err)
	}
	return nil
}

// GetLink returns a peer's link state.
func (c conn) GetLink(ctx context.Context, peer string) (store.Link, error) {
	l := store.Link{Peer: peer}
	var contact, delivered, sent, received, errAt, pullErrAt sql.NullInt64
	err := c.row(ctx, `SELECT next_seq, last_in_seq, last_contact_at, last_delivered_at, last_sent_at, last_received_at, `+
		`last_error, last_error_at, last_pull_error, last_pull_error_at FROM links WHERE peer = ?`, peer).
		Scan(&l.NextSeq, &l.LastInSeq, &contact, &delivered, &sent, &received, &l.LastError, &errAt, &l.LastPullError, &pullErrAt)
	if err != nil {
		return l, notFound(err, "link "+peer)
	}
	l.LastContactAt, l.LastDeliveredAt, l.LastErrorAt = ptrMicros(contact), ptrMicros(delivered), ptrMicros(errAt)
	l.LastSentAt, l.LastReceivedAt, l.LastPullErrorAt = ptrMicros(sent), ptrMicros(received), ptrMicros(pullErrAt)
	return l, nil
}

// LockLink returns a peer's link state and, in a transaction, holds the peer's inbound
// lock until it ends: two replicas handed the same batch by the peer apply it one after
// the other, and the second finds it applied.
//
// The lock is not the link row's: TakeSeq updates that row for every envelope we queue
// for the peer, and a transaction applying the peer's batch, which locks incidents, would
// deadlock with one writing to an incident, which takes sequence numbers.
func (c conn) LockLink(ctx context.Context, peer string) (store.Link, error) {
	if err := c.lock(ctx, "inbound/"+peer); err != nil {
		return store.Link{Peer: peer}, err
	}
	return c.GetLink(ctx, peer)
}

// TakeSeq returns the next outbound sequence number for peer and advances it.
func (c conn) TakeSeq(ctx context.Context, peer string) (uint64, error) {
	var next uint64
	err := c.row(ctx, `UPDATE links SET next_seq = next_seq + 1 WHERE peer = ? RETURNING next_seq - 1`, peer).Scan(&next)
	if err != nil {
		return 0, notFound(err, "link "+peer)
	}
	return next, nil
}

// SetLastInSeq records the last inbound sequence applied from peer.
func (c conn) SetLastInSeq(ctx context.Context, peer string, seq uint64) error {
	if _, err := c.exec(ctx, `UPDATE links SET last_in_seq = ? WHERE peer = ?`, seq, peer); err != nil {
		return fmt.Errorf("sqlstore: link %s: %w", peer, err)
	}
	return nil
}

// LinkContact records a successful exchange with peer; see store.LinkEvent.
func (c conn) LinkContact(ctx context.Context, peer string, at time.Time, ev store.LinkEvent) error {
	set, args := []string{"last_contact_at = ?"}, []any{micros(at)}
	if ev.Sent {
		set, args = append(set, "last_sent_at = ?", "last_error = ''"), append(args, micros(at))
	}
	if ev.Delivered {
		set, args = append(set, "last_delivered_at = ?"), append(args, micros(at))
	}
	if ev.Received {
		set, args = append(set, "last_received_at = ?"), append(args, micros(at))
	}
	if ev.Pulled {
		set = append(set, "last_pull_error = ''")
	}
	if _, err := c.exec(ctx, `UPDATE links SET `+strings.Join(set, ", ")+` WHERE peer = ?`, append(args, peer)...); err != nil {
		return fmt.Errorf("sqlstore: link %s: %w", peer, err)
	}
	return nil
}

// LinkError records a failed send to peer.
func (c conn) LinkError(ctx context.Context, peer string, at time.Time, msg string) error {
	if _, err := c.exec(ctx, `UPDATE links SET last_error = ?, last_error_at = ? WHERE peer = ?`, diag(msg), micros(at), peer); err != nil {
		return fmt.Errorf("sqlstore: link %s: %w", peer, err)
	}
	return nil
}

// LinkPullError records a failed pull from peer.
func (c conn) LinkPullError(ctx context.Context, peer string, at time.Time, msg string) error {
	if _, err := c.exec(ctx, `UPDATE links SET last_pull_error = ?, last_pull_error_at = ? WHERE peer = ?`, diag(msg), micros(at), peer); err != nil {
		return fmt.Errorf("sqlstore: link %s: %w", peer, err)
	}
	return nil
}

// Enqueue adds an envelope to a peer's outbox.
func (c conn) Enqueue(ctx context.Context, it store.OutboxItem) error {
	_, err := c.exec(ctx, `INSERT INTO outbox (peer, seq, type, object_id, envelope, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		it.Peer, it.Seq, it.Type, it.ObjectID, it.Envelope, micros(it.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: enqueue %s/%d: %w", it.Peer, it.Seq, err)
	}
	return nil
}

const outboxCols = `peer, seq, type, object_id, envelope, created_at, attempts, delivered_at, receipt`

func (c conn) outboxRows(ctx context.Context, q string, args ...any) ([]store.OutboxItem, error) {
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: outbox: %w", err)
	}
	defer rows.Close()
	var out []store.OutboxItem
	for rows.Next() {
		var it store.OutboxItem
		var created int64
		var delivered sql.NullInt64
		if err := rows.Scan(&it.Peer, &it.Seq, &it.Type, &it.ObjectID, &it.Envelope, &created, &it.Attempts, &delivered, &it.Receipt); err != nil {
			return nil, fmt.Errorf("sqlstore: outbox: %w", err)
		}
		it.CreatedAt, it.DeliveredAt = fromMicros(created), ptrMicros(delivered)
		out = append(out, it)
	}
	return out, rows.Err()
}

// Pending returns undelivered envelopes for peer after a sequence number, in order.
func (c conn) Pending(ctx context.Context, peer string, after uint64, limit int) ([]store.OutboxItem, error) {
	return c.outboxRows(ctx, `SELECT `+outboxCols+` FROM outbox WHERE peer = ? AND delivered_at IS NULL AND seq > ? ORDER BY seq LIMIT ?`, peer, after, limit)
}

// Sent lists everything queued for peer, in order.
func (c conn) Sent(ctx context.Context, peer string) ([]store.OutboxItem, error) {
	return c.outboxRows(ctx, `SELECT `+outboxCols+` FROM outbox WHERE peer = ? ORDER BY seq`, peer)
}

// MarkDelivered stores the peer's receipt for one envelope.
func (c conn) MarkDelivered(ctx context.Context, peer string, seq uint64, at time.Time, receipt []byte) error {
	_, err := c.exec(ctx, `UPDATE outbox SET delivered_at = ?, receipt = ? WHERE peer = ? AND seq = ? AND delivered_at IS NULL`,
		micros(at), receipt, peer, seq)
	if err != nil {
		return fmt.Errorf("sqlstore: mark delivered %s/%d: %w", peer, seq, err)
	}
	return nil
}

// AddAttempt counts a failed delivery attempt for undelivered envelopes up to a sequence.
func (c conn) AddAttempt(ctx context.Context, peer string, upTo uint64) error {
	_, err := c.exec(ctx, `UPDATE outbox SET attempts = attempts + 1 WHERE peer = ? AND delivered_at IS NULL AND seq <= ?`, peer, upTo)
	if err != nil {
		return fmt.Errorf("sqlstore: outbox attempt %s: %w", peer, err)
	}
	return nil
}

// CompactOutbox empties the envelopes of items delivered before a time. The row stays
// with the peer's signed receipt, which names the envelope's digest.
func (c conn) CompactOutbox(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := c.exec(ctx, `UPDATE outbox SET envelope = ? WHERE (peer, seq) IN (SELECT peer, seq FROM outbox `+
		`WHERE delivered_at < ? AND length(envelope) > 0 ORDER BY delivered_at LIMIT ?)`, []byte{}, micros(before), limit)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: compact outbox: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// OutboxStats summarises a peer's queue.
func (c conn) OutboxStats(ctx context.Context, peer string) (store.OutboxStats, error) {
	var s store.OutboxStats
	var oldest sql.NullInt64
	err := c.row(ctx, `SELECT COUNT(*) - COUNT(delivered_at), MIN(CASE WHEN delivered_at IS NULL THEN created_at END), COUNT(delivered_at) `+
		`FROM outbox WHERE peer = ?`, peer).Scan(&s.Queued, &oldest, &s.Delivered)
	if err != nil {
		return s, fmt.Errorf("sqlstore: outbox stats %s: %w", peer, err)
	}
	s.OldestQueued = ptrMicros(oldest)
	return s, nil
}

// OutboxProgress counts a peer's envelopes by type.
func (c conn) OutboxProgress(ctx context.Context, peer string, since time.Time) ([]store.KindProgress, error) {
	rows, err := c.query(ctx, `SELECT type, COUNT(*) - COUNT(delivered_at), `+
		`SUM(CASE WHEN delivered_at IS NULL AND attempts > 0 THEN 1 ELSE 0 END), COUNT(delivered_at), `+
		`SUM(CASE WHEN delivered_at >= ? THEN 1 ELSE 0 END) FROM outbox WHERE peer = ? GROUP BY type ORDER BY type`, micros(since), peer)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: outbox progress %s: %w", peer, err)
	}
	defer rows.Close()
	out := []store.KindProgress{}
	for rows.Next() {
		var k store.KindProgress
		if err := rows.Scan(&k.Type, &k.Queued, &k.Sent, &k.Acknowledged, &k.AcknowledgedSince); err != nil {
			return nil, fmt.Errorf("sqlstore: outbox progress %s: %w", peer, err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// PutInbox records an applied or rejected envelope with our receipt.
func (c conn) PutInbox(ctx context.Context, it store.InboxItem) error {
	_, err := c.exec(ctx, `INSERT INTO inbox (origin, seq, digest, type, object_id, status, received_at, envelope, receipt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		it.Origin, it.Seq, it.Digest, it.Type, it.ObjectID, it.Status, micros(it.ReceivedAt), it.Envelope, it.Receipt)
	if err != nil {
		return fmt.Errorf("sqlstore: inbox %s/%d: %w", it.Origin, it.Seq, err)
	}
	return nil
}

// GetInbox returns one inbox record.
func (c conn) GetInbox(ctx context.Context, origin string, seq uint64) (store.InboxItem, error) {
	it := store.InboxItem{Origin: origin, Seq: seq}
	var at int64
	err := c.row(ctx, `SELECT digest, type, object_id, status, received_at, envelope, receipt FROM inbox WHERE origin = ? AND seq = ?`, origin, seq).
		Scan(&it.Digest, &it.Type, &it.ObjectID, &it.Status, &at, &it.Envelope, &it.Receipt)
	if err != nil {
		return it, notFound(err, fmt.Sprintf("inbox %s/%d", origin, seq))
	}
	it.ReceivedAt = fromMicros(at)
	return it, nil
}

// CountInbox counts envelopes applied from origin.
func (c conn) CountInbox(ctx context.Context, origin string) (int, error) {
	var n int
	if err := c.row(ctx, `SELECT COUNT(*) FROM inbox WHERE origin = ?`, origin).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count inbox: %w", err)
	}
	return n, nil
}

// CompactInbox empties the envelope copies of items received before a time; origin,
// seq, digest and our receipt stay, which is all replay detection needs.
func (c conn) CompactInbox(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := c.exec(ctx, `UPDATE inbox SET envelope = ? WHERE (origin, seq) IN (SELECT origin, seq FROM inbox `+
		`WHERE received_at < ? AND length(envelope) > 0 ORDER BY received_at LIMIT ?)`, []byte{}, micros(before), limit)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: compact inbox: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// AddRefusal records refused federation traffic.
func (c conn) AddRefusal(ctx context.Context, r store.Refusal) error {
	_, err := c.exec(ctx, `INSERT INTO refusals (id, at, peer, remote, reason, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		r.ID, micros(r.At), diag(r.Peer), diag(r.Remote), diag(r.Reason), diag(r.Detail))
	if err != nil {
		return fmt.Errorf("sqlstore: refusal: %w", err)
	}
	return nil
}

// Refusals lists the newest refusals first.
func (c conn) Refusals(ctx context.Context, limit int) ([]store.Refusal, error) {
	rows, err := c.query(ctx, `SELECT id, at, peer, remote, reason, detail FROM refusals ORDER BY at DESC, id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: refusals: %w", err)
	}
	defer rows.Close()
	out := []store.Refusal{}
	for rows.Next() {
		var r store.Refusal
		var at int64
		if err := rows.Scan(&r.ID, &at, &r.Peer, &r.Remote, &r.Reason, &r.Detail); err != nil {
			return nil, fmt.Errorf("sqlstore: refusals: %w", err)
		}
		r.At = fromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// PruneRefusals deletes refusals recorded before a time.
func (c conn) PruneRefusals(ctx context.Context, before time.Time) (int, error) {
	res, err := c.exec(ctx, `DELETE FROM refusals WHERE at < ?`, micros(before))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: prune refusals: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
