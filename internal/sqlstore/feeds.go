package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"csirtlink/internal/store"
)

// ownerDoc is what the doc column holds: the owner less its id, name and times.
type ownerDoc struct {
	Networks []string             `json:"networks"`
	ASNs     []uint32             `json:"asns"`
	Domains  []string             `json:"domains"`
	Contacts []store.OwnerContact `json:"contacts"`
}

func ownerDocOf(o store.NetOwner) (string, error) {
	b, err := json.Marshal(ownerDoc{Networks: o.Networks, ASNs: o.ASNs, Domains: o.Domains, Contacts: o.Contacts})
	if err != nil {
		return "", fmt.Errorf("sqlstore: owner %s: %w", o.ID, err)
	}
	return string(b), nil
}

// CreateOwner inserts a network owner.
func (c conn) CreateOwner(ctx context.Context, o store.NetOwner) error {
	doc, err := ownerDocOf(o)
	if err != nil {
		return err
	}
	_, err = c.exec(ctx, `INSERT INTO net_owners (id, name, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		o.ID, o.Name, doc, micros(o.CreatedAt), micros(o.UpdatedAt))
	if c.d.isUnique(err) {
		return fmt.Errorf("owner %s: %w", o.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create owner: %w", err)
	}
	return nil
}

// UpdateOwner replaces a network owner, keeping when it was created.
func (c conn) UpdateOwner(ctx context.Context, o store.NetOwner) error {
	doc, err := ownerDocOf(o)
	if err != nil {
		return err
	}
	res, err := c.exec(ctx, `UPDATE net_owners SET name = ?, doc = ?, updated_at = ? WHERE id = ?`, o.Name, doc, micros(o.UpdatedAt), o.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: update owner: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("owner %s: %w", o.ID, store.ErrNotFound)
	}
	return nil
}

const ownerCols = `id, name, doc, created_at, updated_at`

func scanOwner(sc interface{ Scan(...any) error }) (store.NetOwner, error) {
	var o store.NetOwner
	var doc string
	var created, updated int64
	if err := sc.Scan(&o.ID, &o.Name, &doc, &created, &updated); err != nil {
		return o, err
	}
	var d ownerDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return o, fmt.Errorf("owner %s: doc: %w", o.ID, err)
	}
	o.Networks, o.ASNs, o.Domains, o.Contacts = d.Networks, d.ASNs, d.Domains, d.Contacts
	o.CreatedAt, o.UpdatedAt = fromMicros(created), fromMicros(updated)
	return o, nil
}

// GetOwner returns one network owner.
func (c conn) GetOwner(ctx context.Context, id string) (store.NetOwner, error) {
	o, err := scanOwner(c.row(ctx, `SELECT `+ownerCols+` FROM net_owners WHERE id = ?`, id))
	if err != nil {
		return o, notFound(err, "owner "+id)
	}
	return o, nil
}

// ListOwners lists every network owner by id.
func (c conn) ListOwners(ctx context.Context) ([]store.NetOwner, error) {
	rows, err := c.query(ctx, `SELECT `+ownerCols+` FROM net_owners ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list owners: %w", err)
	}
	defer rows.Close()
	out := []store.NetOwner{}
	for rows.Next() {
		o, err := scanOwner(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list owners: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list owners: %w", err)
	}
	return out, nil
}

// DeleteOwner removes a network owner.
func (c conn) DeleteOwner(ctx context.Context, id string) error {
	res, err := c.exec(ctx, `DELETE FROM net_owners WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlstore: delete owner: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("owner %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// CreateFeedRun inserts a feed run.
func (c conn) CreateFeedRun(ctx context.Context, r store.FeedRun) error {
	_, err := c.exec(ctx, `INSERT INTO feed_runs (id, format, report, feed, file_name, tlp, created_by, state, started_at, updated_at, origin, source_run) `+
		`VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Format, r.Report, r.Feed, r.FileName, r.TLP, r.CreatedBy, r.State, micros(r.StartedAt), micros(r.UpdatedAt), r.Origin, r.SourceRun)
	if c.d.isUnique(err) {
		return fmt.Errorf("feed run %s: %w", r.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create feed run: %w", err)
	}
	return nil
}

// AddFeedChunk stores a chunk of a running run, in one transaction with the check that
// the run still runs: a run marked interrupted takes no more events.
func (c conn) AddFeedChunk(ctx context.Context, ch store.FeedChunk, at time.Time) error {
	add := func(tc conn) error {
		res, err := tc.exec(ctx, `UPDATE feed_runs SET updated_at = ? WHERE id = ? AND state = ?`, micros(at), ch.RunID, store.RunRunning)
		if err != nil {
			return fmt.Errorf("sqlstore: add feed chunk: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("feed run %s is not running: %w", ch.RunID, store.ErrConflict)
		}
		return tc.PutFeedChunk(ctx, ch)
	}
	if c.inTx() {
		return add(c)
	}
	return c.owner.InTx(ctx, func(tx store.Tx) error { return add(tx.(conn)) })
}

// FinishFeedRun writes a running run's outcome.
func (c conn) FinishFeedRun(ctx context.Context, r store.FeedRun) error {
	counts, err := json.Marshal(r.FeedCounts)
	if err != nil {
		return fmt.Errorf("sqlstore: finish feed run: %w", err)
	}
	res, err := c.exec(ctx, `UPDATE feed_runs SET state = ?, updated_at = ?, finished_at = ?, events = ?, routed_owners = ?, `+
		`routed_partners = ?, unrouted = ?, malformed = ?, counts = ?, failure = ? WHERE id = ? AND state = ?`,
		r.State, micros(r.UpdatedAt), nullMicros(r.FinishedAt), r.Events, r.RoutedOwners, r.RoutedPartners, r.Unrouted, r.Malformed,
		string(counts), r.Failure, r.ID, store.RunRunning)
	if err != nil {
		return fmt.Errorf("sqlstore: finish feed run: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := c.GetFeedRun(ctx, r.ID); err != nil {
			return err
		}
		return fmt.Errorf("feed run %s is not running: %w", r.ID, store.ErrConflict)
	}
	return nil
}

const feedRunCols = `id, format, report, feed, file_name, tlp, created_by, state, started_at, updated_at, finished_at, ` +
	`events, routed_owners, routed_partners, unrouted, malformed, counts, failure, origin, source_run`

func scanFeedRun(sc interface{ Scan(...any) error }) (store.FeedRun, error) {
	var r store.FeedRun
	var started, updated int64
	var finished sql.NullInt64
	var counts string
	err := sc.Scan(&r.ID, &r.Format, &r.Report, &r.Feed, &r.FileName, &r.TLP, &r.CreatedBy, &r.State, &started, &updated, &finished,
		&r.Events, &r.RoutedOwners, &r.RoutedPartners, &r.Unrouted, &r.Malformed, &counts, &r.Failure, &r.Origin, &r.SourceRun)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(counts), &r.FeedCounts); err != nil {
		return r, fmt.Errorf("feed run %s: counts: %w", r.ID, err)
	}
	if r.Owners == nil {
		r.Owners = map[string]int64{}
	}
	if r.Partners == nil {
		r.Partners = map[string]int64{}
	}
	if r.Errors == nil {
		r.Errors = []store.FeedRowError{}
	}
	r.StartedAt, r.UpdatedAt, r.FinishedAt = fromMicros(started), fromMicros(updated), ptrMicros(finished)
	return r, nil
}

// GetFeedRun returns one run.
func (c conn) GetFeedRun(ctx context.Context, id string) (store.FeedRun, error) {
	r, err := scanFeedRun(c.row(ctx, `SELECT `+feedRunCols+` FROM feed_runs WHERE id = ?`, id))
	if err != nil {
		return r, notFound(err, "feed run "+id)
	}
	return r, nil
}

// ListFeedRuns lists runs, newest first.
func (c conn) ListFeedRuns(ctx context.Context, limit int) ([]store.FeedRun, error) {
	if limit <= 0 {
		limit = 100
	}
	return c.feedRuns(ctx, `SELECT `+feedRunCols+` FROM feed_runs ORDER BY started_at DESC, id DESC LIMIT ?`, limit)
}

// ListFeedRunsFrom lists the runs received from one partner, newest first.
func (c conn) ListFeedRunsFrom(ctx context.Context, origin string, limit int) ([]store.FeedRun, error) {
	if limit <= 0 {
		limit = 100
	}
	return c.feedRuns(ctx, `SELECT `+feedRunCols+` FROM feed_runs WHERE origin = ? ORDER BY started_at DESC, id DESC LIMIT ?`, origin, limit)
}

func (c conn) feedRuns(ctx context.Context, q string, args ...any) ([]store.FeedRun, error) {
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list feed runs: %w", err)
	}
	defer rows.Close()
	out := []store.FeedRun{}
	for rows.Next() {
		r, err := scanFeedRun(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list feed runs: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list feed runs: %w", err)
	}
	return out, nil
}

// FeedChunks lists a run's chunks for one recipient, in order.
func (c conn) FeedChunks(ctx context.Context, runID, kind, target string) ([]store.FeedChunk, error) {
	rows, err := c.query(ctx, `SELECT seq, events, data FROM feed_chunks WHERE run_id = ? AND kind = ? AND target = ? ORDER BY seq`, runID, kind, target)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: feed chunks: %w", err)
	}
	defer rows.Close()
	var out []store.FeedChunk
	for rows.Next() {
		ch := store.FeedChunk{RunID: runID, Kind: kind, Target: target}
		if err := rows.Scan(&ch.Seq, &ch.Events, &ch.Data); err != nil {
			return nil, fmt.Errorf("sqlstore: feed chunks: %w", err)
		}
		out = append(out, ch)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: feed chunks: %w", err)
	}
	return out, nil
}

// InterruptFeedRuns marks stale running runs interrupted.
func (c conn) InterruptFeedRuns(ctx context.Context, before, at time.Time) (int, error) {
	res, err := c.exec(ctx, `UPDATE feed_runs SET state = ?, updated_at = ?, failure = ? WHERE state = ? AND updated_at < ? AND origin = ''`,
		store.RunInterrupted, micros(at), "the process running it stopped", store.RunRunning, micros(before))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: interrupt feed runs: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

func (c conn) writeCounts(ctx context.Context, r store.FeedRun, state string) error {
	counts, err := json.Marshal(r.FeedCounts)
	if err != nil {
		return fmt.Errorf("sqlstore: feed run counts: %w", err)
	}
	res, err := c.exec(ctx, `UPDATE feed_runs SET tlp = ?, updated_at = ?, events = ?, routed_owners = ?, routed_partners = ?, unrouted = ?, `+
		`malformed = ?, counts = ? WHERE id = ? AND state = ?`,
		r.TLP, micros(r.UpdatedAt), r.Events, r.RoutedOwners, r.RoutedPartners, r.Unrouted, r.Malformed, string(counts), r.ID, state)
	if err != nil {
		return fmt.Errorf("sqlstore: feed run counts: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("feed run %s is not %s: %w", r.ID, state, store.ErrConflict)
	}
	return nil
}

// UpdateFeedRunCounts writes a running run's counts.
func (c conn) UpdateFeedRunCounts(ctx context.Context, r store.FeedRun) error {
	return c.writeCounts(ctx, r, store.RunRunning)
}

// SetFeedRunCounts writes a done run's counts.
func (c conn) SetFeedRunCounts(ctx context.Context, r store.FeedRun) error {
	return c.writeCounts(ctx, r, store.RunDone)
}

// DeleteFeedChunks deletes a run's chunks of one kind and target.
func (c conn) DeleteFeedChunks(ctx context.Context, runID, kind, target string) error {
	if _, err := c.exec(ctx, `DELETE FROM feed_chunks WHERE run_id = ? AND kind = ? AND target = ?`, runID, kind, target); err != nil {
		return fmt.Errorf("sqlstore: delete feed chunks: %w", err)
	}
	return nil
}

// MaxFeedChunkSeq is the highest chunk number of a run.
func (c conn) MaxFeedChunkSeq(ctx context.Context, runID string) (int64, error) {
	var n sql.NullInt64
	if err := c.row(ctx, `SELECT MAX(seq) FROM feed_chunks WHERE run_id = ?`, runID).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: feed chunks: %w", err)
	}
	return n.Int64, nil
}

// FeedChunkSpan is the span of a run's chunks of one recipient within from..to.
func (c conn) FeedChunkSpan(ctx context.Context, runID, kind, target string, from, to int64) (first, last, events int64, err error) {
	var f, l, n sql.NullInt64
	err = c.row(ctx, `SELECT MIN(seq), MAX(seq), SUM(events) FROM feed_chunks WHERE run_id = ? AND kind = ? AND target = ? AND seq >= ? AND seq <= ?`,
		runID, kind, target, from, to).Scan(&f, &l, &n)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("sqlstore: feed chunk span: %w", err)
	}
	if !f.Valid {
		return 1, 0, 0, nil
	}
	return f.Int64, l.Int64, n.Int64, nil
}

// PutFeedChunk stores a chunk whatever its run's state.
func (c conn) PutFeedChunk(ctx context.Context, ch store.FeedChunk) error {
	if _, err := c.exec(ctx, `INSERT INTO feed_chunks (run_id, seq, kind, target, events, data) VALUES (?, ?, ?, ?, ?, ?)`,
		ch.RunID, ch.Seq, ch.Kind, ch.Target, ch.Events, ch.Data); err != nil {
		return fmt.Errorf("sqlstore: add feed chunk: %w", err)
	}
	return nil
}
