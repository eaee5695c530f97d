package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"csirtlink/internal/store"
)

// PutAggregate stores a team's aggregate for a period unless a newer or equal one is kept.
func (c conn) PutAggregate(ctx context.Context, a store.Aggregate) (bool, error) {
	res, err := c.exec(ctx, `INSERT INTO metrics_aggregates (team, period, at, data, received_at) VALUES (?, ?, ?, ?, ?) `+
		`ON CONFLICT (team, period) DO UPDATE SET at = excluded.at, data = excluded.data, received_at = excluded.received_at `+
		`WHERE metrics_aggregates.at < excluded.at`,
		a.Team, a.Period, micros(a.At), string(a.Data), micros(a.ReceivedAt))
	if err != nil {
		return false, fmt.Errorf("sqlstore: aggregate %s %s: %w", a.Team, a.Period, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ListAggregates lists the aggregates kept for a period, by team.
func (c conn) ListAggregates(ctx context.Context, period string) ([]store.Aggregate, error) {
	rows, err := c.query(ctx, `SELECT team, period, at, data, received_at FROM metrics_aggregates WHERE period = ? ORDER BY team`, period)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: aggregates %s: %w", period, err)
	}
	defer rows.Close()
	out := []store.Aggregate{}
	for rows.Next() {
		var a store.Aggregate
		var data string
		var at, received int64
		if err := rows.Scan(&a.Team, &a.Period, &at, &data, &received); err != nil {
			return nil, fmt.Errorf("sqlstore: aggregates %s: %w", period, err)
		}
		a.Data, a.At, a.ReceivedAt = []byte(data), fromMicros(at), fromMicros(received)
		out = append(out, a)
	}
	return out, rows.Err()
}

// PagesCreated lists pages created in [from, to), oldest first, with their deliveries.
func (c conn) PagesCreated(ctx context.Context, from, to time.Time) ([]store.Page, error) {
	rows, err := c.query(ctx, `SELECT `+pageCols+` FROM pages WHERE created_at >= ? AND created_at < ? ORDER BY created_at, id`,
		micros(from), micros(to))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: pages created: %w", err)
	}
	out := []store.Page{}
	index := map[string]int{}
	for rows.Next() {
		p, err := scanPage(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: pages created: %w", err)
		}
		p.Deliveries = []store.Delivery{}
		index[p.ID] = len(out)
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: pages created: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	// One query for every page's deliveries, not one per page.
	ds, err := c.deliveries(ctx, `WHERE page_id IN (SELECT id FROM pages WHERE created_at >= ? AND created_at < ?) ORDER BY page_id, team`,
		micros(from), micros(to))
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		if i, ok := index[d.PageID]; ok {
			out[i].Deliveries = append(out[i].Deliveries, d)
		}
	}
	return out, nil
}

// IncidentsCreated lists incidents created in [from, to), oldest first, with participants.
func (c conn) IncidentsCreated(ctx context.Context, from, to time.Time) ([]store.Incident, error) {
	rows, err := c.query(ctx, `SELECT `+incidentCols+` FROM incidents WHERE created_at >= ? AND created_at < ? ORDER BY created_at, id`,
		micros(from), micros(to))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: incidents created: %w", err)
	}
	out := []store.Incident{}
	index := map[string]int{}
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: incidents created: %w", err)
		}
		in.Participants = []store.Participant{}
		index[in.ID] = len(out)
		out = append(out, in)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: incidents created: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	prows, err := c.query(ctx, `SELECT incident_id, team, status, acknowledged_at, updated_at FROM participants `+
		`WHERE incident_id IN (SELECT id FROM incidents WHERE created_at >= ? AND created_at < ?) ORDER BY incident_id, team`,
		micros(from), micros(to))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: incidents created: %w", err)
	}
	defer prows.Close()
	for prows.Next() {
		var id string
		var p store.Participant
		var ack sql.NullInt64
		var upd int64
		if err := prows.Scan(&id, &p.Team, &p.Status, &ack, &upd); err != nil {
			return nil, fmt.Errorf("sqlstore: incidents created: %w", err)
		}
		p.AcknowledgedAt, p.UpdatedAt = ptrMicros(ack), fromMicros(upd)
		if i, ok := index[id]; ok {
			out[i].Participants = append(out[i].Participants, p)
		}
	}
	return out, prows.Err()
}

// CountDeliveries counts page deliveries by direction, state and drill.
func (c conn) CountDeliveries(ctx context.Context, self string) ([]store.DeliveryCount, error) {
	rows, err := c.query(ctx, `SELECT CASE WHEN p.origin = ? THEN 'out' ELSE 'in' END, d.state, p.drill, COUNT(*) `+
		`FROM deliveries d JOIN pages p ON p.id = d.page_id GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, self)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: count deliveries: %w", err)
	}
	defer rows.Close()
	var out []store.DeliveryCount
	for rows.Next() {
		var dc store.DeliveryCount
		var drill int
		if err := rows.Scan(&dc.Direction, &dc.State, &drill, &dc.N); err != nil {
			return nil, fmt.Errorf("sqlstore: count deliveries: %w", err)
		}
		dc.Drill = drill != 0
		out = append(out, dc)
	}
	return out, rows.Err()
}
