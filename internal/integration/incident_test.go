// Package integration tests federated nodes end to end: real SQLite files, real HTTP on loopback.
package integration

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestIncidentReachesParticipantsWithSameID(t *testing.T) {
	n := startNet(t, testnetOptions())
	cn, jp, kr := n.Node("cn"), n.Node("jp"), n.Node("kr")
	start := time.Now()
	in := createIncident(t, cn, "AMBER", "jp", "kr")
	for _, nd := range []*testnetNode{jp, kr} {
		eventually(t, time.Second, "incident at "+nd.Team, func() error {
			got, code := getIncident(t, nd, in.ID)
			if code != http.StatusOK {
				return fmt.Errorf("status %d", code)
			}
			if got.ID != in.ID || got.Coordinator != "cn" || len(got.Participants) != 3 {
				return fmt.Errorf("got %+v", got)
			}
			return nil
		})
	}
	t.Logf("incident visible at both peers after %s", time.Since(start))
}

func TestConcurrentCommentsConvergeToOneOrder(t *testing.T) {
	n := startNet(t, testnetOptions())
	cn := n.Node("cn")
	in := createIncident(t, cn, "GREEN", "jp", "kr")
	nodes := []*testnetNode{n.Node("cn"), n.Node("jp"), n.Node("kr")}
	for _, nd := range nodes[1:] {
		eventually(t, 2*time.Second, "incident at "+nd.Team, func() error {
			if _, code := getIncident(t, nd, in.ID); code != 200 {
				return fmt.Errorf("status %d", code)
			}
			return nil
		})
	}
	const per = 15
	var wg sync.WaitGroup
	for _, nd := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				var e entryView
				code := call(t, nd, "POST", "/api/v1/incidents/"+in.ID+"/timeline",
					map[string]any{"kind": "comment", "body": fmt.Sprintf("%s says %d", nd.Team, i), "tlp": "GREEN"}, &e)
				if code != http.StatusCreated {
					t.Errorf("comment at %s: %d", nd.Team, code)
				}
			}
		}()
	}
	wg.Wait()
	var want []string
	eventually(t, 5*time.Second, "same timeline everywhere", func() error {
		var orders [][]string
		for _, nd := range nodes {
			got, _ := getIncident(t, nd, in.ID)
			if len(got.Timeline) != 3*per {
				return fmt.Errorf("%s has %d entries", nd.Team, len(got.Timeline))
			}
			for _, e := range got.Timeline {
				if e.Position == 0 {
					return fmt.Errorf("%s: entry %s not yet sequenced", nd.Team, e.ID)
				}
			}
			orders = append(orders, timelineBodies(got))
		}
		for i := 1; i < len(orders); i++ {
			if !slices.Equal(orders[0], orders[i]) {
				return fmt.Errorf("%s and %s differ", nodes[0].Team, nodes[i].Team)
			}
		}
		want = orders[0]
		return nil
	})
	for i, b := range want {
		if !slices.Contains([]byte(b), ':') || b[:len(fmt.Sprint(i+1))] != fmt.Sprint(i+1) {
			t.Fatalf("positions not contiguous: %v", want)
		}
	}
}
