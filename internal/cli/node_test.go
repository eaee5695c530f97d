package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/client"
	"csirtlink/internal/config"
	"csirtlink/internal/stix"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
)

func TestInitCreatesAWorkingNode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "jp")
	ctx := context.Background()
	var out, errOut bytes.Buffer
	err := Run(ctx, []string{"init", "--dir", dir, "--team", "jp", "--name", "JPCERT/CC", "--timezone", "Asia/Tokyo",
		"--listen", "127.0.0.1:0", "--hotline-email", "hotline@jp.example"}, &out, &errOut)
	if err != nil {
		t.Fatalf("init: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "token:      csl_") || !strings.Contains(out.String(), `"public_key"`) {
		t.Fatalf("init printed:\n%s", out.String())
	}
	cfgPath := filepath.Join(dir, "csirtlink.json")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Team.ID != "jp" || cfg.Team.Timezone != "Asia/Tokyo" {
		t.Fatalf("config: %+v", cfg.Team)
	}
	if fi, err := os.Stat(filepath.Join(dir, "node.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	// The token must not be stored in clear anywhere in the node's files.
	tok := strings.Fields(out.String()[strings.Index(out.String(), "token:"):])[1]
	for _, f := range []string{"csirtlink.json", "csirtlink.db", "csirtlink.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if bytes.Contains(b, []byte(tok)) {
			t.Errorf("%s holds the token in clear", f)
		}
	}
	if err := Run(ctx, []string{"init", "--dir", dir, "--team", "jp", "--name", "x", "--timezone", "UTC"}, &out, &errOut); err == nil {
		t.Fatal("a second init over the same node succeeded")
	}

	out.Reset()
	if err := Run(ctx, []string{"identity", "--config", cfgPath}, &out, &errOut); err != nil || !strings.Contains(out.String(), `"id": "jp"`) {
		t.Fatalf("identity: %v %s", err, out.String())
	}
	out.Reset()
	if err := Run(ctx, []string{"user", "create", "--config", cfgPath, "--name", "sato", "--role", "observer"}, &out, &errOut); err != nil {
		t.Fatalf("user create: %v", err)
	}
	out.Reset()
	if err := Run(ctx, []string{"token", "create", "--config", cfgPath, "--user", "sato", "--ttl", "1h"}, &out, &errOut); err != nil || !strings.HasPrefix(out.String(), "csl_") {
		t.Fatalf("token create: %v %q", err, out.String())
	}
	satoToken := strings.TrimSpace(out.String())
	out.Reset()
	if err := Run(ctx, []string{"user", "password", "--config", cfgPath, "--name", "sato", "--generate"}, &out, &errOut); err != nil {
		t.Fatalf("user password: %v", err)
	}
	pw := strings.TrimSpace(out.String())
	node, err := openForAdmin(ctx, cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	sato, _ := node.Store.UserByName(ctx, "sato")
	node.Close()
	if _, err := auth.CheckPassword(sato.PasswordHash, pw); err != nil || len(pw) < 12 {
		t.Fatalf("generated password %q does not check: %v", pw, err)
	}
	if _, err := auth.CheckPassword(sato.PasswordHash, pw+"x"); err == nil {
		t.Fatal("a wrong password checks")
	}
	out.Reset()
	if err := Run(ctx, []string{"token", "list", "--config", cfgPath, "--user", "sato"}, &out, &errOut); err != nil {
		t.Fatalf("token list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || strings.Contains(out.String(), satoToken) {
		t.Fatalf("token list:\n%s", out.String())
	}
	tokenID := strings.Fields(lines[1])[0]
	// The token works against a running node until it is revoked.
	node, err = openForAdmin(ctx, cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Auth.Authenticate(ctx, satoToken); err != nil {
		t.Fatalf("fresh token refused: %v", err)
	}
	node.Close()
	out.Reset()
	if err := Run(ctx, []string{"token", "revoke", "--config", cfgPath, "--id", tokenID}, &out, &errOut); err != nil {
		t.Fatalf("token revoke: %v", err)
	}
	node, err = openForAdmin(ctx, cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Auth.Authenticate(ctx, satoToken); err == nil {
		t.Fatal("revoked token still accepted")
	}
	node.Close()
	out.Reset()
	if err := Run(ctx, []string{"migrate", "--config", cfgPath}, &out, &errOut); err != nil || !strings.Contains(out.String(), "schema at version ") {
		t.Fatalf("migrate: %v %q", err, out.String())
	}
	if err := Run(ctx, []string{"user", "create", "--config", cfgPath, "--name", "x", "--role", "king"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "role") {
		t.Fatalf("bad role: %v", err)
	}
}

func TestInitRefusesBadInput(t *testing.T) {
	var out, errOut bytes.Buffer
	err := Run(context.Background(), []string{"init", "--dir", t.TempDir(), "--team", "JP!", "--name", "x", "--timezone", "Mars/Olympus"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "team.id") || !strings.Contains(err.Error(), "timezone") {
		t.Fatalf("got %v", err)
	}
}

// freeBase finds a port p with p+1..p+3 free on loopback.
func freeBase(t *testing.T) int {
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		ok := p+3 < 65535
		for i := 1; ok && i <= 3; i++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+i))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no free ports")
	return 0
}

func TestDemoRunsThreeSeededNodesAndStops(t *testing.T) {
	dir := t.TempDir()
	base := freeBase(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		// No history: this test is about today's scenario (the history is played by
		// the report's test, through the same code).
		done <- Run(ctx, []string{"demo", "--dir", dir, "--base-port", fmt.Sprint(base), "--history", "0"}, &out, &errOut)
	}()

	var df demoFile
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(dir, "demo.json"))
		if err == nil && json.Unmarshal(b, &df) == nil && len(df.Nodes) == 3 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("demo ended early: %v\n%s", err, errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no demo.json; stderr: %s", errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i, nd := range df.Nodes {
		want := fmt.Sprintf("http://127.0.0.1:%d", base+i+1)
		if nd.URL != want || nd.Token == "" {
			t.Fatalf("node %d: %+v, want url %s", i, nd, want)
		}
		resp, err := http.Get(nd.URL + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s not answering: %v", nd.Team, err)
		}
		resp.Body.Close()
	}
	// The scenario is visible at every node; the AMBER+STRICT entry for jp is not at kr.
	ctxT := context.Background()
	counts := map[string]int{}
	for _, nd := range df.Nodes {
		c := client.New(nd.URL, nd.Token)
		list, err := c.ListIncidents(ctxT, store.IncidentFilter{})
		if err != nil {
			t.Fatal(err)
		}
		counts[nd.Team] = len(list)
	}
	if counts["cn"] != 2 || counts["jp"] != 3 || counts["kr"] != 3 {
		t.Fatalf("incidents per node: %v", counts)
	}
	strictAt := func(i int) bool {
		nd := df.Nodes[i]
		in, err := client.New(nd.URL, nd.Token).GetIncident(ctxT, fmt.Sprintf("cn-%d-0001", time.Now().UTC().Year()))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range in.Timeline {
			if e.TLP == "AMBER+STRICT" {
				return true
			}
		}
		return false
	}
	// Seeding returns when the last entry is written; give federation a moment to carry it.
	for deadline := time.Now().Add(5 * time.Second); !strictAt(1) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if atJP, atKR := strictAt(1), strictAt(2); !atJP || atKR {
		t.Fatalf("AMBER+STRICT entry: at jp %v (want true), at kr %v (want false)", atJP, atKR)
	}
	// Each node's metrics token is in demo.json and opens its /metrics.
	for _, nd := range df.Nodes {
		req, _ := http.NewRequest("GET", nd.URL+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+nd.MetricsToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 || nd.MetricsToken == "" {
			t.Fatalf("%s: /metrics with demo.json's metrics_token: %v %v", nd.Team, err, resp)
		}
		resp.Body.Close()
	}
	// Each node's TAXII consumer (GREEN audience) reads the collection of its shared
	// indicators: seeded ones, none stricter than GREEN.
	for _, nd := range df.Nodes {
		if nd.TAXIIUser == "" || nd.TAXIIPassword == "" || nd.TAXIICollection == "" {
			t.Fatalf("%s: no TAXII consumer in demo.json: %+v", nd.Team, nd)
		}
		var page struct {
			Objects []struct {
				Markings []string `json:"object_marking_refs"`
			} `json:"objects"`
		}
		for deadline := time.Now().Add(10 * time.Second); len(page.Objects) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			req, _ := http.NewRequest("GET", nd.URL+"/taxii2/api/collections/"+nd.TAXIICollection+"/objects/?limit=1000", nil)
			req.SetBasicAuth(nd.TAXIIUser, nd.TAXIIPassword)
			req.Header.Set("Accept", "application/taxii+json;version=2.1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("%s: TAXII objects: %v %v", nd.Team, err, resp)
			}
			json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
		}
		if len(page.Objects) == 0 {
			t.Fatalf("%s: the TAXII collection is empty", nd.Team)
		}
		for _, o := range page.Objects {
			if l, _ := stix.StrictestMarking(o.Markings); l != tlp.Clear && l != tlp.Green {
				t.Fatalf("%s: a GREEN consumer got TLP:%s", nd.Team, l)
			}
		}
	}
	if !strings.Contains(out.String(), "CSIRTLINK_TOKEN="+df.Nodes[1].Token) {
		t.Errorf("demo did not print how to use jp's token:\n%s", out.String())
	}
	// cn's Shadowserver report reached jp and kr, each with its part, routed to its owners.
	for i, want := range map[int]int64{1: 1650, 2: 1000} {
		nd := df.Nodes[i]
		req, _ := http.NewRequest("GET", nd.URL+"/api/v1/feeds/reports?partner=cn", nil)
		req.Header.Set("Authorization", "Bearer "+nd.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Reports []store.FeedRun }
		json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if len(got.Reports) != 1 || got.Reports[0].Events != want || got.Reports[0].RoutedOwners != want {
			t.Fatalf("%s's reports from cn: %+v, want one of %d events, all to its owners", nd.Team, got.Reports, want)
		}
	}
	if !strings.Contains(out.String(), "Bulk feed routing: cn ingested") {
		t.Errorf("demo did not show the feed's routing:\n%s", out.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo stopped with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("demo did not stop after cancel")
	}
	if _, err := http.Get(df.Nodes[0].URL + "/healthz"); err == nil {
		t.Fatal("cn still answers after the demo stopped")
	}
}

// syncBuffer is a bytes.Buffer safe for one writer goroutine and a reading test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
