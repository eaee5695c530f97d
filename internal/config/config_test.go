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
