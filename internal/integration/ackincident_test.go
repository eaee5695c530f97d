package integration

import (
	"fmt"
	"testing"
	"time"

	"csirtlink/internal/testnet"
)

// participation is a team's participation status in an incident as a node holds it.
func participation(t *testing.T, nd *testnet.Node, incidentID, team string) string {
	t.Helper()
	in, code := getIncident(t, nd, incidentID)
	if code != 200 {
		return fmt.Sprintf("HTTP %d", code)
	}
	for _, p := range in.Participants {
		if p.Team == team {
			return p.Status
		}
	}
	return "absent"
}

// sendPage sends a critical page about an incident from one team to another, and
// waits until the receiver holds it.
func sendPage(t *testing.T, n *testnet.Net, from, to, incidentID, summary string) string {
	t.Helper()
	out := mustCall(t, n.Node(from), "POST", "/api/v1/pages", map[string]any{"to": []string{to}, "severity": "critical",
		"summary": summary, "incident_id": incidentID}, 201)
	id, _ := out["id"].(string)
	if id == "" {
		t.Fatalf("no page id: %v", out)
	}
	eventually(t, 5*time.Second, "page "+id+" at "+to, func() error {
		if code := call(t, n.Node(to), "GET", "/api/v1/pages/"+id, nil, nil); code != 200 {
			return fmt.Errorf("HTTP %d", code)
		}
		return nil
	})
	return id
}

// TestAckOfAPageAcknowledgesTheIncident: when jp acknowledges cn's page about an
// incident jp was invited to, jp's participation becomes "acknowledged" at jp and, by
// the coordinator's relay, at cn — the coordinator no longer sees jp as merely invited.
// A later page does not move a participation that has gone further (working), and a
// page about an incident jp does not take part in acknowledges only the page.
func TestAckOfAPageAcknowledgesTheIncident(t *testing.T) {
	n := startNet(t, testnetOptions())
	cn, jp, kr := n.Node("cn"), n.Node("jp"), n.Node("kr")
	in := createIncident(t, cn, "AMBER", "jp", "kr")
	waitIncident(t, jp, in.ID)
	waitIncident(t, kr, in.ID)
	if got := participation(t, cn, in.ID, "jp"); got != "invited" {
		t.Fatalf("jp at cn before any page: %q, want invited", got)
	}

	first := sendPage(t, n, "cn", "jp", in.ID, "C2 still answering: take it down now")
	mustCall(t, jp, "POST", "/api/v1/pages/"+first+"/ack", nil, 200)
	if got := participation(t, jp, in.ID, "jp"); got != "acknowledged" {
		t.Errorf("jp's own participation right after acknowledging the page: %q, want acknowledged", got)
	}
	eventually(t, 5*time.Second, "jp acknowledged at the coordinator", func() error {
		if got := participation(t, cn, in.ID, "jp"); got != "acknowledged" {
			return fmt.Errorf("jp at cn: %q", got)
		}
		return nil
	})
	// The participation entry is jp's, in the shared timeline, at every participant.
	eventually(t, 5*time.Second, "the entry at kr", func() error {
		if got := participation(t, kr, in.ID, "jp"); got != "acknowledged" {
			return fmt.Errorf("jp at kr: %q", got)
		}
		return nil
	})
	at, _ := getIncident(t, cn, in.ID)
	var entries int
	for _, e := range at.Timeline {
		if e.Kind == "participation" && e.Team == "jp" {
			entries++
		}
	}
	if entries != 1 {
		t.Errorf("cn's timeline has %d participation entries by jp, want 1", entries)
	}
	// kr was not paged: it is still invited.
	if got := participation(t, cn, in.ID, "kr"); got != "invited" {
		t.Errorf("kr at cn: %q, want invited (kr was not paged)", got)
	}

	// jp goes to work; a second page must not take it back to "acknowledged".
	mustCall(t, jp, "POST", "/api/v1/incidents/"+in.ID+"/participation", map[string]any{"status": "working"}, 201)
	second := sendPage(t, n, "cn", "jp", in.ID, "Second wave from the same C2")
	mustCall(t, jp, "POST", "/api/v1/pages/"+second+"/ack", nil, 200)
	if got := participation(t, jp, in.ID, "jp"); got != "working" {
		t.Errorf("jp's participation after acknowledging a second page: %q, want working", got)
	}

	// A page about an incident jp takes no part in: kr's CLEAR incident with cn only.
	other := createIncident(t, kr, "CLEAR", "cn")
	waitIncident(t, cn, other.ID)
	third := sendPage(t, n, "kr", "jp", other.ID, "Heads-up about a campaign you are not in")
	mustCall(t, jp, "POST", "/api/v1/pages/"+third+"/ack", nil, 200)
	if got := participation(t, kr, other.ID, "jp"); got != "absent" {
		t.Errorf("jp in kr's incident after acknowledging a page about it: %q, want absent", got)
	}
}
