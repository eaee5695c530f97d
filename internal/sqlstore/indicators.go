package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"csirtlink/internal/store"
)

// indicatorDoc is what an indicator's doc column holds: the fields that are not columns.
type indicatorDoc struct {
	ShareWith   []string   `json:"share_with,omitempty"`
	Audience    []string   `json:"audience,omitempty"`
	Incidents   []string   `json:"incidents,omitempty"`
	Tags        []string   `json:"tags,omitempty"`
	Description string     `json:"description,omitempty"`
	ValidFrom   time.Time  `json:"valid_from"`
	CreatedBy   string     `json:"created_by,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

// PutIndicator inserts or replaces an indicator by id.
func (c conn) PutIndicator(ctx context.Context, in store.Indicator) error {
	doc, err := json.Marshal(indicatorDoc{ShareWith: in.ShareWith, Audience: in.Audience, Incidents: in.Incidents, Tags: in.Tags,
		Description: in.Description, ValidFrom: in.ValidFrom, CreatedBy: in.CreatedBy, CreatedAt: in.CreatedAt, RevokedAt: in.RevokedAt})
	if err != nil {
		return fmt.Errorf("sqlstore: indicator %s: %w", in.ID, err)
	}
	_, err = c.exec(ctx, `INSERT INTO indicators (id, author, version, state, type, value, category, tlp, confidence, valid_until,
		modified_at, received_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET author = excluded.author, version = excluded.version, state = excluded.state,
		type = excluded.type, value = excluded.value, category = excluded.category, tlp = excluded.tlp,
		confidence = excluded.confidence, valid_until = excluded.valid_until, modified_at = excluded.modified_at,
		received_at = excluded.received_at, doc = excluded.doc`,
		in.ID, in.Author, in.Version, in.State, in.Type, in.Value, in.Category, in.TLP, in.Confidence, nullMicros(in.ValidUntil),
		micros(in.Modified), micros(in.ReceivedAt), string(doc))
	if err != nil {
		return fmt.Errorf("sqlstore: put indicator %s: %w", in.ID, err)
	}
	return nil
}

const indicatorCols = `id, author, version, state, type, value, category, tlp, confidence, valid_until, modified_at, received_at, doc`

func scanIndicator(sc interface{ Scan(...any) error }) (store.Indicator, error) {
	var in store.Indicator
	var until sql.NullInt64
	var modified, received int64
	var doc string
	if err := sc.Scan(&in.ID, &in.Author, &in.Version, &in.State, &in.Type, &in.Value, &in.Category, &in.TLP, &in.Confidence,
		&until, &modified, &received, &doc); err != nil {
		return in, err
	}
	var d indicatorDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return in, fmt.Errorf("indicator %s: doc: %w", in.ID, err)
	}
	in.ShareWith, in.Audience, in.Incidents, in.Tags, in.Description = d.ShareWith, d.Audience, d.Incidents, d.Tags, d.Description
	in.ValidFrom, in.CreatedBy, in.CreatedAt, in.RevokedAt = d.ValidFrom, d.CreatedBy, d.CreatedAt, d.RevokedAt
	in.ValidUntil, in.Modified, in.ReceivedAt = ptrMicros(until), fromMicros(modified), fromMicros(received)
	return in, nil
}

// GetIndicator returns an indicator or its tombstone.
func (c conn) GetIndicator(ctx context.Context, id string) (store.Indicator, error) {
	in, err := scanIndicator(c.row(ctx, c.forUpdate(`SELECT `+indicatorCols+` FROM indicators WHERE id = ?`), id))
	if err != nil {
		return in, notFound(err, "indicator "+id)
	}
	return in, nil
}

func (c conn) indicators(ctx context.Context, what, q string, args ...any) ([]store.Indicator, error) {
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	defer rows.Close()
	out := []store.Indicator{}
	for rows.Next() {
		in, err := scanIndicator(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: %s: %w", what, err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	return out, nil
}

// ListIndicators lists indicators, newest modified first.
func (c conn) ListIndicators(ctx context.Context, f store.IndicatorFilter) ([]store.Indicator, error) {
	var where []string
	var args []any
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	eq("type", f.Type)
	eq("category", f.Category)
	eq("tlp", f.TLP)
	eq("author", f.Author)
	eq("value", f.Value)
	if !f.Revoked {
		eq("state", store.IndicatorActive)
	}
	switch f.Seen {
	case "yes":
		where = append(where, "EXISTS (SELECT 1 FROM sightings s WHERE s.indicator_id = indicators.id)")
	case "no":
		where = append(where, "NOT EXISTS (SELECT 1 FROM sightings s WHERE s.indicator_id = indicators.id)")
	}
	switch f.Expired {
	case "yes":
		where = append(where, "valid_until IS NOT NULL AND valid_until < ?")
		args = append(args, micros(f.Now))
	case "no":
		where = append(where, "(valid_until IS NULL OR valid_until >= ?)")
		args = append(args, micros(f.Now))
	}
	q := `SELECT ` + indicatorCols + ` FROM indicators`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 500
	}
	q += " ORDER BY modified_at DESC, id LIMIT ?"
	args = append(args, limit)
	return c.indicators(ctx, "list indicators", q, args...)
}

// IndicatorsAfter lists up to limit indicators and tombstones in id order after afterID.
// By id, not by modified time: an import gives all its lines one modified time, and a
// cursor on it would sort that whole group again for every page.
func (c conn) IndicatorsAfter(ctx context.Context, afterID string, limit int) ([]store.Indicator, error) {
	return c.indicators(ctx, "indicators after", `SELECT `+indicatorCols+` FROM indicators WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
}

// placeholders is "?, ?, …" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func anys(values []string) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

// IndicatorsByValue returns the live indicators holding any of the values.
func (c conn) IndicatorsByValue(ctx context.Context, values []string, limit int) ([]store.Indicator, error) {
	if len(values) == 0 {
		return []store.Indicator{}, nil
	}
	args := append(anys(values), store.IndicatorActive, limit)
	return c.indicators(ctx, "indicators by value", `SELECT `+indicatorCols+` FROM indicators WHERE value IN (`+placeholders(len(values))+`)
		AND state = ? ORDER BY modified_at DESC, id LIMIT ?`, args...)
}

// PutHolder records that an indicator went to a team at a version.
func (c conn) PutHolder(ctx context.Context, id, team string, version int64, at time.Time) error {
	_, err := c.exec(ctx, `INSERT INTO indicator_holders (indicator_id, team, version, sent_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (indicator_id, team) DO UPDATE SET version = excluded.version, sent_at = excluded.sent_at`, id, team, version, micros(at))
	if err != nil {
		return fmt.Errorf("sqlstore: indicator %s holder %s: %w", id, team, err)
	}
	return nil
}

// Holders lists the teams an indicator went to.
func (c conn) Holders(ctx context.Context, id string) ([]string, error) {
	rows, err := c.query(ctx, `SELECT team FROM indicator_holders WHERE indicator_id = ? ORDER BY team`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: holders of %s: %w", id, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("sqlstore: holders of %s: %w", id, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// sightingDoc is what a sighting's doc column holds.
type sightingDoc struct {
	Constituency string   `json:"constituency,omitempty"`
	Note         string   `json:"note,omitempty"`
	Recipients   []string `json:"recipients,omitempty"`
	ReportedBy   string   `json:"reported_by,omitempty"`
}

// PutSighting stores a sighting unless one with its id is held.
func (c conn) PutSighting(ctx context.Context, s store.Sighting) (bool, error) {
	doc, err := json.Marshal(sightingDoc{Constituency: s.Constituency, Note: s.Note, Recipients: s.Recipients, ReportedBy: s.ReportedBy})
	if err != nil {
		return false, fmt.Errorf("sqlstore: sighting %s: %w", s.ID, err)
	}
	res, err := c.exec(ctx, `INSERT INTO sightings (id, indicator_id, team, kind, count, first_seen, last_seen, tlp, at, received_at, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		s.ID, s.IndicatorID, s.Team, s.Kind, s.Count, nullMicros(s.FirstSeen), nullMicros(s.LastSeen), s.TLP, micros(s.At),
		micros(s.ReceivedAt), string(doc))
	if err != nil {
		return false, fmt.Errorf("sqlstore: put sighting %s: %w", s.ID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Sightings lists an indicator's sightings, oldest first.
func (c conn) Sightings(ctx context.Context, id string) ([]store.Sighting, error) {
	return c.SightingsOf(ctx, []string{id})
}

// SightingsOf lists the sightings of several indicators, oldest first.
func (c conn) SightingsOf(ctx context.Context, ids []string) ([]store.Sighting, error) {
	out := []store.Sighting{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := c.query(ctx, `SELECT id, indicator_id, team, kind, count, first_seen, last_seen, tlp, at, received_at, doc
		FROM sightings WHERE indicator_id IN (`+placeholders(len(ids))+`) ORDER BY at, id`, anys(ids)...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: sightings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s store.Sighting
		var first, last sql.NullInt64
		var at, received int64
		var doc string
		if err := rows.Scan(&s.ID, &s.IndicatorID, &s.Team, &s.Kind, &s.Count, &first, &last, &s.TLP, &at, &received, &doc); err != nil {
			return nil, fmt.Errorf("sqlstore: sightings: %w", err)
		}
		var d sightingDoc
		if err := json.Unmarshal([]byte(doc), &d); err != nil {
			return nil, fmt.Errorf("sqlstore: sighting %s: doc: %w", s.ID, err)
		}
		s.Constituency, s.Note, s.Recipients, s.ReportedBy = d.Constituency, d.Note, d.Recipients, d.ReportedBy
		s.FirstSeen, s.LastSeen, s.At, s.ReceivedAt = ptrMicros(first), ptrMicros(last), fromMicros(at), fromMicros(received)
		out = append(out, s)
	}
	return out, rows.Err()
}

// ObservableEntries returns incidents' observable entries holding any of the values.
func (c conn) ObservableEntries(ctx context.Context, values []string, limit int) ([]store.Entry, error) {
	if len(values) == 0 {
		return []store.Entry{}, nil
	}
	rows, err := c.query(ctx, `SELECT `+entryCols+` FROM entries WHERE kind = 'observable' AND body IN (`+placeholders(len(values))+`)
		ORDER BY created_at DESC, id LIMIT `+strconv.Itoa(limit), anys(values)...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: observable entries: %w", err)
	}
	defer rows.Close()
	out := []store.Entry{}
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: observable entries: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// MatchIndicators returns the live indicators holding any of the values, those holding
// values[0] first, reading only the columns of indicators_value_cover (no row, no JSON
// document).
func (c conn) MatchIndicators(ctx context.Context, values []string, limit int) ([]store.IndicatorMatch, error) {
	out := []store.IndicatorMatch{}
	if len(values) == 0 {
		return out, nil
	}
	rows, err := c.query(ctx, matchIndicatorsQuery(len(values), limit), append(append(anys(values), store.IndicatorActive), values[0])...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: match indicators: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m store.IndicatorMatch
		var until sql.NullInt64
		var modified int64
		if err := rows.Scan(&m.ID, &m.Author, &m.Type, &m.Value, &m.Category, &m.TLP, &m.Confidence, &until, &modified, &m.Sighted); err != nil {
			return nil, fmt.Errorf("sqlstore: match indicators: %w", err)
		}
		m.ValidUntil, m.Modified = ptrMicros(until), fromMicros(modified)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: match indicators: %w", err)
	}
	return out, nil
}

// matchIndicatorsQuery writes the limit into the statement rather than binding it, as
// ObservableEntries does: SQLite reads a bound LIMIT's value when it plans the sort, and
// so prepares the statement anew on every run — a third of a search's CPU. A search
// always asks for indicator.MaxHits, so the texts (and the statements cached for them)
// stay one per number of values. Whether a hit has sightings is one probe of
// sightings_indicator here, so that the search reads the sightings only of hits that
// have some — most have none — rather than run a statement to find none.
func matchIndicatorsQuery(n, limit int) string {
	return `SELECT id, author, type, value, category, tlp, confidence, valid_until, modified_at,
		EXISTS (SELECT 1 FROM sightings WHERE sightings.indicator_id = indicators.id) FROM indicators
		WHERE value IN (` + placeholders(n) + `) AND state = ? ORDER BY value = ? DESC, modified_at DESC, id LIMIT ` + strconv.Itoa(limit)
}

// PutUnsent records that a version written here waits to be queued for partners.
func (c conn) PutUnsent(ctx context.Context, id string, version int64, at time.Time) error {
	_, err := c.exec(ctx, `INSERT INTO indicator_unsent (indicator_id, version, queued_at) VALUES (?, ?, ?)
		ON CONFLICT (indicator_id) DO UPDATE SET version = excluded.version`, id, version, micros(at))
	if err != nil {
		return fmt.Errorf("sqlstore: indicator %s unsent: %w", id, err)
	}
	return nil
}

// Unsent lists the indicators waiting to be queued, oldest first.
func (c conn) Unsent(ctx context.Context, limit int) ([]store.Unsent, error) {
	rows, err := c.query(ctx, `SELECT indicator_id, version, queued_at FROM indicator_unsent ORDER BY queued_at, indicator_id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: unsent indicators: %w", err)
	}
	defer rows.Close()
	var out []store.Unsent
	for rows.Next() {
		var u store.Unsent
		var at int64
		if err := rows.Scan(&u.IndicatorID, &u.Version, &at); err != nil {
			return nil, fmt.Errorf("sqlstore: unsent indicators: %w", err)
		}
		u.QueuedAt = fromMicros(at)
		out = append(out, u)
	}
	return out, rows.Err()
}

// DeleteUnsent forgets that the indicators wait to be queued.
func (c conn) DeleteUnsent(ctx context.Context, ids []string) error {
	for len(ids) > 0 {
		n := min(len(ids), 500)
		if _, err := c.exec(ctx, `DELETE FROM indicator_unsent WHERE indicator_id IN (`+placeholders(n)+`)`, anys(ids[:n])...); err != nil {
			return fmt.Errorf("sqlstore: delete unsent indicators: %w", err)
		}
		ids = ids[n:]
	}
	return nil
}

// GetIndicators returns the indicators with the ids, in id order; inside a transaction
// their rows stay locked until it ends.
func (c conn) GetIndicators(ctx context.Context, ids []string) ([]store.Indicator, error) {
	out := []store.Indicator{}
	for len(ids) > 0 {
		n := min(len(ids), 500)
		part, err := c.indicators(ctx, "get indicators", c.forUpdate(`SELECT `+indicatorCols+` FROM indicators WHERE id IN (`+
			placeholders(n)+`) ORDER BY id`), anys(ids[:n])...)
		if err != nil {
			return nil, err
		}
		out = append(out, part...)
		ids = ids[n:]
	}
	return out, nil
}

// PutHolders records many holders, up to 200 a statement.
func (c conn) PutHolders(ctx context.Context, hs []store.Holder) error {
	for len(hs) > 0 {
		n := min(len(hs), 200)
		args := make([]any, 0, 4*n)
		for _, h := range hs[:n] {
			args = append(args, h.IndicatorID, h.Team, h.Version, micros(h.At))
		}
		_, err := c.exec(ctx, `INSERT INTO indicator_holders (indicator_id, team, version, sent_at) VALUES `+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?), ", n), ", ")+`
			ON CONFLICT (indicator_id, team) DO UPDATE SET version = excluded.version, sent_at = excluded.sent_at`, args...)
		if err != nil {
			return fmt.Errorf("sqlstore: indicator holders: %w", err)
		}
		hs = hs[n:]
	}
	return nil
}

// FeedServed lists the indicators a MISP feed has carried.
func (c conn) FeedServed(ctx context.Context, feed string) ([]string, error) {
	rows, err := c.query(ctx, `SELECT indicator_id FROM misp_feed_served WHERE feed = ?`, feed)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: misp feed %s: %w", feed, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlstore: misp feed %s: %w", feed, err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// PutFeedServed records that a MISP feed carried the indicators.
func (c conn) PutFeedServed(ctx context.Context, feed string, ids []string, at time.Time) error {
	for len(ids) > 0 {
		n := min(len(ids), 300)
		args := make([]any, 0, 3*n)
		for _, id := range ids[:n] {
			args = append(args, feed, id, micros(at))
		}
		_, err := c.exec(ctx, `INSERT INTO misp_feed_served (feed, indicator_id, served_at) VALUES `+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", n), ", ")+` ON CONFLICT (feed, indicator_id) DO NOTHING`, args...)
		if err != nil {
			return fmt.Errorf("sqlstore: misp feed %s: %w", feed, err)
		}
		ids = ids[n:]
	}
	return nil
}
