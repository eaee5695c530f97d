package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/config"
	"csirtlink/internal/hotline"
	"csirtlink/internal/pgtest"
	"csirtlink/internal/testnet"
)

// onPostgres puts the named teams' nodes on PostgreSQL, each in a schema of its own.
func onPostgres(t *testing.T, teams ...string) map[string]config.Database {
	t.Helper()
	dbs := map[string]config.Database{}
	for _, team := range teams {
		dbs[team] = config.Database{Driver: config.Postgres, DSN: pgtest.DSN(t)}
	}
	return dbs
}

// TestNetworkWithANodeOnPostgres runs the three-node network with jp on PostgreSQL and
// cn and kr on SQLite: an incident reaches jp and jp's comment reaches every partner in
// the coordinator's order; a page from cn escalates at jp through its rota, is
// acknowledged there, and cn holds jp's signed acknowledgement.
func TestNetworkWithANodeOnPostgres(t *testing.T) {
	h := startHotlineNet(t, testnet.Options{Databases: onPostgres(t, "jp")})
	h.setupJP(t)
	cn, jp, kr := h.Node("cn"), h.Node("jp"), h.Node("kr")
	if d := jp.App.Store.Dialect(); d != "postgres" {
		t.Fatalf("jp runs on %s", d)
	}

	in := createIncident(t, cn, "AMBER", "jp", "kr")
	eventually(t, 5*time.Second, "incident at jp", func() error {
		got, code := getIncident(t, jp, in.ID)
		if code != http.StatusOK || len(got.Participants) != 3 {
			return fmt.Errorf("%d %+v", code, got)
		}
		return nil
	})
	var e entryView
	if code := call(t, jp, "POST", "/api/v1/incidents/"+in.ID+"/timeline",
		map[string]any{"kind": "comment", "body": "C2 at 198.51.100.23 taken down — テイクダウン完了", "tlp": "AMBER"}, &e); code != http.StatusCreated {
		t.Fatalf("comment at jp: %d", code)
	}
	for _, nd := range []*testnetNode{cn, jp, kr} {
		eventually(t, 5*time.Second, "jp's comment sequenced at "+nd.Team, func() error {
			got, _ := getIncident(t, nd, in.ID)
			for _, x := range got.Timeline {
				if x.ID == e.ID && x.Position > 0 {
					return nil
				}
			}
			return fmt.Errorf("timeline %+v", got.Timeline)
		})
	}

	var sent pageView
	if code := call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"jp"}, "severity": "critical",
		"summary": "C2 takedown needed now", "details": "Botnet C2 at a JP provider.", "tlp": "AMBER"}, &sent); code != 201 {
		t.Fatalf("send page: %d", code)
	}
	eventually(t, 5*time.Second, "tanaka e-mailed", func() error {
		if n := len(h.mail.to("tanaka@jp.example")); n != 1 {
			return fmt.Errorf("%d mails", n)
		}
		return nil
	})
	h.clock.Advance(15*time.Minute + time.Second)
	eventually(t, 5*time.Second, "kato e-mailed at level 2", func() error {
		if n := len(h.mail.to("kato@jp.example")); n != 1 {
			return fmt.Errorf("%d mails", n)
		}
		return nil
	})
	if code := call(t, as(jp, h.tokens["kato"]), "POST", "/api/v1/pages/"+sent.ID+"/ack", nil, nil); code != 200 {
		t.Fatalf("ack: %d", code)
	}
	if code := call(t, as(jp, h.tokens["kato"]), "POST", "/api/v1/pages/"+sent.ID+"/ack", nil, nil); code != http.StatusConflict {
		t.Fatalf("second ack: %d", code)
	}
	eventually(t, 5*time.Second, "cn sees the acknowledgement", func() error {
		d := getPage(t, cn, sent.ID).Deliveries[0]
		if d.State != "acknowledged" || !strings.Contains(d.AcknowledgedBy, "kato") {
			return fmt.Errorf("%+v", d)
		}
		return nil
	})
	stored, err := cn.App.Store.GetPage(context.Background(), sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	jpKey, _ := cn.App.Fed.Directory().Key("jp")
	if err := hotline.VerifyAcknowledgement(jpKey, sent.ID, stored.Deliveries[0]); err != nil {
		t.Fatalf("jp's acknowledgement statement: %v", err)
	}
	h.clock.Advance(2 * time.Hour)
	time.Sleep(200 * time.Millisecond)
	if n := len(h.mail.to("tanaka@jp.example")) + len(h.mail.to("kato@jp.example")) + len(h.mail.to("sato@jp.example")); n != 2 {
		t.Fatalf("%d mails after the acknowledgement, want still 2", n)
	}
}
