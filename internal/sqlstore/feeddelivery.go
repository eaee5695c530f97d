package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"csirtlink/internal/store"
)

// AddFeedDelivery inserts what a run has to deliver to one recipient.
func (c conn) AddFeedDelivery(ctx context.Context, d store.FeedDelivery) error {
	_, err := c.exec(ctx, `INSERT INTO feed_deliveries (run_id, kind, target, contact, state, due_at, report_id, events, refused, detail, `+
		`created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.RunID, d.Kind, d.Target, d.Contact, d.State, micros(d.DueAt), d.ReportID, d.Events, d.Refused, d.Detail,
		micros(d.CreatedAt), micros(d.UpdatedAt))
	if c.d.isUnique(err) {
		return fmt.Errorf("feed delivery %s %s %s: %w", d.RunID, d.Kind, d.Target, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: add feed delivery: %w", err)
	}
	return nil
}

const feedDeliveryCols = `run_id, kind, target, contact, state, due_at, report_id, events, refused, detail, created_at, updated_at`

func (c conn) feedDeliveries(ctx context.Context, q string, args ...any) ([]store.FeedDelivery, error) {
	rows, err := c.query(ctx, `SELECT `+feedDeliveryCols+` FROM feed_deliveries `+q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: feed deliveries: %w", err)
	}
	defer rows.Close()
	out := []store.FeedDelivery{}
	for rows.Next() {
		var d store.FeedDelivery
		var due, created, updated int64
		if err := rows.Scan(&d.RunID, &d.Kind, &d.Target, &d.Contact, &d.State, &due, &d.ReportID, &d.Events, &d.Refused, &d.Detail,
			&created, &updated); err != nil {
			return nil, fmt.Errorf("sqlstore: feed deliveries: %w", err)
		}
		d.DueAt, d.CreatedAt, d.UpdatedAt = fromMicros(due), fromMicros(created), fromMicros(updated)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: feed deliveries: %w", err)
	}
	return out, nil
}

// DueFeedDeliveries lists pending deliveries of a kind that are due.
func (c conn) DueFeedDeliveries(ctx context.Context, kind string, now time.Time, limit int) ([]store.FeedDelivery, error) {
	if limit <= 0 {
		limit = 100
	}
	return c.feedDeliveries(ctx, `WHERE kind = ? AND state = ? AND due_at <= ? ORDER BY due_at, run_id, target, contact LIMIT ?`,
		kind, store.DeliveryPending, micros(now), limit)
}

// SetFeedDelivery writes a delivery's outcome if it is still in state from.
func (c conn) SetFeedDelivery(ctx context.Context, d store.FeedDelivery, from string) error {
	res, err := c.exec(ctx, `UPDATE feed_deliveries SET state = ?, report_id = ?, events = ?, refused = ?, detail = ?, updated_at = ? `+
		`WHERE run_id = ? AND kind = ? AND target = ? AND contact = ? AND state = ?`,
		d.State, d.ReportID, d.Events, d.Refused, d.Detail, micros(d.UpdatedAt), d.RunID, d.Kind, d.Target, d.Contact, from)
	if err != nil {
		return fmt.Errorf("sqlstore: set feed delivery: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("feed delivery %s %s %s is not %s: %w", d.RunID, d.Kind, d.Target, from, store.ErrConflict)
	}
	return nil
}

// FeedDeliveriesOf lists a run's deliveries.
func (c conn) FeedDeliveriesOf(ctx context.Context, runID string) ([]store.FeedDelivery, error) {
	return c.feedDeliveries(ctx, `WHERE run_id = ? ORDER BY kind, target, contact`, runID)
}

// ReportDeliveries lists the deliveries an owner report carries.
func (c conn) ReportDeliveries(ctx context.Context, reportID string) ([]store.FeedDelivery, error) {
	return c.feedDeliveries(ctx, `WHERE report_id = ? ORDER BY run_id`, reportID)
}

// CreateOwnerReport inserts an owner report.
func (c conn) CreateOwnerReport(ctx context.Context, r store.OwnerReport) error {
	_, err := c.exec(ctx, `INSERT INTO owner_reports (id, owner_id, contact, language, format, encrypted, events, state, attempts, `+
		`next_at, created_at, updated_at, sent_at, last_error, resend_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.OwnerID, r.Contact, r.Language, r.Format, boolInt(r.Encrypted), r.Events, r.State, r.Attempts,
		micros(r.NextAt), micros(r.CreatedAt), micros(r.UpdatedAt), nullMicros(r.SentAt), r.LastError, r.ResendOf)
	if c.d.isUnique(err) {
		return fmt.Errorf("owner report %s: %w", r.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create owner report: %w", err)
	}
	return nil
}

// UpdateOwnerReport writes a report's state if it is in state from.
func (c conn) UpdateOwnerReport(ctx context.Context, r store.OwnerReport, from string) error {
	res, err := c.exec(ctx, `UPDATE owner_reports SET encrypted = ?, events = ?, state = ?, attempts = ?, next_at = ?, updated_at = ?, `+
		`sent_at = ?, last_error = ? WHERE id = ? AND state = ?`,
		boolInt(r.Encrypted), r.Events, r.State, r.Attempts, micros(r.NextAt), micros(r.UpdatedAt), nullMicros(r.SentAt), r.LastError, r.ID, from)
	if err != nil {
		return fmt.Errorf("sqlstore: update owner report: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("owner report %s is not %s: %w", r.ID, from, store.ErrConflict)
	}
	return nil
}

const reportCols = `id, owner_id, contact, language, format, encrypted, events, state, attempts, next_at, created_at, updated_at, sent_at, last_error, resend_of`

func scanReport(sc interface{ Scan(...any) error }) (store.OwnerReport, error) {
	var r store.OwnerReport
	var enc int
	var next, created, updated int64
	var sent sql.NullInt64
	if err := sc.Scan(&r.ID, &r.OwnerID, &r.Contact, &r.Language, &r.Format, &enc, &r.Events, &r.State, &r.Attempts, &next, &created,
		&updated, &sent, &r.LastError, &r.ResendOf); err != nil {
		return r, err
	}
	r.Encrypted = enc != 0
	r.NextAt, r.CreatedAt, r.UpdatedAt, r.SentAt = fromMicros(next), fromMicros(created), fromMicros(updated), ptrMicros(sent)
	return r, nil
}

func (c conn) reports(ctx context.Context, q string, args ...any) ([]store.OwnerReport, error) {
	rows, err := c.query(ctx, `SELECT `+reportCols+` FROM owner_reports `+q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: owner reports: %w", err)
	}
	defer rows.Close()
	out := []store.OwnerReport{}
	for rows.Next() {
		r, err := scanReport(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: owner reports: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: owner reports: %w", err)
	}
	return out, nil
}

// GetOwnerReport returns one owner report.
func (c conn) GetOwnerReport(ctx context.Context, id string) (store.OwnerReport, error) {
	r, err := scanReport(c.row(ctx, `SELECT `+reportCols+` FROM owner_reports WHERE id = ?`, id))
	if err != nil {
		return r, notFound(err, "owner report "+id)
	}
	return r, nil
}

// OwnerReports lists an owner's reports, or every owner's, newest first.
func (c conn) OwnerReports(ctx context.Context, ownerID string, limit int) ([]store.OwnerReport, error) {
	if limit <= 0 {
		limit = 100
	}
	if ownerID == "" {
		return c.reports(ctx, `ORDER BY created_at DESC, id DESC LIMIT ?`, limit)
	}
	return c.reports(ctx, `WHERE owner_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, ownerID, limit)
}

// DueOwnerReports lists pending reports whose time has come.
func (c conn) DueOwnerReports(ctx context.Context, now time.Time, limit int) ([]store.OwnerReport, error) {
	if limit <= 0 {
		limit = 100
	}
	return c.reports(ctx, `WHERE state = ? AND next_at <= ? ORDER BY next_at, id LIMIT ?`, store.ReportPending, micros(now), limit)
}

// AbandonOwnerReports marks reports left in state sending as unknown.
func (c conn) AbandonOwnerReports(ctx context.Context, at time.Time) (int, error) {
	res, err := c.exec(ctx, `UPDATE owner_reports SET state = ?, updated_at = ?, last_error = ? WHERE state = ?`,
		store.ReportUnknown, micros(at), "the process sending it stopped during the attempt; not sent again", store.ReportSending)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: abandon owner reports: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// AddOwnerReportRuns records what a report carried.
func (c conn) AddOwnerReportRuns(ctx context.Context, runs []store.OwnerReportRun) error {
	for _, r := range runs {
		_, err := c.exec(ctx, `INSERT INTO owner_report_runs (report_id, run_id, seq_from, seq_to, events) VALUES (?, ?, ?, ?, ?)`,
			r.ReportID, r.RunID, r.SeqFrom, r.SeqTo, r.Events)
		if c.d.isUnique(err) {
			return fmt.Errorf("owner report %s run %s: %w", r.ReportID, r.RunID, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: owner report runs: %w", err)
		}
	}
	return nil
}

// OwnerReportRuns lists what a report carried.
func (c conn) OwnerReportRuns(ctx context.Context, reportID string) ([]store.OwnerReportRun, error) {
	rows, err := c.query(ctx, `SELECT report_id, run_id, seq_from, seq_to, events FROM owner_report_runs WHERE report_id = ? ORDER BY run_id`, reportID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: owner report runs: %w", err)
	}
	defer rows.Close()
	out := []store.OwnerReportRun{}
	for rows.Next() {
		var r store.OwnerReportRun
		if err := rows.Scan(&r.ReportID, &r.RunID, &r.SeqFrom, &r.SeqTo, &r.Events); err != nil {
			return nil, fmt.Errorf("sqlstore: owner report runs: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: owner report runs: %w", err)
	}
	return out, nil
}
