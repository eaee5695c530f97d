package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/cli"
	"csirtlink/internal/config"
	"csirtlink/internal/store"
	"csirtlink/internal/testnet"
)

// Every way out of a node goes through egress.Decide. These tests watch the ways out
// other than federation (which tlp_test.go and rules_test.go watch): fallback mail,
// mail to our own people, webhooks, and the acknowledgement form that answers a mail.

// editPeer changes how a stopped node's configuration describes one of its peers.
func editPeer(t *testing.T, nd *testnet.Node, peer string, change func(*config.Config, int)) {
	t.Helper()
	cfg, err := config.Load(nd.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.Peers {
		if cfg.Peers[i].ID == peer {
			change(&cfg, i)
		}
	}
	if err := cfg.Save(nd.ConfigPath); err != nil {
		t.Fatal(err)
	}
}

// A partner revoked after a page was sent to it gets no fallback mail: its published
// address is a way out like any other, and egress refuses revoked peers.
func TestFallbackMailNeverGoesToARevokedPeer(t *testing.T) {
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
	// cn's operators revoke jp (its key leaked, say) before the fallback is due.
	if err := h.Stop("cn"); err != nil {
		t.Fatal(err)
	}
	editPeer(t, cn, "jp", func(c *config.Config, i int) { c.Peers[i].Revoked = true })
	if err := h.Restart(context.Background(), "cn"); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(2*time.Minute + time.Second)
	eventually(t, 5*time.Second, "the fallback decided", func() error {
		p, err := cn.App.Store.GetPage(context.Background(), sent.ID)
		if err != nil {
			return err
		}
		if d := p.Deliveries[0]; d.FallbackAt == nil {
			return fmt.Errorf("no fallback yet: %+v", d)
		}
		return nil
	})
	time.Sleep(100 * time.Millisecond)
	if n := len(h.mail.to("hotline@jp.csirtlink.test")); n != 0 {
		t.Fatalf("%d fallback mails went to the revoked jp", n)
	}
	p, _ := cn.App.Store.GetPage(context.Background(), sent.ID)
	if e := p.Deliveries[0].FallbackError; !strings.Contains(e, "not an active peer") {
		t.Fatalf("fallback error %q does not say why nothing went", e)
	}
}

// A RED page to a partner whose OpenPGP key we lack: the fallback mail is a notice (no
// summary, no details), and the acknowledgement form, which anyone who read that mail
// can reach with its code, shows no more. The acknowledgement it records is marked as
// a fallback one — not verified — in the API, the CLI and the audit log.
func TestRestrictedFallbackMailIsANoticeAndSoIsTheForm(t *testing.T) {
	h := startHotlineNet(t, testnet.Options{})
	cn := h.Node("cn")
	for _, team := range []string{"jp", "cn"} {
		if err := h.Stop(team); err != nil {
			t.Fatal(err)
		}
	}
	editPeer(t, cn, "jp", func(c *config.Config, i int) { c.Peers[i].PGPKey = "" })
	if err := h.Restart(context.Background(), "cn"); err != nil {
		t.Fatal(err)
	}
	const summary, details = "Ransomware operator's panel at 198.51.100.77", "Seized credentials attached: admin / Spring2026!"
	var sent pageView
	if code := call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"jp"}, "severity": "critical",
		"summary": summary, "details": details, "tlp": "RED"}, &sent); code != 201 {
		t.Fatalf("send: %d", code)
	}
	h.clock.Advance(2*time.Minute + time.Second)
	eventually(t, 5*time.Second, "fallback mail to jp", func() error {
		if n := len(h.mail.to("hotline@jp.csirtlink.test")); n != 1 {
			return fmt.Errorf("%d mails", n)
		}
		return nil
	})
	raw := h.mail.to("hotline@jp.csirtlink.test")[0].raw
	text, _ := readMail(t, raw, nil, nil)
	for _, secret := range []string{"Ransomware operator", "198.51.100.77", "Spring2026"} {
		if bytes.Contains(raw, []byte(secret)) || strings.Contains(text, secret) {
			t.Fatalf("the clear-text fallback mail carries %q:\n%s", secret, text)
		}
	}
	if !strings.Contains(text, "withheld") || !strings.Contains(text, "CRITICAL page from CNCERT/CC") {
		t.Fatalf("the notice does not say who pages and that the content is withheld:\n%s", text)
	}
	code := codePattern.FindString(text)
	if code == "" {
		t.Fatalf("no code in:\n%s", text)
	}

	// Whoever holds the code — maybe someone who read it on the wire — acknowledges.
	resp, err := http.PostForm(cn.URL+"/hotline/ack", url.Values{"code": {code}, "name": {"Suzuki Ken, JPCERT/CC"}})
	if err != nil {
		t.Fatal(err)
	}
	form, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(form), "Acknowledged.") {
		t.Fatalf("acknowledge by code: %d\n%s", resp.StatusCode, form)
	}
	for _, secret := range []string{"Ransomware operator", "198.51.100.77", "Spring2026"} {
		if strings.Contains(string(form), secret) {
			t.Fatalf("the acknowledgement form shows %q, which the mail withheld:\n%s", secret, form)
		}
	}
	if !strings.Contains(string(form), "fallback acknowledgement") {
		t.Errorf("the form does not say the acknowledgement is a fallback one:\n%s", form)
	}

	// The sender's API: marked as a fallback acknowledgement, not verified.
	var detail struct {
		Deliveries []struct {
			AckVia string `json:"ack_via"`
		} `json:"deliveries"`
		Acknowledgements []struct {
			Team, Via, Signature string
			Fallback             bool
		} `json:"acknowledgements"`
	}
	call(t, cn, "GET", "/api/v1/pages/"+sent.ID, nil, &detail)
	if len(detail.Acknowledgements) != 1 || !detail.Acknowledgements[0].Fallback || detail.Acknowledgements[0].Signature != "none" ||
		detail.Acknowledgements[0].Team != "jp" || detail.Deliveries[0].AckVia != "fallback-code" {
		t.Fatalf("page detail does not mark the fallback acknowledgement: %+v", detail)
	}
	// The CLI.
	var out, errOut bytes.Buffer
	if err := cli.Run(context.Background(), []string{"page", "show", "--url", cn.URL, "--token", cn.Token, sent.ID}, &out, &errOut); err != nil {
		t.Fatalf("page show: %v %s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "NOT VERIFIED") || !strings.Contains(out.String(), "code from our fallback e-mail") {
		t.Errorf("page show does not mark the fallback acknowledgement:\n%s", out.String())
	}
	// The audit log.
	var audit struct{ Audit []store.AuditRecord }
	call(t, cn, "GET", "/api/v1/audit", nil, &audit)
	found := false
	for _, r := range audit.Audit {
		if r.Action == "page.ack" && r.Object == sent.ID {
			found = true
			if r.Actor != "fallback:jp" || !strings.Contains(r.Detail, "fallback-code") || !strings.Contains(r.Detail, "unverified") {
				t.Errorf("audit record does not mark the fallback acknowledgement: %+v", r)
			}
		}
	}
	if !found {
		t.Error("no audit record of the acknowledgement")
	}
}

