package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/client"
	"csirtlink/internal/hotline"
	"csirtlink/internal/store"
	"csirtlink/internal/testnet"
)

var (
	pageID      = regexp.MustCompile(`cn-\d{4}-p\d{4}`)
	commCheckID = regexp.MustCompile(`cn-\d{4}-c\d{4}`)
)

// poll runs a command as team's admin until its output matches want, for up to 3 s,
// and returns that output.
func poll(t *testing.T, n *testnet.Net, team, what string, want func(string) bool,
	cmd func(context.Context, []string, io.Writer, io.Writer) error, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		out := run(t, n, team, cmd, args...)
		if want(out) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened; last output of %q:\n%s", what, args, out)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// tryRun runs a client command as team's admin and returns its error.
func tryRun(n *testnet.Net, team string, cmd func(context.Context, []string, io.Writer, io.Writer) error, args ...string) error {
	nd := n.Node(team)
	var out, errOut bytes.Buffer
	args = append(args, "--url", nd.URL, "--token", nd.Token)
	return cmd(context.Background(), args, &out, &errOut)
}

func TestPageCommands(t *testing.T) {
	n := startTestnet(t)

	// An escape sequence never reaches a partner's terminal: the node refuses it (and the
	// CLI would show it defused: TestClean).
	if err := tryRun(n, "cn", runPage, "send", "--to", "jp", "--severity", "high", "--summary", "Ransomware C2 on JP hosting \x1b[31m",
		"--tlp", "amber"); err == nil || !strings.Contains(err.Error(), "summary: contains a control character") {
		t.Fatalf("a summary with an escape sequence: %v", err)
	}
	out := run(t, n, "cn", runPage, "send", "--to", "jp", "--severity", "high", "--summary", "Ransomware C2 on JP hosting",
		"--details", "C2 at 198.51.100.7\nplease null-route", "--tlp", "amber")
	id := pageID.FindString(out)
	if id == "" || !strings.Contains(out, "sent "+id+"  high  TLP:AMBER") || !regexp.MustCompile(`(?m)^  jp\s+sent$`).MatchString(out) {
		t.Fatalf("send printed %q", out)
	}

	// At jp the page waits for an acknowledgement, and stands out.
	out = poll(t, n, "jp", "the page waits at jp", func(s string) bool { return strings.Contains(s, id) },
		runPage, "list", "--state", "waiting")
	row := regexp.MustCompile(`(?m)^!\s+` + id + `\s+cn\s+high\s+\d{4}-\d\d-\d\d \d\d:\d\d JST\s+jp:delivered\s+Ransomware C2 on JP hosting$`)
	if !row.MatchString(out) || !strings.Contains(out, "1 waiting for jp to acknowledge") {
		t.Errorf("jp's waiting list:\n%s", out)
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("an escape sequence reached the terminal:\n%q", out)
	}

	// jp's escalation reaches its people on the console.
	out = poll(t, n, "jp", "jp notifies someone", func(s string) bool { return strings.Contains(s, "console") },
		runPage, "show", id)
	for _, want := range []string{id, "Ransomware C2", "TLP:AMBER", "C2 at 198.51.100.7", "please null-route",
		"! Waiting for jp to acknowledge: csirtlink page ack " + id, "Escalation:  policy \"All duty officers (no default policy set)\", started ", "TIME", "USER", "CHANNEL", "LEVEL"} {
		if !strings.Contains(out, want) {
			t.Errorf("jp's show lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`(?m)^Severity:\s+high$`).MatchString(out) {
		t.Errorf("jp's show lacks the severity:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^jp\s+delivered\s+\d{4}-\d\d-\d\d \d\d:\d\d JST\s+-\s+-$`).MatchString(out) {
		t.Errorf("jp's delivery row:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d JST\s+\S+\s+console\s+1\s+\S+\s+`).MatchString(out) {
		t.Errorf("jp's notification rows:\n%s", out)
	}

	out = run(t, n, "jp", runPage, "ack", id)
	if !regexp.MustCompile(`^acknowledged ` + id + ` from cn for jp at \d{4}-\d\d-\d\d \d\d:\d\d JST by Duty admin \(jp\) \(admin\), via api; cn is told\n$`).MatchString(out) {
		t.Errorf("ack printed %q", out)
	}
	if out := run(t, n, "jp", runPage, "list", "--state", "waiting"); out != "no pages\n" {
		t.Errorf("still waiting after the ack:\n%s", out)
	}
	out = run(t, n, "jp", runPage, "list")
	if !regexp.MustCompile(`(?m)^ \s+`+id+`\s+cn\s+high\s+.*jp:acknowledged`).MatchString(out) || strings.Contains(out, "waiting for") {
		t.Errorf("jp's open pages after the ack:\n%s", out)
	}

	// The sender sees who acknowledged, and how, in its own zone.
	out = poll(t, n, "cn", "cn sees the acknowledgement", func(s string) bool { return strings.Contains(s, "acknowledged") },
		runPage, "show", id)
	ackRow := regexp.MustCompile(`(?m)^jp\s+acknowledged\s+\d{4}-\d\d-\d\d \d\d:\d\d CST\s+-\s+\d{4}-\d\d-\d\d \d\d:\d\d CST by Duty admin \(jp\) \(admin\), via api$`)
	if !ackRow.MatchString(out) || !regexp.MustCompile(`(?m)^Resolved:\s+no, open$`).MatchString(out) {
		t.Errorf("cn's show:\n%s", out)
	}
	if strings.Contains(out, "Escalation") || strings.Contains(out, "Waiting for") {
		t.Errorf("cn's show of a page it sent has an escalation or waits:\n%s", out)
	}
	out = run(t, n, "cn", runPage, "list", "--direction", "out", "--tz", "Asia/Seoul")
	if !regexp.MustCompile(`(?m)^ \s+` + id + `\s+cn\s+high\s+\S+ \S+ KST\s+jp:acknowledged\s`).MatchString(out) {
		t.Errorf("cn's outgoing list:\n%s", out)
	}
	if out := run(t, n, "cn", runPage, "list", "--direction", "in"); out != "no pages\n" {
		t.Errorf("cn's incoming list:\n%s", out)
	}

	out = run(t, n, "cn", runPage, "resolve", id)
	if !strings.HasPrefix(out, "resolved "+id+" at ") || !regexp.MustCompile(`(?m)^  jp\s+acknowledged .* by Duty admin \(jp\) \(admin\)$`).MatchString(out) {
		t.Errorf("resolve printed %q", out)
	}
	if out := run(t, n, "cn", runPage, "list"); out != "no pages\n" {
		t.Errorf("open pages at cn after resolving:\n%s", out)
	}
	if out := run(t, n, "cn", runPage, "list", "--state", "all"); !strings.Contains(out, "jp:resolved") {
		t.Errorf("cn's list --state all:\n%s", out)
	}
	poll(t, n, "jp", "jp learns the page is resolved", func(s string) bool {
		return regexp.MustCompile(`(?m)^Resolved:\s+\S+ \S+ JST by Duty admin \(cn\) \(admin\)$`).MatchString(s)
	}, runPage, "show", id)
}

func TestPageJSON(t *testing.T) {
	n := startTestnet(t)
	out := run(t, n, "cn", runPage, "send", "--json", "--to", "jp,kr", "--severity", "critical", "--summary", "DDoS on exchanges")
	var p store.Page
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("send --json: %v\n%s", err, out)
	}
	if p.Severity != "critical" || len(p.Deliveries) != 2 || p.Deliveries[1].Team != "kr" {
		t.Errorf("send --json: %+v", p)
	}

	poll(t, n, "kr", "the page reaches kr", func(s string) bool { return strings.Contains(s, p.ID) }, runPage, "list")
	out = run(t, n, "kr", runPage, "list", "--json", "--state", "waiting")
	var list struct {
		Pages []store.Page `json:"pages"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Pages) != 1 || list.Pages[0].ID != p.ID {
		t.Errorf("list --json: %v\n%s", err, out)
	}

	out = run(t, n, "kr", runPage, "show", "--json", p.ID)
	var d client.PageDetail
	if err := json.Unmarshal([]byte(out), &d); err != nil || d.ID != p.ID || d.Escalation == nil {
		t.Errorf("show --json: %v\n%s", err, out)
	}

	out = run(t, n, "kr", runPage, "ack", "--json", p.ID)
	var acked store.Page
	if err := json.Unmarshal([]byte(out), &acked); err != nil || len(acked.Deliveries) != 1 || acked.Deliveries[0].AckVia != "api" {
		t.Errorf("ack --json: %v\n%s", err, out)
	}

	out = run(t, n, "cn", runPage, "resolve", "--json", p.ID)
	var resolved store.Page
	if err := json.Unmarshal([]byte(out), &resolved); err != nil || resolved.ResolvedAt == nil {
		t.Errorf("resolve --json: %v\n%s", err, out)
	}
}

// putRotation makes a rotation through the API, as the console would.
func putRotation(t *testing.T, nd *testnet.Node, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, nd.URL+"/api/v1/oncall/rotations/primary", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+nd.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("put rotation: %d %s", resp.StatusCode, b)
	}
}

func TestOnCallShow(t *testing.T) {
	n := startTestnet(t)
	if out := run(t, n, "jp", runOnCall, "show"); !strings.Contains(out, "no rotations") {
		t.Errorf("without a rota:\n%s", out)
	}
	putRotation(t, n.Node("jp"), `{"name":"Primary duty","timezone":"Asia/Tokyo","shift":"daily","every":1,
		"start":"2026-01-01T09:00","members":["admin"]}`)

	// A viewer in Paris sees jp's times and their own, side by side.
	out := run(t, n, "jp", runOnCall, "show", "--at", "2026-03-05T10:30:00+09:00", "--tz", "Europe/Paris")
	for _, want := range []string{
		"On call at 2026-03-05 10:30 JST (Europe/Paris: 2026-03-05 02:30 CET)",
		"TEAM TIME (Asia/Tokyo)", "YOUR TIME (Europe/Paris)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("oncall show lacks %q:\n%s", want, out)
		}
	}
	now := regexp.MustCompile(`(?m)^primary: Primary duty\s+now\s+admin\s+2026-03-05 09:00 JST → 2026-03-06 09:00 JST\s+2026-03-05 01:00 CET → 2026-03-06 01:00 CET$`)
	next := regexp.MustCompile(`(?m)^\s+next\s+admin\s+2026-03-06 09:00 JST → 2026-03-07 09:00 JST\s+2026-03-06 01:00 CET → 2026-03-07 01:00 CET$`)
	if !now.MatchString(out) || !next.MatchString(out) {
		t.Errorf("oncall show rows:\n%s", out)
	}

	// A viewer in jp's own zone sees one column.
	out = run(t, n, "jp", runOnCall, "show", "--at", "2026-03-05T01:30:00Z", "--tz", "Asia/Tokyo")
	if strings.Contains(out, "YOUR TIME") || !strings.Contains(out, "TIME (Asia/Tokyo)") ||
		!regexp.MustCompile(`(?m)^primary: Primary duty\s+now\s+admin\s+2026-03-05 09:00 JST → 2026-03-06 09:00 JST$`).MatchString(out) {
		t.Errorf("oncall show in the team's own zone:\n%s", out)
	}

	// Now, in this machine's zone.
	out = run(t, n, "jp", runOnCall, "show")
	if !regexp.MustCompile(`(?m)^primary: Primary duty\s+now\s+admin\s`).MatchString(out) {
		t.Errorf("oncall show now:\n%s", out)
	}

	out = run(t, n, "jp", runOnCall, "show", "--json", "--at", "2026-03-05T10:30:00+09:00")
	var oc client.OnCall
	if err := json.Unmarshal([]byte(out), &oc); err != nil || oc.Timezone != "Asia/Tokyo" || len(oc.Rotations) != 1 ||
		oc.Rotations[0].Current.User != "admin" || !oc.Rotations[0].Current.Start.Equal(time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("oncall show --json: %v\n%s", err, out)
	}

	if err := tryRun(n, "jp", runOnCall, "show", "--at", "tomorrow"); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--at") {
		t.Errorf("bad --at: %v", err)
	}
}

func TestCommCheckCommands(t *testing.T) {
	n := startTestnet(t)
	if out := run(t, n, "cn", runCommCheck, "report"); !strings.Contains(out, "no comm checks yet") {
		t.Errorf("report before any check:\n%s", out)
	}
	out := run(t, n, "cn", runCommCheck, "run")
	id, pid := commCheckID.FindString(out), pageID.FindString(out)
	if id == "" || pid == "" || !strings.Contains(out, "sent to jp, kr") {
		t.Fatalf("run printed %q", out)
	}

	out = run(t, n, "cn", runCommCheck, "report")
	for _, p := range []string{"jp", "kr"} {
		if !regexp.MustCompile(`(?m)^` + p + `\s+1\s+0\s+-\s+-$`).MatchString(out) {
			t.Errorf("report lacks %s's summary:\n%s", p, out)
		}
	}
	if !regexp.MustCompile(`(?m)^`+id+`\s+\S+ \S+ CST\s+jp\s+no answer \(\w+\)$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^\s+kr\s+no answer \(\w+\)$`).MatchString(out) {
		t.Errorf("report history before any answer:\n%s", out)
	}

	// jp answers; kr does not.
	poll(t, n, "jp", "the drill reaches jp", func(s string) bool { return strings.Contains(s, pid) }, runPage, "list", "--state", "waiting")
	run(t, n, "jp", runPage, "ack", pid)
	out = poll(t, n, "cn", "jp's answer reaches cn", func(s string) bool { return strings.Contains(s, "answered in") },
		runCommCheck, "report", "--tz", "UTC")
	if !regexp.MustCompile(`(?m)^jp\s+1\s+1\s+(<1s|\d+s)\s+(<1s|\d+s)$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^kr\s+1\s+0\s+-\s+-$`).MatchString(out) {
		t.Errorf("report summary after jp's answer:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^`+id+`\s+\S+ \S+ UTC\s+jp\s+answered in (<1s|\d+s) by Duty admin \(jp\) \(admin\) via api$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^\s+kr\s+no answer \(\w+\)$`).MatchString(out) {
		t.Errorf("report history after jp's answer:\n%s", out)
	}

	out = run(t, n, "cn", runCommCheck, "run", "--to", "kr", "--json")
	var cc store.CommCheck
	if err := json.Unmarshal([]byte(out), &cc); err != nil || !slices.Equal(cc.Teams, []string{"kr"}) {
		t.Errorf("run --to kr --json: %v\n%s", err, out)
	}
	out = run(t, n, "cn", runCommCheck, "report", "--json", "--limit", "1")
	var rep hotline.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Checks) != 1 || rep.Checks[0].ID != cc.ID {
		t.Errorf("report --json --limit 1: %v\n%s", err, out)
	}
}

func TestPageCommandErrors(t *testing.T) {
	n := startTestnet(t)
	var ce *client.Error

	err := tryRun(n, "cn", runPage, "send", "--severity", "high", "--summary", "x")
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "missing --to") {
		t.Errorf("no --to: %v", err)
	}
	err = tryRun(n, "cn", runPage, "send", "--to", "jp")
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "missing --severity, --summary") {
		t.Errorf("no --severity, --summary: %v", err)
	}
	// What the flags cannot tell, the node does, naming the field.
	for _, tc := range []struct {
		args  []string
		field string
		msg   string
	}{
		{[]string{"--to", ",", "--severity", "high", "--summary", "x"}, "to", "422 invalid: to: name at least one team, or all"},
		{[]string{"--to", "zz", "--severity", "high", "--summary", "x"}, "to", `"zz" is not a peer`},
		{[]string{"--to", "jp", "--severity", "high", "--summary", "  "}, "summary", "422 invalid: summary: required"},
		{[]string{"--to", "jp", "--severity", "urgent", "--summary", "x"}, "severity", "must be one of critical, high, medium, low"},
		{[]string{"--to", "jp", "--severity", "high", "--summary", "x", "--incident", "cn-1999-0001"}, "incident_id", "no incident"},
	} {
		err := tryRun(n, "cn", runPage, append([]string{"send"}, tc.args...)...)
		if !errors.As(err, &ce) || ce.Status != http.StatusUnprocessableEntity || ce.Field != tc.field || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("send %q: %v, want 422 on %s with %q", tc.args, err, tc.field, tc.msg)
		}
	}
	if out := run(t, n, "cn", runPage, "list", "--state", "all"); out != "no pages\n" {
		t.Errorf("bad pages were stored:\n%s", out)
	}

	if err := tryRun(n, "cn", runPage, "list", "--state", "bogus"); !errors.As(err, &ce) || ce.Field != "state" {
		t.Errorf("list --state bogus: %v", err)
	}
	if err := tryRun(n, "cn", runPage, "list", "--direction", "sideways"); !errors.As(err, &ce) || ce.Field != "direction" {
		t.Errorf("list --direction sideways: %v", err)
	}
	if err := tryRun(n, "cn", runPage, "show", "cn-1999-p0001"); !errors.As(err, &ce) || ce.Status != http.StatusNotFound {
		t.Errorf("show an unknown page: %v", err)
	}
	if err := tryRun(n, "cn", runCommCheck, "run", "--to", "cn"); !errors.As(err, &ce) || ce.Field != "to" {
		t.Errorf("comm check with ourselves: %v", err)
	}

	id := pageID.FindString(run(t, n, "cn", runPage, "send", "--to", "jp", "--severity", "low", "--summary", "x"))
	if err := tryRun(n, "cn", runPage, "ack", id); !errors.As(err, &ce) || ce.Status != http.StatusConflict {
		t.Errorf("cn acknowledges its own page: %v", err)
	}
	poll(t, n, "jp", "the page reaches jp", func(s string) bool { return strings.Contains(s, id) }, runPage, "list")
	if err := tryRun(n, "jp", runPage, "resolve", id); !errors.As(err, &ce) || ce.Status != http.StatusForbidden {
		t.Errorf("jp resolves cn's page: %v", err)
	}

	for _, tc := range []struct {
		cmd  func(context.Context, []string, io.Writer, io.Writer) error
		args []string
	}{
		{runPage, nil},
		{runPage, []string{"frobnicate"}},
		{runPage, []string{"show"}},
		{runPage, []string{"ack", "a", "b"}},
		{runPage, []string{"list", "--limit", "0"}},
		{runPage, []string{"list", "extra"}},
		{runPage, []string{"send", "--bogus"}},
		{runOnCall, nil},
		{runOnCall, []string{"list"}},
		{runOnCall, []string{"show", "--tz", "Mars/Olympus"}},
		{runCommCheck, nil},
		{runCommCheck, []string{"report", "--limit", "5000"}},
	} {
		var out, errOut bytes.Buffer
		if err := tc.cmd(context.Background(), tc.args, &out, &errOut); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", tc.args, err)
		}
	}
}

