package integration

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"csirtlink/internal/envelope"
)

// An AMBER+STRICT entry naming jp must never reach kr: not in kr's database, and not in
// any envelope queued for kr, whether written by the coordinator or relayed by it.
func TestAmberStrictNeverReachesUnnamedTeam(t *testing.T) {
	n := startNet(t, testnetOptions())
	cn, jp, kr := n.Node("cn"), n.Node("jp"), n.Node("kr")
	in := createIncident(t, cn, "AMBER", "jp", "kr")
	eventually(t, 2*time.Second, "incident at jp", func() error {
		if _, code := getIncident(t, jp, in.ID); code != 200 {
			return fmt.Errorf("%d", code)
		}
		return nil
	})

	var secret, relayed, open entryView
	if code := call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/timeline", map[string]any{
		"kind": "comment", "body": "sinkhole contact, for jp only", "tlp": "AMBER+STRICT", "recipients": []string{"jp"}}, &secret); code != 201 {
		t.Fatalf("strict comment: %d", code)
	}
	if code := call(t, jp, "POST", "/api/v1/incidents/"+in.ID+"/timeline", map[string]any{
		"kind": "comment", "body": "jp to cn only", "tlp": "RED", "recipients": []string{"cn"}}, &relayed); code != 201 {
		t.Fatalf("red comment at jp: %d", code)
	}
	if code := call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/timeline", map[string]any{
		"kind": "comment", "body": "for everyone", "tlp": "AMBER"}, &open); code != 201 {
		t.Fatalf("amber comment: %d", code)
	}
	// The AMBER entry is written last and links are ordered, so once kr has it, kr has
	// everything cn ever queued for it.
	eventually(t, 3*time.Second, "amber entry at kr", func() error {
		got, _ := getIncident(t, kr, in.ID)
		for _, e := range got.Timeline {
			if e.ID == open.ID {
				return nil
			}
		}
		return fmt.Errorf("not yet")
	})
	eventually(t, 3*time.Second, "both restricted entries at jp and cn", func() error {
		for _, nd := range []*testnetNode{cn, jp} {
			got, _ := getIncident(t, nd, in.ID)
			seen := 0
			for _, e := range got.Timeline {
				if (e.ID == secret.ID || e.ID == relayed.ID) && e.Position > 0 {
					seen++
				}
			}
			if seen != 2 {
				return fmt.Errorf("%s sees %d of 2", nd.Team, seen)
			}
		}
		return nil
	})

	ctx := context.Background()
	for _, id := range []string{secret.ID, relayed.ID} {
		if _, err := kr.App.Store.GetEntry(ctx, id); err == nil {
			t.Errorf("kr's store holds restricted entry %s", id)
		}
	}
	got, _ := getIncident(t, kr, in.ID)
	for _, e := range got.Timeline {
		if e.ID == secret.ID || e.ID == relayed.ID {
			t.Errorf("kr's API shows restricted entry %s", e.ID)
		}
	}
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
			for _, secretBody := range []string{"sinkhole contact", "jp to cn only", secret.ID, relayed.ID} {
				if bytes.Contains(env.Payload, []byte(secretBody)) {
					t.Errorf("%s queued envelope %d for kr containing %q", from.Team, it.Seq, secretBody)
				}
			}
		}
	}
	// Positive control: the same search finds the AMBER entry in cn's envelopes for kr.
	sent, _ := cn.App.Store.Sent(ctx, "kr")
	found := false
	for _, it := range sent {
		env, _ := envelope.Unmarshal(it.Envelope)
		found = found || bytes.Contains(env.Payload, []byte(open.ID))
	}
	if !found {
		t.Fatal("search of kr's envelopes is blind: the AMBER entry is not found either")
	}
}

