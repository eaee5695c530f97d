package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"csirtlink/internal/store"
)

// NextCounter increments a named counter and returns its new value.
func (c conn) NextCounter(ctx context.Context, name string) (int64, error) {
	var v int64
	err := c.row(ctx, `INSERT INTO counters (name, value) VALUES (?, 1) `+
		`ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value`, name).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: counter %s: %w", name, err)
	}
	return v, nil
}

const incidentCols = `id, coordinator, title, description, category, severity, tlp, status, created_by, created_at, updated_at, last_position`

func scanIncident(sc interface{ Scan(...any) error }) (store.Incident, error) {
	var in store.Incident
	var created, updated int64
	err := sc.Scan(&in.ID, &in.Coordinator, &in.Title, &in.Description, &in.Category, &in.Severity,
		&in.TLP, &in.Status, &in.CreatedBy, &created, &updated, &in.LastPosition)
	in.CreatedAt, in.UpdatedAt = fromMicros(created), fromMicros(updated)
	return in, err
}

// CreateIncident inserts an incident and its participants.
func (c conn) CreateIncident(ctx context.Context, in store.Incident) error {
	_, err := c.exec(ctx, `INSERT INTO incidents (`+incidentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		in.ID, in.Coordinator, in.Title, in.Description, in.Category, in.Severity, in.TLP, in.Status,
		in.CreatedBy, micros(in.CreatedAt), micros(in.UpdatedAt), in.LastPosition)
	if err != nil {
		return fmt.Errorf("sqlstore: create incident %s: %w", in.ID, err)
	}
	delete(c.localIncidents(), in.ID)
	for _, p := range in.Participants {
		if err := c.UpsertParticipant(ctx, in.ID, p); err != nil {
			return err
		}
	}
	return nil
}

// UpdateIncident writes the incident's own fields.
func (c conn) UpdateIncident(ctx context.Context, in store.Incident) error {
	res, err := c.exec(ctx, `UPDATE incidents SET title = ?, description = ?, category = ?, severity = ?, tlp = ?, `+
		`status = ?, updated_at = ?, last_position = ? WHERE id = ?`,
		in.Title, in.Description, in.Category, in.Severity, in.TLP, in.Status, micros(in.UpdatedAt), in.LastPosition, in.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: update incident %s: %w", in.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("incident %s: %w", in.ID, store.ErrNotFound)
	}
	c.local.updated(in)
	return nil
}

// GetIncident returns an incident with its participants. In a transaction it locks the
// incident (dialect.forUpdate): the incident is the root of its aggregate, and every
// transaction that changes its fields, participants or timeline reads it first. A
// transaction reads it once: the lock holds until it ends, and what it writes of the
// incident it also keeps (txLocal).
func (c conn) GetIncident(ctx context.Context, id string) (store.Incident, error) {
	if in, ok := c.local.incident(id); ok {
		return in, nil
	}
	in, err := scanIncident(c.row(ctx, c.forUpdate(`SELECT `+incidentCols+` FROM incidents WHERE id = ?`), id))
	if err != nil {
		return in, notFound(err, "incident "+id)
	}
	if in.Participants, err = c.participants(ctx, id); err != nil {
		return in, err
	}
	c.local.keep(in)
	return in, nil
}

// localIncidents is the transaction's held incidents (nil outside one).
func (c conn) localIncidents() map[string]store.Incident {
	if c.local == nil {
		return nil
	}
	return c.local.incidents
}

func (c conn) participants(ctx context.Context, id string) ([]store.Participant, error) {
	rows, err := c.query(ctx, `SELECT team, status, acknowledged_at, updated_at FROM participants WHERE incident_id = ? ORDER BY team`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: participants of %s: %w", id, err)
	}
	defer rows.Close()
	out := []store.Participant{}
	for rows.Next() {
		var p store.Participant
		var ack sql.NullInt64
		var upd int64
		if err := rows.Scan(&p.Team, &p.Status, &ack, &upd); err != nil {
			return nil, fmt.Errorf("sqlstore: participants of %s: %w", id, err)
		}
		p.AcknowledgedAt, p.UpdatedAt = ptrMicros(ack), fromMicros(upd)
		out = append(out, p)
	}
	return out, rows.Err()
}