// A code mailed before the keyed hash (ten characters, kept as unsalted SHA-256) still
// acknowledges after an upgrade, for the day it lives.
func TestCodesFromBeforeTheKeyedHashStillWork(t *testing.T) {
	h := startHotlineNet(t, testnet.Options{})
	cn := h.Node("cn")
	if err := h.Stop("jp"); err != nil {
		t.Fatal(err)
	}
	var sent pageView
	if code := call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"jp"}, "severity": "high", "summary": "Old code", "tlp": "AMBER"}, &sent); code != 201 {
		t.Fatalf("send: %d", code)
	}
	const old = "ABCDE-FGHIJ"
	sum := sha256.Sum256([]byte("csirtlink/ack-code/v1:ABCDEFGHIJ"))
	ctx := context.Background()
	err := cn.App.Store.InTx(ctx, func(tx store.Tx) error {
		return tx.PutAckCode(ctx, store.AckCode{CodeHash: hex.EncodeToString(sum[:]), PageID: sent.ID, Team: "jp", Purpose: "fallback",
			ExpiresAt: h.clock.Now().Add(time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(cn.URL+"/hotline/ack", url.Values{"code": {strings.ToLower(old)}, "name": {"Sato Yuki, JPCERT/CC"}})
	if err != nil {
		t.Fatal(err)
	}
	form, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("an old code: %d\n%s", resp.StatusCode, form)
	}
	// Codes made before the change count as notices: the form shows no summary.
	if strings.Contains(string(form), "Old code") {
		t.Errorf("the form shows the summary for a code whose mail is not known to have shown it")
	}
}

// A page about a RED incident is RED unless its author says otherwise, and it never
// reaches a team that does not take part in the incident, whatever the "to" names.
func TestPageAboutARedIncidentStaysWithItsParticipants(t *testing.T) {
	h := startHotlineNet(t, testnet.Options{})
	cn, jp, kr := h.Node("cn"), h.Node("jp"), h.Node("kr")
	in := createIncident(t, cn, "RED", "jp")

	var e apiError
	if code := call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"kr"}, "severity": "high",
		"summary": "About the RED case", "incident_id": in.ID}, &e); code != 422 || e.Error.Field != "tlp" {
		t.Fatalf("page about a RED incident to a non-participant: %d %+v", code, e)
	}
	if code := call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"jp", "kr"}, "severity": "high",
		"summary": "About the RED case", "incident_id": in.ID, "tlp": "RED"}, &e); code != 422 || e.Error.Field != "tlp" {
		t.Fatalf("a RED page naming a non-participant: %d %+v", code, e)
	}
	if code := call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"kr"}, "severity": "high",
		"summary": "About the RED case", "incident_id": in.ID, "tlp": "AMBER"}, &e); code != 422 {
		t.Fatalf("an AMBER page about the incident to a non-participant: %d %+v", code, e)
	}
	if sent, _ := cn.App.Store.Sent(context.Background(), "kr"); len(sent) != 0 {
		t.Fatalf("%d envelopes queued for kr", len(sent))
	}

	var page pageView
	if code := call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"jp"}, "severity": "high",
		"summary": "About the RED case", "incident_id": in.ID}, &page); code != 201 {
		t.Fatalf("page to the participant: %d", code)
	}
	var got struct{ TLP string }
	call(t, cn, "GET", "/api/v1/pages/"+page.ID, nil, &got)
	if got.TLP != "RED" {
		t.Fatalf("a page about a RED incident defaulted to TLP:%s", got.TLP)
	}
	eventually(t, 5*time.Second, "jp gets the page", func() error {
		if code := call(t, jp, "GET", "/api/v1/pages/"+page.ID, nil, nil); code != 200 {
			return fmt.Errorf("%d", code)
		}
		return nil
	})
	// Lowered knowingly, the page may go where its label allows.
	if code := call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"kr"}, "severity": "low",
		"summary": "Please call us", "incident_id": in.ID, "tlp": "CLEAR"}, nil); code != 201 {
		t.Fatalf("a CLEAR page about the incident to kr: %d", code)
	}
	if code := call(t, kr, "GET", "/api/v1/pages/"+page.ID, nil, nil); code != 404 {
		t.Fatalf("kr holds the RED page: %d", code)
	}
}

