package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/client"
	"csirtlink/internal/config"
	"csirtlink/internal/hotline"
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
	for _, p := range peers {
		if p.Health == "" {
			t.Errorf("peer %s without a health word", p.Peer)
		}
	}

	if err := kr.RetryPeer(ctx, "cn"); err != nil {
		t.Errorf("retry cn: %v", err)
	}
	var ce *client.Error
	if err := kr.RetryPeer(ctx, "no/such"); !errors.As(err, &ce) || ce.Status != http.StatusNotFound {
		t.Errorf("retry of an unknown peer: %v", err)
	}
	if err := kr.RetryPeer(ctx, " "); err == nil || errors.As(err, &ce) {
		t.Errorf("retry without an id: %v, want a local error", err)
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

// eventually polls f until it returns nil, for up to 3 seconds.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHotline(t *testing.T) {
	ctx := context.Background()
	n := startNet(t)
	cn, jp := clientFor(n, "cn"), clientFor(n, "jp")

	p, err := cn.SendPage(ctx, hotline.NewPage{To: []string{"jp"}, Severity: "high", Summary: "C2 on JP hosting", TLP: "amber"})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == "" || p.From != "cn" || p.TLP != "AMBER" || len(p.Deliveries) != 1 || p.Deliveries[0].Team != "jp" {
		t.Fatalf("sent %+v", p)
	}

	eventually(t, "page waiting at jp", func() error {
		list, err := jp.ListPages(ctx, "waiting", "in", 10)
		if err != nil {
			return err
		}
		if len(list) != 1 || list[0].ID != p.ID {
			return fmt.Errorf("waiting: %+v", list)
		}
		return nil
	})
	if list, err := cn.ListPages(ctx, "", "in", 0); err != nil || len(list) != 0 {
		t.Errorf("direction not sent: cn lists %d incoming pages, %v", len(list), err)
	}
	if list, err := cn.ListPages(ctx, "all", "out", 1); err != nil || len(list) != 1 || list[0].ID != p.ID {
		t.Errorf("cn's outgoing pages: %+v, %v", list, err)
	}
	var ce *client.Error
	if _, err := cn.ListPages(ctx, "bogus", "", 0); !errors.As(err, &ce) || ce.Field != "state" {
		t.Errorf("bad state: %v", err)
	}

	// At jp, the page comes with its escalation.
	eventually(t, "jp escalates", func() error {
		d, err := jp.GetPage(ctx, p.ID)
		if err != nil {
			return err
		}
		if d.Escalation == nil || len(d.Notifications) == 0 || d.Notifications[0].Channel != "console" {
			return fmt.Errorf("escalation %+v, notifications %+v", d.Escalation, d.Notifications)
		}
		return nil
	})

	acked, err := jp.AckPage(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(acked.Deliveries) != 1 || acked.Deliveries[0].State != "acknowledged" || acked.Deliveries[0].AckVia != "api" {
		t.Errorf("acknowledged %+v", acked.Deliveries)
	}
	if _, err := jp.AckPage(ctx, p.ID); !errors.As(err, &ce) || ce.Status != http.StatusConflict {
		t.Errorf("second ack: %v, want 409", err)
	}
	eventually(t, "cn sees the acknowledgement", func() error {
		d, err := cn.GetPage(ctx, p.ID)
		if err != nil {
			return err
		}
		if d.Escalation != nil || d.Deliveries[0].AcknowledgedAt == nil || !strings.Contains(d.Deliveries[0].AcknowledgedBy, "admin") {
			return fmt.Errorf("%+v", d)
		}
		return nil
	})
	if _, err := jp.ResolvePage(ctx, p.ID); !errors.As(err, &ce) || ce.Status != http.StatusForbidden {
		t.Errorf("jp resolves cn's page: %v, want 403", err)
	}
	res, err := cn.ResolvePage(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.ResolvedAt == nil || res.Deliveries[0].State != "resolved" {
		t.Errorf("resolved %+v", res)
	}

	_, err = cn.SendPage(ctx, hotline.NewPage{To: []string{"jp"}, Severity: "high", Summary: " "})
	if !errors.As(err, &ce) || ce.Status != http.StatusUnprocessableEntity || ce.Field != "summary" {
		t.Errorf("empty summary: %v", err)
	}
	if _, err := cn.GetPage(ctx, " "); err == nil || errors.As(err, &ce) {
		t.Errorf("empty id: %v, want a local error", err)
	}
	if _, err := cn.AckPage(ctx, ""); err == nil || errors.As(err, &ce) {
		t.Errorf("empty id: %v, want a local error", err)
	}
}

func TestCommCheckAndOnCall(t *testing.T) {
	ctx := context.Background()
	n := startNet(t)
	kr := clientFor(n, "kr")

	cc, err := kr.RunCommCheck(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cc.ID == "" || cc.PageID == "" || !slices.Equal(cc.Teams, []string{"cn", "jp"}) {
		t.Fatalf("comm check %+v", cc)
	}
	cc2, err := kr.RunCommCheck(ctx, []string{"jp"})
	if err != nil || !slices.Equal(cc2.Teams, []string{"jp"}) {
		t.Fatalf("comm check to jp: %+v, %v", cc2, err)
	}
	rep, err := kr.CommCheckReport(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Checks) != 2 || rep.Checks[0].ID != cc2.ID || len(rep.Partners) != 2 || rep.Partners[1].Team != "jp" || rep.Partners[1].Checks != 2 {
		t.Errorf("report %+v", rep)
	}
	if rep, err := kr.CommCheckReport(ctx, 1); err != nil || len(rep.Checks) != 1 {
		t.Errorf("limit not sent: %+v, %v", rep, err)
	}

	// A rotation, made through the API: the client has no method for it.
	nd := n.Node("kr")
	body := `{"name":"Primary duty","timezone":"Asia/Seoul","shift":"daily","every":1,"start":"2026-01-01T09:00","members":["admin"]}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, nd.URL+"/api/v1/oncall/rotations/primary", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+nd.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("put rotation: %d", resp.StatusCode)
	}

	cfg, err := kr.OnCallConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Rotations) != 1 || cfg.Rotations[0].ID != "primary" || cfg.Rotations[0].Timezone != "Asia/Seoul" {
		t.Errorf("config %+v", cfg)
	}

	at := time.Date(2026, 3, 5, 1, 30, 0, 0, time.UTC) // 10:30 in Seoul
	oc, err := kr.OnCallNow(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	if !oc.At.Equal(at) || oc.Timezone != "Asia/Seoul" || len(oc.Rotations) != 1 {
		t.Fatalf("on call %+v", oc)
	}
	cur := oc.Rotations[0].Current
	if cur.User != "admin" || !cur.Start.Equal(time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)) || !oc.Rotations[0].Next.Start.Equal(cur.End) {
		t.Errorf("rotation %+v", oc.Rotations[0])
	}
	now, err := kr.OnCallNow(ctx, time.Time{})
	if err != nil || time.Since(now.At).Abs() > time.Minute {
		t.Errorf("now: %+v, %v", now, err)
	}
}
