package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"csirtlink/internal/store"
)

// PutPartner inserts or replaces a partner, keeping when it was first stored.
func (c conn) PutPartner(ctx context.Context, p store.Partner) error {
	_, err := c.exec(ctx, `INSERT INTO partners (id, status, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?) `+
		`ON CONFLICT (id) DO UPDATE SET status = excluded.status, doc = excluded.doc, updated_at = excluded.updated_at`,
		p.ID, p.Status, string(p.Doc), micros(p.CreatedAt), micros(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: put partner %s: %w", p.ID, err)
	}
	return nil
}

const partnerCols = `id, status, doc, created_at, updated_at`

func scanPartner(sc interface{ Scan(...any) error }) (store.Partner, error) {
	var p store.Partner
	var doc string
	var created, updated int64
	if err := sc.Scan(&p.ID, &p.Status, &doc, &created, &updated); err != nil {
		return p, err
	}
	p.Doc, p.CreatedAt, p.UpdatedAt = []byte(doc), fromMicros(created), fromMicros(updated)
	return p, nil
}

// GetPartner returns one stored partner.
func (c conn) GetPartner(ctx context.Context, id string) (store.Partner, error) {
	p, err := scanPartner(c.row(ctx, `SELECT `+partnerCols+` FROM partners WHERE id = ?`, id))
	if err != nil {
		return p, notFound(err, "partner "+id)
	}
	return p, nil
}

// ListPartners lists every stored partner by id.
func (c conn) ListPartners(ctx context.Context) ([]store.Partner, error) {
	rows, err := c.query(ctx, `SELECT `+partnerCols+` FROM partners ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list partners: %w", err)
	}
	defer rows.Close()
	var out []store.Partner
	for rows.Next() {
		p, err := scanPartner(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list partners: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list partners: %w", err)
	}
	return out, nil
}

// DeletePartner removes a partner and its key history.
func (c conn) DeletePartner(ctx context.Context, id string) error {
	if _, err := c.exec(ctx, `DELETE FROM partner_keys WHERE team = ?`, id); err != nil {
		return fmt.Errorf("sqlstore: delete partner keys: %w", err)
	}
	res, err := c.exec(ctx, `DELETE FROM partners WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlstore: delete partner: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("partner %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// PutPartnerKey inserts or replaces one key of a partner's history.
func (c conn) PutPartnerKey(ctx context.Context, k store.PartnerKey) error {
	_, err := c.exec(ctx, `INSERT INTO partner_keys (team, public_key, added_at, retired_at, grace_until, reason) VALUES (?, ?, ?, ?, ?, ?) `+
		`ON CONFLICT (team, public_key) DO UPDATE SET retired_at = excluded.retired_at, grace_until = excluded.grace_until, reason = excluded.reason`,
		k.Team, k.PublicKey, micros(k.AddedAt), nullMicros(k.RetiredAt), nullMicros(k.GraceUntil), k.Reason)
	if err != nil {
		return fmt.Errorf("sqlstore: put partner key %s: %w", k.Team, err)
	}
	return nil
}

// PartnerKeys lists a partner's keys, oldest first.
func (c conn) PartnerKeys(ctx context.Context, team string) ([]store.PartnerKey, error) {
	rows, err := c.query(ctx, `SELECT team, public_key, added_at, retired_at, grace_until, reason FROM partner_keys WHERE team = ? ORDER BY added_at, public_key`, team)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: partner keys: %w", err)
	}
	defer rows.Close()
	var out []store.PartnerKey
	for rows.Next() {
		var k store.PartnerKey
		var added int64
		var retired, grace sql.NullInt64
		if err := rows.Scan(&k.Team, &k.PublicKey, &added, &retired, &grace, &k.Reason); err != nil {
			return nil, fmt.Errorf("sqlstore: partner keys: %w", err)
		}
		k.AddedAt, k.RetiredAt, k.GraceUntil = fromMicros(added), ptrMicros(retired), ptrMicros(grace)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: partner keys: %w", err)
	}
	return out, nil
}

// GetSetting returns a directory setting.
func (c conn) GetSetting(ctx context.Context, name string) ([]byte, error) {
	var v string
	if err := c.row(ctx, `SELECT value FROM directory_settings WHERE name = ?`, name).Scan(&v); err != nil {
		return nil, notFound(err, "setting "+name)
	}
	return []byte(v), nil
}

// PutSetting sets a directory setting.
func (c conn) PutSetting(ctx context.Context, name string, value []byte, at time.Time) error {
	_, err := c.exec(ctx, `INSERT INTO directory_settings (name, value, updated_at) VALUES (?, ?, ?) `+
		`ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, name, string(value), micros(at))
	if err != nil {
		return fmt.Errorf("sqlstore: put setting %s: %w", name, err)
	}
	return nil
}