// Mail to one of our own people without an OpenPGP key carries no RED content, and the
// webhook carries none either; mail encrypted to the person's key does.
func TestRedPageReachesPeopleAsTheirChannelsAllow(t *testing.T) {
	h := startHotlineNet(t, testnet.Options{})
	h.setupJP(t)
	cn := h.Node("cn")
	const summary = "Insider at a JP registrar: do not contact them"
	var sent pageView
	if code := call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"jp"}, "severity": "critical",
		"summary": summary, "details": "Names in the attached report.", "tlp": "RED"}, &sent); code != 201 {
		t.Fatalf("send: %d", code)
	}
	// Level 1: tanaka, whose mail is encrypted, and whose webhook is a chat channel.
	eventually(t, 5*time.Second, "tanaka reached", func() error {
		if len(h.mail.to("tanaka@jp.example")) != 1 || len(h.hooks.calls()) != 1 {
			return fmt.Errorf("%d mails, %d webhooks", len(h.mail.to("tanaka@jp.example")), len(h.hooks.calls()))
		}
		return nil
	})
	text, _ := readMail(t, h.mail.to("tanaka@jp.example")[0].raw, h.tanaka, h.pgpPublic(t, "jp"))
	if !strings.Contains(text, summary) || !strings.Contains(text, "Names in the attached report.") {
		t.Errorf("encrypted mail to tanaka lacks the content:\n%s", text)
	}
	if hook := h.hooks.calls()[0]; hook["summary"] != "" || hook["summary_withheld"] != true {
		t.Errorf("the webhook carries RED content: %v", hook)
	}
	// Level 2: kato, who has no key.
	h.clock.Advance(15*time.Minute + time.Second)
	eventually(t, 5*time.Second, "kato mailed", func() error {
		if n := len(h.mail.to("kato@jp.example")); n != 1 {
			return fmt.Errorf("%d", n)
		}
		return nil
	})
	raw := h.mail.to("kato@jp.example")[0].raw
	if bytes.Contains(raw, []byte("Insider")) || bytes.Contains(raw, []byte("Names in the attached")) {
		t.Fatalf("clear-text mail to kato carries RED content:\n%s", raw)
	}
	text, _ = readMail(t, raw, nil, nil)
	code := codePattern.FindString(text)
	if !strings.Contains(text, "withheld") || code == "" {
		t.Fatalf("the notice to kato lacks the withheld line or the code:\n%s", text)
	}
	// kato's code opens the form: it shows no more than kato's mail.
	resp, err := http.PostForm(h.Node("jp").URL+"/hotline/ack", url.Values{"code": {code}})
	if err != nil {
		t.Fatal(err)
	}
	form, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Contains(string(form), "Insider") {
		t.Fatalf("form after kato's code: %d\n%s", resp.StatusCode, form)
	}
}

