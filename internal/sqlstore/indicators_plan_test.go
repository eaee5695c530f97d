package sqlstore

import (
	"path/filepath"
	"strings"
	"testing"

	"csirtlink/internal/pgtest"
	"csirtlink/internal/store"
)

// The search's lookup of many values reads the covering index alone, on both databases:
// the query plan names indicators_value_cover and no read of the table's rows.
func TestMatchIndicatorsUsesCoveringIndexSQLite(t *testing.T) {
	db := openSQLite(t, filepath.Join(t.TempDir(), "node.db"))
	t.Cleanup(func() { db.Close() })
	rows, err := db.db.QueryContext(t.Context(), `EXPLAIN QUERY PLAN `+matchIndicatorsQuery(3, 10), "a", "b", "c", store.IndicatorActive, "a")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	all := strings.Join(plan, "\n")
	if !strings.Contains(all, "USING COVERING INDEX indicators_value_cover") {
		t.Fatalf("plan does not read the covering index alone:\n%s", all)
	}
}

func TestMatchIndicatorsUsesCoveringIndexPostgres(t *testing.T) {
	db := openPostgres(t, pgtest.DSN(t))
	ctx := t.Context()
	// A table of a few rows is read whole whatever its indexes; with sequential and
	// bitmap scans priced out the planner shows which index it would use, and whether
	// it needs the table's rows at all.
	err := db.InTx(ctx, func(tx store.Tx) error {
		c := tx.(conn)
		for _, q := range []string{`SET LOCAL enable_seqscan = off`, `SET LOCAL enable_bitmapscan = off`} {
			if _, err := c.q.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		rows, err := c.q.QueryContext(ctx, `EXPLAIN `+c.stmts.rebind(matchIndicatorsQuery(3, 10)), "a", "b", "c", store.IndicatorActive, "a")
		if err != nil {
			return err
		}
		defer rows.Close()
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return err
			}
			plan = append(plan, line)
		}
		if all := strings.Join(plan, "\n"); !strings.Contains(all, "Index Only Scan using indicators_value_cover") {
			t.Errorf("plan does not read the covering index alone:\n%s", all)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}
