package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// TableCount is one table's rows, as read from the source and found in the target.
type TableCount struct {
	Table          string
	Source, Target int64
	Skipped        string // why the table was not copied, if it was not
}

// notCopied are tables a copy leaves behind, and why.
var notCopied = map[string]string{
	// Made by Migrate in the target already.
	"schema_migrations": "made by migrate",
	// Who runs the engine now: copying it would keep the new database's engine waiting
	// for the old holder's lease to run out.
	"leases": "runtime state",
}

// CopyTo copies every record of db into dst, a PostgreSQL database migrated to the same
// schema version and holding no records: table by table in foreign-key order, each table
// in one transaction, from one consistent read of db. It then counts each table on both
// sides and fails unless they agree. Stop the node first: what it writes after the read
// began is not copied.
func (db *DB) CopyTo(ctx context.Context, dst *DB) ([]TableCount, error) {
	if dst.d.name() != "postgres" {
		return nil, errors.New("sqlstore: copy: the target must be PostgreSQL")
	}
	sv, err := db.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	dv, err := dst.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	if sv != dv {
		return nil, fmt.Errorf("sqlstore: copy: the source is at schema version %d, the target at %d", sv, dv)
	}
	order, err := db.tableOrder(ctx)
	if err != nil {
		return nil, err
	}
	dstOrder, err := dst.tableOrder(ctx)
	if err != nil {
		return nil, err
	}
	if a, b := sorted(order), sorted(dstOrder); !slices.Equal(a, b) {
		return nil, fmt.Errorf("sqlstore: copy: the databases have different tables:\n source %v\n target %v", a, b)
	}
	for _, t := range order {
		if notCopied[t] != "" {
			continue
		}
		var n int64
		if err := dst.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quoteIdent(t)).Scan(&n); err != nil {
			return nil, fmt.Errorf("sqlstore: copy: count %s in the target: %w", t, err)
		}
		if n > 0 {
			return nil, fmt.Errorf("sqlstore: copy: the target is not empty (%s holds %d rows); copy only into a new database", t, n)
		}
	}

	// One read transaction for the whole copy: every table as of one moment, so a
	// foreign key never points at a row that came later.
	src, err := db.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: copy: %w", err)
	}
	defer src.Rollback()
	var counts []TableCount
	for _, t := range order {
		if why := notCopied[t]; why != "" {
			counts = append(counts, TableCount{Table: t, Skipped: why})
			continue
		}
		n, err := copyTable(ctx, src, dst, t)
		if err != nil {
			return counts, fmt.Errorf("sqlstore: copy %s: %w", t, err)
		}
		c := TableCount{Table: t, Source: n}
		if err := dst.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quoteIdent(t)).Scan(&c.Target); err != nil {
			return counts, fmt.Errorf("sqlstore: copy: count %s in the target: %w", t, err)
		}
		var s int64
		if err := src.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quoteIdent(t)).Scan(&s); err != nil {
			return counts, fmt.Errorf("sqlstore: copy: count %s in the source: %w", t, err)
		}
		counts = append(counts, c)
		if s != n || c.Target != n {
			return counts, fmt.Errorf("sqlstore: copy %s: %d rows in the source, %d read, %d in the target", t, s, n, c.Target)
		}
	}
	return counts, nil
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// quoteIdent quotes a table name read from the database's own catalogue.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// tableOrder lists the tables so that each comes after the tables it references.
func (db *DB) tableOrder(ctx context.Context) ([]string, error) {
	rows, err := db.db.QueryContext(ctx, db.d.tablesSQL())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list tables: %w", err)
	}
	defer rows.Close()
	refs := map[string][]string{}
	for rows.Next() {
		var t, ref string
		if err := rows.Scan(&t, &ref); err != nil {
			return nil, fmt.Errorf("sqlstore: list tables: %w", err)
		}
		if _, ok := refs[t]; !ok {
			refs[t] = nil
		}
		if ref != "" && ref != t {
			refs[t] = append(refs[t], ref)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list tables: %w", err)
	}
	names := make([]string, 0, len(refs))
	for t := range refs {
		names = append(names, t)
	}
	sort.Strings(names)
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(t string) error
	visit = func(t string) error {
		switch state[t] {
		case 1:
			return fmt.Errorf("sqlstore: tables reference each other in a cycle through %s", t)
		case 2:
			return nil
		}
		state[t] = 1
		for _, r := range refs[t] {
			if err := visit(r); err != nil {
				return err
			}
		}
		state[t] = 2
		order = append(order, t)
		return nil
	}
	for _, t := range names {
		if err := visit(t); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// copyTable streams one table from the source transaction into dst with PostgreSQL's
// COPY (pgx's CopyFrom: one round trip for the whole table, not one per row), in one
// transaction of its own.
func copyTable(ctx context.Context, src *sql.Tx, dst *DB, table string) (int64, error) {
	cols, err := columns(ctx, dst.db, table)
	if err != nil {
		return 0, err
	}
	srcCols, err := columns(ctx, src, table)
	if err != nil {
		return 0, err
	}
	if a, b := sorted(cols), sorted(srcCols); !slices.Equal(a, b) {
		return 0, fmt.Errorf("columns differ: source %v, target %v", b, a)
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	rows, err := src.QueryContext(ctx, `SELECT `+strings.Join(quoted, ", ")+` FROM `+quoteIdent(table))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	conn, err := dst.db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	var n int64
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		tx, err := pc.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		n, err = tx.CopyFrom(ctx, pgx.Identifier{table}, cols, &rowSource{rows: rows, n: len(cols)})
		if err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
	return n, err
}

// columns lists a table's column names.
func columns(ctx context.Context, q querier, table string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT * FROM `+quoteIdent(table)+` WHERE 1 = 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rows.Columns()
}

// rowSource feeds database/sql rows to CopyFrom.
type rowSource struct {
	rows *sql.Rows
	n    int
	vals []any
	err  error
}

func (r *rowSource) Next() bool {
	if !r.rows.Next() {
		return false
	}
	r.vals = make([]any, r.n)
	ptrs := make([]any, r.n)
	for i := range r.vals {
		ptrs[i] = &r.vals[i]
	}
	r.err = r.rows.Scan(ptrs...)
	return r.err == nil
}

func (r *rowSource) Values() ([]any, error) { return r.vals, r.err }

func (r *rowSource) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}
