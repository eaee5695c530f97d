package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"csirtlink/internal/store"
)

var _ store.TAXII = (*DB)(nil)

// inOwnTx runs fn in c's transaction, or in one of its own outside one.
func (c conn) inOwnTx(ctx context.Context, fn func(conn) error) error {
	if c.inTx() {
		return fn(c)
	}
	return c.owner.InTx(ctx, func(tx store.Tx) error { return fn(tx.(conn)) })
}

// EnsureTAXIICollection creates the collection if it is not there.
func (c conn) EnsureTAXIICollection(ctx context.Context, col store.TAXIICollection) error {
	_, err := c.exec(ctx, `INSERT INTO taxii_collections (id, title, description, last_seq, last_added) VALUES (?, ?, ?, 0, 0)
		ON CONFLICT (id) DO UPDATE SET title = excluded.title, description = excluded.description`, col.ID, col.Title, col.Description)
	if err != nil {
		return fmt.Errorf("sqlstore: taxii collection %s: %w", col.ID, err)
	}
	return nil
}

// TAXIICollections lists the collections by id.
func (c conn) TAXIICollections(ctx context.Context) ([]store.TAXIICollection, error) {
	rows, err := c.query(ctx, `SELECT id, title, description, last_seq, last_added FROM taxii_collections ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: taxii collections: %w", err)
	}
	defer rows.Close()
	var out []store.TAXIICollection
	for rows.Next() {
		var col store.TAXIICollection
		var added int64
		if err := rows.Scan(&col.ID, &col.Title, &col.Description, &col.LastSeq, &added); err != nil {
			return nil, fmt.Errorf("sqlstore: taxii collections: %w", err)
		}
		col.LastAdded = fromMicros(added)
		out = append(out, col)
	}
	return out, rows.Err()
}

// AddTAXIIObjects adds objects holding the collection's counter row until the
// transaction commits: a second writer waits for the first to commit, so the numbers
// become visible in order and a reader paging by number skips none. The versions held of
// the objects' ids are read in one statement per taxiiIDs ids and the rows written in
// multi-row statements (a received chunk adds thousands at once).
func (c conn) AddTAXIIObjects(ctx context.Context, collection string, objs []store.TAXIIObject, now time.Time) ([]store.TAXIIObject, error) {
	var added []store.TAXIIObject
	err := c.inOwnTx(ctx, func(c conn) error {
		added = added[:0]
		var seq, last int64
		if err := c.row(ctx, c.forUpdate(`SELECT last_seq, last_added FROM taxii_collections WHERE id = ?`), collection).Scan(&seq, &last); err != nil {
			return notFound(err, "taxii collection "+collection)
		}
		type version struct {
			id, spec string
			at       int64
		}
		held := map[version]bool{}
		newest := map[string]int64{} // id → its newest version held, here or earlier in objs
		var ids []string
		for _, o := range objs {
			if _, ok := newest[o.ID]; !ok {
				newest[o.ID] = math.MinInt64
				ids = append(ids, o.ID)
			}
		}
		for start := 0; start < len(ids); start += taxiiIDs {
			part := ids[start:min(len(ids), start+taxiiIDs)]
			rows, err := c.query(ctx, `SELECT stix_id, version, spec_version FROM taxii_objects WHERE collection = ? AND stix_id IN (`+
				placeholders(len(part))+`)`, append([]any{collection}, anys(part)...)...)
			if err != nil {
				return fmt.Errorf("sqlstore: taxii objects: %w", err)
			}
			for rows.Next() {
				var v version
				if err := rows.Scan(&v.id, &v.at, &v.spec); err != nil {
					rows.Close()
					return fmt.Errorf("sqlstore: taxii objects: %w", err)
				}
				held[v] = true
				newest[v.id] = max(newest[v.id], v.at)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("sqlstore: taxii objects: %w", err)
			}
		}
		var rows []store.TAXIIObject
		lastRow := map[string]int{} // id → its row in rows that is latest so far
		var demote []string         // ids whose latest row held before now is not
		for _, o := range objs {
			v := version{o.ID, o.SpecVersion, micros(o.Version)}
			if held[v] {
				continue
			}
			held[v] = true
			o.Latest = newest[o.ID] <= v.at
			if o.Latest {
				if i, ok := lastRow[o.ID]; ok {
					rows[i].Latest = false
				} else {
					demote = append(demote, o.ID)
				}
				lastRow[o.ID] = len(rows)
				newest[o.ID] = v.at
			}
			seq++
			last = max(micros(now), last+1)
			o.Collection, o.Seq, o.DateAdded = collection, seq, fromMicros(last)
			rows = append(rows, o)
			added = append(added, o)
		}
		for start := 0; start < len(demote); start += taxiiIDs {
			part := demote[start:min(len(demote), start+taxiiIDs)]
			if _, err := c.exec(ctx, `UPDATE taxii_objects SET latest = 0 WHERE collection = ? AND latest = 1 AND stix_id IN (`+
				placeholders(len(part))+`)`, append([]any{collection}, anys(part)...)...); err != nil {
				return fmt.Errorf("sqlstore: taxii objects: %w", err)
			}
		}
		for start := 0; start < len(rows); start += taxiiRows {
			part := rows[start:min(len(rows), start+taxiiRows)]
			args := make([]any, 0, 11*len(part))
			for _, o := range part {
				args = append(args, collection, o.Seq, o.ID, micros(o.Version), o.SpecVersion, o.Type, o.TLP, micros(o.DateAdded),
					boolInt(o.Latest), o.Source, string(o.Raw))
			}
			if _, err := c.exec(ctx, `INSERT INTO taxii_objects (collection, seq, stix_id, version, spec_version, type, tlp, date_added, latest, source, raw) VALUES `+
				strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), ", len(part)), ", "), args...); err != nil {
				return fmt.Errorf("sqlstore: add taxii objects: %w", err)
			}
		}
		if _, err := c.exec(ctx, `UPDATE taxii_collections SET last_seq = ?, last_added = ? WHERE id = ?`, seq, last, collection); err != nil {
			return fmt.Errorf("sqlstore: taxii collection %s: %w", collection, err)
		}
		return nil
	})
	return added, err
}

// taxiiIDs and taxiiRows bound the ids and rows of one statement of AddTAXIIObjects,
// under both databases' limits on bound values.
const (
	taxiiIDs  = 500
	taxiiRows = 80
)

// taxiiWhere is the WHERE clause of q over taxii_objects o (without the cursor).
func taxiiWhere(q store.TAXIIQuery) (string, []any) {
	var b strings.Builder
	args := []any{q.Collection}
	b.WriteString(`o.collection = ?`)
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		b.WriteString(` AND ` + col + ` IN (` + placeholders(len(vals)) + `)`)
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("o.stix_id", q.IDs)
	in("o.type", q.Types)
	in("o.spec_version", q.SpecVersions)
	if q.Labels != nil {
		if len(q.Labels) == 0 {
			b.WriteString(` AND 1 = 0`)
		}
		in("o.tlp", q.Labels)
	}
	v := q.Version
	if !v.All {
		var alts []string
		if v.Last || (!v.First && len(v.At) == 0) {
			alts = append(alts, `o.latest = 1`)
		}
		if v.First {
			alts = append(alts, `o.version = (SELECT MIN(f.version) FROM taxii_objects f WHERE f.collection = o.collection AND f.stix_id = o.stix_id)`)
		}
		if len(v.At) > 0 {
			alts = append(alts, `o.version IN (`+placeholders(len(v.At))+`)`)
			for _, t := range v.At {
				args = append(args, micros(t))
			}
		}
		b.WriteString(` AND (` + strings.Join(alts, ` OR `) + `)`)
	}
	return b.String(), args
}

// TAXIIObjects selects objects in Seq order, up to Limit+1 of them.
func (c conn) TAXIIObjects(ctx context.Context, q store.TAXIIQuery) ([]store.TAXIIObject, error) {
	after := q.AfterSeq
	if q.AddedAfter != nil {
		// date_added grows with seq, so added_after is a cursor too: the index on
		// date_added finds it without scanning the collection.
		var s sql.NullInt64
		if err := c.row(ctx, `SELECT MIN(seq) FROM taxii_objects WHERE collection = ? AND date_added > ?`,
			q.Collection, micros(*q.AddedAfter)).Scan(&s); err != nil {
			return nil, fmt.Errorf("sqlstore: taxii objects: %w", err)
		}
		if !s.Valid {
			return nil, nil
		}
		after = max(after, s.Int64-1)
	}
	where, args := taxiiWhere(q)
	raw := `o.raw`
	if q.MetaOnly {
		raw = `''`
	}
	args = append(args, after, q.Limit+1)
	rows, err := c.query(ctx, `SELECT o.seq, o.stix_id, o.version, o.spec_version, o.type, o.tlp, o.date_added, o.latest, o.source, `+raw+`
		FROM taxii_objects o WHERE `+where+` AND o.seq > ? ORDER BY o.seq LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: taxii objects: %w", err)
	}
	defer rows.Close()
	out := make([]store.TAXIIObject, 0, min(q.Limit+1, 1024))
	for rows.Next() {
		o := store.TAXIIObject{Collection: q.Collection}
		var version, added int64
		var latest int
		var body string
		if err := rows.Scan(&o.Seq, &o.ID, &version, &o.SpecVersion, &o.Type, &o.TLP, &added, &latest, &o.Source, &body); err != nil {
			return nil, fmt.Errorf("sqlstore: taxii objects: %w", err)
		}
		o.Version, o.DateAdded, o.Latest, o.Raw = fromMicros(version), fromMicros(added), latest == 1, []byte(body)
		out = append(out, o)
	}
	return out, rows.Err()
}

