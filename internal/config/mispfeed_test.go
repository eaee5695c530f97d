package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A MISP feed's configuration: a token hash, a name, and an audience no stricter than
// AMBER (MISP re-shares by distribution, not by TLP).
func TestMISPFeedsNameTheBadField(t *testing.T) {
	const head = `{"team":{"id":"kr","name":"K","timezone":"Asia/Seoul"},"listen":"127.0.0.1:1","misp_feeds":`
	hash := strings.Repeat("a", 64)
	for body, want := range map[string]string{
		`[{"name":"soc","token_hash":"abc"}]`:                                                 "misp_feeds[0].token_hash",
		`[{"name":"soc","token_hash":"` + hash + `","audience":"AMBER+STRICT"}]`:              "misp_feeds[0].audience",
		`[{"name":"soc","token_hash":"` + hash + `","audience":"RED"}]`:                       "misp_feeds[0].audience",
		`[{"token_hash":"` + hash + `"}]`:                                                     "misp_feeds[0].name",
		`[{"name":"a","token_hash":"` + hash + `"},{"name":"a","token_hash":"` + hash + `"}]`: "misp_feeds[1].name",
	} {
		path := filepath.Join(t.TempDir(), "c.json")
		os.WriteFile(path, []byte(head+body+"}"), 0o600)
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error naming %s", body, err, want)
		}
	}
	path := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(path, []byte(head+`[{"name":"soc","token_hash":"`+hash+`","team":"outside","audience":"tlp:amber"}]}`), 0o600)
	if c, err := Load(path); err != nil || len(c.MISPFeeds) != 1 {
		t.Errorf("a good feed: %v", err)
	}
}
