package cli

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/identity"
	"csirtlink/internal/sqlstore"
	"csirtlink/internal/stix"
	"csirtlink/internal/store"
	"csirtlink/internal/taxii"
	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
)

// remoteTAXII is another TAXII 2.1 server (ours, on its own database) holding one GREEN
// indicator and one object we do not map; it returns its URL and a consumer's password.
func remoteTAXII(t *testing.T) (string, taxii.Credentials) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "remote.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	k, _ := identity.Generate()
	dir, err := team.NewDirectory(team.Team{ID: "us", Name: "US", Timezone: "UTC", PublicKey: k.Public()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.Real{}
	srv, err := taxii.NewServer(ctx, db, dir, clk, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cred, err := taxii.NewConsumers(db, dir, clk).Create(ctx, taxii.ConsumerInput{Name: "jp", Ceiling: "GREEN"})
	if err != nil {
		t.Fatal(err)
	}
	m := time.Now().UTC().Truncate(time.Millisecond)
	ind := `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"` + m.Format(stix.TimestampLayout) +
		`","modified":"` + m.Format(stix.TimestampLayout) + `","pattern":"[ipv4-addr:value = '203.0.113.77']","pattern_type":"stix","valid_from":"` +
		m.Format(stix.TimestampLayout) + `","object_marking_refs":["` + stix.MarkingID(tlp.Green) + `"]}`
	other := `{"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc","created":"2016-04-06T20:07:09.000Z","modified":"2016-04-06T20:07:09.000Z","name":"Poison Ivy","is_family":true,"object_marking_refs":["` + stix.MarkingID(tlp.Green) + `"]}`
	if _, err := db.AddTAXIIObjects(ctx, taxii.IndicatorsCollection, []store.TAXIIObject{
		{ID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Version: m, SpecVersion: "2.1", Type: "indicator", TLP: "GREEN", Raw: []byte(ind)},
		{ID: "malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc", Version: time.Date(2016, 4, 6, 20, 7, 9, 0, time.UTC), SpecVersion: "2.1", Type: "malware", TLP: "GREEN", Raw: []byte(other)},
	}, time.Now()); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL + "/taxii2/api/", cred
}

func TestTAXIICommands(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "jp")
	var out, errOut bytes.Buffer
	run := func(args ...string) (string, error) {
		t.Helper()
		out.Reset()
		errOut.Reset()
		err := Run(ctx, args, &out, &errOut)
		return out.String(), err
	}
	must := func(args ...string) string {
		t.Helper()
		s, err := run(args...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return s
	}
	must("init", "--dir", dir, "--team", "jp", "--name", "JPCERT/CC", "--timezone", "Asia/Tokyo", "--listen", "127.0.0.1:0", "--hotline-email", "hotline@jp.example")
	cfg := filepath.Join(dir, "csirtlink.json")

	if _, err := run("taxii", "consumer", "create", "--config", cfg, "--name", "soc", "--audience", "AMBER+STRICT"); err == nil || !strings.Contains(err.Error(), "ceiling") {
		t.Fatalf("an AMBER+STRICT audience: %v", err)
	}
	got := must("taxii", "consumer", "create", "--config", cfg, "--name", "soc", "--audience", "GREEN")
	if !regexp.MustCompile(`password: \S{20,}\n\s+token:\s+taxii_\S+`).MatchString(got) {
		t.Fatalf("create: %q", got)
	}
	if got := must("taxii", "consumer", "list", "--config", cfg); !strings.Contains(got, "soc") || !strings.Contains(got, "GREEN") {
		t.Fatalf("list: %q", got)
	}
	must("taxii", "consumer", "disable", "--config", cfg, "--name", "soc")
	if got := must("taxii", "consumer", "list", "--config", cfg); !strings.Contains(got, "disabled since") {
		t.Fatalf("list after disable: %q", got)
	}

	url, cred := remoteTAXII(t)
	pull := []string{"taxii", "pull", url, "--collection", taxii.IndicatorsCollection, "--config", cfg, "--user", cred.Name, "--secret", cred.Password, "--id", "us"}
	if got := must(pull...); !strings.Contains(got, "pulled 2 objects in 1 pages") || !strings.Contains(got, "1 indicators shared, 2 kept") {
		t.Fatalf("pull: %q", got)
	}
	// Again: it resumes where it stopped, so nothing comes twice.
	if got := must(pull...); !strings.Contains(got, "pulled 0 objects") {
		t.Fatalf("second pull: %q", got)
	}
	if got := must("taxii", "source", "list", "--config", cfg); !strings.Contains(got, "us") || !strings.Contains(got, url) {
		t.Fatalf("source list: %q", got)
	}
	// The pulled indicator is a shared object of jp's, tagged with where it came from.
	n, err := openForAdmin(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	inds, err := n.Store.IndicatorsByValue(ctx, []string{"203.0.113.77"}, 10)
	if err != nil || len(inds) != 1 || inds[0].TLP != "GREEN" || !strings.Contains(inds[0].Description, "taxii:us indicator--8e2e2d2b") {
		t.Fatalf("imported: %+v %v", inds, err)
	}
	if _, err := run("taxii", "pull", "--collection", "x", "--config", cfg); err == nil {
		t.Fatal("pull without a URL")
	}
}