// A participant's restricted entry must name the coordinator, which orders the timeline.
func TestRestrictedEntryMustIncludeCoordinator(t *testing.T) {
	n := startNet(t, testnetOptions())
	cn, jp := n.Node("cn"), n.Node("jp")
	in := createIncident(t, cn, "AMBER", "jp", "kr")
	eventually(t, 2*time.Second, "incident at jp", func() error {
		if _, code := getIncident(t, jp, in.ID); code != 200 {
			return fmt.Errorf("%d", code)
		}
		return nil
	})
	var e apiError
	code := call(t, jp, "POST", "/api/v1/incidents/"+in.ID+"/timeline", map[string]any{
		"kind": "comment", "body": "jp to kr only", "tlp": "RED", "recipients": []string{"kr"}}, &e)
	if code != http.StatusUnprocessableEntity || e.Error.Field != "recipients" {
		t.Fatalf("got %d %+v", code, e)
	}
}

// A team invited later gets the incident and the history it may see: shared entries,
// not the AMBER+STRICT and RED entries written before it joined.
func TestLateParticipantGetsOnlyWhatItMaySee(t *testing.T) {
	n := startNet(t, testnetOptions())
	cn, jp, kr := n.Node("cn"), n.Node("jp"), n.Node("kr")
	in := createIncident(t, cn, "AMBER", "jp")
	waitIncident(t, jp, in.ID)
	var shared, strict, red entryView
	call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/timeline", map[string]any{"kind": "comment", "body": "shared history", "tlp": "AMBER"}, &shared)
	call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/timeline", map[string]any{"kind": "comment", "body": "strict history", "tlp": "AMBER+STRICT"}, &strict)
	call(t, jp, "POST", "/api/v1/incidents/"+in.ID+"/timeline", map[string]any{"kind": "comment", "body": "red history", "tlp": "RED", "recipients": []string{"cn"}}, &red)
	eventually(t, 3*time.Second, "history sequenced", func() error {
		got, _ := getIncident(t, cn, in.ID)
		if len(got.Timeline) != 3 {
			return fmt.Errorf("%d entries", len(got.Timeline))
		}
		return nil
	})
	var e apiError
	if code := call(t, jp, "POST", "/api/v1/incidents/"+in.ID+"/participants", map[string]any{"team": "kr"}, &e); code != http.StatusForbidden {
		t.Fatalf("a participant invited a team: %d", code)
	}
	if code := call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/participants", map[string]any{"team": "kr"}, nil); code != http.StatusCreated {
		t.Fatalf("invite kr: %d", code)
	}
	if code := call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/participants", map[string]any{"team": "kr"}, &e); code != http.StatusConflict {
		t.Fatalf("invite kr twice: %d", code)
	}
	eventually(t, 3*time.Second, "kr has the incident, the shared entry and the invitation", func() error {
		got, code := getIncident(t, kr, in.ID)
		if code != 200 || len(got.Timeline) != 2 || got.Timeline[0].ID != shared.ID || got.Timeline[1].Kind != "invitation" {
			return fmt.Errorf("%d %+v", code, got.Timeline)
		}
		return nil
	})
	eventually(t, 3*time.Second, "jp sees kr as a participant", func() error {
		got, _ := getIncident(t, jp, in.ID)
		for _, p := range got.Participants {
			if p.Team == "kr" && p.Status == "invited" {
				return nil
			}
		}
		return fmt.Errorf("%+v", got.Participants)
	})
	for _, id := range []string{strict.ID, red.ID} {
		if _, err := kr.App.Store.GetEntry(context.Background(), id); err == nil {
			t.Errorf("kr got restricted history %s", id)
		}
	}
	if code := call(t, kr, "POST", "/api/v1/incidents/"+in.ID+"/timeline", map[string]any{"kind": "comment", "body": "kr joins"}, nil); code != 201 {
		t.Fatalf("kr comment: %d", code)
	}
	eventually(t, 3*time.Second, "kr's comment reaches jp", func() error {
		got, _ := getIncident(t, jp, in.ID)
		last := got.Timeline[len(got.Timeline)-1]
		if last.Body != "kr joins" || last.Position != 5 {
			return fmt.Errorf("%+v", last)
		}
		return nil
	})
}
