package sqlstore

import (
	"context"
	"fmt"

	"csirtlink/internal/store"
)

var _ store.STIXKept = (*DB)(nil)

// AddSTIXKept stores the objects not held yet (same STIX id and bytes).
func (c conn) AddSTIXKept(ctx context.Context, objs []store.STIXKeptObject) ([]store.STIXKeptObject, error) {
	var added []store.STIXKeptObject
	err := c.inOwnTx(ctx, func(c conn) error {
		added = added[:0]
		for _, o := range objs {
			res, err := c.exec(ctx, `INSERT INTO stix_kept (id, stix_id, type, version, tlp, digest, imported_by, imported_at, source, why, raw)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (stix_id, digest) DO NOTHING`,
				o.ID, o.STIXID, o.Type, versionMicros(o), o.TLP, o.Digest, o.ImportedBy, micros(o.ImportedAt), o.Source, o.Why, string(o.Raw))
			if err != nil {
				return fmt.Errorf("sqlstore: keep stix object %s: %w", o.STIXID, err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				added = append(added, o)
			}
		}
		return nil
	})
	return added, err
}

func versionMicros(o store.STIXKeptObject) int64 {
	if o.Version.IsZero() {
		return 0
	}
	return micros(o.Version)
}

// STIXKeptObjects lists kept objects in import order, after the cursor.
func (c conn) STIXKeptObjects(ctx context.Context, q store.STIXKeptQuery) ([]store.STIXKeptObject, error) {
	where := `(imported_at > ? OR imported_at = ? AND id > ?)`
	args := []any{micros(q.AfterAt), micros(q.AfterAt), q.AfterID}
	if q.AfterAt.IsZero() && q.AfterID == "" {
		where, args = `1 = 1`, nil
	}
	if q.Labels != nil {
		if len(q.Labels) == 0 {
			return nil, nil
		}
		where += ` AND tlp IN (` + placeholders(len(q.Labels)) + `)`
		for _, l := range q.Labels {
			args = append(args, l)
		}
	}
	rows, err := c.query(ctx, `SELECT id, stix_id, type, version, tlp, digest, imported_by, imported_at, source, why, raw
		FROM stix_kept WHERE `+where+` ORDER BY imported_at, id LIMIT ?`, append(args, q.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: kept stix objects: %w", err)
	}
	defer rows.Close()
	var out []store.STIXKeptObject
	for rows.Next() {
		var o store.STIXKeptObject
		var version, at int64
		if err := rows.Scan(&o.ID, &o.STIXID, &o.Type, &version, &o.TLP, &o.Digest, &o.ImportedBy, &at, &o.Source, &o.Why, &o.Raw); err != nil {
			return nil, fmt.Errorf("sqlstore: kept stix objects: %w", err)
		}
		if version != 0 {
			o.Version = fromMicros(version)
		}
		o.ImportedAt = fromMicros(at)
		out = append(out, o)
	}
	return out, rows.Err()
}
