package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/client"
	"csirtlink/internal/config"
	"csirtlink/internal/incident"
	"csirtlink/internal/store"
	"csirtlink/internal/testnet"
)

func startNet(t *testing.T) *testnet.Net {
	t.Helper()
	n, err := testnet.Start(context.Background(), testnet.Options{Dir: t.TempDir(), Federation: config.Federation{
		RetryMin: config.Duration(20 * time.Millisecond), RetryMax: config.Duration(200 * time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func clientFor(n *testnet.Net, team string) *client.Client {
	nd := n.Node(team)
	return client.New(nd.URL, nd.Token)
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	n := startNet(t)
	cn, jp := clientFor(n, "cn"), clientFor(n, "jp")

	in, err := cn.CreateIncident(ctx, incident.NewIncident{Title: "Phishing kit on ministry lookalikes", Category: "fraud/phishing",
		Severity: "high", TLP: "amber", Participants: []string{"jp"}})
	if err != nil {
		t.Fatal(err)
	}
	if in.ID == "" || in.Coordinator != "cn" || in.TLP != "AMBER" || len(in.Participants) != 2 {
		t.Fatalf("created %+v", in)
	}

	var got store.Incident
	deadline := time.Now().Add(2 * time.Second)
	for {
		got, err = jp.GetIncident(ctx, in.ID)
		if err == nil {
			break
		}
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != http.StatusNotFound || time.Now().After(deadline) {
			t.Fatalf("incident %s never reached jp: %v", in.ID, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got.Title != in.Title || got.Coordinator != "cn" {
		t.Errorf("jp holds %+v", got)
	}

	list, err := jp.ListIncidents(ctx, store.IncidentFilter{Severity: "high", Team: "jp", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(list, func(x store.Incident) bool { return x.ID == in.ID }) {
		t.Errorf("jp's list %+v lacks %s", list, in.ID)
	}
	if list, err := jp.ListIncidents(ctx, store.IncidentFilter{Severity: "low"}); err != nil || len(list) != 0 {
		t.Errorf("severity filter not sent: %d incidents, %v", len(list), err)
	}

	e, err := jp.SetParticipation(ctx, in.ID, incident.Working)
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != incident.KindParticipation || e.Team != "jp" {
		t.Errorf("participation entry %+v", e)
	}
	e, err = cn.AddEntry(ctx, in.ID, incident.NewEntry{Kind: incident.KindObservable, Body: "198.51.100.7"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != incident.KindObservable || e.Position < 1 || e.TLP != "AMBER" {
		t.Errorf("observable entry %+v", e)
	}
	if e, err = cn.SetStatus(ctx, in.ID, incident.Mitigated, "kit taken down"); err != nil || e.Body != "kit taken down" {
		t.Fatalf("status: %+v, %v", e, err)
	}
	got, err = cn.GetIncident(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != incident.Mitigated || len(got.Timeline) < 2 {
		t.Errorf("after status: %s with %d entries", got.Status, len(got.Timeline))
	}
}

func TestNodeInfo(t *testing.T) {
	ctx := context.Background()
	n := startNet(t)
	kr := clientFor(n, "kr")

	me, err := kr.WhoAmI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if me.User != "admin" || me.Team != "kr" || me.Role == "" {
		t.Errorf("whoami %+v", me)
	}
	teams, err := kr.Teams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if teams.Self.ID != "kr" || teams.Self.Timezone != "Asia/Seoul" || len(teams.Peers) != 2 {
		t.Errorf("teams %+v", teams)
	}
	peers, err := kr.Peers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range peers {
		ids = append(ids, p.Peer)
	}
	if !slices.Equal(ids, []string{"cn", "jp"}) {
		t.Errorf("peers %v", ids)
	}
}

func TestAPIErrors(t *testing.T) {
	ctx := context.Background()
	n := startNet(t)
	cn := clientFor(n, "cn")

	_, err := cn.CreateIncident(ctx, incident.NewIncident{Title: "  ", Category: "fraud/phishing", Severity: "high", TLP: "AMBER"})
	var ce *client.Error
	if !errors.As(err, &ce) {
		t.Fatalf("empty title: got %v (%T), want *client.Error", err, err)
	}
	if ce.Status != http.StatusUnprocessableEntity || ce.Code != "invalid" || ce.Field != "title" {
		t.Errorf("empty title: %+v", ce)
	}
	if got, want := ce.Error(), "422 invalid: title: required"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}

	_, err = cn.GetIncident(ctx, "cn-1999-0001")
	if !errors.As(err, &ce) || ce.Status != http.StatusNotFound || ce.Code != "not_found" {
		t.Errorf("unknown incident: %v", err)
	}

	_, err = client.New(n.Node("cn").URL, "not-a-token").WhoAmI(ctx)
	if !errors.As(err, &ce) || ce.Status != http.StatusUnauthorized {
		t.Errorf("bad token: %v", err)
	}

	if _, err := cn.GetIncident(ctx, ""); err == nil || errors.As(err, &ce) {
		t.Errorf("empty id: %v, want a local error", err)
	}
}

func TestErrorString(t *testing.T) {
	for _, tc := range []struct {
		e    client.Error
		want string
	}{
		{client.Error{Status: 422, Code: "invalid", Field: "title", Message: "required"}, "422 invalid: title: required"},
		{client.Error{Status: 404, Code: "not_found", Message: `incident "x" not found`}, `404 not_found: incident "x" not found`},
		{client.Error{Status: 502, Message: "Bad Gateway"}, "502: Bad Gateway"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.e, got, tc.want)
		}
	}
}

func TestNonAPIAnswers(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/whoami":
			if r.Header.Get("Authorization") != "Bearer s3cret" {
				t.Errorf("Authorization %q", r.Header.Get("Authorization"))
			}
			http.Error(w, "<html>upstream down</html>", http.StatusBadGateway)
		case "/api/v1/peers":
			w.Write([]byte(`{"peers":[`))
			chunk := []byte(strings.Repeat(`{"peer":"xx"},`, 1<<12))
			for written := 0; written <= client.MaxResponse; written += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}
	}))
	defer srv.Close()
	c := client.New(srv.URL+"/", "s3cret")

	_, err := c.WhoAmI(ctx)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusBadGateway || !strings.Contains(ce.Message, "upstream down") {
		t.Errorf("proxy error page: %v", err)
	}
	_, err = c.Peers(ctx)
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized answer: %v", err)
	}
}
