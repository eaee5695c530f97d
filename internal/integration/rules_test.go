package integration

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/envelope"
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

// RED goes to the teams its author names and to no one else (issue 7, item 18). An
// incident reaches only its participants anyway, so this looks inside one: RED entries
// naming some participants and not kr, and a RED page to jp alone. kr takes part and
// holds the incident, yet holds none of them, and no envelope queued for kr carries
// them. (Breaking tlp.MayShare's RED case to allow everyone turns this red.)
func TestRedStaysWithTheTeamsItNames(t *testing.T) {
	n := startNet(t, testnetOptions())
	ctx := context.Background()
	cn, jp, kr := n.Node("cn"), n.Node("jp"), n.Node("kr")
	in := createIncident(t, cn, "RED", "jp", "kr")
	waitIncident(t, jp, in.ID)
	waitIncident(t, kr, in.ID)
	if code := call(t, jp, "POST", "/api/v1/incidents/"+in.ID+"/participation", map[string]any{"status": "acknowledged"}, nil); code != 201 {
		t.Fatalf("participation on a RED incident: %d", code)
	}
	if code := call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/status", map[string]any{"status": "in_progress"}, nil); code != 201 {
		t.Fatalf("status on a RED incident: %d", code)
	}
	var forJP, forCN, everyone entryView
	if code := call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/timeline", map[string]any{
		"kind": "comment", "body": "red from cn to jp alone", "tlp": "RED", "recipients": []string{"jp"}}, &forJP); code != 201 {
		t.Fatalf("RED comment by cn: %d", code)
	}
	if code := call(t, jp, "POST", "/api/v1/incidents/"+in.ID+"/timeline", map[string]any{
		"kind": "comment", "body": "red from jp to cn alone", "tlp": "RED", "recipients": []string{"cn"}}, &forCN); code != 201 {
		t.Fatalf("RED comment by jp: %d", code)
	}
	var page pageView
	if code := call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"jp"}, "severity": "high",
		"summary": "red page for jp alone", "incident_id": in.ID, "tlp": "RED"}, &page); code != 201 {
		t.Fatalf("RED page: %d", code)
	}
	// An entry that inherits the incident's RED names every participant. Links are
	// ordered: once kr has it, kr has everything cn queued for it before.
	if code := call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/timeline", map[string]any{"kind": "comment", "body": "red for all of us"}, &everyone); code != 201 {
		t.Fatalf("comment inheriting RED: %d", code)
	}
	eventually(t, 3*time.Second, "the entry for all at kr", func() error {
		if _, err := kr.App.Store.GetEntry(ctx, everyone.ID); err != nil {
			return err
		}
		return nil
	})
	eventually(t, 3*time.Second, "the named teams hold what names them", func() error {
		for _, c := range []struct {
			nd *testnetNode
			id string
		}{{jp, forJP.ID}, {cn, forCN.ID}, {jp, forCN.ID}} {
			if e, err := c.nd.App.Store.GetEntry(ctx, c.id); err != nil || e.Position == 0 {
				return fmt.Errorf("%s: %s %v", c.nd.Team, c.id, err)
			}
		}
		if p, err := jp.App.Store.GetPage(ctx, page.ID); err != nil || p.TLP != "RED" {
			return fmt.Errorf("jp's page: %+v %v", p, err)
		}
		return nil
	})

	for _, id := range []string{forJP.ID, forCN.ID} {
		if _, err := kr.App.Store.GetEntry(ctx, id); err == nil {
			t.Errorf("kr holds RED entry %s that does not name it", id)
		}
	}
	if _, err := kr.App.Store.GetPage(ctx, page.ID); err == nil {
		t.Error("kr holds the RED page for jp")
	}
	got, _ := getIncident(t, kr, in.ID)
	if len(got.Timeline) != 3 {
		// participation, status, the entry for all: the two RED entries are gaps.
		t.Errorf("kr's timeline: %v", timelineBodies(got))
	}
	// No envelope for kr carries them, whoever queued it and whether or not kr took it.
	found := false
	for _, from := range []*testnetNode{cn, jp} {
		sent, err := from.App.Store.Sent(ctx, "kr")
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range sent {
			env, err := envelope.Unmarshal(it.Envelope)
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{forJP.ID, forCN.ID, "jp alone", "cn alone", page.ID} {
				if bytes.Contains(env.Payload, []byte(secret)) || it.ObjectID == secret {
					t.Errorf("%s queued %s seq %d for kr carrying %q", from.Team, it.Type, it.Seq, secret)
				}
			}
			found = found || bytes.Contains(env.Payload, []byte(everyone.ID))
		}
	}
	if !found {
		t.Fatal("the search of kr's envelopes is blind: the entry for all is not found either")
	}

	// And a RED incident itself reaches no team outside it.
	other := createIncident(t, cn, "RED", "jp")
	waitIncident(t, jp, other.ID)
	if _, code := getIncident(t, kr, other.ID); code != http.StatusNotFound {
		t.Fatalf("kr holds a RED incident it is not in: %d", code)
	}
	sent, _ := cn.App.Store.Sent(ctx, "kr")
	for _, it := range sent {
		if it.ObjectID == other.ID {
			t.Fatalf("cn queued %s about %s for kr", it.Type, other.ID)
		}
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
