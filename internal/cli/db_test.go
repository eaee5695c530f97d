package cli

import (
	"bytes"
	"context"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"csirtlink/internal/config"
	"csirtlink/internal/pgtest"
)

// TestDBCopyMovesANodeToPostgres makes a node on SQLite, copies it into a new PostgreSQL
// database with `db copy`, switches its configuration over, and finds its people there.
// No output repeats the DSN's password.
func TestDBCopyMovesANodeToPostgres(t *testing.T) {
	ctx := context.Background()
	u, err := url.Parse(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	const secret = "pw-S3cret" // the test server trusts loopback; the password only has to stay unseen
	u.User = url.UserPassword(u.User.Username(), secret)
	dsn := u.String()

	dir := filepath.Join(t.TempDir(), "kr")
	var out, errOut bytes.Buffer
	run := func(args ...string) error {
		out.Reset()
		errOut.Reset()
		err := Run(ctx, args, &out, &errOut)
		if strings.Contains(out.String()+errOut.String(), secret) || err != nil && strings.Contains(err.Error(), secret) {
			t.Fatalf("%v printed the password:\n%s%s%v", args, out.String(), errOut.String(), err)
		}
		return err
	}
	if err := run("init", "--dir", dir, "--team", "kr", "--name", "KrCERT/CC", "--timezone", "Asia/Seoul", "--listen", "127.0.0.1:0", "--hotline-email", "hotline@kr.example"); err != nil {
		t.Fatalf("init: %v\n%s", err, errOut.String())
	}
	cfgPath := filepath.Join(dir, "csirtlink.json")
	if err := run("user", "create", "--config", cfgPath, "--name", "park", "--role", "handler"); err != nil {
		t.Fatal(err)
	}
	if err := run("db", "copy", "--config", cfgPath); err == nil || !strings.Contains(err.Error(), "--to") {
		t.Fatalf("db copy without --to: %v", err)
	}
	if err := run("db", "copy", "--config", cfgPath, "--to", dsn); err != nil {
		t.Fatalf("db copy: %v\n%s", err, out.String())
	}
	for _, want := range []string{"users  ", "tokens  ", "leases", "not copied", "equal"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("db copy output lacks %q:\n%s", want, out.String())
		}
	}
	// users: two (the first administrator and park), on both sides.
	if !regexp.MustCompile(`(?m)^users\s+2\s+2\s*$`).MatchString(out.String()) {
		t.Errorf("db copy did not count the two users on both sides:\n%s", out.String())
	}
	if err := run("db", "copy", "--config", cfgPath, "--to", dsn); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("a second copy into the same database: %v", err)
	}

	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = config.Database{Driver: config.Postgres, DSN: dsn}
	cfg.DataDir, cfg.KeyFile, cfg.PGPKeyFile = ".", "node.key", "pgp.key"
	if err := cfg.Save(cfgPath); err != nil {
		t.Fatal(err)
	}
	if err := run("migrate", "--config", cfgPath); err != nil || !strings.Contains(out.String(), "PostgreSQL 127.0.0.1:5432/") {
		t.Fatalf("migrate on PostgreSQL: %v %q", err, out.String())
	}
	node, err := openForAdmin(ctx, cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	if node.Store.Dialect() != "postgres" {
		t.Fatalf("the node opened %s", node.Store.Where())
	}
	if _, err := node.Store.UserByName(ctx, "park"); err != nil {
		t.Fatalf("park did not move to PostgreSQL: %v", err)
	}
}
