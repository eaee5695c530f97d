// Package audit keeps the hash-chained record of who did what on a node.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"csirtlink/internal/envelope"
	"csirtlink/internal/store"
)

// Append adds a record; call it inside the transaction of the change it records, so the
// two commit together. Writers are serialised by the database (SQLite's single writer;
// a row lock on PostgreSQL), so the chain never forks.
func Append(ctx context.Context, tx store.Audit, at time.Time, actor, action, object, detail string) error {
	prev, err := tx.LastAudit(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("audit: %w", err)
	}
	r := store.AuditRecord{Seq: prev.Seq + 1, At: at.UTC(), Actor: actor, Action: action, Object: object, Detail: detail, PrevHash: prev.Hash}
	r.Hash = hash(r)
	if err := tx.PutAudit(ctx, r); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

func hash(r store.AuditRecord) string {
	// Time goes in at the database's precision (microseconds) so a stored record rehashes the same.
	at := r.At.Truncate(time.Microsecond)
	sum := sha256.Sum256(envelope.Canonical("csirtlink/audit/v1", []byte(strconv.FormatInt(r.Seq, 10)),
		envelope.FormatTime(at), []byte(r.Actor), []byte(r.Action), []byte(r.Object), []byte(r.Detail), []byte(r.PrevHash)))
	return hex.EncodeToString(sum[:])
}

// Verify walks the whole log and reports the first record whose hash or link is wrong.
func Verify(ctx context.Context, st store.Audit) (int64, error) {
	var after int64
	prev := ""
	for {
		rs, err := st.ListAudit(ctx, after, 1000)
		if err != nil {
			return 0, err
		}
		if len(rs) == 0 {
			return after, nil
		}
		for _, r := range rs {
			if r.PrevHash != prev || r.Seq != after+1 {
				return after, fmt.Errorf("audit: record %d does not follow record %d", r.Seq, after)
			}
			if hash(r) != r.Hash {
				return after, fmt.Errorf("audit: record %d was altered", r.Seq)
			}
			prev, after = r.Hash, r.Seq
		}
	}
}