// Contact addresses — a webhook URL holds its token — are shown whole to their owner
// and to admins only: others see the channel and a redacted form. The audit log keeps
// only the redacted form.
func TestContactAddressesShownOnlyToTheirOwnerAndAdmins(t *testing.T) {
	h := startHotlineNet(t, testnet.Options{})
	h.setupJP(t)
	cn, jp := h.Node("cn"), h.Node("jp")
	ctx := context.Background()
	if _, err := jp.App.Auth.CreateUser(ctx, "obs", "Observer", "", auth.Observer); err != nil {
		t.Fatal(err)
	}
	obsToken, _, err := jp.App.Auth.IssueToken(ctx, "obs", "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	var sent pageView
	call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"jp"}, "severity": "high", "summary": "x", "tlp": "AMBER"}, &sent)
	eventually(t, 5*time.Second, "tanaka reached", func() error {
		if len(h.hooks.calls()) != 1 {
			return fmt.Errorf("%d webhooks", len(h.hooks.calls()))
		}
		return nil
	})
	hookPath := strings.TrimPrefix(h.hookURL, "http://")
	redactedHook := h.hookURL[:strings.Index(h.hookURL, "/chat")] + "/…"
	addresses := func(token string) map[string]string {
		t.Helper()
		var d struct {
			Notifications []struct{ User, Channel, Address string }
		}
		if code := call(t, as(jp, token), "GET", "/api/v1/pages/"+sent.ID, nil, &d); code != 200 {
			t.Fatalf("page detail: %d", code)
		}
		out := map[string]string{}
		for _, n := range d.Notifications {
			out[n.User+"/"+n.Channel] = n.Address
		}
		return out
	}
	for who, token := range map[string]string{"observer": obsToken, "sato (duty officer)": h.tokens["sato"]} {
		got := addresses(token)
		if got["tanaka/email"] != "t***@jp.example" || got["tanaka/webhook"] != redactedHook {
			t.Errorf("%s sees tanaka's contacts as %v", who, got)
		}
	}
	if got := addresses(h.tokens["tanaka"]); got["tanaka/email"] != "tanaka@jp.example" || got["tanaka/webhook"] != h.hookURL {
		t.Errorf("tanaka sees their own contacts as %v", got)
	}
	if got := addresses(h.tokens["kato"]); got["tanaka/webhook"] != h.hookURL { // kato is an admin
		t.Errorf("an admin sees tanaka's contacts as %v", got)
	}
	// The contact list: duty officers manage others' contacts but see them redacted.
	var list struct {
		Contacts []struct{ Channel, Address string }
	}
	call(t, as(jp, h.tokens["sato"]), "GET", "/api/v1/users/tanaka/contacts", nil, &list)
	for _, c := range list.Contacts {
		if strings.Contains(c.Address, "tanaka@") || strings.Contains(c.Address, "/chat") {
			t.Errorf("a duty officer sees tanaka's %s contact whole: %s", c.Channel, c.Address)
		}
	}
	// The audit log, read by every admin for years, keeps the redacted form.
	var audit struct{ Audit []store.AuditRecord }
	call(t, jp, "GET", "/api/v1/audit", nil, &audit)
	seen := 0
	for _, r := range audit.Audit {
		if r.Action != "contact.add" {
			continue
		}
		seen++
		if strings.Contains(r.Detail, hookPath) || strings.Contains(r.Detail, "tanaka@jp.example") || strings.Contains(r.Detail, "/chat") {
			t.Errorf("audit keeps a contact address whole: %q", r.Detail)
		}
	}
	if seen != 4 {
		t.Errorf("%d contact.add records, want 4", seen)
	}
}
