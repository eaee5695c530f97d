package web_test

import (
	"context"
	"net"
	"net/http"
	"testing"

	"csirtlink/internal/app"
	"csirtlink/internal/config"
	"csirtlink/internal/incident"
	"csirtlink/internal/pgtest"
	"csirtlink/internal/testnet"
)

// TestLiveUpdatesAndSessionsAcrossReplicas runs cn as two replicas on one PostgreSQL
// database: a browser signed in through one replica is signed in on the other (the
// session is in the database), and a console streaming from the second replica hears of
// an incident created through the first.
func TestLiveUpdatesAndSessionsAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	n, err := testnet.Start(ctx, testnet.Options{Dir: t.TempDir(), Federation: fastFed, Teams: testnet.Default[:1],
		Databases: map[string]config.Database{"cn": {Driver: config.Postgres, DSN: pgtest.DSN(t)}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	cn := n.Node("cn")
	cfg, err := config.Load(cn.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	second, err := app.Open(ctx, cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	second.Serve(ln)
	t.Cleanup(func() { second.Close() })
	secondURL := "http://" + ln.Addr().String()

	// Signed in through the first replica; the cookie works on the second.
	c := newClient(t, cn.URL)
	mustSignIn(t, c, cn.User, cn.Password)
	c2 := *c
	c2.base = secondURL
	if resp, _ := c2.get("/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the first replica's session on the second: %d", resp.StatusCode)
	}

	s := openStream(t, &c2, "second replica")
	<-second.Store.Changes().Listening()
	in, err := cn.App.Incidents.Create(ctx, incident.Actor{Name: "wang.lei"}, incident.NewIncident{Title: "Seen on every replica",
		Category: "availability/ddos", Severity: "low", TLP: "GREEN"})
	if err != nil {
		t.Fatal(err)
	}
	if !s.until(t, "data: "+in.ID) {
		t.Fatal("the stream on the second replica ended without the incident made through the first")
	}
}
