package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/store"
)

// The reads of the collaboration metrics over sharing, feeds and vulnerability
// coordination (store.CollabReader).

// IndicatorsCreated lists the objects created in [from, to), oldest first. The creation
// time is in the document, not a column; an object's modified_at is never before its
// creation, so the index on modified_at narrows the rows read to those changed since
// from.
func (c conn) IndicatorsCreated(ctx context.Context, from, to time.Time) ([]store.Indicator, error) {
	rows, err := c.query(ctx, `SELECT `+indicatorCols+` FROM indicators WHERE modified_at >= ? ORDER BY id`, micros(from))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: indicators created: %w", err)
	}
	defer rows.Close()
	out := []store.Indicator{}
	for rows.Next() {
		in, err := scanIndicator(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: indicators created: %w", err)
		}
		if in.CreatedAt.IsZero() || in.CreatedAt.Before(from) || !in.CreatedAt.Before(to) {
			continue
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: indicators created: %w", err)
	}
	sortIndicatorsByCreation(out)
	return out, nil
}

// holdingsChunk keeps each IN list well under SQLite's and PostgreSQL's limits on
// bound parameters.
const holdingsChunk = 500

// HoldingsOf lists the teams each object went to, by object and team.
func (c conn) HoldingsOf(ctx context.Context, ids []string) ([]store.Holding, error) {
	out := []store.Holding{}
	for len(ids) > 0 {
		part := ids[:min(len(ids), holdingsChunk)]
		ids = ids[len(part):]
		rows, err := c.query(ctx, `SELECT indicator_id, team, sent_at FROM indicator_holders WHERE indicator_id IN (`+
			placeholders(len(part))+`) ORDER BY indicator_id, team`, anys(part)...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: holdings: %w", err)
		}
		for rows.Next() {
			var h store.Holding
			var at int64
			if err := rows.Scan(&h.IndicatorID, &h.Team, &at); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: holdings: %w", err)
			}
			h.SentAt = fromMicros(at)
			out = append(out, h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlstore: holdings: %w", err)
		}
	}
	return out, nil
}

// FeedRunsStarted lists the runs started in [from, to), oldest first.
func (c conn) FeedRunsStarted(ctx context.Context, from, to time.Time) ([]store.FeedRun, error) {
	rows, err := c.query(ctx, `SELECT `+feedRunCols+` FROM feed_runs WHERE started_at >= ? AND started_at < ? ORDER BY started_at, id`,
		micros(from), micros(to))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: feed runs started: %w", err)
	}
	defer rows.Close()
	out := []store.FeedRun{}
	for rows.Next() {
		r, err := scanFeedRun(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: feed runs started: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CVDCasesCreated lists the cases created in [from, to), oldest first.
func (c conn) CVDCasesCreated(ctx context.Context, from, to time.Time) ([]store.CVDCase, error) {
	rows, err := c.query(ctx, `SELECT `+cvdCaseCols+` FROM cvd_cases WHERE created_at >= ? AND created_at < ? ORDER BY created_at, id`,
		micros(from), micros(to))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: cases created: %w", err)
	}
	defer rows.Close()
	out := []store.CVDCase{}
	for rows.Next() {
		k, err := scanCVDCase(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: cases created: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func sortIndicatorsByCreation(ins []store.Indicator) {
	slices.SortStableFunc(ins, func(a, b store.Indicator) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// CountCollab counts feed events, shared objects, sightings and cases, each in one
// grouped query.
func (c conn) CountCollab(ctx context.Context, self string) ([]store.CollabCount, error) {
	out := []store.CollabCount{}
	var own, partner [3]int64
	rows, err := c.query(ctx, `SELECT CASE WHEN origin = '' THEN 'own' ELSE 'partner' END, `+
		`COALESCE(SUM(routed_owners), 0), COALESCE(SUM(routed_partners), 0), COALESCE(SUM(unrouted), 0) `+
		`FROM feed_runs WHERE state = ? GROUP BY 1`, store.RunDone)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: count feed events: %w", err)
	}
	for rows.Next() {
		var g string
		var v [3]int64
		if err := rows.Scan(&g, &v[0], &v[1], &v[2]); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: count feed events: %w", err)
		}
		if g == "own" {
			own = v
		} else {
			partner = v
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: count feed events: %w", err)
	}
	for _, g := range []struct {
		name string
		v    [3]int64
	}{{"own", own}, {"partner", partner}} {
		for i, sub := range []string{"owner", "partner", "unrouted"} {
			out = append(out, store.CollabCount{Kind: "feed_events", Group: g.name, Sub: sub, N: g.v[i]})
		}
	}
	for _, q := range []struct{ kind, sql string }{
		{"objects", `SELECT CASE WHEN author = ? THEN 'out' ELSE 'in' END, state, COUNT(*) FROM indicators GROUP BY 1, 2 ORDER BY 1, 2`},
		{"sightings", `SELECT CASE WHEN team = ? THEN 'out' ELSE 'in' END, kind, COUNT(*) FROM sightings GROUP BY 1, 2 ORDER BY 1, 2`},
		{"cvd_cases", `SELECT CASE WHEN owner = ? THEN 'owner' ELSE 'participant' END, '', COUNT(*) FROM cvd_cases GROUP BY 1 ORDER BY 1`},
	} {
		rows, err := c.query(ctx, q.sql, self)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: count %s: %w", q.kind, err)
		}
		for rows.Next() {
			cc := store.CollabCount{Kind: q.kind}
			if err := rows.Scan(&cc.Group, &cc.Sub, &cc.N); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: count %s: %w", q.kind, err)
			}
			out = append(out, cc)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlstore: count %s: %w", q.kind, err)
		}
	}
	return out, nil
}
