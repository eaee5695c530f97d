package integration

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/config"
	"csirtlink/internal/hotline"
	"csirtlink/internal/problem"
	"csirtlink/internal/testnet"
)

// When jp's node cannot be reached, cn e-mails jp's published hotline address, encrypted
// to jp's key, with a one-time code; jp's duty officer acknowledges on cn's form.
func TestFallbackMailWhenTheLinkIsDown(t *testing.T) {
	h := startHotlineNet(t, testnet.Options{})
	cn := h.Node("cn")
	if err := h.Stop("jp"); err != nil {
		t.Fatal(err)
	}
	var sent pageView
	if code := call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"jp"}, "severity": "high",
		"summary": "Phishing kit on JP hosting", "tlp": "AMBER"}, &sent); code != 201 {
		t.Fatalf("send: %d", code)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(h.mail.to("hotline@jp.csirtlink.test")); n != 0 {
		t.Fatalf("fallback mail before the fallback time: %d", n)
	}
	h.clock.Advance(2*time.Minute + time.Second)
	eventually(t, 5*time.Second, "fallback mail to jp's hotline address", func() error {
		if n := len(h.mail.to("hotline@jp.csirtlink.test")); n != 1 {
			return fmt.Errorf("%d mails", n)
		}
		return nil
	})
	text, signed := readMail(t, h.mail.to("hotline@jp.csirtlink.test")[0].raw, h.pgpPrivate(t, "jp"), h.pgpPublic(t, "cn"))
	if !signed || !strings.Contains(text, "Phishing kit on JP hosting") {
		t.Fatalf("fallback mail (signed %v):\n%s", signed, text)
	}
	code := codePattern.FindString(text)
	if code == "" {
		t.Fatalf("no code in:\n%s", text)
	}
	h.clock.Advance(time.Hour)
	time.Sleep(100 * time.Millisecond)
	if n := len(h.mail.to("hotline@jp.csirtlink.test")); n != 1 {
		t.Fatalf("fallback sent %d times", n)
	}

	ack := func(code, name string) int {
		resp, err := http.PostForm(cn.URL+"/hotline/ack", url.Values{"code": {code}, "name": {name}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := ack("AAAAA-AAAAA", "Mallory"); c != http.StatusUnprocessableEntity {
		t.Fatalf("a wrong code: %d", c)
	}
	if c := ack(code, "Suzuki Ken, JPCERT/CC"); c != http.StatusOK {
		t.Fatalf("acknowledge by code: %d", c)
	}
	if c := ack(code, "Suzuki Ken, JPCERT/CC"); c != http.StatusUnprocessableEntity {
		t.Fatalf("the code worked twice: %d", c)
	}
	d := getPage(t, cn, sent.ID).Deliveries[0]
	if d.State != "acknowledged" || d.AckVia != "fallback-code" || !strings.Contains(d.AcknowledgedBy, "Suzuki Ken") || d.FallbackAt == nil {
		t.Fatalf("delivery: %+v", d)
	}

	// When jp's node is back it gets the page; its own acknowledgement does not replace
	// the first one.
	if err := h.Restart(context.Background(), "jp"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "jp gets the page after all", func() error {
		if code := call(t, h.Node("jp"), "GET", "/api/v1/pages/"+sent.ID, nil, nil); code != 200 {
			return fmt.Errorf("%d", code)
		}
		return nil
	})
	mustCall(t, h.Node("jp"), "POST", "/api/v1/pages/"+sent.ID+"/ack", nil, 200)
	eventually(t, 3*time.Second, "cn keeps the first acknowledgement and gains jp's signed statement", func() error {
		p, _ := cn.App.Store.GetPage(context.Background(), sent.ID)
		d := p.Deliveries[0]
		if d.AckVia != "fallback-code" || d.AckStatement == nil {
			return fmt.Errorf("%s %v", d.AckVia, d.AckStatement != nil)
		}
		jpKey, _ := cn.App.Fed.Directory().Key("jp")
		if err := hotline.VerifyAcknowledgement(jpKey, sent.ID, d); err != nil {
			return err
		}
		if a, _ := hotline.ReadAcknowledgement(d); a.Via != "api" || a.By != "Duty admin (jp) (admin)" {
			return fmt.Errorf("statement %+v", a)
		}
		return nil
	})
}

func TestCommCheckMeasuresEachPartner(t *testing.T) {
	h := startHotlineNet(t, testnet.Options{})
	cn, jp := h.Node("cn"), h.Node("jp")
	var cc struct {
		ID     string   `json:"id"`
		PageID string   `json:"page_id"`
		Teams  []string `json:"teams"`
	}
	if code := call(t, cn, "POST", "/api/v1/commchecks", map[string]any{"to": []string{"all"}}, &cc); code != 201 {
		t.Fatalf("comm check: %d", code)
	}
	if len(cc.Teams) != 2 {
		t.Fatalf("comm check went to %v", cc.Teams)
	}
	eventually(t, 3*time.Second, "drill page at jp", func() error {
		var list struct{ Pages []pageView }
		call(t, jp, "GET", "/api/v1/pages?state=waiting", nil, &list)
		if len(list.Pages) != 1 || list.Pages[0].ID != cc.PageID {
			return fmt.Errorf("%+v", list.Pages)
		}
		return nil
	})
	h.clock.Advance(3 * time.Minute)
	mustCall(t, jp, "POST", "/api/v1/pages/"+cc.PageID+"/ack", nil, 200)
	var rep struct {
		Checks []struct {
			ID      string
			Results []struct {
				Team     string
				Answered bool
				Seconds  *float64 `json:"seconds_to_ack"`
			}
		}
		Partners []struct {
			Team          string
			Checks        int
			Answered      int
			MedianSeconds *float64 `json:"median_seconds"`
			WorstSeconds  *float64 `json:"worst_seconds"`
		}
	}
	eventually(t, 3*time.Second, "report shows jp's answer", func() error {
		rep.Checks, rep.Partners = nil, nil
		call(t, cn, "GET", "/api/v1/commchecks", nil, &rep)
		if len(rep.Partners) != 2 || rep.Partners[0].Answered != 1 {
			return fmt.Errorf("%+v", rep.Partners)
		}
		return nil
	})
	jpSum, krSum := rep.Partners[0], rep.Partners[1]
	if jpSum.Team != "jp" || jpSum.MedianSeconds == nil || *jpSum.MedianSeconds < 179 || *jpSum.MedianSeconds > 181 || *jpSum.WorstSeconds != *jpSum.MedianSeconds {
		t.Fatalf("jp: %+v", jpSum)
	}
	if krSum.Team != "kr" || krSum.Answered != 0 || krSum.MedianSeconds != nil || krSum.Checks != 1 {
		t.Fatalf("kr: %+v", krSum)
	}
}

func TestPageBadInputStoresNothing(t *testing.T) {
	h := startHotlineNet(t, testnet.Options{})
	cn, jp := h.Node("cn"), h.Node("jp")
	cases := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"unknown team", map[string]any{"to": []string{"zz"}, "severity": "high", "summary": "x"}, "to"},
		{"no team", map[string]any{"to": []string{}, "severity": "high", "summary": "x"}, "to"},
		{"empty summary", map[string]any{"to": []string{"jp"}, "severity": "high", "summary": " "}, "summary"},
		{"oversized details", map[string]any{"to": []string{"jp"}, "severity": "high", "summary": "x", "details": strings.Repeat("d", 8001)}, "details"},
		{"bad severity", map[string]any{"to": []string{"jp"}, "severity": "apocalyptic", "summary": "x"}, "severity"},
		{"bad tlp", map[string]any{"to": []string{"jp"}, "severity": "high", "summary": "x", "tlp": "PURPLE"}, "tlp"},
		{"unknown incident", map[string]any{"to": []string{"jp"}, "severity": "high", "summary": "x", "incident_id": "cn-2026-9999"}, "incident_id"},
	}
	for _, c := range cases {
		var e apiError
		if code := call(t, cn, "POST", "/api/v1/pages", c.body, &e); code != 422 || e.Error.Field != c.field {
			t.Errorf("%s: %d %+v", c.name, code, e)
		}
	}
	var list struct{ Pages []pageView }
	call(t, cn, "GET", "/api/v1/pages", nil, &list)
	if len(list.Pages) != 0 {
		t.Fatalf("bad pages stored: %+v", list.Pages)
	}
	if sent, _ := cn.App.Store.Sent(context.Background(), "jp"); len(sent) != 0 {
		t.Fatalf("bad pages queued %d envelopes", len(sent))
	}

	policies := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no levels", map[string]any{"name": "x", "levels": []any{}}, "levels"},
		{"zero delay", map[string]any{"name": "x", "levels": []map[string]any{{"delay_minutes": 0, "targets": []map[string]string{{"type": "user", "id": "admin"}}}}}, "levels[0].delay_minutes"},
		{"unknown user", map[string]any{"name": "x", "levels": []map[string]any{{"delay_minutes": 5, "targets": []map[string]string{{"type": "user", "id": "ghost"}}}}}, "levels[0].targets[0].id"},
		{"unknown rotation", map[string]any{"name": "x", "levels": []map[string]any{{"delay_minutes": 5, "targets": []map[string]string{{"type": "rotation", "id": "ghost"}}}}}, "levels[0].targets[0].id"},
	}
	for _, c := range policies {
		var e apiError
		if code := call(t, jp, "PUT", "/api/v1/oncall/policies/p1", c.body, &e); code != 422 || e.Error.Field != c.field {
			t.Errorf("policy %s: %d %+v", c.name, code, e)
		}
	}
	var cfg struct{ Policies []any }
	call(t, jp, "GET", "/api/v1/oncall", nil, &cfg)
	if len(cfg.Policies) != 0 {
		t.Fatalf("bad policies stored: %v", cfg.Policies)
	}
}

