package integration

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// A peer stopped while entries are written receives all of them after it restarts,
// none twice, and the link shows the backlog while it is down.
func TestStoppedPeerCatchesUp(t *testing.T) {
	n := startNet(t, testnetOptions())
	ctx := context.Background()
	cn, kr := n.Node("cn"), n.Node("kr")
	in := createIncident(t, cn, "AMBER", "jp", "kr")
	eventually(t, 2*time.Second, "incident at kr", func() error {
		if _, code := getIncident(t, kr, in.ID); code != 200 {
			return fmt.Errorf("%d", code)
		}
		return nil
	})
	if err := n.Stop("kr"); err != nil {
		t.Fatal(err)
	}
	const count = 40
	for i := range count {
		if code := call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/timeline",
			map[string]any{"kind": "comment", "body": fmt.Sprintf("update %d", i)}, nil); code != http.StatusCreated {
			t.Fatalf("comment %d: %d", i, code)
		}
	}
	// jp is unaffected by kr being down.
	eventually(t, 3*time.Second, "jp has every entry while kr is down", func() error {
		got, _ := getIncident(t, n.Node("jp"), in.ID)
		if len(got.Timeline) != count {
			return fmt.Errorf("jp has %d", len(got.Timeline))
		}
		return nil
	})
	var peers struct {
		Peers []struct {
			Peer      string `json:"peer"`
			Queued    int    `json:"queued"`
			LastError string `json:"last_error"`
		} `json:"peers"`
	}
	eventually(t, 3*time.Second, "cn's link to kr shows the backlog and the error", func() error {
		call(t, cn, "GET", "/api/v1/peers", nil, &peers)
		for _, p := range peers.Peers {
			if p.Peer == "kr" {
				if p.Queued != count || p.LastError == "" {
					return fmt.Errorf("kr link: %+v", p)
				}
				return nil
			}
		}
		return fmt.Errorf("no kr link in %+v", peers)
	})

	if err := n.Restart(ctx, "kr"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "kr catches up", func() error {
		got, _ := getIncident(t, kr, in.ID)
		if len(got.Timeline) != count {
			return fmt.Errorf("kr has %d of %d", len(got.Timeline), count)
		}
		return nil
	})
	got, _ := getIncident(t, kr, in.ID)
	seen := map[string]bool{}
	for i, e := range got.Timeline {
		if seen[e.ID] {
			t.Fatalf("entry %s twice", e.ID)
		}
		seen[e.ID] = true
		if want := fmt.Sprintf("update %d", i); e.Body != want || e.Position != int64(i+1) {
			t.Fatalf("entry %d: %d %q, want %q", i, e.Position, e.Body, want)
		}
	}
	applied, err := kr.App.Store.CountInbox(ctx, "cn")
	if err != nil {
		t.Fatal(err)
	}
	sent, _ := cn.App.Store.Sent(ctx, "kr")
	if applied != len(sent) {
		t.Fatalf("kr applied %d envelopes, cn sent %d", applied, len(sent))
	}
	eventually(t, 3*time.Second, "backlog drained", func() error {
		peers.Peers = nil
		call(t, cn, "GET", "/api/v1/peers", nil, &peers)
		for _, p := range peers.Peers {
			if p.Peer == "kr" && (p.Queued != 0 || p.LastError != "") {
				return fmt.Errorf("kr link: %+v", p)
			}
		}
		return nil
	})
}

// A node that accepts no inbound connections pulls what its peers hold for it and
// pushes its own entries out.
func TestPullModeNode(t *testing.T) {
	opts := testnetOptions()
	opts.PullOnly = []string{"kr"}
	n := startNet(t, opts)
	cn, kr := n.Node("cn"), n.Node("kr")
	in := createIncident(t, cn, "AMBER", "kr")
	eventually(t, 3*time.Second, "incident pulled by kr", func() error {
		if _, code := getIncident(t, kr, in.ID); code != 200 {
			return fmt.Errorf("%d", code)
		}
		return nil
	})
	if code := call(t, kr, "POST", "/api/v1/incidents/"+in.ID+"/timeline", map[string]any{"kind": "comment", "body": "from behind the firewall"}, nil); code != 201 {
		t.Fatalf("comment at kr: %d", code)
	}
	eventually(t, 3*time.Second, "kr's entry sequenced and pulled back", func() error {
		for _, nd := range []*testnetNode{cn, kr} {
			got, _ := getIncident(t, nd, in.ID)
			if len(got.Timeline) != 1 || got.Timeline[0].Position != 1 {
				return fmt.Errorf("%s: %+v", nd.Team, got.Timeline)
			}
		}
		return nil
	})
	// The puller posts its receipts after it applies a batch.
	eventually(t, 3*time.Second, "cn holds kr's receipt for everything it queued", func() error {
		sent, _ := cn.App.Store.Sent(context.Background(), "kr")
		for _, it := range sent {
			if it.DeliveredAt == nil || len(it.Receipt) == 0 {
				return fmt.Errorf("envelope %d for kr has no receipt", it.Seq)
			}
		}
		return nil
	})
}
