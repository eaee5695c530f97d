package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/api"
	"csirtlink/internal/clock"
	"csirtlink/internal/faults"
	"csirtlink/internal/testnet"
)

func startNet(t *testing.T, opts testnet.Options) *testnet.Net {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	n, err := testnet.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

type reply struct {
	status   int
	body     []byte
	replayed bool
}

// send makes a request as the node's admin, with an Idempotency-Key if key is set.
func send(t *testing.T, nd *testnet.Node, method, path, key string, body any) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, nd.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+nd.Token)
	if key != "" {
		req.Header.Set(api.IdempotencyHeader, key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, body: b, replayed: resp.Header.Get(api.ReplayedHeader) == "true"}
}

// count GETs path and counts the array at field (or the top-level object's field
// nested by dots).
func count(t *testing.T, nd *testnet.Node, path, field string) int {
	t.Helper()
	r := send(t, nd, http.MethodGet, path, "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Split(field, ".") {
		v = v.(map[string]any)[f]
	}
	list, _ := v.([]any)
	return len(list)
}

func field(t *testing.T, body []byte, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	s, _ := m[name].(string)
	return s
}

// TestEveryCreatingPostHonoursIdempotencyKey sends each creating API call twice with
// one key, as a client does whose first answer was lost: the second gets the first
// answer, marked replayed, and the node holds one object, not two. The first case is
// also sent twice without a key, to show the count sees a duplicate.
func TestEveryCreatingPostHonoursIdempotencyKey(t *testing.T) {
	net := startNet(t, testnet.Options{})
	cn := net.Node("cn")
	ctx := context.Background()
	if _, err := cn.App.Auth.CreateUser(ctx, "wang", "Wang Fang", "", "duty_officer"); err != nil {
		t.Fatal(err)
	}
	if r := send(t, cn, http.MethodPut, "/api/v1/oncall/rotations/primary", "", map[string]any{"name": "Primary", "timezone": "Asia/Shanghai",
		"shift": "daily", "every": 1, "start": "2026-11-01T09:00", "members": []string{"admin", "wang"}}); r.status != http.StatusOK {
		t.Fatalf("rotation: %d %s", r.status, r.body)
	}
	newIncident := map[string]any{"title": "Botnet C2", "category": "malicious-code/infected-system", "severity": "high",
		"tlp": "AMBER", "participants": []string{"jp"}}
	before := count(t, cn, "/api/v1/incidents", "incidents")
	send(t, cn, http.MethodPost, "/api/v1/incidents", "", newIncident)
	created := send(t, cn, http.MethodPost, "/api/v1/incidents", "", newIncident)
	if got := count(t, cn, "/api/v1/incidents", "incidents"); got != before+2 {
		t.Fatalf("two POSTs without a key made %d incidents, want 2: the count cannot see a duplicate", got-before)
	}
	inc := "/api/v1/incidents/" + field(t, created.body, "id")
	start := time.Now().UTC().Add(time.Hour).Truncate(time.Second)

	for i, c := range []struct {
		path         string
		body         any
		countPath    string
		countField   string
		wantStatuses int
	}{
		{"/api/v1/incidents", newIncident, "/api/v1/incidents", "incidents", 201},
		{inc + "/timeline", map[string]any{"kind": "comment", "body": "C2 taken down", "tlp": "AMBER"}, inc, "timeline", 201},
		{inc + "/status", map[string]any{"status": "in_progress", "note": "working on it"}, inc, "timeline", 201},
		{inc + "/participation", map[string]any{"status": "working"}, inc, "timeline", 201},
		{inc + "/participants", map[string]any{"team": "kr"}, inc, "participants", 201},
		{"/api/v1/pages", map[string]any{"to": []string{"jp"}, "severity": "high", "summary": "C2 up again", "tlp": "AMBER"}, "/api/v1/pages?direction=out", "pages", 201},
		{"/api/v1/commchecks", map[string]any{"to": []string{"jp"}}, "/api/v1/commchecks", "checks", 201},
		{"/api/v1/oncall/overrides", map[string]any{"rotation_id": "primary", "user": "wang", "start": start, "end": start.Add(4 * time.Hour)},
			"/api/v1/oncall", "overrides", 201},
		{"/api/v1/users/wang/contacts", map[string]any{"channel": "email", "address": "wang@cn.example"}, "/api/v1/users/wang/contacts", "contacts", 201},
	} {
		key := fmt.Sprintf("test-key-%d", i)
		before := count(t, cn, c.countPath, c.countField)
		first := send(t, cn, http.MethodPost, c.path, key, c.body)
		if first.status != c.wantStatuses || first.replayed {
			t.Errorf("POST %s: %d %s", c.path, first.status, first.body)
			continue
		}
		again := send(t, cn, http.MethodPost, c.path, key, c.body)
		if again.status != first.status || string(again.body) != string(first.body) || !again.replayed {
			t.Errorf("POST %s again with its key: %d %s (replayed %v), want the first answer", c.path, again.status, again.body, again.replayed)
		}
		if got := count(t, cn, c.countPath, c.countField); got != before+1 {
			t.Errorf("POST %s twice with one key: %d new, want 1", c.path, got-before)
		}
	}
}

// TestReadyzSaysTheDiskIsFull runs a node on a small disk (a tmpfs: root only), fills
// it, and frees it: /readyz must answer 507 "disk full" and then ready again, probing
// at most every ProbeEvery. Writes fail meanwhile and succeed after.
//
// Regression: /readyz only pinged the database and said "ready" while every write failed.
func TestReadyzSaysTheDiskIsFull(t *testing.T) {
	dir := faults.SmallDisk(t, 8<<20)
	clk := clock.NewFake(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	net := startNet(t, testnet.Options{Dir: dir, Teams: testnet.Default[:1], Clock: clk})
	cn := net.Node("cn")
	ready := func() (int, string) {
		r := send(t, cn, http.MethodGet, "/readyz", "", nil)
		return r.status, field(t, r.body, "reason")
	}
	if code, _ := ready(); code != http.StatusOK {
		t.Fatalf("readyz with room on the disk: %d", code)
	}
	filler := filepath.Join(dir, "filler")
	faults.Fill(t, filler, 0)
	if code, _ := ready(); code != http.StatusOK {
		t.Fatalf("readyz probed the disk again within %s: %d", api.ProbeEvery, code)
	}
	clk.Advance(api.ProbeEvery)
	if code, reason := ready(); code != http.StatusInsufficientStorage || reason != "disk full" {
		t.Fatalf("readyz on a full disk = %d %q, want 507 disk full", code, reason)
	}
	incident := map[string]any{"title": "Botnet C2", "description": strings.Repeat("x", 20000),
		"category": "malicious-code/infected-system", "severity": "high", "tlp": "CLEAR"}
	// (How it fails is item 12's: the token lookup's bookkeeping write fails first.)
	if r := send(t, cn, http.MethodPost, "/api/v1/incidents", "", incident); r.status == http.StatusCreated {
		t.Fatalf("an incident was created on a full disk: %d %s", r.status, r.body)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	clk.Advance(api.ProbeEvery)
	if code, _ := ready(); code != http.StatusOK {
		t.Fatalf("readyz after the disk was freed: %d", code)
	}
	if r := send(t, cn, http.MethodPost, "/api/v1/incidents", "", incident); r.status != http.StatusCreated {
		t.Fatalf("creating an incident after the disk was freed: %d %s", r.status, r.body)
	}
}