// DeleteTAXIIObjects deletes the selected versions of an object; the newest one left
// becomes its latest.
func (c conn) DeleteTAXIIObjects(ctx context.Context, q store.TAXIIQuery) (int, error) {
	var n int64
	err := c.inOwnTx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, c.forUpdate(`SELECT last_seq FROM taxii_collections WHERE id = ?`), q.Collection); err != nil {
			return fmt.Errorf("sqlstore: taxii collection %s: %w", q.Collection, err)
		}
		where, args := taxiiWhere(q)
		// A DELETE cannot alias its table in SQLite, and the filters name o: select the keys.
		res, err := c.exec(ctx, `DELETE FROM taxii_objects WHERE (collection, seq) IN (SELECT o.collection, o.seq FROM taxii_objects o WHERE `+where+`)`, args...)
		if err != nil {
			return fmt.Errorf("sqlstore: delete taxii objects: %w", err)
		}
		n, _ = res.RowsAffected()
		for _, id := range q.IDs {
			if _, err := c.exec(ctx, `UPDATE taxii_objects SET latest = 1 WHERE collection = ? AND stix_id = ? AND version =
				(SELECT MAX(version) FROM taxii_objects WHERE collection = ? AND stix_id = ?)`, q.Collection, id, q.Collection, id); err != nil {
				return fmt.Errorf("sqlstore: delete taxii objects: %w", err)
			}
		}
		return nil
	})
	return int(n), err
}