// jp's node is killed (SIGKILL) in the middle of an escalation. After the restart the
// escalation goes on where it was: the next level is notified when due, and nobody
// already notified is notified again.
func TestEscalationSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	clk := newFileClock(t, filepath.Join(dir, "clock"), night)
	h := startHotlineNetWithClock(t, testnet.Options{Dir: dir}, clk)
	h.setupJP(t)
	cn, jp := h.Node("cn"), h.Node("jp")
	if err := h.Stop("jp"); err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "CSIRTLINK_CHILD_CONFIG="+jp.ConfigPath, "CSIRTLINK_CHILD_CLOCK="+clk.path)
	var childLog syncBuffer
	child.Stderr = &childLog
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("child jp's log:\n%s", childLog.String())
		}
	})
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	eventually(t, 10*time.Second, "child jp up", func() error {
		resp, err := http.Get(jp.URL + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})

	var sent pageView
	if code := call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"jp"}, "severity": "critical", "summary": "Ransomware at a JP hospital's supplier"}, &sent); code != 201 {
		t.Fatalf("send: %d", code)
	}
	eventually(t, 10*time.Second, "level 1 notified by the child", func() error {
		if len(h.mail.to("tanaka@jp.example")) != 1 || len(h.hooks.calls()) != 1 {
			return fmt.Errorf("%d mails, %d webhooks", len(h.mail.to("tanaka@jp.example")), len(h.hooks.calls()))
		}
		return nil
	})
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()

	// The level-2 timer falls due while the node is down (and the dead process's engine
	// lease expires).
	clk.Advance(16 * time.Minute)
	if err := h.Restart(context.Background(), "jp"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "level 2 notified after the restart", func() error {
		if len(h.mail.to("kato@jp.example")) != 1 {
			return fmt.Errorf("%d", len(h.mail.to("kato@jp.example")))
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond)
	if n, w := len(h.mail.to("tanaka@jp.example")), len(h.hooks.calls()); n != 1 || w != 1 {
		t.Fatalf("tanaka notified again after the restart: %d mails, %d webhooks", n, w)
	}
	p := getPage(t, h.Node("jp"), sent.ID)
	if p.Escalation == nil || p.Escalation.Round != 1 || p.Escalation.Level != 0 {
		t.Fatalf("escalation after level 2: %+v", p.Escalation)
	}
	seen := map[string]bool{}
	for _, n := range p.Notifications {
		key := fmt.Sprintf("%s/%s/%d", n.User, n.Channel, n.Level)
		if seen[key] {
			t.Fatalf("notification %s twice: %+v", key, p.Notifications)
		}
		seen[key] = true
	}
}

// Editing the policy while a page escalates changes nothing for that page: it runs under
// the policy as it was when it arrived. The next page gets the new policy.
func TestPolicyEditDoesNotChangeAPageInFlight(t *testing.T) {
	h := startHotlineNet(t, testnet.Options{})
	h.setupJP(t)
	cn, jp := h.Node("cn"), h.Node("jp")
	var first pageView
	call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"jp"}, "severity": "high", "summary": "first"}, &first)
	eventually(t, 5*time.Second, "level 1 of the first page", func() error {
		if len(h.mail.to("tanaka@jp.example")) != 1 {
			return fmt.Errorf("%d", len(h.mail.to("tanaka@jp.example")))
		}
		return nil
	})
	// Level 2 now goes to sato instead of kato.
	mustCall(t, jp, "PUT", "/api/v1/oncall/policies/default", map[string]any{"name": "Hotline", "repeat": 0, "default": true,
		"levels": []map[string]any{
			{"delay_minutes": 15, "targets": []map[string]string{{"type": "rotation", "id": "primary"}}},
			{"delay_minutes": 15, "targets": []map[string]string{{"type": "user", "id": "sato"}}},
		}}, 200)
	h.clock.Advance(15*time.Minute + time.Second)
	eventually(t, 5*time.Second, "level 2 of the first page reaches kato, as the policy was", func() error {
		if len(h.mail.to("kato@jp.example")) != 1 {
			return fmt.Errorf("%d", len(h.mail.to("kato@jp.example")))
		}
		return nil
	})
	if n := len(h.mail.to("sato@jp.example")); n != 0 {
		t.Fatalf("the edited policy reached a page in flight: sato got %d mails", n)
	}
	mustCall(t, as(jp, h.tokens["kato"]), "POST", "/api/v1/pages/"+first.ID+"/ack", nil, 200)

	var second pageView
	call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"jp"}, "severity": "high", "summary": "second"}, &second)
	eventually(t, 5*time.Second, "level 1 of the second page", func() error {
		if len(h.mail.to("tanaka@jp.example")) != 2 {
			return fmt.Errorf("%d", len(h.mail.to("tanaka@jp.example")))
		}
		return nil
	})
	h.clock.Advance(15*time.Minute + time.Second)
	eventually(t, 5*time.Second, "level 2 of the second page reaches sato, as the policy is now", func() error {
		if len(h.mail.to("sato@jp.example")) != 1 {
			return fmt.Errorf("%d", len(h.mail.to("sato@jp.example")))
		}
		return nil
	})
}

