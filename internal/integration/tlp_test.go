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