const taxiiConsumerCols = `name, password, token_hash, ceiling, team, can_write, created_at, disabled_at, last_seen_at`

// PutTAXIIConsumer inserts or replaces a consumer.
func (c conn) PutTAXIIConsumer(ctx context.Context, tc store.TAXIIConsumer) error {
	_, err := c.exec(ctx, `INSERT INTO taxii_consumers (`+taxiiConsumerCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET password = excluded.password, token_hash = excluded.token_hash, ceiling = excluded.ceiling,
		team = excluded.team, can_write = excluded.can_write, disabled_at = excluded.disabled_at, last_seen_at = excluded.last_seen_at`,
		tc.Name, tc.PasswordHash, tc.TokenHash, tc.Ceiling, tc.Team, boolInt(tc.CanWrite), micros(tc.CreatedAt), nullMicros(tc.DisabledAt), nullMicros(tc.LastSeenAt))
	if err != nil {
		return fmt.Errorf("sqlstore: taxii consumer %s: %w", tc.Name, err)
	}
	return nil
}

func scanTAXIIConsumer(sc interface{ Scan(...any) error }) (store.TAXIIConsumer, error) {
	var tc store.TAXIIConsumer
	var write int
	var created int64
	var disabled, seen sql.NullInt64
	if err := sc.Scan(&tc.Name, &tc.PasswordHash, &tc.TokenHash, &tc.Ceiling, &tc.Team, &write, &created, &disabled, &seen); err != nil {
		return tc, err
	}
	tc.CanWrite, tc.CreatedAt, tc.DisabledAt, tc.LastSeenAt = write == 1, fromMicros(created), ptrMicros(disabled), ptrMicros(seen)
	return tc, nil
}

// TAXIIConsumer returns a consumer by name.
func (c conn) TAXIIConsumer(ctx context.Context, name string) (store.TAXIIConsumer, error) {
	tc, err := scanTAXIIConsumer(c.row(ctx, `SELECT `+taxiiConsumerCols+` FROM taxii_consumers WHERE name = ?`, name))
	if err != nil {
		return tc, notFound(err, "taxii consumer "+name)
	}
	return tc, nil
}

// TAXIIConsumerByToken returns the consumer whose bearer token hashes to hash.
func (c conn) TAXIIConsumerByToken(ctx context.Context, hash string) (store.TAXIIConsumer, error) {
	if hash == "" {
		return store.TAXIIConsumer{}, fmt.Errorf("taxii consumer token: %w", store.ErrNotFound)
	}
	tc, err := scanTAXIIConsumer(c.row(ctx, `SELECT `+taxiiConsumerCols+` FROM taxii_consumers WHERE token_hash = ?`, hash))
	if err != nil {
		return tc, notFound(err, "taxii consumer token")
	}
	return tc, nil
}

// TAXIIConsumers lists the consumers by name.
func (c conn) TAXIIConsumers(ctx context.Context) ([]store.TAXIIConsumer, error) {
	rows, err := c.query(ctx, `SELECT `+taxiiConsumerCols+` FROM taxii_consumers ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: taxii consumers: %w", err)
	}
	defer rows.Close()
	var out []store.TAXIIConsumer
	for rows.Next() {
		tc, err := scanTAXIIConsumer(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: taxii consumers: %w", err)
		}
		out = append(out, tc)
	}
	return out, rows.Err()
}