// A flood of pages does not bury one person: past the rate limit, attempts on a channel
// are skipped and recorded as such.
func TestNotificationRateLimit(t *testing.T) {
	h := startHotlineNetWithClock(t, testnet.Options{Hotline: config.Hotline{RateLimit: 2}}, clock.NewFake(night))
	h.setupJP(t)
	cn, jp := h.Node("cn"), h.Node("jp")
	var ids []string
	for i := range 3 {
		var p pageView
		call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"jp"}, "severity": "medium", "summary": fmt.Sprintf("flood %d", i)}, &p)
		ids = append(ids, p.ID)
	}
	eventually(t, 5*time.Second, "every attempt made or skipped", func() error {
		for _, id := range ids {
			var p pageView
			if code := call(t, jp, "GET", "/api/v1/pages/"+id, nil, &p); code != 200 {
				return fmt.Errorf("%s: %d", id, code)
			}
			if len(p.Notifications) == 0 {
				return fmt.Errorf("%s has no attempts yet", id)
			}
			for _, n := range p.Notifications {
				if n.State == "pending" || n.State == "sending" {
					return fmt.Errorf("%s still %s", id, n.State)
				}
			}
		}
		return nil
	})
	if n := len(h.mail.to("tanaka@jp.example")); n != 2 {
		t.Fatalf("tanaka got %d mails, want the limit of 2", n)
	}
	skipped := 0
	for _, id := range ids {
		for _, n := range getPage(t, jp, id).Notifications {
			if n.Channel == "email" && n.State == "skipped" {
				skipped++
			}
		}
	}
	if skipped != 1 {
		t.Fatalf("%d e-mail attempts skipped, want 1", skipped)
	}
}

