package integration

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"csirtlink/internal/auth"
)

func waitIncident(t *testing.T, nd *testnetNode, id string) {
	t.Helper()
	eventually(t, 2*time.Second, "incident "+id+" at "+nd.Team, func() error {
		if _, code := getIncident(t, nd, id); code != 200 {
			return fmt.Errorf("%d", code)
		}
		return nil
	})
}

func TestOneWriterPerField(t *testing.T) {
	n := startNet(t, testnetOptions())
	cn, jp, kr := n.Node("cn"), n.Node("jp"), n.Node("kr")
	in := createIncident(t, cn, "AMBER", "jp", "kr")
	waitIncident(t, jp, in.ID)
	waitIncident(t, kr, in.ID)

	var e apiError
	if code := call(t, jp, "POST", "/api/v1/incidents/"+in.ID+"/status", map[string]any{"status": "closed"}, &e); code != http.StatusForbidden {
		t.Fatalf("participant changed the incident status: %d %+v", code, e)
	}
	if code := call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/status", map[string]any{"status": "mitigated", "note": "C2 down"}, nil); code != 201 {
		t.Fatalf("coordinator status: %d", code)
	}
	if code := call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/status", map[string]any{"status": "mitigated"}, &e); code != http.StatusConflict {
		t.Fatalf("same status twice: %d", code)
	}
	if code := call(t, jp, "POST", "/api/v1/incidents/"+in.ID+"/participation", map[string]any{"status": "working"}, nil); code != 201 {
		t.Fatalf("jp participation: %d", code)
	}
	eventually(t, 3*time.Second, "every node agrees on status and on jp's participation", func() error {
		for _, nd := range []*testnetNode{cn, jp, kr} {
			got, _ := getIncident(t, nd, in.ID)
			if got.Status != "mitigated" {
				return fmt.Errorf("%s: status %s", nd.Team, got.Status)
			}
			for _, p := range got.Participants {
				want := map[string]string{"cn": "acknowledged", "jp": "working", "kr": "invited"}[p.Team]
				if p.Status != want {
					return fmt.Errorf("%s sees %s as %s, want %s", nd.Team, p.Team, p.Status, want)
				}
			}
		}
		return nil
	})
	// Closed incidents can be reopened; a closed one cannot be mitigated.
	call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/status", map[string]any{"status": "closed"}, nil)
	if code := call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/status", map[string]any{"status": "mitigated"}, nil); code != http.StatusConflict {
		t.Fatalf("closed → mitigated: %d", code)
	}
	if code := call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/status", map[string]any{"status": "open", "note": "reinfections"}, nil); code != 201 {
		t.Fatalf("reopen: %d", code)
	}
}

func TestRedIncidentStaysWithItsParticipants(t *testing.T) {
	n := startNet(t, testnetOptions())
	cn, jp, kr := n.Node("cn"), n.Node("jp"), n.Node("kr")
	in := createIncident(t, cn, "RED", "jp")
	waitIncident(t, jp, in.ID)
	if code := call(t, jp, "POST", "/api/v1/incidents/"+in.ID+"/participation", map[string]any{"status": "acknowledged"}, nil); code != 201 {
		t.Fatalf("participation on a RED incident: %d", code)
	}
	if code := call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/status", map[string]any{"status": "in_progress"}, nil); code != 201 {
		t.Fatalf("status on a RED incident: %d", code)
	}
	if code := call(t, jp, "POST", "/api/v1/incidents/"+in.ID+"/timeline", map[string]any{"kind": "comment", "body": "seen"}, nil); code != 201 {
		t.Fatalf("comment inheriting RED: %d", code)
	}
	eventually(t, 3*time.Second, "RED timeline at jp", func() error {
		got, _ := getIncident(t, jp, in.ID)
		if len(got.Timeline) != 3 || got.Timeline[2].Position != 3 {
			return fmt.Errorf("%+v", got.Timeline)
		}
		return nil
	})
	if _, code := getIncident(t, kr, in.ID); code != http.StatusNotFound {
		t.Fatalf("kr holds the RED incident: %d", code)
	}
}

func TestObserverCannotWrite(t *testing.T) {
	n := startNet(t, testnetOptions())
	cn := n.Node("cn")
	ctx := context.Background()
	if _, err := cn.App.Auth.CreateUser(ctx, "watcher", "", "", auth.Observer); err != nil {
		t.Fatal(err)
	}
	tok, _, err := cn.App.Auth.IssueToken(ctx, "watcher", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	obs := *cn
	obs.Token = tok
	var list struct{ Incidents []any }
	if code := call(t, &obs, "GET", "/api/v1/incidents", nil, &list); code != 200 {
		t.Fatalf("observer read: %d", code)
	}
	var e apiError
	if code := call(t, &obs, "POST", "/api/v1/incidents", map[string]any{"title": "x"}, &e); code != http.StatusForbidden {
		t.Fatalf("observer wrote: %d", code)
	}
	if code := call(t, &obs, "GET", "/api/v1/audit", nil, &e); code != http.StatusForbidden {
		t.Fatalf("observer read the audit log: %d", code)
	}
}

func TestAuditChainRecordsWhoDidWhat(t *testing.T) {
	n := startNet(t, testnetOptions())
	cn, jp := n.Node("cn"), n.Node("jp")
	in := createIncident(t, cn, "AMBER", "jp")
	waitIncident(t, jp, in.ID)
	call(t, jp, "POST", "/api/v1/incidents/"+in.ID+"/timeline", map[string]any{"kind": "comment", "body": "hello"}, nil)
	var out struct {
		Audit []struct {
			Seq                   int64
			Actor, Action, Object string
			PrevHash              string `json:"prev_hash"`
			Hash                  string
		}
	}
	eventually(t, 2*time.Second, "cn's audit shows jp's entry", func() error {
		out.Audit = nil
		call(t, cn, "GET", "/api/v1/audit", nil, &out)
		for _, r := range out.Audit {
			if r.Actor == "peer:jp" && r.Action == "entry.comment" && r.Object == in.ID {
				return nil
			}
		}
		return fmt.Errorf("%+v", out.Audit)
	})
	if out.Audit[0].Actor != "admin" || out.Audit[0].Action != "incident.create" {
		t.Fatalf("first record: %+v", out.Audit[0])
	}
	for i := 1; i < len(out.Audit); i++ {
		if out.Audit[i].PrevHash != out.Audit[i-1].Hash {
			t.Fatalf("chain broken at %d", out.Audit[i].Seq)
		}
	}
}
