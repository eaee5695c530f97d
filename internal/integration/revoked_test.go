package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/hotline"
	"csirtlink/internal/testnet"
)

// A revoked partner gets nothing: no federation envelope (pages, incidents, GREEN
// community objects), no mail (the hotline's fallback to its published address, a
// hotline address code) and, since nothing reaches its node, no webhook to its people;
// and its own traffic is refused. Attempts are counted at a real SMTP server and a
// real webhook receiver on loopback.
func TestRevokedPartnerGetsNothing(t *testing.T) {
	h := startHotlineNet(t, testnet.Options{})
	h.setupJP(t)
	ctx := context.Background()
	cn, jp, kr := h.Node("cn"), h.Node("jp"), h.Node("kr")

	// Before: a page from cn reaches jp, whose node calls tanaka's webhook. The counters
	// count.
	before := sendPage(t, h.Net, "cn", "jp", "", "Before the revocation")
	eventually(t, 10*time.Second, "the page before the revocation reaches tanaka's webhook", func() error {
		if n := len(h.hooks.calls()); n == 0 {
			return fmt.Errorf("%d webhook calls", n)
		}
		return nil
	})
	if code := call(t, cn, "POST", "/api/v1/partners/jp/revoke", nil, nil); code != http.StatusOK {
		t.Fatalf("revoke: %d", code)
	}
	time.Sleep(200 * time.Millisecond) // whatever jp's node was doing about the first page settles
	hooks0, mails0 := len(h.hooks.calls()), h.mail.count()

	// cn tries every way out to jp.
	var perr apiError
	if code := call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"jp"}, "severity": "critical", "summary": "After the revocation"}, &perr); code < 400 {
		t.Errorf("a page to the revoked partner was accepted: %d", code)
	}
	d, err := cn.App.Hotline.FallbackNow(ctx, hotline.Actor{Name: "admin"}, before, "jp")
	if err != nil {
		t.Fatalf("fallback now: %v", err)
	}
	if !strings.Contains(d.FallbackError, "egress") {
		t.Errorf("the fallback mail to a revoked partner was not refused by egress: fallback error %q", d.FallbackError)
	}
	if code := call(t, cn, "POST", "/api/v1/partners/jp/hotline-check", nil, &perr); code != http.StatusConflict {
		t.Errorf("a hotline code to the revoked partner: %d %+v", code, perr)
	}
	green := createIncident(t, cn, "GREEN", "kr")
	eventually(t, 10*time.Second, "the GREEN incident reaches kr", func() error {
		if _, code := getIncident(t, kr, green.ID); code != http.StatusOK {
			return fmt.Errorf("%d", code)
		}
		return nil
	})

	// jp's traffic to cn is refused.
	fromJP := createIncident(t, jp, "GREEN", "cn")

	time.Sleep(time.Second)
	if _, code := getIncident(t, jp, green.ID); code != http.StatusNotFound {
		t.Errorf("the revoked partner got cn's GREEN incident: %d", code)
	}
	if _, code := getIncident(t, cn, fromJP.ID); code != http.StatusNotFound {
		t.Errorf("cn took the revoked partner's incident: %d", code)
	}
	if n := len(h.hooks.calls()); n != hooks0 {
		t.Errorf("webhook calls at the revoked partner's people: %d, before the revocation %d", n, hooks0)
	}
	if n := h.mail.count(); n != mails0 {
		t.Errorf("mails: %d, before the revocation %d: %v", n, mails0, h.mail.recipients())
	}
	links, err := cn.App.Fed.Links(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if l.Peer == "jp" && l.Queued != 0 {
			t.Errorf("%d envelopes queued for the revoked partner", l.Queued)
		}
	}
	var refusals struct {
		Refusals []struct{ Peer, Reason string } `json:"refusals"`
	}
	call(t, cn, "GET", "/api/v1/federation/refusals", nil, &refusals)
	found := false
	for _, r := range refusals.Refusals {
		found = found || (r.Peer == "jp" && r.Reason == "revoked peer")
	}
	if !found {
		t.Errorf("no refusal of the revoked partner's traffic: %+v", refusals)
	}
}
