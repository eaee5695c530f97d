package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/clock"
	"csirtlink/internal/config"
	"csirtlink/internal/envelope"
	"csirtlink/internal/hotline"
	"csirtlink/internal/notify"
	"csirtlink/internal/testnet"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// night is 01:00 in Tokyo: the duty officer is asleep.
var night = time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC)

// hotlineNet is a three-team network on a fake clock, with a real SMTP server and a real
// webhook receiver, and jp's on-call set up: a daily rota of tanaka and sato, then kato
// (the duty manager) 15 minutes later, the whole policy run twice.
type hotlineNet struct {
	*testnet.Net
	clock   testClock
	mail    *mailbox
	hooks   *webhookReceiver
	dir     string
	tanaka  *openpgp.Entity // tanaka's private key: mail to tanaka is encrypted to it
	tokens  map[string]string
	hookURL string
}

const hookSecret = "jp-chat-gateway-secret-0123456789"

type webhookReceiver struct {
	srv   *httptest.Server
	clock clock.Clock
	mu    sync.Mutex
	got   []map[string]any
	bad   int
}

func (w *webhookReceiver) calls() []map[string]any {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]map[string]any(nil), w.got...)
}

// testClock is a clock the test moves.
type testClock interface {
	clock.Clock
	Advance(time.Duration)
}

func startHotlineNet(t *testing.T, opts testnet.Options) *hotlineNet {
	t.Helper()
	return startHotlineNetWithClock(t, opts, clock.NewFake(night))
}

func startHotlineNetWithClock(t *testing.T, opts testnet.Options, clk testClock) *hotlineNet {
	t.Helper()
	h := &hotlineNet{clock: clk, mail: startMailbox(t), tokens: map[string]string{}}
	h.hooks = &webhookReceiver{clock: h.clock}
	h.hooks.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.hooks.mu.Lock()
		defer h.hooks.mu.Unlock()
		if err := notify.VerifySignature(r.Header.Get("X-Csirtlink-Signature"), body, hookSecret, h.clock.Now(), 5*time.Minute); err != nil {
			h.hooks.bad++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var m map[string]any
		json.Unmarshal(body, &m)
		h.hooks.got = append(h.hooks.got, m)
	}))
	t.Cleanup(h.hooks.srv.Close)
	h.hookURL = h.hooks.srv.URL + "/chat"
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	h.dir = opts.Dir
	opts.Clock = h.clock
	opts.Logger = testLogger
	opts.Federation = fastFed
	opts.SMTP = &config.SMTP{Addr: h.mail.addr, From: "csirtlink hotline <hotline@csirtlink.test>", TLS: "none"}
	opts.Hotline.EngineInterval = config.Duration(20 * time.Millisecond)
	opts.Hotline.WebhookAllowPrivate = true
	opts.Hotline.FallbackAfter = config.Duration(2 * time.Minute)
	h.Net = startNet(t, opts)
	return h
}

