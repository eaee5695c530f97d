package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"csirtlink/internal/store"
)

const cvdCaseCols = `id, owner, title, state, private, last_position, created_at, updated_at`

// PutCVDCase inserts a case or replaces the one with its id.
func (c conn) PutCVDCase(ctx context.Context, k store.CVDCase) error {
	private := string(k.Private)
	if private == "" {
		private = "{}"
	}
	_, err := c.exec(ctx, `INSERT INTO cvd_cases (`+cvdCaseCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?) `+
		`ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, title = excluded.title, state = excluded.state, `+
		`private = excluded.private, last_position = excluded.last_position, updated_at = excluded.updated_at`,
		k.ID, k.Owner, k.Title, string(k.State), private, k.LastPosition, micros(k.CreatedAt), micros(k.UpdatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: put case %s: %w", k.ID, err)
	}
	return nil
}

func scanCVDCase(r interface{ Scan(...any) error }) (store.CVDCase, error) {
	var k store.CVDCase
	var state, private string
	var created, updated int64
	err := r.Scan(&k.ID, &k.Owner, &k.Title, &state, &private, &k.LastPosition, &created, &updated)
	k.State, k.Private, k.CreatedAt, k.UpdatedAt = []byte(state), []byte(private), fromMicros(created), fromMicros(updated)
	return k, err
}

// GetCVDCase returns a case, locking it in a transaction.
func (c conn) GetCVDCase(ctx context.Context, id string) (store.CVDCase, error) {
	k, err := scanCVDCase(c.row(ctx, c.forUpdate(`SELECT `+cvdCaseCols+` FROM cvd_cases WHERE id = ?`), id))
	if err != nil {
		return k, notFound(err, "case "+id)
	}
	return k, nil
}

// ListCVDCases lists cases, most recently changed first.
func (c conn) ListCVDCases(ctx context.Context, limit int) ([]store.CVDCase, error) {
	if limit <= 0 {
		limit = 500
	}
	rows, err := c.query(ctx, `SELECT `+cvdCaseCols+` FROM cvd_cases ORDER BY updated_at DESC, id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: cases: %w", err)
	}
	defer rows.Close()
	out := []store.CVDCase{}
	for rows.Next() {
		k, err := scanCVDCase(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: cases: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

const cvdEntryCols = `id, case_id, position, team, author, kind, body, tlp, data, created_at, signature`

// PutCVDEntry inserts an entry, or positions one held unpositioned.
func (c conn) PutCVDEntry(ctx context.Context, e store.CVDEntry) error {
	_, err := c.exec(ctx, `INSERT INTO cvd_entries (`+cvdEntryCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) `+
		`ON CONFLICT (id) DO UPDATE SET position = excluded.position WHERE cvd_entries.position = 0`,
		e.ID, e.CaseID, e.Position, e.Team, e.Author, e.Kind, e.Body, e.TLP, e.Data, micros(e.CreatedAt), e.Signature)
	if err != nil {
		return fmt.Errorf("sqlstore: put case entry %s: %w", e.ID, err)
	}
	return nil
}

func scanCVDEntry(r interface{ Scan(...any) error }) (store.CVDEntry, error) {
	var e store.CVDEntry
	var at int64
	err := r.Scan(&e.ID, &e.CaseID, &e.Position, &e.Team, &e.Author, &e.Kind, &e.Body, &e.TLP, &e.Data, &at, &e.Signature)
	e.CreatedAt = fromMicros(at)
	return e, err
}

// GetCVDEntry returns one entry.
func (c conn) GetCVDEntry(ctx context.Context, id string) (store.CVDEntry, error) {
	e, err := scanCVDEntry(c.row(ctx, `SELECT `+cvdEntryCols+` FROM cvd_entries WHERE id = ?`, id))
	if err != nil {
		return e, notFound(err, "case entry "+id)
	}
	return e, nil
}

// CVDTimeline lists a case's entries: sequenced by position, then pending.
func (c conn) CVDTimeline(ctx context.Context, caseID string) ([]store.CVDEntry, error) {
	rows, err := c.query(ctx, `SELECT `+cvdEntryCols+` FROM cvd_entries WHERE case_id = ? `+
		`ORDER BY CASE WHEN position = 0 THEN 1 ELSE 0 END, position, created_at, id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: timeline of %s: %w", caseID, err)
	}
	defer rows.Close()
	out := []store.CVDEntry{}
	for rows.Next() {
		e, err := scanCVDEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: timeline of %s: %w", caseID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// PutCVDVendor inserts a vendor or replaces the one with its id.
func (c conn) PutCVDVendor(ctx context.Context, v store.CVDVendor) error {
	products, err := json.Marshal(v.Products)
	if err != nil {
		return fmt.Errorf("sqlstore: vendor %s: %w", v.ID, err)
	}
	shared := 0
	if v.Shared {
		shared = 1
	}
	_, err = c.exec(ctx, `INSERT INTO cvd_vendors (id, case_id, name, contact, email, products, shared, user_name, created_by, created_at) `+
		`VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, contact = excluded.contact, `+
		`email = excluded.email, products = excluded.products, shared = excluded.shared, user_name = excluded.user_name`,
		v.ID, v.CaseID, v.Name, v.Contact, v.Email, string(products), shared, v.User, v.CreatedBy, micros(v.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: put vendor %s: %w", v.ID, err)
	}
	return nil
}

// ListCVDVendors lists this team's vendors for a case, by name.
func (c conn) ListCVDVendors(ctx context.Context, caseID string) ([]store.CVDVendor, error) {
	rows, err := c.query(ctx, `SELECT id, case_id, name, contact, email, products, shared, user_name, created_by, created_at `+
		`FROM cvd_vendors WHERE case_id = ? ORDER BY name, id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: vendors of %s: %w", caseID, err)
	}
	defer rows.Close()
	out := []store.CVDVendor{}
	for rows.Next() {
		var v store.CVDVendor
		var products string
		var shared int
		var at int64
		if err := rows.Scan(&v.ID, &v.CaseID, &v.Name, &v.Contact, &v.Email, &products, &shared, &v.User, &v.CreatedBy, &at); err != nil {
			return nil, fmt.Errorf("sqlstore: vendors of %s: %w", caseID, err)
		}
		if err := json.Unmarshal([]byte(products), &v.Products); err != nil {
			return nil, fmt.Errorf("sqlstore: vendor %s products: %w", v.ID, err)
		}
		v.Shared, v.CreatedAt = shared == 1, fromMicros(at)
		out = append(out, v)
	}
	return out, rows.Err()
}

// AddCVDVendorMessage records a mail to or from a vendor.
func (c conn) AddCVDVendorMessage(ctx context.Context, m store.CVDVendorMessage) error {
	_, err := c.exec(ctx, `INSERT INTO cvd_vendor_messages (id, case_id, vendor_id, direction, address, subject, body, author, created_at) `+
		`VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.ID, m.CaseID, m.VendorID, m.Direction, m.Address, m.Subject, m.Body, m.Author, micros(m.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: vendor message %s: %w", m.ID, err)
	}
	return nil
}

// ListCVDVendorMessages lists a case's vendor mail, oldest first.
func (c conn) ListCVDVendorMessages(ctx context.Context, caseID string) ([]store.CVDVendorMessage, error) {
	rows, err := c.query(ctx, `SELECT id, case_id, vendor_id, direction, address, subject, body, author, created_at `+
		`FROM cvd_vendor_messages WHERE case_id = ? ORDER BY created_at, id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: vendor messages of %s: %w", caseID, err)
	}
	defer rows.Close()
	out := []store.CVDVendorMessage{}
	for rows.Next() {
		var m store.CVDVendorMessage
		var at int64
		if err := rows.Scan(&m.ID, &m.CaseID, &m.VendorID, &m.Direction, &m.Address, &m.Subject, &m.Body, &m.Author, &at); err != nil {
			return nil, fmt.Errorf("sqlstore: vendor messages of %s: %w", caseID, err)
		}
		m.CreatedAt = fromMicros(at)
		out = append(out, m)
	}
	return out, rows.Err()
}