// ListIncidents lists incidents, newest activity first.
func (c conn) ListIncidents(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error) {
	var where []string
	var args []any
	add := func(cond string, v string) {
		if v != "" {
			where = append(where, cond)
			args = append(args, v)
		}
	}
	add("status = ?", f.Status)
	add("severity = ?", f.Severity)
	add("category = ?", f.Category)
	add("tlp = ?", f.TLP)
	add("(coordinator = ? OR id IN (SELECT incident_id FROM participants WHERE team = ?))", f.Team)
	if f.Team != "" {
		args = append(args, f.Team)
	}
	// The limit is a parameter so that each filter shape is one cached statement.
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	args = append(args, limit)
	sel := ` FROM incidents`
	if len(where) > 0 {
		sel += " WHERE " + strings.Join(where, " AND ")
	}
	sel += " ORDER BY updated_at DESC, id LIMIT ?"
	rows, err := c.query(ctx, `SELECT `+incidentCols+sel, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list incidents: %w", err)
	}
	var out []store.Incident
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: list incidents: %w", err)
		}
		out = append(out, in)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list incidents: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	// One query for every listed incident's participants, not one per incident.
	index := make(map[string]int, len(out))
	for i := range out {
		index[out[i].ID] = i
		out[i].Participants = []store.Participant{}
	}
	prows, err := c.query(ctx, `SELECT incident_id, team, status, acknowledged_at, updated_at FROM participants `+
		`WHERE incident_id IN (SELECT id`+sel+`) ORDER BY incident_id, team`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list participants: %w", err)
	}
	defer prows.Close()
	for prows.Next() {
		var id string
		var p store.Participant
		var ack sql.NullInt64
		var upd int64
		if err := prows.Scan(&id, &p.Team, &p.Status, &ack, &upd); err != nil {
			return nil, fmt.Errorf("sqlstore: list participants: %w", err)
		}
		p.AcknowledgedAt, p.UpdatedAt = ptrMicros(ack), fromMicros(upd)
		if i, ok := index[id]; ok {
			out[i].Participants = append(out[i].Participants, p)
		}
	}
	return out, prows.Err()
}

// UpsertParticipant inserts or updates one participant's status.
func (c conn) UpsertParticipant(ctx context.Context, incidentID string, p store.Participant) error {
	_, err := c.exec(ctx, `INSERT INTO participants (incident_id, team, status, acknowledged_at, updated_at) VALUES (?, ?, ?, ?, ?) `+
		`ON CONFLICT (incident_id, team) DO UPDATE SET status = excluded.status, acknowledged_at = excluded.acknowledged_at, updated_at = excluded.updated_at`,
		incidentID, p.Team, p.Status, nullMicros(p.AcknowledgedAt), micros(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: participant %s of %s: %w", p.Team, incidentID, err)
	}
	c.local.participant(incidentID, p)
	return nil
}

const entryCols = `id, incident_id, position, team, author, kind, body, tlp, recipients, data, created_at, signature`

func scanEntry(sc interface{ Scan(...any) error }) (store.Entry, error) {
	var e store.Entry
	var pos sql.NullInt64
	var recips string
	var created int64
	err := sc.Scan(&e.ID, &e.IncidentID, &pos, &e.Team, &e.Author, &e.Kind, &e.Body, &e.TLP, &recips, &e.Data, &created, &e.Signature)
	e.Position, e.CreatedAt = pos.Int64, fromMicros(created)
	if recips != "" {
		e.Recipients = strings.Split(recips, ",")
	}
	return e, err
}

// PutEntry inserts an entry, or records the position of one already held.
func (c conn) PutEntry(ctx context.Context, e store.Entry) error {
	var pos any
	if e.Position > 0 {
		pos = e.Position
	}
	_, err := c.exec(ctx, `INSERT INTO entries (`+entryCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) `+
		`ON CONFLICT (id) DO UPDATE SET position = excluded.position WHERE entries.position IS NULL`,
		e.ID, e.IncidentID, pos, e.Team, e.Author, e.Kind, e.Body, e.TLP, strings.Join(e.Recipients, ","), e.Data,
		micros(e.CreatedAt), e.Signature)
	if err != nil {
		return fmt.Errorf("sqlstore: put entry %s: %w", e.ID, err)
	}
	return nil
}

// GetEntry returns one entry.
func (c conn) GetEntry(ctx context.Context, id string) (store.Entry, error) {
	e, err := scanEntry(c.row(ctx, `SELECT `+entryCols+` FROM entries WHERE id = ?`, id))
	if err != nil {
		return e, notFound(err, "entry "+id)
	}
	return e, nil
}

// Timeline lists an incident's entries in timeline order.
func (c conn) Timeline(ctx context.Context, incidentID string) ([]store.Entry, error) {
	rows, err := c.query(ctx, `SELECT `+entryCols+` FROM entries WHERE incident_id = ? `+
		`ORDER BY CASE WHEN position IS NULL THEN 1 ELSE 0 END, position, created_at, id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: timeline of %s: %w", incidentID, err)
	}
	defer rows.Close()
	out := []store.Entry{}
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: timeline of %s: %w", incidentID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
