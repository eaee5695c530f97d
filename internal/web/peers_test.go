package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"csirtlink/internal/auth"
	"csirtlink/internal/incident"
)

// peerRow is the table row of one partner on the peers screen.
func peerRow(t *testing.T, body, peer string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<tr>\s*<th scope="row"[^>]*><strong>[^<]*</strong> <span class="id">` + peer + `</span>.*?</tr>`).FindString(body)
	if m == "" {
		t.Fatalf("no row for %s on the peers screen", peer)
	}
	return m
}

// progressRow is the row of one kind of envelope on one link in the progress table.
func progressRow(t *testing.T, body, peer, kind string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<tr>\s*<th scope="row"[^>]*>[^<]*<span class="id">` + peer + `</span></th>\s*<td[^>]*><code>` +
		regexp.QuoteMeta(kind) + `</code></td>.*?</tr>`).FindString(body)
	if m == "" {
		t.Fatalf("no progress row for %s to %s on the peers screen", kind, peer)
	}
	return m
}

// The peers screen tells a duty officer the truth about each link: a partner that is
// down is "Cannot reach them" with the sending error, even while others are healthy; each
// direction has its own last success; and a duty officer (not an observer) can ask
// for a retry now, which is audited.
func TestPeersScreen(t *testing.T) {
	n := startNet(t)
	ctx := context.Background()
	cn := n.Node("cn")
	if err := n.Stop("kr"); err != nil {
		t.Fatal(err)
	}
	if _, err := cn.App.Incidents.Create(ctx, incident.Actor{Name: "wang.lei"}, incident.NewIncident{Title: "Botnet C2",
		Category: "malicious-code/c2-server", Severity: "high", TLP: "AMBER", Participants: []string{"jp", "kr"}}); err != nil {
		t.Fatal(err)
	}
	duty := newClient(t, cn.URL)
	mustSignIn(t, duty, cn.User, cn.Password)
	var body string
	waitFor(t, func() bool {
		_, body = duty.get("/peers")
		return strings.Contains(peerRow(t, body, "kr"), "Cannot reach them") && strings.Contains(peerRow(t, body, "jp"), "In contact")
	})
	kr, jp := peerRow(t, body, "kr"), peerRow(t, body, "jp")
	if !strings.Contains(kr, "Sending:") || !strings.Contains(kr, `class="err-text"`) {
		t.Errorf("kr's row lacks the sending error:\n%s", kr)
	}
	if strings.Count(jp, "just now") != 2 {
		t.Errorf("jp's row: want a recent send and a recent receive:\n%s", jp)
	}
	for _, want := range []string{"Last sent", "Last received", `action="/peers/kr/retry"`, "Retry now"} {
		if !strings.Contains(body, want) {
			t.Errorf("peers screen lacks %q", want)
		}
	}

	// Progress by kind: the incident waits for kr, with no rate to tell when it
	// arrives; jp has it, and is caught up.
	if row := progressRow(t, body, "kr", "incident.upsert"); !regexp.MustCompile(`(?s)"Queued">1<.*"Acknowledged">0<.*unknown: nothing acknowledged`).MatchString(row) {
		t.Errorf("kr's progress row:\n%s", row)
	}
	if row := progressRow(t, body, "jp", "incident.upsert"); !regexp.MustCompile(`(?s)"Queued">0<.*"Acknowledged">1<.*caught up`).MatchString(row) {
		t.Errorf("jp's progress row:\n%s", row)
	}

	// The same words in Korean.
	duty.post("/language", url.Values{"lang": {"ko"}, "back": {"/peers"}})
	if _, ko := duty.get("/peers"); !strings.Contains(peerRow(t, ko, "kr"), "연결할 수 없음") || !strings.Contains(ko, "마지막 수신") ||
		!strings.Contains(progressRow(t, ko, "jp", "incident.upsert"), "따라잡음") {
		t.Errorf("peers screen in Korean lacks the state, a column or the progress")
	}
	duty.post("/language", url.Values{"lang": {"en"}, "back": {"/peers"}})

	duty.get("/peers")
	resp, _ := duty.post("/peers/kr/retry", url.Values{})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/peers" {
		t.Fatalf("retry: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body := duty.get("/peers"); !strings.Contains(body, "Retrying the link now.") {
		t.Errorf("retry not confirmed")
	}
	duty.get("/peers")
	if resp, _ := duty.post("/peers/xx/retry", url.Values{}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("retry of an unknown peer: %d, want 404", resp.StatusCode)
	}
	recs, err := cn.App.Store.ListAudit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	audited := false
	for _, r := range recs {
		audited = audited || r.Action == "peer.retry" && r.Object == "kr" && r.Actor == cn.User
	}
	if !audited {
		t.Errorf("retry not in the audit log: %+v", recs)
	}

	// A handler works incidents but does not steer links.
	pw := addUser(t, cn, "handler1", auth.Handler)
	h := newClient(t, cn.URL)
	mustSignIn(t, h, "handler1", pw)
	if _, body := h.get("/peers"); strings.Contains(body, "/retry") {
		t.Errorf("retry form shown to a handler")
	}
	if resp, _ := h.post("/peers/kr/retry", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("handler retry: %d, want 403", resp.StatusCode)
	}
}
