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