// TestFallbackMailNowForAnUnansweredPage: the sender of a critical page that jp's node
// received but nobody at jp acknowledged starts the fallback mail at once, long before
// fallback_after; it goes once, through the same egress decision, and its code works.
// A page whose delivery was acknowledged, or a page of another team, cannot be mailed.
func TestFallbackMailNowForAnUnansweredPage(t *testing.T) {
	h := startHotlineNet(t, testnet.Options{})
	ctx := context.Background()
	cn, jp := h.Node("cn"), h.Node("jp")
	var sent pageView
	if code := call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"jp", "kr"}, "severity": "critical",
		"summary": "Wiper spreading through a shared MSP", "tlp": "AMBER"}, &sent); code != 201 {
		t.Fatalf("send: %d", code)
	}
	eventually(t, 5*time.Second, "jp's receipt", func() error {
		if d := getPage(t, cn, sent.ID).Deliveries[0]; d.DeliveredAt == nil {
			return fmt.Errorf("state %s", d.State)
		}
		return nil
	})
	if n := len(h.mail.to("hotline@jp.csirtlink.test")); n != 0 {
		t.Fatalf("fallback mail before anyone asked: %d", n)
	}
	who := hotline.Actor{Name: "duty", DisplayName: "Duty officer (cn)"}
	d, err := cn.App.Hotline.FallbackNow(ctx, who, sent.ID, "jp")
	if err != nil {
		t.Fatalf("fallback now: %v", err)
	}
	if d.FallbackAt == nil || d.FallbackError != "" {
		t.Fatalf("delivery after the fallback: %+v", d)
	}
	eventually(t, 5*time.Second, "the fallback mail", func() error {
		if n := len(h.mail.to("hotline@jp.csirtlink.test")); n != 1 {
			return fmt.Errorf("%d mails", n)
		}
		return nil
	})
	text, _ := readMail(t, h.mail.to("hotline@jp.csirtlink.test")[0].raw, h.pgpPrivate(t, "jp"), h.pgpPublic(t, "cn"))
	if !strings.Contains(text, "Wiper spreading") || codePattern.FindString(text) == "" {
		t.Fatalf("fallback mail:\n%s", text)
	}
	if _, err := cn.App.Hotline.FallbackNow(ctx, who, sent.ID, "jp"); !isStatus(err, http.StatusConflict) {
		t.Errorf("a second fallback: %v, want a conflict", err)
	}
	if _, err := cn.App.Hotline.FallbackNow(ctx, who, sent.ID, "us"); !isStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("a fallback to a team not paged: %v, want invalid", err)
	}
	if _, err := jp.App.Hotline.FallbackNow(ctx, who, sent.ID, "jp"); !isStatus(err, http.StatusForbidden) {
		t.Errorf("the receiver mailing the fallback of cn's page: %v, want forbidden", err)
	}
	// kr acknowledges; its delivery is no longer one to mail about.
	eventually(t, 5*time.Second, "the page at kr", func() error {
		if code := call(t, h.Node("kr"), "GET", "/api/v1/pages/"+sent.ID, nil, nil); code != 200 {
			return fmt.Errorf("%d", code)
		}
		return nil
	})
	mustCall(t, h.Node("kr"), "POST", "/api/v1/pages/"+sent.ID+"/ack", nil, 200)
	eventually(t, 5*time.Second, "kr's acknowledgement at cn", func() error {
		if d := getPage(t, cn, sent.ID).Deliveries[1]; d.AcknowledgedAt == nil {
			return fmt.Errorf("state %s", d.State)
		}
		return nil
	})
	if _, err := cn.App.Hotline.FallbackNow(ctx, who, sent.ID, "kr"); !isStatus(err, http.StatusConflict) {
		t.Errorf("a fallback for an acknowledged delivery: %v, want a conflict", err)
	}
	if n := len(h.mail.to("hotline@kr.csirtlink.test")); n != 0 {
		t.Errorf("mail to kr's hotline address: %d", n)
	}
	// The audit log names who started it.
	recs, err := cn.App.Store.ListAudit(ctx, 0, 200)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, r := range recs {
		if r.Action == "page.fallback" && r.Actor == "duty" && r.Object == sent.ID {
			found = true
		}
	}
	if !found {
		t.Errorf("no page.fallback audit record by duty")
	}
}

func isStatus(err error, status int) bool {
	p, ok := problem.As(err)
	return ok && p.Status == status
}