// setupJP gives jp its people, their contacts and its rota.
func (h *hotlineNet) setupJP(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	jp := h.Node("jp")
	var err error
	h.tanaka, err = notify.GenerateKey("Tanaka Hiro", "tanaka@jp.example")
	if err != nil {
		t.Fatal(err)
	}
	tanakaPub, _ := notify.ArmorPublic(h.tanaka)
	for _, u := range []struct{ name, display, role string }{
		{"tanaka", "Tanaka Hiro", auth.DutyOfficer}, {"sato", "Sato Yuki", auth.DutyOfficer}, {"kato", "Kato Ken", auth.Admin},
	} {
		if _, err := jp.App.Auth.CreateUser(ctx, u.name, u.display, "", u.role); err != nil {
			t.Fatal(err)
		}
		tok, _, err := jp.App.Auth.IssueToken(ctx, u.name, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		h.tokens[u.name] = tok
	}
	mustCall(t, jp, "POST", "/api/v1/users/tanaka/contacts", map[string]any{"channel": "email", "address": "tanaka@jp.example", "pgp_key": tanakaPub}, 201)
	mustCall(t, jp, "POST", "/api/v1/users/tanaka/contacts", map[string]any{"channel": "webhook", "address": h.hookURL, "secret": hookSecret}, 201)
	mustCall(t, jp, "POST", "/api/v1/users/sato/contacts", map[string]any{"channel": "email", "address": "sato@jp.example"}, 201)
	mustCall(t, jp, "POST", "/api/v1/users/kato/contacts", map[string]any{"channel": "email", "address": "kato@jp.example"}, 201)
	mustCall(t, jp, "PUT", "/api/v1/oncall/rotations/primary", map[string]any{"name": "Primary duty", "timezone": "Asia/Tokyo",
		"shift": "daily", "every": 1, "start": "2026-11-01T09:00", "members": []string{"tanaka", "sato"}}, 200)
	mustCall(t, jp, "PUT", "/api/v1/oncall/policies/default", map[string]any{"name": "Hotline", "repeat": 1, "default": true,
		"levels": []map[string]any{
			{"delay_minutes": 15, "targets": []map[string]string{{"type": "rotation", "id": "primary"}}},
			{"delay_minutes": 15, "targets": []map[string]string{{"type": "user", "id": "kato"}}},
		}}, 200)
}

func mustCall(t *testing.T, nd *testnet.Node, method, path string, body any, want int) map[string]any {
	t.Helper()
	var out map[string]any
	if code := call(t, nd, method, path, body, &out); code != want {
		t.Fatalf("%s %s: %d, want %d: %v", method, path, code, want, out)
	}
	return out
}

func as(nd *testnet.Node, token string) *testnet.Node {
	c := *nd
	c.Token = token
	return &c
}

type pageView struct {
	ID         string `json:"id"`
	From       string `json:"from"`
	Severity   string `json:"severity"`
	Summary    string `json:"summary"`
	Deliveries []struct {
		Team            string     `json:"team"`
		State           string     `json:"state"`
		DeliveredAt     *time.Time `json:"delivered_at"`
		NotifiedAt      *time.Time `json:"notified_at"`
		NotifiedChannel string     `json:"notified_channel"`
		AcknowledgedAt  *time.Time `json:"acknowledged_at"`
		AcknowledgedBy  string     `json:"acknowledged_by"`
		AckVia          string     `json:"ack_via"`
		FallbackAt      *time.Time `json:"fallback_at"`
	} `json:"deliveries"`
	Escalation *struct {
		Round      int    `json:"round"`
		Level      int    `json:"level"`
		StopReason string `json:"stop_reason"`
	} `json:"escalation"`
	Notifications []struct {
		User, Channel, Address, State string
		Level                         int
	} `json:"notifications"`
}

func getPage(t *testing.T, nd *testnet.Node, id string) pageView {
	t.Helper()
	var p pageView
	if code := call(t, nd, "GET", "/api/v1/pages/"+id, nil, &p); code != 200 {
		t.Fatalf("page %s at %s: %d", id, nd.Team, code)
	}
	return p
}

var codePattern = regexp.MustCompile(`[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{5}`)

func TestPageEscalatesUntilAcknowledged(t *testing.T) {
	h := startHotlineNet(t, testnet.Options{})
	h.setupJP(t)
	cn, jp := h.Node("cn"), h.Node("jp")

	// cn pages jp at 01:00 Tokyo time.
	var sent pageView
	if code := call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"jp"}, "severity": "critical",
		"summary": "C2 takedown needed now: 198.51.100.23 — 至急対応をお願いします", "details": "Botnet C2 at a JP provider.", "tlp": "AMBER"}, &sent); code != 201 {
		t.Fatalf("send page: %d", code)
	}

	// Level 1 (tanaka, on call tonight) is reached by e-mail and by webhook.
	eventually(t, 5*time.Second, "tanaka e-mailed", func() error {
		if len(h.mail.to("tanaka@jp.example")) != 1 {
			return fmt.Errorf("%d mails", len(h.mail.to("tanaka@jp.example")))
		}
		return nil
	})
	signer := h.pgpPublic(t, "jp")
	text, signed := readMail(t, h.mail.to("tanaka@jp.example")[0].raw, h.tanaka, signer)
	if !signed {
		t.Error("mail to tanaka not signed by jp's node key")
	}
	if !strings.Contains(text, "至急対応をお願いします") || !strings.Contains(text, "CRITICAL") && !strings.Contains(text, "critical") {
		t.Errorf("mail to tanaka lacks the page:\n%s", text)
	}
	if !codePattern.MatchString(text) {
		t.Errorf("mail to tanaka has no acknowledgement code:\n%s", text)
	}
	eventually(t, 5*time.Second, "webhook for tanaka", func() error {
		if calls := h.hooks.calls(); len(calls) != 1 || calls[0]["id"] != sent.ID {
			return fmt.Errorf("%v", calls)
		}
		return nil
	})
	if len(h.mail.to("kato@jp.example")) != 0 || len(h.mail.to("sato@jp.example")) != 0 {
		t.Fatal("someone other than the on-call person was paged at level 1")
	}
	eventually(t, 3*time.Second, "cn sees notified", func() error {
		d := getPage(t, cn, sent.ID).Deliveries[0]
		if d.State != "notified" || d.NotifiedAt == nil || d.DeliveredAt == nil {
			return fmt.Errorf("%+v", d)
		}
		return nil
	})

	// Nobody answers for 15 minutes: level 2, the duty manager.
	h.clock.Advance(15*time.Minute + time.Second)
	eventually(t, 5*time.Second, "kato e-mailed", func() error {
		if len(h.mail.to("kato@jp.example")) != 1 {
			return fmt.Errorf("%d", len(h.mail.to("kato@jp.example")))
		}
		return nil
	})
	if n := len(h.mail.to("tanaka@jp.example")); n != 1 {
		t.Fatalf("tanaka mailed %d times", n)
	}

	// Kato acknowledges; the escalation stops.
	var acked pageView
	if code := call(t, as(jp, h.tokens["kato"]), "POST", "/api/v1/pages/"+sent.ID+"/ack", nil, &acked); code != 200 {
		t.Fatalf("ack: %d", code)
	}
	if code := call(t, as(jp, h.tokens["kato"]), "POST", "/api/v1/pages/"+sent.ID+"/ack", nil, nil); code != http.StatusConflict {
		t.Fatalf("second ack: %d", code)
	}
	got := getPage(t, jp, sent.ID)
	if got.Escalation == nil || !strings.Contains(got.Escalation.StopReason, "acknowledged by Kato Ken") {
		t.Fatalf("escalation: %+v", got.Escalation)
	}
	h.clock.Advance(2 * time.Hour)
	time.Sleep(200 * time.Millisecond)
	if n := len(h.mail.to("tanaka@jp.example")) + len(h.mail.to("kato@jp.example")) + len(h.mail.to("sato@jp.example")); n != 2 {
		t.Fatalf("%d mails after the acknowledgement, want still 2", n)
	}

	// cn sees who acknowledged and when, and can prove it.
	var d struct {
		State, AcknowledgedBy, AckVia string
		AcknowledgedAt                *time.Time
	}
	eventually(t, 3*time.Second, "cn sees acknowledged", func() error {
		p := getPage(t, cn, sent.ID)
		dd := p.Deliveries[0]
		if dd.State != "acknowledged" || dd.AcknowledgedBy != "Kato Ken (kato)" || dd.AcknowledgedAt == nil {
			return fmt.Errorf("%+v", dd)
		}
		d.State, d.AcknowledgedBy, d.AckVia, d.AcknowledgedAt = dd.State, dd.AcknowledgedBy, dd.AckVia, dd.AcknowledgedAt
		return nil
	})
	ctx := context.Background()
	stored, err := cn.App.Store.GetPage(ctx, sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	jpKey, _ := cn.App.Fed.Directory().Key("jp")
	if err := hotline.VerifyAcknowledgement(jpKey, sent.ID, stored.Deliveries[0]); err != nil {
		t.Fatalf("acknowledgement statement: %v", err)
	}
	forged := stored.Deliveries[0]
	forged.AcknowledgedBy = "Someone Else"
	if hotline.VerifyAcknowledgement(jpKey, sent.ID, forged) == nil {
		t.Fatal("an altered acknowledgement verified")
	}
	forged = stored.Deliveries[0]
	forged.AcknowledgedBy = "Someone Else"
	forged.AckStatement = bytes.Replace(forged.AckStatement, []byte("Kato Ken (kato)"), []byte("Someone Else"), 1)
	if hotline.VerifyAcknowledgement(jpKey, sent.ID, forged) == nil {
		t.Fatal("an altered signed statement verified")
	}
	// The delivery receipt is jp's signature over the page envelope cn sent.
	var rc envelope.Receipt
	if err := json.Unmarshal(stored.Deliveries[0].Receipt, &rc); err != nil {
		t.Fatal(err)
	}
	sentEnvs, _ := cn.App.Store.Sent(ctx, "jp")
	verified := false
	for _, it := range sentEnvs {
		if it.Type == "page.send" && it.ObjectID == sent.ID {
			env, _ := envelope.Unmarshal(it.Envelope)
			verified = rc.Verify(jpKey, env) == nil
		}
	}
	if !verified {
		t.Fatal("the delivery receipt does not verify against the page envelope")
	}
}

// pgpPublic reads a node's OpenPGP public key as its peers know it.
func (h *hotlineNet) pgpPublic(t *testing.T, team string) *openpgp.Entity {
	t.Helper()
	other := h.Node("kr")
	if team == "kr" {
		other = h.Node("cn")
	}
	tm, _ := other.App.Fed.Directory().Team(team)
	e, err := notify.ReadArmoredKey(tm.PGPKey)
	if err != nil {
		t.Fatalf("%s's pgp key: %v", team, err)
	}
	return e
}

// pgpPrivate reads a node's own OpenPGP key from its data directory.
func (h *hotlineNet) pgpPrivate(t *testing.T, team string) *openpgp.Entity {
	t.Helper()
	b, err := readFile(filepath.Join(h.dir, team, "pgp.key"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := notify.ReadArmoredKey(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return e
}
