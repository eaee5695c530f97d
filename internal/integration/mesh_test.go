package integration

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"csirtlink/internal/partner"
	"csirtlink/internal/team"
	"csirtlink/internal/testnet"
)

// Twenty nodes in a full mesh: each sends a new constituency (a signed TLP:GREEN
// object) to the nineteen others, and every node ends up with every other's, nothing
// lost. Small enough for CI: 380 envelopes.
func TestMeshOfTwentyExchangesGreen(t *testing.T) {
	if testing.Short() {
		t.Skip("twenty nodes")
	}
	const size = 20
	teams := make([]team.Team, size)
	for i := range teams {
		teams[i] = team.Team{ID: fmt.Sprintf("t%02d", i), Name: fmt.Sprintf("Team %02d", i), Timezone: "UTC",
			Countries: []string{"JP"}, Networks: []string{fmt.Sprintf("10.%d.0.0/16", i)}, HotlineEmail: fmt.Sprintf("hotline@t%02d.csirtlink.test", i)}
	}
	n := startNet(t, testnet.Options{Teams: teams})
	for i, nd := range n.Nodes {
		body := map[string]any{"networks": []string{fmt.Sprintf("10.%d.0.0/16", i), fmt.Sprintf("172.16.%d.0/24", i)}}
		if code := call(t, nd, "PUT", "/api/v1/constituency", body, nil); code != http.StatusOK {
			t.Fatalf("%s sets its constituency: %d", nd.Team, code)
		}
	}
	eventually(t, 60*time.Second, "every node holds every other's new constituency", func() error {
		missing := 0
		for _, nd := range n.Nodes {
			for j := range size {
				owners, err := nd.App.Partners.Lookup(context.Background(), partner.Query{IP: fmt.Sprintf("172.16.%d.1", j)})
				if err != nil {
					return err
				}
				if len(owners) != 1 || owners[0].Team != teams[j].ID {
					missing++
				}
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d answers not there yet", missing, size*size)
		}
		return nil
	})
}
