// Package pgtest gives a test a PostgreSQL database of its own: a new schema in the
// database that CSIRTLINK_TEST_POSTGRES names, dropped when the test ends. Tests in
// separate schemas run in parallel without seeing each other.
//
// Without CSIRTLINK_TEST_POSTGRES a test that needs PostgreSQL is skipped, unless CI is
// set: in CI it fails, so that the PostgreSQL half of the suite is never skipped there in
// silence (.ci/run sets both).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN is the environment variable naming the test database, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvDSN = "CSIRTLINK_TEST_POSTGRES"

// Base returns the test database's DSN, skipping (or, in CI, failing) the test without one.
func Base(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI is set and %s is not: the PostgreSQL tests must run in CI (.ci/run sets it)", EnvDSN)
		}
		t.Skipf("%s not set: PostgreSQL tests skipped", EnvDSN)
	}
	return dsn
}

// DSN makes a new empty schema and returns a DSN whose connections use it (search_path).
func DSN(t testing.TB) string {
	t.Helper()
	base := Base(t)
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin(t, base, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	t.Cleanup(func() { admin(t, base, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE") })
	return WithSchema(base, schema)
}

// WithSchema returns dsn with its connections' search_path set to schema.
func WithSchema(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}

func admin(t testing.TB, dsn, stmt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("PostgreSQL at %s=%s is not reachable (start it, or unset %s outside CI): %v", EnvDSN, redacted(dsn), EnvDSN, err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// redacted shows a URL DSN without its password, and no key=value DSN at all.
func redacted(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "(a key=value DSN, not shown)"
}
