package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"csirtlink/internal/store"
)

const pageCols = `id, origin, severity, summary, details, incident_id, tlp, drill, commcheck_id, created_by, created_at, resolved_at, resolved_by`

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreatePage inserts a page and its deliveries.
func (c conn) CreatePage(ctx context.Context, p store.Page) error {
	_, err := c.exec(ctx, `INSERT INTO pages (`+pageCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.From, p.Severity, p.Summary, p.Details, p.IncidentID, p.TLP, boolInt(p.Drill), p.CommCheckID,
		p.CreatedBy, micros(p.CreatedAt), nullMicros(p.ResolvedAt), p.ResolvedBy)
	if c.d.isUnique(err) {
		return fmt.Errorf("page %s: %w", p.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create page %s: %w", p.ID, err)
	}
	for _, d := range p.Deliveries {
		d.PageID = p.ID
		if err := c.PutDelivery(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

func scanPage(sc interface{ Scan(...any) error }) (store.Page, error) {
	var p store.Page
	var drill int
	var created int64
	var resolved sql.NullInt64
	err := sc.Scan(&p.ID, &p.From, &p.Severity, &p.Summary, &p.Details, &p.IncidentID, &p.TLP, &drill, &p.CommCheckID,
		&p.CreatedBy, &created, &resolved, &p.ResolvedBy)
	p.Drill, p.CreatedAt, p.ResolvedAt = drill != 0, fromMicros(created), ptrMicros(resolved)
	return p, err
}

// GetPage returns a page with its deliveries. In a transaction it locks the page row
// (dialect.forUpdate), as GetIncident locks an incident.
func (c conn) GetPage(ctx context.Context, id string) (store.Page, error) {
	p, err := scanPage(c.row(ctx, c.forUpdate(`SELECT `+pageCols+` FROM pages WHERE id = ?`), id))
	if err != nil {
		return p, notFound(err, "page "+id)
	}
	p.Deliveries, err = c.deliveries(ctx, `WHERE page_id = ? ORDER BY team`, id)
	return p, err
}

// ListPages lists pages, newest first, with their deliveries.
func (c conn) ListPages(ctx context.Context, f store.PageFilter) ([]store.Page, error) {
	var where []string
	var args []any
	if f.From != "" {
		where, args = append(where, "origin = ?"), append(args, f.From)
	}
	if f.NotFrom != "" {
		where, args = append(where, "origin <> ?"), append(args, f.NotFrom)
	}
	if f.Open {
		where = append(where, "resolved_at IS NULL")
	}
	if f.WaitingFor != "" {
		where = append(where, "id IN (SELECT page_id FROM deliveries WHERE team = ? AND state IN ('sent', 'delivered', 'notified'))")
		args = append(args, f.WaitingFor)
	}
	if f.Drill != nil {
		where, args = append(where, "drill = ?"), append(args, boolInt(*f.Drill))
	}
	if !f.Since.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, micros(f.Since))
	}
	q := `SELECT ` + pageCols + ` FROM pages`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	// The limit is a parameter so that each filter shape is one cached statement.
	q += " ORDER BY created_at DESC, id LIMIT ?"
	args = append(args, limit)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list pages: %w", err)
	}
	out := []store.Page{}
	for rows.Next() {
		p, err := scanPage(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: list pages: %w", err)
		}
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list pages: %w", err)
	}
	for i := range out {
		if out[i].Deliveries, err = c.deliveries(ctx, `WHERE page_id = ? ORDER BY team`, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ResolvePage marks a page resolved.
func (c conn) ResolvePage(ctx context.Context, id string, at time.Time, by string) error {
	res, err := c.exec(ctx, `UPDATE pages SET resolved_at = ?, resolved_by = ? WHERE id = ? AND resolved_at IS NULL`, micros(at), by, id)
	if err != nil {
		return fmt.Errorf("sqlstore: resolve page %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("open page %s: %w", id, store.ErrNotFound)
	}
	return nil
}

const deliveryCols = `page_id, team, state, sent_at, delivered_at, notified_at, notified_channel, acknowledged_at, acknowledged_by, ack_via, ack_statement, receipt, fallback_at, fallback_error, resolved_at`

func (c conn) deliveries(ctx context.Context, where string, args ...any) ([]store.Delivery, error) {
	rows, err := c.query(ctx, `SELECT `+deliveryCols+` FROM deliveries `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: deliveries: %w", err)
	}
	defer rows.Close()
	out := []store.Delivery{}
	for rows.Next() {
		var d store.Delivery
		var sent int64
		var delivered, notified, acked, fallback, resolved sql.NullInt64
		if err := rows.Scan(&d.PageID, &d.Team, &d.State, &sent, &delivered, &notified, &d.NotifiedChannel, &acked,
			&d.AcknowledgedBy, &d.AckVia, &d.AckStatement, &d.Receipt, &fallback, &d.FallbackError, &resolved); err != nil {
			return nil, fmt.Errorf("sqlstore: deliveries: %w", err)
		}
		d.SentAt, d.DeliveredAt, d.NotifiedAt, d.AcknowledgedAt = fromMicros(sent), ptrMicros(delivered), ptrMicros(notified), ptrMicros(acked)
		d.FallbackAt, d.ResolvedAt = ptrMicros(fallback), ptrMicros(resolved)
		out = append(out, d)
	}
	return out, rows.Err()
}

// GetDelivery returns one team's delivery of a page; in a transaction it locks it, for
// the state change that follows.
func (c conn) GetDelivery(ctx context.Context, pageID, team string) (store.Delivery, error) {
	ds, err := c.deliveries(ctx, c.forUpdate(`WHERE page_id = ? AND team = ?`), pageID, team)
	if err != nil {
		return store.Delivery{}, err
	}
	if len(ds) == 0 {
		return store.Delivery{}, fmt.Errorf("delivery of %s to %s: %w", pageID, team, store.ErrNotFound)
	}
	return ds[0], nil
}

// PutDelivery inserts or replaces one delivery.
func (c conn) PutDelivery(ctx context.Context, d store.Delivery) error {
	_, err := c.exec(ctx, `INSERT INTO deliveries (`+deliveryCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) `+
		`ON CONFLICT (page_id, team) DO UPDATE SET state = excluded.state, delivered_at = excluded.delivered_at, `+
		`notified_at = excluded.notified_at, notified_channel = excluded.notified_channel, acknowledged_at = excluded.acknowledged_at, `+
		`acknowledged_by = excluded.acknowledged_by, ack_via = excluded.ack_via, ack_statement = excluded.ack_statement, `+
		`receipt = excluded.receipt, fallback_at = excluded.fallback_at, fallback_error = excluded.fallback_error, resolved_at = excluded.resolved_at`,
		d.PageID, d.Team, d.State, micros(d.SentAt), nullMicros(d.DeliveredAt), nullMicros(d.NotifiedAt), d.NotifiedChannel,
		nullMicros(d.AcknowledgedAt), d.AcknowledgedBy, d.AckVia, d.AckStatement, d.Receipt, nullMicros(d.FallbackAt), diag(d.FallbackError),
		nullMicros(d.ResolvedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: delivery of %s to %s: %w", d.PageID, d.Team, err)
	}
	return nil
}

// StaleDeliveries lists undelivered deliveries of our pages sent before cutoff.
func (c conn) StaleDeliveries(ctx context.Context, origin string, cutoff time.Time, limit int) ([]store.Delivery, error) {
	return c.deliveries(ctx, `WHERE state = 'sent' AND fallback_at IS NULL AND sent_at <= ? AND page_id IN (SELECT id FROM pages WHERE origin = ? AND resolved_at IS NULL) ORDER BY sent_at LIMIT ?`,
		micros(cutoff), origin, limit)
}

// PutEscalation inserts or replaces a page's escalation.
func (c conn) PutEscalation(ctx context.Context, e store.Escalation) error {
	_, err := c.exec(ctx, `INSERT INTO escalations (page_id, policy, round, level, next_at, started_at, stopped_at, stop_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?) `+
		`ON CONFLICT (page_id) DO UPDATE SET round = excluded.round, level = excluded.level, next_at = excluded.next_at, stopped_at = excluded.stopped_at, stop_reason = excluded.stop_reason`,
		e.PageID, e.Policy, e.Round, e.Level, nullMicros(e.NextAt), micros(e.StartedAt), nullMicros(e.StoppedAt), e.StopReason)
	if err != nil {
		return fmt.Errorf("sqlstore: escalation of %s: %w", e.PageID, err)
	}
	return nil
}

const escalationCols = `page_id, policy, round, level, next_at, started_at, stopped_at, stop_reason`

func (c conn) escalations(ctx context.Context, q string, args ...any) ([]store.Escalation, error) {
	rows, err := c.query(ctx, `SELECT `+escalationCols+` FROM escalations `+q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: escalations: %w", err)
	}
	defer rows.Close()
	var out []store.Escalation
	for rows.Next() {
		var e store.Escalation
		var next, stopped sql.NullInt64
		var started int64
		if err := rows.Scan(&e.PageID, &e.Policy, &e.Round, &e.Level, &next, &started, &stopped, &e.StopReason); err != nil {
			return nil, fmt.Errorf("sqlstore: escalations: %w", err)
		}
		e.NextAt, e.StartedAt, e.StoppedAt = ptrMicros(next), fromMicros(started), ptrMicros(stopped)
		out = append(out, e)
	}
	return out, rows.Err()
}

// GetEscalation returns a page's escalation; in a transaction it locks it, so that of
// two engines that found the same level due, the second sees it already fired.
func (c conn) GetEscalation(ctx context.Context, pageID string) (store.Escalation, error) {
	es, err := c.escalations(ctx, c.forUpdate(`WHERE page_id = ?`), pageID)
	if err != nil {
		return store.Escalation{}, err
	}
	if len(es) == 0 {
		return store.Escalation{}, fmt.Errorf("escalation of %s: %w", pageID, store.ErrNotFound)
	}
	return es[0], nil
}

// DueEscalations lists running escalations whose next step is due.
func (c conn) DueEscalations(ctx context.Context, now time.Time, limit int) ([]store.Escalation, error) {
	return c.escalations(ctx, `WHERE next_at IS NOT NULL AND next_at <= ? ORDER BY next_at LIMIT ?`, micros(now), limit)
}

// NextEscalation returns when the earliest pending escalation step is due.
func (c conn) NextEscalation(ctx context.Context) (time.Time, error) {
	var v sql.NullInt64
	if err := c.row(ctx, `SELECT MIN(next_at) FROM escalations WHERE next_at IS NOT NULL`).Scan(&v); err != nil {
		return time.Time{}, fmt.Errorf("sqlstore: next escalation: %w", err)
	}
	if !v.Valid {
		return time.Time{}, fmt.Errorf("next escalation: %w", store.ErrNotFound)
	}
	return fromMicros(v.Int64), nil
}

const notificationCols = `id, page_id, user_name, channel, address, round, level, dedupe_key, state, created_at, attempted_at, finished_at, error`

// AddNotification inserts an attempt unless one with its dedupe key exists.
func (c conn) AddNotification(ctx context.Context, n store.Notification) (bool, error) {
	res, err := c.exec(ctx, `INSERT INTO notifications (`+notificationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
		n.ID, n.PageID, n.User, n.Channel, n.Address, n.Round, n.Level, n.DedupeKey, n.State, micros(n.CreatedAt),
		nullMicros(n.AttemptedAt), nullMicros(n.FinishedAt), n.Error)
	if err != nil {
		return false, fmt.Errorf("sqlstore: add notification: %w", err)
	}
	k, _ := res.RowsAffected()
	return k == 1, nil
}

// PutNotification updates an attempt's state and times.
func (c conn) PutNotification(ctx context.Context, n store.Notification) error {
	_, err := c.exec(ctx, `UPDATE notifications SET state = ?, attempted_at = ?, finished_at = ?, error = ? WHERE id = ?`,
		n.State, nullMicros(n.AttemptedAt), nullMicros(n.FinishedAt), diag(n.Error), n.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: notification %s: %w", n.ID, err)
	}
	return nil
}

func (c conn) notifications(ctx context.Context, q string, args ...any) ([]store.Notification, error) {
	rows, err := c.query(ctx, `SELECT `+notificationCols+` FROM notifications `+q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: notifications: %w", err)
	}
	defer rows.Close()
	out := []store.Notification{}
	for rows.Next() {
		var n store.Notification
		var created int64
		var attempted, finished sql.NullInt64
		if err := rows.Scan(&n.ID, &n.PageID, &n.User, &n.Channel, &n.Address, &n.Round, &n.Level, &n.DedupeKey, &n.State,
			&created, &attempted, &finished, &n.Error); err != nil {
			return nil, fmt.Errorf("sqlstore: notifications: %w", err)
		}
		n.CreatedAt, n.AttemptedAt, n.FinishedAt = fromMicros(created), ptrMicros(attempted), ptrMicros(finished)
		out = append(out, n)
	}
	return out, rows.Err()
}

// GetNotification returns one attempt; in a transaction it locks it, so that a claim
// made from a stale list sees whether another engine claimed it first.
func (c conn) GetNotification(ctx context.Context, id string) (store.Notification, error) {
	ns, err := c.notifications(ctx, c.forUpdate(`WHERE id = ?`), id)
	if err != nil {
		return store.Notification{}, err
	}
	if len(ns) == 0 {
		return store.Notification{}, fmt.Errorf("notification %s: %w", id, store.ErrNotFound)
	}
	return ns[0], nil
}

// PendingNotifications lists attempts not yet made, oldest first.
func (c conn) PendingNotifications(ctx context.Context, limit int) ([]store.Notification, error) {
	return c.notifications(ctx, `WHERE state = 'pending' ORDER BY created_at, id LIMIT ?`, limit)
}

// PageNotifications lists a page's attempts in order.
func (c conn) PageNotifications(ctx context.Context, pageID string) ([]store.Notification, error) {
	return c.notifications(ctx, `WHERE page_id = ? ORDER BY created_at, id`, pageID)
}

// CountNotifications counts attempts made to a person on a channel since a time, for
// one page if pageID is set, up to upTo.
func (c conn) CountNotifications(ctx context.Context, user, channel, pageID string, since time.Time, upTo int) (int, error) {
	q := `SELECT 1 FROM notifications WHERE user_name = ? AND channel = ? AND state IN ('sending', 'sent', 'unknown') AND attempted_at >= ?`
	args := []any{user, channel, micros(since)}
	if pageID != "" {
		q += ` AND page_id = ?`
		args = append(args, pageID)
	}
	args = append(args, upTo)
	var n int
	if err := c.row(ctx, `SELECT COUNT(*) FROM (`+q+` LIMIT ?) AS recent`, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count notifications: %w", err)
	}
	return n, nil
}

// AbandonNotifications marks attempts claimed before cutoff and never finished as unknown.
func (c conn) AbandonNotifications(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := c.exec(ctx, `UPDATE notifications SET state = 'unknown', error = 'interrupted: the node stopped during the attempt' WHERE state = 'sending' AND attempted_at < ?`, micros(cutoff))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: abandon notifications: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// PutContact inserts a contact.
func (c conn) PutContact(ctx context.Context, ct store.Contact) error {
	_, err := c.exec(ctx, `INSERT INTO contacts (id, user_name, channel, address, pgp_key, secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		ct.ID, ct.User, ct.Channel, ct.Address, ct.PGPKey, ct.Secret, micros(ct.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: contact: %w", err)
	}
	return nil
}

// DeleteContact removes a contact.
func (c conn) DeleteContact(ctx context.Context, id string) error {
	return c.deleteByID(ctx, "contacts", id)
}

func (c conn) deleteByID(ctx context.Context, table, id string) error {
	res, err := c.exec(ctx, `DELETE FROM `+table+` WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlstore: delete from %s: %w", table, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s %s: %w", strings.TrimSuffix(table, "s"), id, store.ErrNotFound)
	}
	return nil
}

// Contacts lists a person's contacts.
func (c conn) Contacts(ctx context.Context, user string) ([]store.Contact, error) {
	rows, err := c.query(ctx, `SELECT id, user_name, channel, address, pgp_key, secret, created_at FROM contacts WHERE user_name = ? ORDER BY created_at, id`, user)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: contacts: %w", err)
	}
	defer rows.Close()
	out := []store.Contact{}
	for rows.Next() {
		var ct store.Contact
		var created int64
		if err := rows.Scan(&ct.ID, &ct.User, &ct.Channel, &ct.Address, &ct.PGPKey, &ct.Secret, &created); err != nil {
			return nil, fmt.Errorf("sqlstore: contacts: %w", err)
		}
		ct.CreatedAt = fromMicros(created)
		out = append(out, ct)
	}
	return out, rows.Err()
}

// PutAckCode stores a code's hash.
func (c conn) PutAckCode(ctx context.Context, a store.AckCode) error {
	_, err := c.exec(ctx, `INSERT INTO ack_codes (code_hash, page_id, team, user_name, purpose, expires_at, shows_content) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.CodeHash, a.PageID, a.Team, a.User, a.Purpose, micros(a.ExpiresAt), boolInt(a.ShowsContent))
	if err != nil {
		return fmt.Errorf("sqlstore: ack code: %w", err)
	}
	return nil
}

// GetAckCode finds a code by its hash.
func (c conn) GetAckCode(ctx context.Context, hash string) (store.AckCode, error) {
	a := store.AckCode{CodeHash: hash}
	var exp int64
	var used sql.NullInt64
	err := c.row(ctx, `SELECT page_id, team, user_name, purpose, expires_at, used_at, shows_content FROM ack_codes WHERE code_hash = ?`, hash).
		Scan(&a.PageID, &a.Team, &a.User, &a.Purpose, &exp, &used, &a.ShowsContent)
	if err != nil {
		return a, notFound(err, "ack code")
	}
	a.ExpiresAt, a.UsedAt = fromMicros(exp), ptrMicros(used)
	return a, nil
}

// UseAckCode marks a code used; ErrNotFound if it was already used.
func (c conn) UseAckCode(ctx context.Context, hash string, at time.Time) error {
	res, err := c.exec(ctx, `UPDATE ack_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL`, micros(at), hash)
	if err != nil {
		return fmt.Errorf("sqlstore: use ack code: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("unused ack code: %w", store.ErrNotFound)
	}
	return nil
}

// PutRotation inserts or replaces a rotation document.
func (c conn) PutRotation(ctx context.Context, id string, data []byte, at time.Time) error {
	_, err := c.exec(ctx, `INSERT INTO rotations (id, data, updated_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
		id, string(data), micros(at))
	if err != nil {
		return fmt.Errorf("sqlstore: rotation %s: %w", id, err)
	}
	return nil
}

// DeleteRotation removes a rotation.
func (c conn) DeleteRotation(ctx context.Context, id string) error {
	return c.deleteByID(ctx, "rotations", id)
}

// Rotations returns every rotation document by id.
func (c conn) Rotations(ctx context.Context) (map[string][]byte, error) {
	return c.documents(ctx, `SELECT id, data FROM rotations`)
}

func (c conn) documents(ctx context.Context, q string, args ...any) (map[string][]byte, error) {
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", q, err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, fmt.Errorf("sqlstore: %s: %w", q, err)
		}
		out[id] = []byte(data)
	}
	return out, rows.Err()
}

// PutOverride inserts or replaces an override document.
func (c conn) PutOverride(ctx context.Context, id, rotationID string, data []byte, end time.Time) error {
	_, err := c.exec(ctx, `INSERT INTO overrides (id, rotation_id, data, end_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET rotation_id = excluded.rotation_id, data = excluded.data, end_at = excluded.end_at`,
		id, rotationID, string(data), micros(end))
	if err != nil {
		return fmt.Errorf("sqlstore: override %s: %w", id, err)
	}
	return nil
}

// DeleteOverride removes an override.
func (c conn) DeleteOverride(ctx context.Context, id string) error {
	return c.deleteByID(ctx, "overrides", id)
}

// Overrides lists override documents ending after since.
func (c conn) Overrides(ctx context.Context, since time.Time) ([][]byte, error) {
	docs, err := c.documents(ctx, `SELECT id, data FROM overrides WHERE end_at > ?`, micros(since))
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(docs))
	for _, d := range docs {
		out = append(out, d)
	}
	return out, nil
}

// PutPolicy inserts or replaces a policy document. A default policy takes the default
// from any other in the same statement, so two concurrent calls cannot both leave a
// default behind.
//
// With concurrent writers (PostgreSQL) the two statements run under one lock: the second
// reads the defaults as of its start, and would miss one another writer committed meanwhile.
func (c conn) PutPolicy(ctx context.Context, id string, data []byte, isDefault bool, at time.Time) error {
	return c.serialised(ctx, "policies.default", func(c conn) error { return c.putPolicy(ctx, id, data, isDefault, at) })
}

func (c conn) putPolicy(ctx context.Context, id string, data []byte, isDefault bool, at time.Time) error {
	_, err := c.exec(ctx, `INSERT INTO policies (id, data, is_default, updated_at) VALUES (?, ?, 0, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data, is_default = 0, updated_at = excluded.updated_at`,
		id, string(data), micros(at))
	if err != nil {
		return fmt.Errorf("sqlstore: policy %s: %w", id, err)
	}
	if isDefault {
		if _, err := c.exec(ctx, `UPDATE policies SET is_default = CASE WHEN id = ? THEN 1 ELSE 0 END WHERE is_default = 1 OR id = ?`, id, id); err != nil {
			return fmt.Errorf("sqlstore: policy %s: %w", id, err)
		}
	}
	return nil
}

// DeletePolicy removes a policy.
func (c conn) DeletePolicy(ctx context.Context, id string) error {
	return c.deleteByID(ctx, "policies", id)
}

// Policies returns every policy document by id, and the default policy's id ("" if none).
func (c conn) Policies(ctx context.Context) (map[string][]byte, string, error) {
	docs, err := c.documents(ctx, `SELECT id, data FROM policies`)
	if err != nil {
		return nil, "", err
	}
	var def string
	err = c.row(ctx, `SELECT id FROM policies WHERE is_default = 1`).Scan(&def)
	if err != nil && err != sql.ErrNoRows {
		return nil, "", fmt.Errorf("sqlstore: default policy: %w", err)
	}
	return docs, def, nil
}

// CreateCommCheck records a comm check.
func (c conn) CreateCommCheck(ctx context.Context, cc store.CommCheck) error {
	_, err := c.exec(ctx, `INSERT INTO commchecks (id, page_id, teams, created_by, created_at) VALUES (?, ?, ?, ?, ?)`,
		cc.ID, cc.PageID, strings.Join(cc.Teams, ","), cc.CreatedBy, micros(cc.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: comm check: %w", err)
	}
	return nil
}

// CommChecks lists comm checks, newest first.
func (c conn) CommChecks(ctx context.Context, limit int) ([]store.CommCheck, error) {
	rows, err := c.query(ctx, `SELECT id, page_id, teams, created_by, created_at FROM commchecks ORDER BY created_at DESC, id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: comm checks: %w", err)
	}
	defer rows.Close()
	out := []store.CommCheck{}
	for rows.Next() {
		var cc store.CommCheck
		var teams string
		var created int64
		if err := rows.Scan(&cc.ID, &cc.PageID, &teams, &cc.CreatedBy, &created); err != nil {
			return nil, fmt.Errorf("sqlstore: comm checks: %w", err)
		}
		cc.CreatedAt = fromMicros(created)
		if teams != "" {
			cc.Teams = strings.Split(teams, ",")
		}
		out = append(out, cc)
	}
	return out, rows.Err()
}

// TryLease takes or renews a lease.
func (c conn) TryLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	res, err := c.exec(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) `+
		`ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at `+
		`WHERE leases.holder = excluded.holder OR leases.expires_at < ?`,
		name, holder, micros(now.Add(ttl)), micros(now))
	if err != nil {
		return false, fmt.Errorf("sqlstore: lease %s: %w", name, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ReleaseLease gives up a lease held by holder.
func (c conn) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := c.exec(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("sqlstore: release lease %s: %w", name, err)
	}
	return nil
}

// PutPeerOnCall stores a partner's on-call summary unless a newer or equal one is kept.
func (c conn) PutPeerOnCall(ctx context.Context, p store.PeerOnCall) (bool, error) {
	res, err := c.exec(ctx, `INSERT INTO peer_oncall (team, data, at, received_at) VALUES (?, ?, ?, ?) `+
		`ON CONFLICT (team) DO UPDATE SET data = excluded.data, at = excluded.at, received_at = excluded.received_at `+
		`WHERE peer_oncall.at < excluded.at`,
		p.Team, string(p.Data), micros(p.At), micros(p.ReceivedAt))
	if err != nil {
		return false, fmt.Errorf("sqlstore: peer on-call %s: %w", p.Team, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// PeerOnCalls lists partners' on-call summaries by team.
func (c conn) PeerOnCalls(ctx context.Context) ([]store.PeerOnCall, error) {
	rows, err := c.query(ctx, `SELECT team, data, at, received_at FROM peer_oncall ORDER BY team`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: peer on-call: %w", err)
	}
	defer rows.Close()
	out := []store.PeerOnCall{}
	for rows.Next() {
		var p store.PeerOnCall
		var data string
		var at, received int64
		if err := rows.Scan(&p.Team, &data, &at, &received); err != nil {
			return nil, fmt.Errorf("sqlstore: peer on-call: %w", err)
		}
		p.Data, p.At, p.ReceivedAt = []byte(data), fromMicros(at), fromMicros(received)
		out = append(out, p)
	}
	return out, rows.Err()
}
