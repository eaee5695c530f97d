// Package pgtest gives a test a PostgreSQL database of its own: a new schema in the
// database that CSIRTLINK_TEST_POSTGRES names, dropped when the test ends. Tests in
// separate schemas run in parallel without seeing each other.
//
// Without CSIRTLINK_TEST_POSTGRES the local server at 127.0.0.1:5432 is used if it answers;
// without either a test that needs PostgreSQL is skipped, unless CI is set: in CI it fails, so that the PostgreSQL half of the suite is never skipped there in
// silence (.ci/run sets both).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN is the environment variable naming the test database, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvDSN = "CSIRTLINK_TEST_POSTGRES"

// LocalDSN is the PostgreSQL that this project's machines run (trust auth, database
// test). Without CSIRTLINK_TEST_POSTGRES the tests use it when it answers, so a plain
// `go test ./...` on such a machine runs the PostgreSQL half of the suite too.
const LocalDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable&connect_timeout=2"

var (
	localOnce sync.Once
	localOK   bool
)

// Base returns the test database's DSN, skipping (or, in CI, failing) the test without one.
func Base(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		localOnce.Do(func() { localOK = exec(context.Background(), LocalDSN, "SELECT 1") == nil })
		if localOK {
			return LocalDSN
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI is set, %s is not, and no PostgreSQL answers at 127.0.0.1:5432: the PostgreSQL tests must run in CI (.ci/run sets it)", EnvDSN)
		}
		t.Skipf("%s not set and no PostgreSQL at 127.0.0.1:5432: PostgreSQL tests skipped", EnvDSN)
	}
	return dsn
}

// DSN makes a new empty schema and returns a DSN whose connections use it (search_path).
func DSN(t testing.TB) string {
	t.Helper()
	base := Base(t)
	dsn, drop, err := NewSchema(context.Background(), base, "t_")
	if err != nil {
		t.Fatalf("PostgreSQL at %s=%s (start it, or unset %s outside CI): %v", EnvDSN, redacted(base), EnvDSN, err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("drop the test's schema: %v", err)
		}
	})
	return dsn
}

// NewSchema makes a new empty schema, named prefix and random letters, in the database
// dsn names, and returns a DSN whose connections use it and a function that drops it.
// The benchmarks use it too, to run a node on PostgreSQL without touching what else the
// database holds.
func NewSchema(ctx context.Context, dsn, prefix string) (string, func() error, error) {
	var b [6]byte
	rand.Read(b[:])
	schema := prefix + hex.EncodeToString(b[:])
	if err := exec(ctx, dsn, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return "", nil, err
	}
	drop := func() error {
		return exec(context.Background(), dsn, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	}
	return WithSchema(dsn, schema), drop, nil
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

func exec(ctx context.Context, dsn, stmt string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("%s: %w", stmt, err)
	}
	return nil
}

// redacted shows a URL DSN without its password, and no key=value DSN at all.
func redacted(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "(a key=value DSN, not shown)"
}
