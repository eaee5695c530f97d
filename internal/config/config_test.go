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
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1","colour":"red"}`:                                         "colour",
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"nowhere"}`:                                                            "listen",
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1","federation":{"retry_max":"soon"}}`:                      "soon",
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1","log_level":"loud"}`:                                     "log_level",
		`{"team":{"id":"K R","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1"}`:                                                       "id",
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul","url":"ftp://x"},"listen":"127.0.0.1:1"}`:                                        "url",
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1","federation":{"retention":"1h"}}`:                        "federation.retention",
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1","peers":[{"id":"jp","url":"http://csirt.jp.example"}]}`:  "peers[0].url",
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1","peers":[{"id":"jp","url":"http://127.0.0.1.example"}]}`: "allow_insecure",
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1","database":{"driver":"mysql"}}`:                          "database.driver",
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1","queue":{"nats_url":"http://nats:4222"}}`:                "queue.nats_url",
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1","queue":{"nats_url":"nats://n:4222","max_deliver":-1}}`:  "max_deliver",
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1","database":{"driver":"postgres"}}`:                       "database.dsn",
		`{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1","database":{"host":"db"}}`:                               "host",
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

// Federation traffic in clear is refused unless it stays on this host or the peer's
// entry allows it explicitly.
func TestPeerURLMustBeHTTPSOffLoopback(t *testing.T) {
	peer := func(url string, insecure bool) Config {
		return Config{Team: team.Team{ID: "kr", Name: "K", Timezone: "Asia/Seoul"}, Listen: "127.0.0.1:1",
			Peers: []team.Peer{{Team: team.Team{ID: "jp", URL: url}, AllowInsecure: insecure}}}
	}
	for _, ok := range []Config{
		peer("https://csirt.jp.example", false),
		peer("http://127.0.0.1:7402", false),
		peer("http://127.8.9.10:7402", false),
		peer("http://[::1]:7402", false),
		peer("http://localhost:7402", false),
		peer("http://csirt.jp.example", true),
		peer("", false),
	} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%s: %v", ok.Peers[0].URL, err)
		}
	}
	for _, bad := range []Config{
		peer("http://csirt.jp.example", false),
		peer("http://192.0.2.7:7402", false),
		peer("http://[::ffff:192.0.2.7]:7402", false),
		peer("http://localhost.evil.example", false),
	} {
		err := bad.Validate()
		if err == nil || !strings.Contains(err.Error(), "peers[0].url") {
			t.Errorf("%s: got %v, want an error naming peers[0].url", bad.Peers[0].URL, err)
		}
	}
}

func TestRetention(t *testing.T) {
	c := Config{Team: team.Team{ID: "kr", Name: "K", Timezone: "Asia/Seoul"}, Listen: "127.0.0.1:1",
		Federation: Federation{Retention: Duration(2160 * time.Hour)}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Federation.Retention = Duration(time.Hour)
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "federation.retention") {
		t.Fatalf("1h retention: %v", err)
	}
}