// Run dispatches the hotline's commands.
func TestRunHotlineCommands(t *testing.T) {
	n := startTestnet(t)
	nd := n.Node("kr")
	for _, cmd := range [][]string{{"page", "list"}, {"oncall", "show"}, {"commcheck", "report"}} {
		var out, errOut bytes.Buffer
		if err := Run(context.Background(), append(cmd, "--url", nd.URL, "--token", nd.Token), &out, &errOut); err != nil || out.Len() == 0 {
			t.Errorf("%q: %v, printed %q", cmd, err, out.String())
		}
	}
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"help"}, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), "csirtlink page send") || !strings.Contains(out.String(), "csirtlink oncall show") ||
		!strings.Contains(out.String(), "csirtlink commcheck run") {
		t.Errorf("usage lacks the hotline's commands: %v\n%s", err, out.String())
	}
}

func TestFmtSeconds(t *testing.T) {
	for secs, want := range map[float64]string{
		0.3:                "<1s",
		42:                 "42s",
		59.6:               "1m00s",
		185:                "3m05s",
		3729:               "1h02m09s",
		2*86400 + 3*3600:   "2d03h00m",
		-5:                 "-5s",
		86399.9 + 0.000001: "1d00h00m",
	} {
		if got := fmtSeconds(secs); got != want {
			t.Errorf("fmtSeconds(%v) = %q, want %q", secs, got, want)
		}
	}
}

func TestWaiting(t *testing.T) {
	now := time.Now()
	in := store.Page{From: "cn", Deliveries: []store.Delivery{{Team: "jp", State: "notified"}}}
	if !waiting(in, "jp") {
		t.Error("a notified page from cn does not wait at jp")
	}
	if waiting(in, "cn") {
		t.Error("cn's own page waits at cn")
	}
	acked := store.Page{From: "cn", Deliveries: []store.Delivery{{Team: "jp", State: "acknowledged", AcknowledgedAt: &now}}}
	resolved := store.Page{From: "cn", ResolvedAt: &now, Deliveries: []store.Delivery{{Team: "jp", State: "resolved"}}}
	if waiting(acked, "jp") || waiting(resolved, "jp") {
		t.Error("an acknowledged or resolved page waits")
	}
}
