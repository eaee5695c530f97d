package integration

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
)

// A batch is applied in one transaction, which reads an incident once and keeps it
// (sqlstore's txLocal): what one entry of the batch changes, the next ones must see.
// Here a peer that was down receives, in one batch, a status change, an invitation and
// a RED entry addressed to the invited team: with a stale incident the RED entry would
// be refused (its recipient no participant yet) and the status written back as it was.
func TestBatchSeesWhatItsEarlierEntriesChanged(t *testing.T) {
	n := startNet(t, testnetOptions())
	ctx := context.Background()
	cn, jp := n.Node("cn"), n.Node("jp")
	in := createIncident(t, cn, "AMBER", "jp")
	eventually(t, 3*time.Second, "incident at jp", func() error {
		if _, code := getIncident(t, jp, in.ID); code != 200 {
			return fmt.Errorf("%d", code)
		}
		return nil
	})
	if err := n.Stop("jp"); err != nil {
		t.Fatal(err)
	}
	if code := call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/status", map[string]any{"status": "in_progress"}, nil); code != http.StatusCreated {
		t.Fatalf("status: %d", code)
	}
	if code := call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/participants", map[string]any{"team": "kr"}, nil); code != http.StatusCreated {
		t.Fatalf("invite kr: %d", code)
	}
	if code := call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/timeline",
		map[string]any{"kind": "comment", "body": "for jp and kr only", "tlp": "RED", "recipients": []string{"cn", "jp", "kr"}}, nil); code != http.StatusCreated {
		t.Fatalf("RED comment: %d", code)
	}
	if err := n.Restart(ctx, "jp"); err != nil {
		t.Fatal(err)
	}
	jp = n.Node("jp")
	eventually(t, 10*time.Second, "jp holds the three entries", func() error {
		got, _ := getIncident(t, jp, in.ID)
		if len(got.Timeline) != 3 {
			return fmt.Errorf("jp has %v", timelineBodies(got))
		}
		return nil
	})
	got, _ := getIncident(t, jp, in.ID)
	var kinds []string
	for _, e := range got.Timeline {
		kinds = append(kinds, e.Kind)
	}
	if want := []string{"status", "invitation", "comment"}; !slices.Equal(kinds, want) {
		t.Fatalf("jp's timeline kinds %v, want %v", kinds, want)
	}
	if got.Status != "in_progress" {
		t.Fatalf("jp's incident is %q, want in_progress", got.Status)
	}
	var teams []string
	for _, p := range got.Participants {
		teams = append(teams, p.Team)
	}
	if !slices.Contains(teams, "kr") {
		t.Fatalf("jp's participants %v lack kr", teams)
	}
}
