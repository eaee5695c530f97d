package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/client"
	"csirtlink/internal/config"
	"csirtlink/internal/federation"
	"csirtlink/internal/store"
	"csirtlink/internal/testnet"
)

func startTestnet(t *testing.T) *testnet.Net {
	t.Helper()
	n, err := testnet.Start(context.Background(), testnet.Options{Dir: t.TempDir(), Federation: config.Federation{
		RetryMin: config.Duration(20 * time.Millisecond), RetryMax: config.Duration(200 * time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// run runs a client command as team's admin and returns what it printed.
func run(t *testing.T, n *testnet.Net, team string, cmd func(context.Context, []string, io.Writer, io.Writer) error, args ...string) string {
	t.Helper()
	nd := n.Node(team)
	var out, errOut bytes.Buffer
	args = append(args, "--url", nd.URL, "--token", nd.Token)
	if err := cmd(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("%v: %v\nstderr: %s", args, err, errOut.String())
	}
	return out.String()
}

func TestIncidentCommands(t *testing.T) {
	n := startTestnet(t)

	out := run(t, n, "cn", runIncident, "create", "--title", "Phishing wave against ministries", "--category", "fraud/phishing",
		"--severity", "high", "--tlp", "amber", "--description", "Lookalike domains\nregistered overnight", "--participants", "jp,kr")
	id := regexp.MustCompile(`cn-\d{4}-\d{4}`).FindString(out)
	if id == "" || !strings.Contains(out, "with jp, kr") {
		t.Fatalf("create printed %q", out)
	}

	// Flags after the arguments, text from several words.
	run(t, n, "cn", runIncident, "comment", id, "Takedown", "requested", "--tlp", "green")
	run(t, n, "cn", runIncident, "comment", "--observable", id, "198.51.100.7")
	out = run(t, n, "cn", runIncident, "status", id, "in_progress", "--note", "registrar contacted")
	if !strings.Contains(out, id+" is now in_progress (#") {
		t.Errorf("status printed %q", out)
	}

	out = run(t, n, "cn", runIncident, "list", "--tz", "Asia/Tokyo")
	for _, want := range []string{"ID", "SEVERITY", "PARTICIPANTS", id, "Phishing wave against ministries", "cn,jp,kr", "in_progress", " JST"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if out := run(t, n, "cn", runIncident, "list", "--severity", "low"); strings.Contains(out, id) {
		t.Errorf("--severity low lists %s:\n%s", id, out)
	}

	out = run(t, n, "cn", runIncident, "show", id)
	for _, want := range []string{id, "Phishing wave", "TLP:AMBER", "registered overnight", "PARTICIPANT", "invited",
		"#1", "cn/admin", "Takedown requested", "[GREEN]", "ipv4 198.51.100.7", "→ in_progress: registrar contacted",
		" CST"} { // cn's own zone, Asia/Shanghai, by default
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}

	// jp takes part; its entry waits for cn to number it, so jp may show it as "…".
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(run(t, n, "jp", runIncident, "list"), id) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never reached jp", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
	run(t, n, "jp", runIncident, "participate", id, "working")
	out = run(t, n, "jp", runIncident, "show", id)
	if !regexp.MustCompile(`(?m)^(…|#\d+)\s.*jp/admin\s+participation\s+\[AMBER\]\s+→ working`).MatchString(out) {
		t.Errorf("jp's show lacks its participation entry:\n%s", out)
	}
	if !strings.Contains(out, " JST") {
		t.Errorf("jp's show is not in Asia/Tokyo:\n%s", out)
	}

	// The coordinator invites a team the incident did not have.
	id2 := regexp.MustCompile(`cn-\d{4}-\d{4}`).FindString(run(t, n, "cn", runIncident, "create", "--title", "Scan wave",
		"--category", "information-gathering/scanner", "--severity", "low", "--tlp", "green", "--participant", "jp"))
	out = run(t, n, "cn", runIncident, "invite", id2, "kr")
	if !strings.Contains(out, "kr invited to "+id2+" (#1)") {
		t.Errorf("invite printed %q", out)
	}
	if out := run(t, n, "cn", runIncident, "show", id2); !strings.Contains(out, "+ kr invited") {
		t.Errorf("show lacks the invitation:\n%s", out)
	}
}

func TestIncidentJSON(t *testing.T) {
	n := startTestnet(t)
	out := run(t, n, "kr", runIncident, "create", "--json", "--title", "DDoS on exchanges", "--category", "availability/ddos",
		"--severity", "critical", "--tlp", "RED", "--participant", "jp")
	var in store.Incident
	if err := json.Unmarshal([]byte(out), &in); err != nil {
		t.Fatalf("create --json: %v\n%s", err, out)
	}
	if in.Coordinator != "kr" || in.TLP != "RED" || len(in.Participants) != 2 {
		t.Errorf("create --json: %+v", in)
	}

	out = run(t, n, "kr", runIncident, "comment", in.ID, "--json", "--recipient", "jp", "Traffic from 203.0.113.0/24")
	var e store.Entry
	if err := json.Unmarshal([]byte(out), &e); err != nil || e.Kind != "comment" || e.Body != "Traffic from 203.0.113.0/24" {
		t.Errorf("comment --json: %v %+v", err, e)
	}

	out = run(t, n, "kr", runIncident, "list", "--json")
	var list struct {
		Incidents []store.Incident `json:"incidents"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Incidents) != 1 || list.Incidents[0].ID != in.ID {
		t.Errorf("list --json: %v\n%s", err, out)
	}

	out = run(t, n, "kr", runIncident, "show", "--json", in.ID)
	var got store.Incident
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Timeline) != 1 || got.Timeline[0].Body != e.Body {
		t.Errorf("show --json: %v\n%s", err, out)
	}

	out = run(t, n, "kr", runPeers, "--json")
	var peers struct {
		Peers []struct {
			Peer string `json:"peer"`
		} `json:"peers"`
	}
	if err := json.Unmarshal([]byte(out), &peers); err != nil || len(peers.Peers) != 2 {
		t.Errorf("peers --json: %v\n%s", err, out)
	}
}

func TestPeers(t *testing.T) {
	n := startTestnet(t)
	out := run(t, n, "jp", runPeers, "--tz", "UTC")
	for _, want := range []string{"PEER", "DELIVERY", "STATE", "QUEUED", "LAG", "LAST SENT", "LAST RECEIVED", "LAST ERROR",
		"KIND", "SENT, NO RECEIPT", "ACKNOWLEDGED", "RATE (LAST MINUTE)", "CATCH-UP"} {
		if !strings.Contains(out, want) {
			t.Errorf("peers lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`(?m)^cn\s+push\s+\S`).MatchString(out) || !regexp.MustCompile(`(?m)^kr\s+push\s`).MatchString(out) {
		t.Errorf("peers rows:\n%s", out)
	}

	out = run(t, n, "jp", runPeers, "retry", "cn")
	if !strings.Contains(out, "retrying the link with cn") {
		t.Errorf("peers retry printed %q", out)
	}
	nd := n.Node("jp")
	var errOut bytes.Buffer
	err := runPeers(context.Background(), []string{"retry", "xx", "--url", nd.URL, "--token", nd.Token}, io.Discard, &errOut)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("retry of an unknown peer: %v", err)
	}
	if err := runPeers(context.Background(), []string{"retry", "--url", nd.URL, "--token", nd.Token}, io.Discard, &errOut); err == nil {
		t.Error("retry without a peer id accepted")
	}
}

// The words a duty officer reads for each state of a link.
func TestPeersStateWords(t *testing.T) {
	sent := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	links := []federation.LinkState{
		{Peer: "cn", Delivery: "push", Health: federation.HealthOK, LastSentAt: &sent, LastReceivedAt: &sent},
		{Peer: "jp", Delivery: "push", Health: federation.HealthStalled, InFlightSeconds: 25.4},
		{Peer: "kr", Delivery: "pull", PullFrom: true, Health: federation.HealthError, LastError: "connection refused", LastErrorAt: &sent,
			LastPullError: "503 Service Unavailable\x1b[2J", LastPullErrorAt: &sent},
	}
	var b bytes.Buffer
	if err := printPeers(&b, links, time.UTC); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"healthy", "no answer for 25s", "failing", "2026-11-22 10:00 UTC sending: connection refused",
		"pulling: 503 Service Unavailable\uFFFD[2J", "never"} {
		if !strings.Contains(out, want) {
			t.Errorf("peers lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("a control character from the API reached the terminal:\n%q", out)
	}
}

func TestClientCommandErrors(t *testing.T) {
	n := startTestnet(t)
	nd := n.Node("cn")
	t.Setenv(envURL, "")
	t.Setenv(envToken, "")
	call := func(args ...string) error {
		var out, errOut bytes.Buffer
		return runIncident(context.Background(), args, &out, &errOut)
	}

	err := call("list", "--url", nd.URL)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "CSIRTLINK_TOKEN") || !strings.Contains(err.Error(), "--token") {
		t.Errorf("missing token: %v", err)
	}
	err = call("list", "--token", nd.Token)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "CSIRTLINK_URL") {
		t.Errorf("missing url: %v", err)
	}

	// The environment supplies both.
	t.Setenv(envURL, nd.URL)
	t.Setenv(envToken, nd.Token)
	if err := call("list"); err != nil {
		t.Errorf("list from the environment: %v", err)
	}

	for _, args := range [][]string{
		{"show"},
		{"show", "a", "b"},
		{"status", "cn-2026-0001"},
		{"comment", "cn-2026-0001"},
		{"create", "--title", "x"},
		{"list", "--limit", "0"},
		{"list", "--bogus"},
		{"list", "--tz", "Mars/Olympus"},
		{"comment", "--type", "ipv4", "cn-2026-0001", "1.2.3.4"},
		{"frobnicate"},
		{},
	} {
		if err := call(args...); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	var ce *client.Error
	if err := call("show", "cn-1999-0001"); !errors.As(err, &ce) || ce.Status != 404 || errors.Is(err, errUsage) {
		t.Errorf("show unknown incident: %v, want the API's 404", err)
	}

	err = call("create", "--title", "x", "--category", "fraud/phishing", "--severity", "urgent", "--tlp", "amber")
	if !errors.As(err, &ce) || ce.Field != "severity" {
		t.Errorf("bad severity: %v, want the API's 422", err)
	}
	if err := call("list", "--url", "ftp://example.org"); !errors.Is(err, errUsage) {
		t.Errorf("ftp url: %v", err)
	}
}

func TestParseArgs(t *testing.T) {
	fs, af := apiFlagSet("t", "t", &bytes.Buffer{})
	note := fs.String("note", "", "")
	pos, err := parseArgs(fs, "t", []string{"id", "--json", "closed", "--note", "fixed", "--tz=UTC", "--", "--not-a-flag"}, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(pos, "|") != "id|closed|--not-a-flag" || *note != "fixed" || !af.json || af.tz != "UTC" {
		t.Errorf("pos %q note %q json %v tz %q", pos, *note, af.json, af.tz)
	}
	if _, err := parseArgs(fs, "t", []string{"-h"}, 0, 0); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"plain":             "plain",
		"two\nlines":        "two ↵ lines",
		"tab\there":         "tab\uFFFDhere",
		"\x1b[31mred":       "\uFFFD[31mred",
		"evil\u202Etxt.exe": "evil\uFFFDtxt.exe",
		"bad \xff byte":     "bad \uFFFD byte",
		"日本語のタイトル":          "日本語のタイトル",
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}