// DeleteTAXIIConsumer deletes a consumer.
func (c conn) DeleteTAXIIConsumer(ctx context.Context, name string) error {
	res, err := c.exec(ctx, `DELETE FROM taxii_consumers WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("sqlstore: delete taxii consumer %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("taxii consumer %s: %w", name, store.ErrNotFound)
	}
	return nil
}

// TouchTAXIIConsumer records when the consumer was last seen, and nothing else: a
// concurrent change by an admin (disabling it) stands.
func (c conn) TouchTAXIIConsumer(ctx context.Context, name string, at time.Time) error {
	if _, err := c.exec(ctx, `UPDATE taxii_consumers SET last_seen_at = ? WHERE name = ?`, micros(at), name); err != nil {
		return fmt.Errorf("sqlstore: touch taxii consumer %s: %w", name, err)
	}
	return nil
}

// PutTAXIIStatus stores a status resource.
func (c conn) PutTAXIIStatus(ctx context.Context, id, consumer string, at time.Time, doc []byte) error {
	if _, err := c.exec(ctx, `INSERT INTO taxii_status (id, consumer, created_at, doc) VALUES (?, ?, ?, ?)`, id, consumer, micros(at), string(doc)); err != nil {
		return fmt.Errorf("sqlstore: taxii status %s: %w", id, err)
	}
	return nil
}

// TAXIIStatus returns a status resource and the consumer it belongs to.
func (c conn) TAXIIStatus(ctx context.Context, id string) (string, []byte, error) {
	var consumer, doc string
	if err := c.row(ctx, `SELECT consumer, doc FROM taxii_status WHERE id = ?`, id).Scan(&consumer, &doc); err != nil {
		return "", nil, notFound(err, "taxii status "+id)
	}
	return consumer, []byte(doc), nil
}

const taxiiSourceCols = `id, url, collection, username, secret, tlp, interval_s, next_added, last_pull_at, last_ok_at, last_count, total, last_error, created_at`

// PutTAXIISource inserts or replaces a source.
func (c conn) PutTAXIISource(ctx context.Context, s store.TAXIISource) error {
	_, err := c.exec(ctx, `INSERT INTO taxii_sources (`+taxiiSourceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET url = excluded.url, collection = excluded.collection, username = excluded.username,
		secret = excluded.secret, tlp = excluded.tlp, interval_s = excluded.interval_s, next_added = excluded.next_added,
		last_pull_at = excluded.last_pull_at, last_ok_at = excluded.last_ok_at, last_count = excluded.last_count,
		total = excluded.total, last_error = excluded.last_error`,
		s.ID, s.URL, s.Collection, s.Username, s.Secret, s.TLP, int64(s.Interval/time.Second), s.NextAdded, nullMicros(s.LastPullAt),
		nullMicros(s.LastOKAt), s.LastCount, s.Total, s.LastError, micros(s.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: taxii source %s: %w", s.ID, err)
	}
	return nil
}

func scanTAXIISource(sc interface{ Scan(...any) error }) (store.TAXIISource, error) {
	var s store.TAXIISource
	var interval, created int64
	var pulled, ok sql.NullInt64
	if err := sc.Scan(&s.ID, &s.URL, &s.Collection, &s.Username, &s.Secret, &s.TLP, &interval, &s.NextAdded, &pulled, &ok,
		&s.LastCount, &s.Total, &s.LastError, &created); err != nil {
		return s, err
	}
	s.Interval, s.LastPullAt, s.LastOKAt, s.CreatedAt = time.Duration(interval)*time.Second, ptrMicros(pulled), ptrMicros(ok), fromMicros(created)
	return s, nil
}

// TAXIISource returns a source by id.
func (c conn) TAXIISource(ctx context.Context, id string) (store.TAXIISource, error) {
	s, err := scanTAXIISource(c.row(ctx, `SELECT `+taxiiSourceCols+` FROM taxii_sources WHERE id = ?`, id))
	if err != nil {
		return s, notFound(err, "taxii source "+id)
	}
	return s, nil
}

// TAXIISources lists the sources by id.
func (c conn) TAXIISources(ctx context.Context) ([]store.TAXIISource, error) {
	rows, err := c.query(ctx, `SELECT `+taxiiSourceCols+` FROM taxii_sources ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: taxii sources: %w", err)
	}
	defer rows.Close()
	var out []store.TAXIISource
	for rows.Next() {
		s, err := scanTAXIISource(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: taxii sources: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// DeleteTAXIISource deletes a source.
func (c conn) DeleteTAXIISource(ctx context.Context, id string) error {
	res, err := c.exec(ctx, `DELETE FROM taxii_sources WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlstore: delete taxii source %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("taxii source %s: %w", id, store.ErrNotFound)
	}
	return nil
}
