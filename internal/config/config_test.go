package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/team"
)

func TestSaveLoadResolvesPaths(t *testing.T) {
	dir := t.TempDir()
	c := Config{Team: team.Team{ID: "kr", Name: "KrCERT/CC", Timezone: "Asia/Seoul"}, Listen: "127.0.0.1:7403",
		Federation: Federation{RetryMax: Duration(5 * time.Second)}}
	path := filepath.Join(dir, "csirtlink.json")
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.DataDir != dir || got.KeyFile != filepath.Join(dir, "node.key") || got.DatabasePath() != filepath.Join(dir, "csirtlink.db") {
		t.Fatalf("paths: %+v", got)
	}
	if time.Duration(got.Federation.RetryMax) != 5*time.Second {
		t.Fatalf("retry_max %v", got.Federation.RetryMax)
	}
}

func TestLoadNamesTheBadField(t *testing.T) {
	cases := map[string]string{
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1","colour":"red"}`:                    "colour",
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"nowhere"}`:                                       "listen",
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1","federation":{"retry_max":"soon"}}`: "soon",
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1","log_level":"loud"}`:                "log_level",
		`{"team":{"id":"K R","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1"}`:                                  "id",
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul","url":"ftp://x"},"listen":"127.0.0.1:1"}`:                   "url",
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1","database":{"driver":"mysql"}}`:     "database.driver",
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1","database":{"driver":"postgres"}}`:  "database.dsn",
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1","database":{"host":"db"}}`:          "host",
	}
	for body, want := range cases {
		path := filepath.Join(t.TempDir(), "c.json")
		os.WriteFile(path, []byte(body), 0o600)
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error naming %s", body, err, want)
		}
	}
}

// TestDatabaseConfig reads the database section: SQLite by default, PostgreSQL with a
// DSN, and no error repeating a DSN (it may hold a password).
func TestDatabaseConfig(t *testing.T) {
	load := func(db string) (Config, error) {
		path := filepath.Join(t.TempDir(), "c.json")
		body := `{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1"` + db + `}`
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return Load(path)
	}
	c, err := load("")
	if err != nil || c.Database.DriverName() != SQLite {
		t.Fatalf("no database section: driver %q, %v; want sqlite", c.Database.DriverName(), err)
	}
	const dsn = "postgres://csirtlink:s3cret@db.example:5432/csirtlink?sslmode=verify-full"
	c, err = load(`,"database":{"driver":"postgres","dsn":"` + dsn + `"}`)
	if err != nil || c.Database.DriverName() != Postgres || c.Database.DSN != dsn {
		t.Fatalf("postgres: %+v, %v", c.Database, err)
	}
	_, err = load(`,"database":{"driver":"sqlite","dsn":"` + dsn + `"}`)
	if err == nil || !strings.Contains(err.Error(), "database.dsn") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("a DSN with the sqlite driver: %v; want an error naming database.dsn, without the DSN", err)
	}
	_, err = load(`,"database":{"driver":"postgresql","dsn":"` + dsn + `"}`)
	if err == nil || !strings.Contains(err.Error(), "database.driver") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("an unknown driver: %v; want an error naming database.driver, without the DSN", err)
	}
	// A configuration saved without a database section stays without one.
	path := filepath.Join(t.TempDir(), "c.json")
	if err := (Config{Team: team.Team{ID: "kr"}}).Save(path); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); strings.Contains(string(b), "database") {
		t.Fatalf("saved an empty database section:\n%s", b)
	}
}
