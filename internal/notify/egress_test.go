package notify

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/egress"
)

// Nothing is sent by mail without an egress decision that allows that mail: the relay
// is never contacted.
func TestMailWithoutAnAllowingDecisionIsNotSent(t *testing.T) {
	srv := startSMTP(t, smtpOptions{})
	m := newMailer(t, SMTPConfig{Addr: srv.addr}, nil)
	key := newKey(t, "kr duty", "duty@kr.example")
	pub, err := ArmorPublic(key)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		mail  Mail
		field string
	}{
		{"no decision", Mail{To: "duty@kr.example", Subject: "s", Body: "b"}, "Mail.Egress"},
		{"refused", Mail{Egress: decide(egress.PersonMail, "WHITE", true), To: "duty@kr.example", Subject: "s", Body: "b", RecipientKey: pub}, "Mail.Egress"},
		{"a webhook's decision", Mail{Egress: webhookOK, To: "duty@kr.example", Subject: "s", Body: "b"}, "Mail.Egress"},
		// The decision allowed RED content because the mail would be encrypted.
		{"encryption promised, no key", Mail{Egress: decide(egress.PersonMail, "RED", true), To: "duty@kr.example", Subject: "s", Body: "b"}, "Mail.RecipientKey"},
	}
	for _, tc := range tests {
		wantFieldError(t, m.Send(context.Background(), tc.mail), tc.field)
	}
	if n := len(srv.messages()); n != 0 {
		t.Fatalf("%d messages reached the relay", n)
	}
	// The same mails with what they lack go.
	if err := m.Send(context.Background(), Mail{Egress: decide(egress.PersonMail, "RED", true), To: "duty@kr.example", Subject: "s", Body: "b", RecipientKey: pub}); err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), Mail{Egress: decide(egress.FallbackMail, "RED", false), To: "duty@kr.example", Subject: "s", Body: "b"}); err == nil {
		// kr is not a peer of kr: the decision refuses, so nothing goes.
		t.Fatal("fallback mail to our own team was sent")
	}
	if n := len(srv.messages()); n != 1 {
		t.Fatalf("%d messages reached the relay, want 1", n)
	}
}

func TestWebhookWithoutAnAllowingDecisionIsNotSent(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { calls.Add(1) }))
	defer srv.Close()
	w := localWebhook()
	for name, d := range map[string]egress.Decision{
		"no decision":     {},
		"a mail decision": personMail,
		"refused":         decide(egress.Webhook, "WHITE", false),
	} {
		err := w.Send(context.Background(), d, srv.URL, testSecret, "page", map[string]any{"id": "pg-1"})
		if !IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent refusal", name, err)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("the receiver got %d calls", n)
	}
	if err := w.Send(context.Background(), decide(egress.Webhook, "RED", false), srv.URL, testSecret, "page", map[string]any{"id": "pg-1"}); err != nil {
		t.Fatalf("a notice-only webhook: %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("the receiver got %d calls, want 1", n)
	}
}

// knownAnswer is the signature example documented in docs/hotline.md.
type knownAnswer struct{ secret, t, body, header string }

func readKnownAnswer(t *testing.T) knownAnswer {
	t.Helper()
	f, err := os.Open("../../docs/hotline.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ka knownAnswer
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "secret":
			ka.secret = v
		case "timestamp":
			ka.t = v
		case "body":
			ka.body = v
		case SignatureHeader:
			ka.header = v
		}
	}
	if ka.secret == "" || ka.t == "" || ka.body == "" || ka.header == "" {
		t.Fatalf("docs/hotline.md lacks the signature example (secret, timestamp, body, %s lines): %+v", SignatureHeader, ka)
	}
	return ka
}

// The documented signature is what an independent HMAC-SHA256 over "t.body" gives,
// what the product's verifier accepts, and what its sender produces.
func TestWebhookSignatureKnownAnswer(t *testing.T) {
	ka := readKnownAnswer(t)

	// Computed here with crypto/hmac alone, from the format in the docs.
	mac := hmac.New(sha256.New, []byte(ka.secret))
	mac.Write([]byte(ka.t + "." + ka.body))
	if want := "t=" + ka.t + ",v1=" + hex.EncodeToString(mac.Sum(nil)); ka.header != want {
		t.Fatalf("documented header %q, an independent HMAC gives %q", ka.header, want)
	}

	unix, err := strconv.ParseInt(ka.t, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(unix, 0)
	if err := VerifySignature(ka.header, []byte(ka.body), ka.secret, at, 0); err != nil {
		t.Fatalf("the verifier refuses the documented example: %v", err)
	}

	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get(SignatureHeader))
	}))
	defer srv.Close()
	w := NewWebhook(WebhookOptions{AllowPrivate: true, Clock: clock.NewFake(at)})
	if err := w.Send(context.Background(), webhookOK, srv.URL, ka.secret, "page", json.RawMessage(ka.body)); err != nil {
		t.Fatal(err)
	}
	if s, _ := got.Load().(string); s != ka.header {
		t.Fatalf("the sender signed %q, the docs say %q", s, ka.header)
	}
}
